"""OpenAPI documents generated from the cluster's own types: ``/openapi/v2`` and ``/openapi/v3``.

Built-in kinds take their schemas from :mod:`typeschemas`, custom resources from their CRD
version's ``openAPIV3Schema``. ``/openapi/v3`` is the index of group-version documents
(``/openapi/v3/apis/apps/v1``), each with the paths of its resources (operations tagged with
``x-kubernetes-group-version-kind`` and ``x-kubernetes-action``; PATCH and writes take the
``fieldValidation`` query parameter, which is how kubectl learns to leave validation to the
server) and the schemas they reference. ``kubectl explain`` reads these.

Shortcuts: nested schemas are named after the client's model classes
(``io.k8s.api.v1.DeploymentSpec``, without upstream's group segment); lists carry no
``x-kubernetes-patch-merge-key`` (the PATCH operations do not offer strategic merge patch, so
kubectl computes strategic patches from its compiled-in types, which is what it does for
built-ins anyway); ``/openapi/v2`` is served as JSON only (kubectl asks for protobuf and then
does without it).
"""

from __future__ import annotations

import hashlib
import json
import re

from . import errors, typeschemas
from .resources import Registry, ResourceType

_WRITE_PARAMS = ("dryRun", "fieldManager", "fieldValidation")


def _ref(prefix: str, name: str) -> dict:
    return {"$ref": f"{prefix}{name}"}


def _top_name(rt: ResourceType) -> str:
    group = ".".join(reversed(rt.group.split("."))) if "." in rt.group else f"io.k8s.api.{rt.group or 'core'}"
    return f"{group}.{rt.version}.{rt.kind}"


_MODEL_NAME = re.compile(r"^([A-Z][a-z]+)?(V\d+(?:alpha\d+|beta\d+)?)(.+)$")


def _nested_name(model: str) -> str:
    """``V1DeploymentSpec`` -> ``io.k8s.api.v1.DeploymentSpec`` (kubectl shows the last part)."""
    m = _MODEL_NAME.match(model)
    if not m:
        return f"io.k8s.api.{model}"
    group = f"{m.group(1).lower()}." if m.group(1) else ""
    return f"io.k8s.api.{group}{m.group(2).lower()}.{m.group(3)}"


