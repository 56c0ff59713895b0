"""pydantic's validation errors -> :class:`Problem` s under the user's key paths, with hints from the models."""

from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from .clusters import CLUSTER_MODELS, KINDS
from .common import Problem
from .report import config_path, is_kind_tag
from .stack import FleetSpec


def problems_from(exc: ValidationError, prefix: tuple[str | int, ...]) -> list[Problem]:
    """Translate the errors of one validated item, whose key path is ``prefix``."""
    errors = exc.errors(include_url=False)
    missing_identifiers = [
        error["loc"][-1] for error in errors if error["type"] == "missing" and _is_identifier_loc(prefix + error["loc"])
    ]
    return [_problem_from(error, prefix + error["loc"], missing_identifiers) for error in errors]


def _is_identifier_loc(loc: tuple[str | int, ...]) -> bool:
    """Whether ``loc`` is ``("clusters", i, <kind>, <identifying input of that kind>)``.

    idc has none: its kubeconfig is required only in some modes (see the cluster checks).
    """
    return len(loc) == 4 and is_kind_tag(loc, 2) and loc[3] in CLUSTER_MODELS[str(loc[2])].IDENTITY_FIELDS


def _problem_from(error: Any, loc: tuple[str | int, ...], missing_identifiers: list[str]) -> Problem:
    kind, path = error["type"], config_path(loc)
    if kind == "union_tag_invalid":
        tag = error["ctx"]["tag"]
        message = f"FF-KIND-001 unknown cluster kind '{tag}' (expected {', '.join(KINDS)})"
        return Problem(config_path(loc + ("kind",)), message)
    if kind == "union_tag_not_found":
        return Problem(config_path(loc + ("kind",)), "field required", f"one of {', '.join(KINDS)}")
    if kind == "missing" and _is_identifier_loc(loc):
        cluster_kind = str(loc[2])
        required = ", ".join(CLUSTER_MODELS[cluster_kind].IDENTITY_FIELDS)
        message = f"FF-KIND-002 kind {cluster_kind} requires {required}; missing: {', '.join(missing_identifiers)}"
        return Problem(path, message, _field_hint(loc))
    if kind == "missing":
        return Problem(path, "field required", _field_hint(loc))
    if kind == "extra_forbidden":
        owner, _ = _declaring_model(loc)
        valid = ", ".join(owner.model_fields) if owner else ""
        return Problem(path, f"unknown key '{loc[-1]}'", f"valid keys: {valid}" if valid else "")
    if kind == "literal_error":
        return Problem(path, f"invalid value {shown(error['input'])}", f"allowed: {error['ctx']['expected']}")
    if kind == "fleetform":
        return Problem(path, error["msg"], error["ctx"]["hint"])
    return Problem(path, error["msg"][:1].lower() + error["msg"][1:], _field_hint(loc))


def shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _field_hint(loc: tuple[str | int, ...]) -> str:
    owner, key = _declaring_model(loc)
    info = owner.model_fields.get(key) if owner and isinstance(key, str) else None
    return (info.description or "") if info else ""


def _declaring_model(loc: tuple[str | int, ...]) -> tuple[type[BaseModel] | None, str | int | None]:
    """Follow ``loc`` from :class:`FleetSpec`: the model declaring its last key, and that key."""
    current: Any = FleetSpec
    owner: type[BaseModel] | None = None
    key: str | int | None = None
    for part in loc:
        current = _strip_optional(current)
        if _is_union(current):  # the discriminated cluster union: this part is the kind tag
            current = CLUSTER_MODELS.get(str(part))
        elif isinstance(current, type) and issubclass(current, BaseModel):
            owner, key = current, part
            info = current.model_fields.get(part) if isinstance(part, str) else None
            current = info.annotation if info else None
        elif get_origin(current) in (list, dict):
            current = get_args(current)[-1]
        else:
            current = None
        if current is None:
            break
    return owner, key


def _strip_optional(annotation: Any) -> Any:
    while True:
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
        elif _is_union(annotation) and type(None) in get_args(annotation):
            members = [member for member in get_args(annotation) if member is not type(None)]
            annotation = members[0] if len(members) == 1 else Union[tuple(members)]  # noqa: UP007 - a runtime union
        else:
            return annotation


def _is_union(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, UnionType)
