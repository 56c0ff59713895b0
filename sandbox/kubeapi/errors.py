"""Failures as the Kubernetes API reports them: a ``Status`` object plus an HTTP code.

Every semantic check in the emulator raises :class:`ApiError`; the HTTP layer turns it into the
JSON body, and the in-process API lets it propagate so controllers see the same errors as clients.
"""

from __future__ import annotations

import json


class ApiError(Exception):
    """An API failure carrying everything needed to render a ``Status``."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        *,
        name: str | None = None,
        group: str | None = None,
        kind: str | None = None,
        causes: list | None = None,
        retry_after: int | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.name = name
        self.group = group
        self.kind = kind
        self.causes = causes or []
        self.retry_after = retry_after

    def status(self) -> dict:
        details = {}
        if self.name is not None:
            details["name"] = self.name
        if self.group is not None:
            details["group"] = self.group
        if self.kind is not None:
            details["kind"] = self.kind
        if self.causes:
            details["causes"] = self.causes
        if self.retry_after is not None:
            details["retryAfterSeconds"] = self.retry_after
        body = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if details:
            body["details"] = details
        return body


def qualified(resource: str, group: str) -> str:
    """``secrets`` for the core group, ``deployments.apps`` otherwise (as upstream messages)."""
    return f"{resource}.{group}" if group else resource


def not_found(resource: str, group: str, name: str) -> ApiError:
    return ApiError(
        404, "NotFound", f'{qualified(resource, group)} "{name}" not found', name=name, group=group, kind=resource
    )


def already_exists(resource: str, group: str, name: str) -> ApiError:
    return ApiError(
        409,
        "AlreadyExists",
        f'{qualified(resource, group)} "{name}" already exists',
        name=name,
        group=group,
        kind=resource,
    )


STALE_OBJECT = "the object has been modified; please apply your changes to the latest version and try again"


def conflict(resource: str, group: str, name: str, detail: str = STALE_OBJECT) -> ApiError:
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {qualified(resource, group)} "{name}": {detail}',
        name=name,
        group=group,
        kind=resource,
    )


def invalid(kind: str, group: str, name: str, causes: list[dict]) -> ApiError:
    """422 with one cause per offending field, message ``<Kind>[.<group>] "<name>" is invalid: ...``."""
    parts = [f"{c['field']}: {c['message']}" if c.get("field") else c["message"] for c in causes]
    summary = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    return ApiError(
        422,
        "Invalid",
        f'{qualified(kind, group)} "{name}" is invalid: {summary}',
        name=name,
        group=group,
        kind=kind,
        causes=causes,
    )


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def forbidden(
    message: str, *, resource: str | None = None, group: str | None = None, name: str | None = None
) -> ApiError:
    return ApiError(403, "Forbidden", message, name=name, group=group, kind=resource)


def method_not_allowed(message: str = "the server does not allow this method on the requested resource") -> ApiError:
    return ApiError(405, "MethodNotAllowed", message)


def unsupported_media_type(accepted: list[str]) -> ApiError:
    return ApiError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - accepted media types include: {', '.join(accepted)}",
    )


def not_acceptable(available: list[str]) -> ApiError:
    return ApiError(406, "NotAcceptable", f"only the following media types are accepted: {', '.join(available)}")


def gone(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(429, "TooManyRequests", "Too many requests, please try again later.", retry_after=retry_after)


def internal_error(message: str) -> ApiError:
    return ApiError(500, "InternalError", f"Internal error occurred: {message}")


def service_unavailable(message: str) -> ApiError:
    return ApiError(503, "ServiceUnavailable", message)


def page_not_found() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource")


# --- field causes (the ``details.causes`` entries of a 422) -------------------------------------


def _show(value) -> str:
    return json.dumps(value) if not isinstance(value, str) else f'"{value}"'


def field_invalid(field: str, value, detail: str) -> dict:
    return {"reason": "FieldValueInvalid", "field": field, "message": f"Invalid value: {_show(value)}: {detail}"}


def field_required(field: str, detail: str = "") -> dict:
    return {
        "reason": "FieldValueRequired",
        "field": field,
        "message": "Required value" + (f": {detail}" if detail else ""),
    }


def field_not_supported(field: str, value, supported) -> dict:
    options = ", ".join(_show(s) for s in supported)
    return {
        "reason": "FieldValueNotSupported",
        "field": field,
        "message": f"Unsupported value: {_show(value)}: supported values: {options}",
    }


def field_forbidden(field: str, detail: str) -> dict:
    return {"reason": "FieldValueForbidden", "field": field, "message": f"Forbidden: {detail}"}


def field_duplicate(field: str, value) -> dict:
    return {"reason": "FieldValueDuplicate", "field": field, "message": f"Duplicate value: {_show(value)}"}
