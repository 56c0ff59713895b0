"""Custom resource bodies against their CRD's ``openAPIV3Schema``: prune, default, validate.

Follows the upstream order for structural schemas: unknown fields are dropped (unless
``x-kubernetes-preserve-unknown-fields`` or ``additionalProperties`` allow them), ``default``
values fill absent properties, then the value is validated. Validation covers ``type``,
``nullable``, ``enum``, ``required``, ``pattern``, ``minLength``/``maxLength``,
``minimum``/``maximum``, ``minItems``/``maxItems`` and ``x-kubernetes-int-or-string``;
``anyOf``/``oneOf``/``allOf``/``not``, formats and CEL rules are not evaluated.
"""

from __future__ import annotations

import copy
import re

from . import errors

_ROOT_FIELDS = ("apiVersion", "kind", "metadata")


def _allows_unknown(schema: dict) -> bool:
    return bool(schema.get("x-kubernetes-preserve-unknown-fields")) or schema.get("additionalProperties") is True


def prune(value, schema: dict, path: str = "") -> list[str]:
    """Drop the fields ``schema`` does not allow; returns their paths (``.spec.foo``)."""
    dropped: list[str] = []
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        embedded = schema.get("x-kubernetes-embedded-resource")
        for key in list(value):
            if key in props:
                dropped += prune(value[key], props[key], f"{path}.{key}")
            elif isinstance(extra, dict):
                dropped += prune(value[key], extra, f"{path}[{key}]")
            elif not (_allows_unknown(schema) or (embedded and key in _ROOT_FIELDS)):
                del value[key]
                dropped.append(f"{path}.{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for n, item in enumerate(value):
            dropped += prune(item, schema["items"], f"{path}[{n}]")
    return dropped


def apply_defaults(value, schema: dict) -> None:
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for key, sub in props.items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
        extra = schema.get("additionalProperties")
        for key, child in value.items():
            sub = props.get(key, extra if isinstance(extra, dict) else None)
            if sub:
                apply_defaults(child, sub)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            apply_defaults(item, schema["items"])


_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
}


def validate(value, schema: dict, path: str) -> list[dict]:
    if value is None:
        ok = schema.get("nullable") or not schema.get("type")
        return [] if ok else [errors.field_invalid(path, value, f"{path} in body must be of type {schema['type']}")]
    if schema.get("x-kubernetes-int-or-string"):
        if not (_TYPES["integer"](value) or isinstance(value, str)):
            return [errors.field_invalid(path, value, "must be an integer or a string")]
    elif schema.get("type") in _TYPES and not _TYPES[schema["type"]](value):
        return [errors.field_invalid(path, value, f"{path} in body must be of type {schema['type']}")]
    causes = []
    if "enum" in schema and value not in schema["enum"]:
        causes.append(errors.field_not_supported(path, value, schema["enum"]))
    if isinstance(value, str):
        causes += _string_causes(value, schema, path)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            causes.append(errors.field_invalid(path, value, f"should be greater than or equal to {schema['minimum']}"))
        if "maximum" in schema and value > schema["maximum"]:
            causes.append(errors.field_invalid(path, value, f"should be less than or equal to {schema['maximum']}"))
    elif isinstance(value, list):
        causes += _array_causes(value, schema, path)
    elif isinstance(value, dict):
        causes += _object_causes(value, schema, path)
    return causes


def _string_causes(value: str, schema: dict, path: str) -> list[dict]:
    causes = []
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        causes.append(errors.field_invalid(path, value, f"may not be longer than {schema['maxLength']}"))
    if "minLength" in schema and len(value) < schema["minLength"]:
        causes.append(errors.field_invalid(path, value, f"should be at least {schema['minLength']} chars long"))
    if "pattern" in schema and not re.search(schema["pattern"], value):
        causes.append(errors.field_invalid(path, value, f"should match '{schema['pattern']}'"))
    return causes


def _array_causes(value: list, schema: dict, path: str) -> list[dict]:
    causes = []
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        causes.append(errors.field_invalid(path, len(value), f"must have at most {schema['maxItems']} items"))
    if "minItems" in schema and len(value) < schema["minItems"]:
        causes.append(errors.field_invalid(path, len(value), f"should have at least {schema['minItems']} items"))
    if isinstance(schema.get("items"), dict):
        for n, item in enumerate(value):
            causes += validate(item, schema["items"], f"{path}[{n}]")
    return causes


def _object_causes(value: dict, schema: dict, path: str) -> list[dict]:
    causes = []
    prefix = f"{path}." if path else ""
    for key in schema.get("required") or []:
        if key not in value:
            causes.append(errors.field_required(prefix + key))
    props = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    for key, child in value.items():
        sub = props.get(key, extra if isinstance(extra, dict) else None)
        if sub is not None:
            causes += validate(child, sub, prefix + key)
    return causes


def normalize(obj: dict, schema: dict | None) -> None:
    """Prune unknown fields and fill defaults, in place (the top-level object fields are kept)."""
    if not schema:
        return
    body = {k: v for k, v in obj.items() if k not in _ROOT_FIELDS}
    prune(body, schema)
    apply_defaults(body, schema)
    for key in [k for k in obj if k not in _ROOT_FIELDS]:
        del obj[key]
    obj.update(body)


def causes(obj: dict, schema: dict | None) -> list[dict]:
    if not schema:
        return []
    body = {k: v for k, v in obj.items() if k not in _ROOT_FIELDS}
    required = [r for r in schema.get("required") or [] if r not in _ROOT_FIELDS]
    props = {k: v for k, v in (schema.get("properties") or {}).items() if k not in _ROOT_FIELDS}
    return validate(body, {**schema, "required": required, "properties": props}, "")
