"""The fields of built-in kinds, read from the installed ``kubernetes`` client's generated models.

Each model class of the official Python client lists its fields (``attribute_map``: Python name
to JSON name, ``openapi_types``: the field's type as ``str``/``int``/``list[V1Container]``/
``dict[str, str]``/``V1ObjectMeta``/``object``) and carries each field's API description in its
property docstring. That is enough to know which fields a built-in object may have (to prune
and report unknown ones), and to publish OpenAPI schemas (``openapi``) for ``kubectl explain``
and client validation, without a hand-written copy of the API.

Shortcuts: the client tracks a newer Kubernetes minor than the clusters emulated, so fields
added since are accepted; ``object`` (IntOrString, RawExtension, free-form JSON) accepts
anything; required fields and formats are not part of this model.
"""

from __future__ import annotations

import functools
import re

from kubernetes.client import models

LIST = re.compile(r"^list\[(.+)\]$")
DICT = re.compile(r"^dict\[str, (.+)\]$")
SCALARS = {
    "str": {"type": "string"},
    "int": {"type": "integer", "format": "int64"},
    "float": {"type": "number", "format": "double"},
    "bool": {"type": "boolean"},
    "datetime": {"type": "string", "format": "date-time"},
    "date": {"type": "string", "format": "date"},
}


@functools.cache
def model_for(group: str, version: str, kind: str):
    """The client's model class of a built-in kind, or None (custom resources, unknown kinds)."""
    prefix = (group.split(".")[0] or "core").capitalize()
    for name in (f"{prefix}{version.capitalize()}{kind}", f"{version.capitalize()}{kind}"):
        cls = getattr(models, name, None)
        if cls is not None and "kind" in getattr(cls, "attribute_map", {}):
            return cls
    return None


@functools.cache
def fields(model_name: str) -> dict[str, str]:
    """``{json name: type}`` of a model, e.g. ``{"spec": "V1DeploymentSpec", ...}``."""
    cls = getattr(models, model_name)
    return {cls.attribute_map[attr]: kind for attr, kind in cls.openapi_types.items()}


@functools.cache
def description(model_name: str, json_name: str) -> str:
    cls = getattr(models, model_name)
    attr = next(a for a, j in cls.attribute_map.items() if j == json_name)
    doc = getattr(cls, attr).__doc__ or ""
    lines = [line.strip() for line in doc.splitlines()]
    body = [line for line in lines[1:] if line and not line.startswith(":")]
    return " ".join(line.replace("# noqa: E501", "").strip() for line in body).strip()


def is_model(kind: str) -> bool:
    return kind not in SCALARS and kind != "object" and not LIST.match(kind) and not DICT.match(kind)


@functools.cache
def _parsed(kind: str) -> tuple[str, str]:
    """``("list"|"dict", item type)``, ``("model", kind)`` or ``("other", kind)``."""
    if m := LIST.match(kind):
        return "list", m.group(1)
    if m := DICT.match(kind):
        return "dict", m.group(1)
    return ("model" if is_model(kind) else "other"), kind


def unknown_fields(value, kind: str, path: str = "", prune: bool = False) -> list[str]:
    """Paths (``.spec.foo``) of fields ``value`` has that a ``kind`` has not; removed when
    ``prune``. ``$``-prefixed strategic merge patch directives are not fields, and a null
    (a patch deleting the field) is not reported."""
    found: list[str] = []
    shape, inner = _parsed(kind)
    if shape == "list" and isinstance(value, list):
        for n, item in enumerate(value):
            found += unknown_fields(item, inner, f"{path}[{n}]", prune)
    elif shape == "dict" and isinstance(value, dict):
        for key, item in value.items():
            found += unknown_fields(item, inner, f"{path}[{key}]", prune)
    elif shape == "model" and isinstance(value, dict):
        known = fields(kind)
        for key in list(value):
            if key in known:
                found += unknown_fields(value[key], known[key], f"{path}.{key}", prune)
            elif not key.startswith("$") and value[key] is not None:  # null: a patch removing it
                found.append(f"{path}.{key}")
                if prune:
                    del value[key]
    return found
