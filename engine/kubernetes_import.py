"""What a program declares of a live Kubernetes object: the inputs `fleetform import` records for it.

A program declares an object's ``apiVersion``, ``kind``, ``metadata`` (name, namespace, labels,
annotations, finalizers, owner references) and its content (``spec``, ``data``, ``rules``, ...). What the
API server adds for its own bookkeeping is none of that: ``status``; ``uid``, ``resourceVersion``,
``generation``, ``creationTimestamp``, ``managedFields`` and the deletion marks; ``kubectl``'s
last-applied annotation; and the two things it puts on every Namespace (the
``kubernetes.io/metadata.name`` label and the ``kubernetes`` finalizer in ``spec``). Defaults the server
filled in (a Deployment's strategy, say) cannot be told from fields someone set, so they stay: declared
as they are, the next preview is a no-op; left out, it shows them as the precise diff.
"""

from __future__ import annotations

import copy

_SERVER_METADATA = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)
_SERVER_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)
_NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
_NAMESPACE_FINALIZER = "kubernetes"


def declared_fields(live: dict) -> dict:
    """The live object without what the server keeps for itself (see the module's docstring)."""
    obj = {k: copy.deepcopy(v) for k, v in live.items() if k != "status"}
    metadata = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _SERVER_METADATA}
    annotations = {k: v for k, v in (metadata.get("annotations") or {}).items() if k not in _SERVER_ANNOTATIONS}
    labels = dict(metadata.get("labels") or {})
    if obj.get("kind") == "Namespace" and obj.get("apiVersion") == "v1":
        if labels.get(_NAMESPACE_NAME_LABEL) == metadata.get("name"):
            del labels[_NAMESPACE_NAME_LABEL]
        spec = dict(obj.get("spec") or {})
        if spec.get("finalizers") == [_NAMESPACE_FINALIZER]:
            del spec["finalizers"]
        obj["spec"] = spec
    for key, values in (("annotations", annotations), ("labels", labels)):
        if values:
            metadata[key] = values
        else:
            metadata.pop(key, None)
    obj["metadata"] = metadata
    return {k: v for k, v in obj.items() if v not in ({}, None)}
