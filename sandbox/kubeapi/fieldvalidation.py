"""Unknown fields in request bodies, handled per the ``fieldValidation`` query parameter.

A real API server drops fields its types do not have; ``fieldValidation`` says what the client
learns about it: ``Ignore`` nothing, ``Warn`` (the server's default) one ``Warning`` header per
field, ``Strict`` (kubectl's default) a 400 and nothing written. Built-in kinds are checked
against :mod:`typeschemas`, custom resources against their CRD schema; the dropping itself
happens on every write (``rules``), whoever the writer.

Checked: create and update bodies, and merge, strategic merge and apply patches (the patch
document itself; ``$``-directives are not fields). Not checked: JSON patches, duplicate fields.
"""

from __future__ import annotations

import copy

from . import errors, schema, typeschemas
from .patch import JSON_PATCH
from .resources import ResourceType

DIRECTIVES = ("Ignore", "Warn", "Strict")
_ROOT = ("apiVersion", "kind", "metadata")


def unknown(rt: ResourceType, doc) -> list[str]:
    """Paths of the fields in ``doc`` (an object or a patch of one) that ``rt`` does not have."""
    if not isinstance(doc, dict):
        return []
    if rt.custom:
        body = copy.deepcopy({k: v for k, v in doc.items() if k not in _ROOT})
        found = schema.prune(body, rt.schema or {"x-kubernetes-preserve-unknown-fields": True})
        meta = doc.get("metadata")
        return found + typeschemas.unknown_fields(meta, "V1ObjectMeta", ".metadata") if meta else found
    model = typeschemas.model_for(rt.group, rt.version, rt.kind)
    return typeschemas.unknown_fields(doc, model.__name__) if model else []


def check(rt: ResourceType, query: dict[str, str], doc, patch_type: str | None) -> list[str]:
    """Warnings for the request (``Warn``), or a 400 (``Strict``) when it has unknown fields."""
    directive = query.get("fieldValidation") or "Warn"
    if directive not in DIRECTIVES:
        raise errors.bad_request(
            f'fieldValidation parameter unsupported: "{directive}" (supported values: Ignore, Warn, Strict)'
        )
    if directive == "Ignore" or patch_type == JSON_PATCH:
        return []
    fields = [f'unknown field "{path.lstrip(".")}"' for path in unknown(rt, doc)]
    if fields and directive == "Strict":
        raise errors.bad_request(
            f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
            f"strict decoding error: {', '.join(fields)}"
        )
    return fields


def warning_header(warnings: list[str]) -> str:
    """One ``Warning`` header value holding every warning (RFC 7234 allows a list)."""
    return ", ".join('299 - "{}"'.format(w.replace("\\", "\\\\").replace('"', '\\"')) for w in warnings)
