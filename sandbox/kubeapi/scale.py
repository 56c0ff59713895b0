"""The ``scale`` subresource of Deployments, ReplicaSets and StatefulSets (``kubectl scale``), and of custom
resources whose CRD declares ``subresources.scale``.

Reads show an ``autoscaling/v1`` Scale built from the object (``spec.replicas``,
``status.replicas`` and the label selector as a string; for a custom resource the CRD's
``specReplicasPath``, ``statusReplicasPath`` and ``labelSelectorPath``); writes (update, or any patch type
applied to the Scale) change only the spec's replicas of the object, with the Scale's
``resourceVersion`` as precondition when it carries one.
"""

from __future__ import annotations

from . import errors
from .patch import APPLY, JSON_PATCH, MERGE, STRATEGIC, json_patch, merge_patch
from .resources import ScalePaths
from .tables import json_path


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


BUILT_IN = ScalePaths(".spec.replicas", ".status.replicas")


def _nested(path: str, value) -> dict:
    """``{"spec": {"replicas": value}}`` for ``.spec.replicas``."""
    for part in reversed(path.strip(".").split(".")):
        value = {part: value}
    return value


def scale_of(obj: dict, rt) -> dict:
    m = obj["metadata"]
    paths = rt.scale_paths or BUILT_IN
    status_replicas = json_path(obj, paths.status_replicas)
    if rt.scale_paths is None:
        selector = _selector(obj)
    else:
        found = json_path(obj, paths.label_selector) if paths.label_selector else None
        selector = found if isinstance(found, str) else ""
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {k: m[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in m},
        "spec": {"replicas": json_path(obj, paths.spec_replicas) or 0},
        "status": {"replicas": status_replicas if isinstance(status_replicas, int) else 0, "selector": selector},
    }


def get(ops, rt, namespace: str, name: str) -> dict:
    return scale_of(ops.get(rt, namespace, name), rt)


def write(ops, rt, namespace: str, name: str, doc, patch_type: str | None, manager: str, dry_run: bool) -> dict:
    """Update (``patch_type`` None, ``doc`` a Scale) or patch the Scale; returns the new Scale."""
    current = scale_of(ops.get(rt, namespace, name), rt)
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
    change = _nested((rt.scale_paths or BUILT_IN).spec_replicas, replicas)
    rv = (new.get("metadata") or {}).get("resourceVersion")
    if patch_type is None and rv:
        change["metadata"] = {"resourceVersion": rv}
    obj, _ = ops.patch(rt, namespace, name, change, MERGE, manager=manager, dry_run=dry_run)
    return scale_of(obj, rt)
