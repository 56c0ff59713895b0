"""Which lists are *keyed* (merged item by item) and by which fields.

Strategic merge patch and server-side apply both need to know, at any point of an object,
whether a list is atomic (replaced wholesale) or a map keyed by some fields. A *shape* answers
that while walking an object:

* built-in kinds use a table of the well-known keyed lists (``containers`` by ``name``,
  ``volumeMounts`` by ``mountPath``, ``conditions`` by ``type`` ...), a simplification of the
  per-field ``patchMergeKey`` of the real types;
* custom resources read ``x-kubernetes-list-type: map`` / ``x-kubernetes-list-map-keys`` from
  the CRD schema; every other list of a custom resource is atomic, as upstream.
"""

from __future__ import annotations

from .resources import ResourceType

_BUILTIN_LIST_KEYS = {
    "containers": ("name",),
    "initContainers": ("name",),
    "ephemeralContainers": ("name",),
    "env": ("name",),
    "volumes": ("name",),
    "volumeMounts": ("mountPath",),
    "volumeDevices": ("devicePath",),
    "imagePullSecrets": ("name",),
    "hostAliases": ("ip",),
    "conditions": ("type",),
    "ownerReferences": ("uid",),
}


def _all_have(items: list, keys: tuple[str, ...]) -> bool:
    return all(isinstance(i, dict) and all(k in i for k in keys) for i in items)


class BuiltinShape:
    """Shape of built-in kinds: keyed lists recognised by field name."""

    def __init__(self, name: str = ""):
        self.name = name

    def field(self, name: str) -> BuiltinShape:
        return BuiltinShape(name)

    def item(self) -> BuiltinShape:
        return BuiltinShape()

    def list_keys(self, items: list) -> tuple[str, ...] | None:
        if self.name == "ports":  # container ports by containerPort, service ports by port
            keys = ("containerPort",) if _all_have(items, ("containerPort",)) else ("port",)
        else:
            keys = _BUILTIN_LIST_KEYS.get(self.name)
        return keys if keys and _all_have(items, keys) else None

    @property
    def merges_scalars(self) -> bool:
        """Lists of scalars merged as sets by strategic merge patch (``metadata.finalizers``)."""
        return self.name == "finalizers"


class SchemaShape:
    """Shape of custom resources, from the OpenAPI v3 schema of their CRD version."""

    def __init__(self, schema: dict | None):
        self.schema = schema or {}

    def field(self, name: str):
        props = self.schema.get("properties") or {}
        if name in props:
            return SchemaShape(props[name])
        extra = self.schema.get("additionalProperties")
        return SchemaShape(extra if isinstance(extra, dict) else None)

    def item(self) -> SchemaShape:
        return SchemaShape(self.schema.get("items"))

    def list_keys(self, items: list) -> tuple[str, ...] | None:
        if self.schema.get("x-kubernetes-list-type") != "map":
            return None
        keys = tuple(self.schema.get("x-kubernetes-list-map-keys") or ())
        return keys if keys and _all_have(items, keys) else None

    merges_scalars = False


class _CustomRootShape(SchemaShape):
    """Top level of a custom resource: ``metadata`` follows the built-in ObjectMeta rules."""

    def field(self, name: str):
        return BuiltinShape(name) if name == "metadata" else super().field(name)


def root_shape(rtype: ResourceType):
    return _CustomRootShape(rtype.schema) if rtype.custom else BuiltinShape()
