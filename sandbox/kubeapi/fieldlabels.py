"""The field selector labels a real API server supports, per resource (Kubernetes 1.29).

Every kind supports ``metadata.name`` and ``metadata.namespace``; the others below are those of
the upstream types' field-label functions. Any other label is refused with "field label not
supported", as upstream. Custom resources support only the two metadata labels (no
``selectableFields``, which 1.30 added).
"""

from __future__ import annotations

from collections.abc import Callable


def _at(*path: str, default: str = "") -> Callable[[dict], str]:
    def get(obj: dict) -> str:
        value = obj
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            return default
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return get


_EVENT_OBJECT = ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")

_LABELS: dict[tuple[str, str], dict[str, Callable[[dict], str]]] = {
    ("", "namespaces"): {"status.phase": _at("status", "phase")},
    ("", "pods"): {
        "spec.nodeName": _at("spec", "nodeName"),
        "spec.restartPolicy": _at("spec", "restartPolicy"),
        "spec.schedulerName": _at("spec", "schedulerName"),
        "spec.serviceAccountName": _at("spec", "serviceAccountName"),
        "spec.hostNetwork": _at("spec", "hostNetwork", default="false"),
        "status.phase": _at("status", "phase"),
        "status.podIP": _at("status", "podIP"),
        "status.nominatedNodeName": _at("status", "nominatedNodeName"),
    },
    ("", "secrets"): {"type": _at("type")},
    ("", "nodes"): {"spec.unschedulable": _at("spec", "unschedulable", default="false")},
    ("", "events"): {
        **{f"involvedObject.{k}": _at("involvedObject", k) for k in _EVENT_OBJECT},
        "reason": _at("reason"),
        "reportingComponent": _at("reportingComponent"),
        "source": _at("source", "component"),
        "type": _at("type"),
    },
    ("apps", "replicasets"): {"status.replicas": _at("status", "replicas", default="0")},
    ("batch", "jobs"): {"status.successful": _at("status", "successful", default="0")},
    ("certificates.k8s.io", "certificatesigningrequests"): {"spec.signerName": _at("spec", "signerName")},
}
_COMMON = {"metadata.name": _at("metadata", "name"), "metadata.namespace": _at("metadata", "namespace")}


def labels_for(key: tuple[str, str] | None) -> dict[str, Callable[[dict], str]]:
    """``{label: value getter}`` for a resource's storage key (``None``: the common labels)."""
    return {**_COMMON, **_LABELS.get(key, {})} if key else _COMMON
