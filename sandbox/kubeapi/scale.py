"""The ``scale`` subresource of Deployments, ReplicaSets and StatefulSets (``kubectl scale``).

Reads show an ``autoscaling/v1`` Scale built from the object (``spec.replicas``,
``status.replicas`` and the label selector as a string); writes (update, or any patch type
applied to the Scale) change only ``spec.replicas`` of the object, with the Scale's
``resourceVersion`` as precondition when it carries one.
"""

from __future__ import annotations

from . import errors
from .patch import APPLY, JSON_PATCH, MERGE, STRATEGIC, json_patch, merge_patch


def _selector(obj: dict) -> str:
    selector = (obj.get("spec") or {}).get("selector") or {}
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        op, values = expr.get("operator"), ",".join(expr.get("values") or [])
        parts.append(
            {"In": f"{expr['key']} in ({values})", "NotIn": f"{expr['key']} notin ({values})"}.get(op)
            or (expr["key"] if op == "Exists" else f"!{expr['key']}")
        )
    return ",".join(parts)


def scale_of(obj: dict) -> dict:
    m = obj["metadata"]
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {k: m[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in m},
        "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
        "status": {"replicas": (obj.get("status") or {}).get("replicas", 0), "selector": _selector(obj)},
    }


def get(ops, rt, namespace: str, name: str) -> dict:
    return scale_of(ops.get(rt, namespace, name))


def write(ops, rt, namespace: str, name: str, doc, patch_type: str | None, manager: str, dry_run: bool) -> dict:
    """Update (``patch_type`` None, ``doc`` a Scale) or patch the Scale; returns the new Scale."""
    current = scale_of(ops.get(rt, namespace, name))
    if patch_type is None:
        new = doc
    elif patch_type == JSON_PATCH:
        new = json_patch(current, doc)
    elif patch_type in (MERGE, STRATEGIC, APPLY) and isinstance(doc, dict):
        new = merge_patch(current, doc)
    else:
        raise errors.unsupported_media_type([JSON_PATCH, MERGE, STRATEGIC, APPLY])
    replicas = (new.get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise errors.invalid(
            "Scale",
            "autoscaling",
            name,
            [errors.field_invalid("spec.replicas", replicas, "must be greater than or equal to 0")],
        )
    change: dict = {"spec": {"replicas": replicas}}
    rv = (new.get("metadata") or {}).get("resourceVersion")
    if patch_type is None and rv:
        change["metadata"] = {"resourceVersion": rv}
    obj, _ = ops.patch(rt, namespace, name, change, MERGE, manager=manager, dry_run=dry_run)
    return scale_of(obj)