class _Schemas:
    """Collects the schemas one document needs, following references."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.defs: dict[str, dict] = {}

    def of_type(self, kind: str) -> dict:
        if m := typeschemas.LIST.match(kind):
            return {"type": "array", "items": self.of_type(m.group(1))}
        if m := typeschemas.DICT.match(kind):
            return {"type": "object", "additionalProperties": self.of_type(m.group(1))}
        if kind == "object":
            return {"x-kubernetes-preserve-unknown-fields": True}
        if not typeschemas.is_model(kind):
            return dict(typeschemas.SCALARS[kind])
        name = _nested_name(kind)
        self.model(name, kind)
        return _ref(self.prefix, name)

    def model(self, name: str, model: str, extra: dict | None = None) -> None:
        if name in self.defs:
            return
        schema: dict = {"type": "object", "properties": {}}
        self.defs[name] = schema
        for field, kind in typeschemas.fields(model).items():
            sub = self.of_type(kind)
            text = typeschemas.description(model, field)
            if "$ref" in sub and text:
                sub = {"allOf": [sub], "description": text}
            elif text:
                sub["description"] = text
            schema["properties"][field] = sub
        schema.update(extra or {})

    def kind(self, rt: ResourceType) -> str | None:
        gvk = {"x-kubernetes-group-version-kind": [{"group": rt.group, "version": rt.version, "kind": rt.kind}]}
        name = _top_name(rt)
        if rt.custom:
            schema = json.loads(
                json.dumps(rt.schema or {"type": "object", "x-kubernetes-preserve-unknown-fields": True})
            )
            props = schema.setdefault("properties", {})
            props.setdefault("apiVersion", {"type": "string"})
            props.setdefault("kind", {"type": "string"})
            props["metadata"] = self.of_type("V1ObjectMeta")
            self.defs[name] = {**schema, **gvk}
            return name
        model = typeschemas.model_for(rt.group, rt.version, rt.kind)
        if model is None:
            return None
        self.model(name, model.__name__, gvk)
        return name


def _operations(rt: ResourceType, schema_ref: dict, v3: bool) -> dict[str, dict]:
    """``{path: path item}`` for a resource: collection and item paths."""
    base = f"/api/{rt.version}" if not rt.group else f"/apis/{rt.group}/{rt.version}"
    scope = f"{base}/namespaces/{{namespace}}" if rt.namespaced else base
    gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}

    def op(action: str, verb_id: str, write: bool, content: tuple[str, ...] = ("application/json",)) -> dict:
        params = [{"name": p, "in": "query", "schema": {"type": "string"}} for p in _WRITE_PARAMS] if write else []
        if not v3:
            params = [{"name": p["name"], "in": "query", "type": "string"} for p in params]
        operation = {
            "operationId": f"{verb_id}{rt.kind}",
            "parameters": params,
            "responses": {"200": {"description": "OK"}},
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": gvk,
        }
        if write:
            if v3:
                operation["requestBody"] = {"content": {c: {"schema": schema_ref} for c in content}}
            else:
                operation["consumes"] = list(content)
                operation["parameters"].append({"name": "body", "in": "body", "schema": schema_ref})
        return operation

    collection = {"post": op("post", "create", True)}
    if "list" in rt.verbs:
        collection["get"] = op("list", "list", False)
    paths = {f"{scope}/{rt.plural}": collection}
    if "get" in rt.verbs:
        patch_types = ("application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml")
        paths[f"{scope}/{rt.plural}/{{name}}"] = {
            "get": op("get", "read", False),
            "put": op("put", "replace", True),
            "patch": op("patch", "patch", True, patch_types),
            "delete": op("delete", "delete", False),
        }
    return paths


def _document(registry: Registry, types: list[ResourceType], version: str, v3: bool) -> dict:
    schemas = _Schemas("#/components/schemas/" if v3 else "#/definitions/")
    paths: dict[str, dict] = {}
    for rt in types:
        name = schemas.kind(rt)
        if name is not None:
            paths.update(_operations(rt, _ref(schemas.prefix, name), v3))
    info = {"title": "Kubernetes", "version": version}
    if v3:
        return {"openapi": "3.0.0", "info": info, "paths": paths, "components": {"schemas": schemas.defs}}
    return {"swagger": "2.0", "info": info, "paths": paths, "definitions": schemas.defs}


def _group_versions(registry: Registry) -> list[tuple[str, str]]:
    seen = dict.fromkeys((t.group, t.version) for t in registry.all())
    return list(seen)


def _gv_path(group: str, version: str) -> str:
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def v3_index(registry: Registry, version: str) -> dict:
    paths = {}
    for group, gv_version in _group_versions(registry):
        types = repr(registry.in_group_version(group, gv_version))  # schemas included
        digest = hashlib.sha512(f"{version}{types}".encode()).hexdigest()[:128].upper()
        path = _gv_path(group, gv_version)
        paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
    return {"paths": paths}


def v3_group_version(registry: Registry, group: str, gv_version: str, version: str) -> dict:
    types = registry.in_group_version(group, gv_version)
    if not types:
        raise errors.page_not_found()
    return _document(registry, types, version, v3=True)


def v2(registry: Registry, version: str) -> dict:
    return _document(registry, list(registry.all()), version, v3=False)


def respond(registry: Registry, segments: list[str], version: str) -> dict:
    """The document at ``/openapi/...`` (``segments`` after ``openapi``)."""
    if segments == ["v2"]:
        return v2(registry, version)
    if segments == ["v3"]:
        return v3_index(registry, version)
    if len(segments) == 3 and segments[:2] == ["v3", "api"]:
        return v3_group_version(registry, "", segments[2], version)
    if len(segments) == 4 and segments[:2] == ["v3", "apis"]:
        return v3_group_version(registry, segments[2], segments[3], version)
    raise errors.page_not_found()
