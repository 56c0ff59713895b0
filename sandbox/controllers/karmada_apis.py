"""The Karmada APIs an emulated Karmada control plane serves, and the names the controllers share.

A real karmada-apiserver serves ``cluster.karmada.io`` through an aggregated API server
(APIService ``v1alpha1.cluster.karmada.io``, with ``status`` and ``proxy`` subresources); the
emulated control plane serves ``Cluster`` as a plain cluster-scoped CRD with a status
subresource instead (same group, version and names; no ``proxy``). The policy and work kinds are
CRDs upstream too. Every schema here is open (``x-kubernetes-preserve-unknown-fields``): the
emulator checks no Karmada field, and no Karmada webhook validates or defaults anything.
"""

from __future__ import annotations

from ..kubeapi import ApiError, VirtualCluster

CLUSTER_API = "cluster.karmada.io/v1alpha1"
POLICY_API = "policy.karmada.io/v1alpha1"
BINDING_API = "work.karmada.io/v1alpha2"
WORK_API = "work.karmada.io/v1alpha1"

# What upstream's operator creates in a control plane (its systemNamespace task). ``karmada-cluster``, where
# Push members' credentials go, is made by whoever joins them (``karmadactl join``, or fleetform).
SYSTEM_NAMESPACES = ("karmada-system",)
EXECUTION_NAMESPACE_PREFIX = "karmada-es-"

# (group, version, kind, plural, scope, has status)
KINDS = (
    ("cluster.karmada.io", "v1alpha1", "Cluster", "clusters", "Cluster", True),
    ("policy.karmada.io", "v1alpha1", "PropagationPolicy", "propagationpolicies", "Namespaced", False),
    ("policy.karmada.io", "v1alpha1", "ClusterPropagationPolicy", "clusterpropagationpolicies", "Cluster", False),
    ("policy.karmada.io", "v1alpha1", "OverridePolicy", "overridepolicies", "Namespaced", False),
    ("policy.karmada.io", "v1alpha1", "ClusterOverridePolicy", "clusteroverridepolicies", "Cluster", False),
    ("work.karmada.io", "v1alpha2", "ResourceBinding", "resourcebindings", "Namespaced", True),
    ("work.karmada.io", "v1alpha2", "ClusterResourceBinding", "clusterresourcebindings", "Cluster", True),
    ("work.karmada.io", "v1alpha1", "Work", "works", "Namespaced", True),
)


def execution_namespace(cluster: str) -> str:
    return EXECUTION_NAMESPACE_PREFIX + cluster


def crd(group: str, version: str, kind: str, plural: str, scope: str, status: bool) -> dict:
    served = {
        "name": version,
        "served": True,
        "storage": True,
        "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
    }
    if status:
        served["subresources"] = {"status": {}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": scope,
            "names": {"kind": kind, "listKind": f"{kind}List", "plural": plural, "singular": kind.lower()},
            "versions": [served],
        },
    }


def install(control_plane: VirtualCluster) -> None:
    """Serve the Karmada kinds and create the system namespaces (what is missing only)."""
    for kind in KINDS:
        try:
            control_plane.objects.resource_type(f"{kind[0]}/{kind[1]}", kind[2])
        except ApiError:
            control_plane.objects.create(crd(*kind))
    for namespace in SYSTEM_NAMESPACES:
        ensure_namespace(control_plane, namespace)


def ensure_namespace(cluster: VirtualCluster, name: str) -> None:
    try:
        cluster.objects.get("v1", "Namespace", name)
    except ApiError as err:
        if err.code != 404:
            raise
        cluster.objects.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def listed(cluster: VirtualCluster, api_version: str, kind: str, namespace: str | None = None) -> list[dict]:
    """The objects of a kind; none when the kind is not served."""
    try:
        return cluster.objects.list(api_version, kind, namespace)
    except ApiError as err:
        if err.code == 404:
            return []
        raise


def ready(cluster: dict) -> bool:
    conditions = (cluster.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
