"""Whether a member runs a klusterlet, and as which managed cluster: what both emulated agents
(registration and work) start from.

A klusterlet runs when Deployment ``open-cluster-management-agent/klusterlet-agent`` reports an
available replica; it registers as the cluster named by its ``--cluster-name=`` argument (which
need not be the virtual cluster's own name).
"""

from __future__ import annotations

from ..kubeapi import ApiError, VirtualCluster

OCM_API = "cluster.open-cluster-management.io/v1"
AGENT_NAMESPACE = "open-cluster-management-agent"
AGENT_DEPLOYMENT = "klusterlet-agent"


def running_as(member: VirtualCluster) -> str | None:
    """The managed-cluster name of the member's running klusterlet; None when none runs."""
    try:
        deployment = member.objects.get("apps/v1", "Deployment", AGENT_DEPLOYMENT, AGENT_NAMESPACE)
    except ApiError:
        return None
    if not (deployment.get("status") or {}).get("availableReplicas"):
        return None
    containers = deployment["spec"]["template"]["spec"].get("containers") or [{}]
    names = [a.split("=", 1)[1] for a in containers[0].get("args", []) if a.startswith("--cluster-name=")]
    return names[0] if names else None


def joined(hub: VirtualCluster, cluster: str) -> bool:
    """The hub's ManagedCluster ``cluster`` says ``ManagedClusterJoined=True``."""
    try:
        managed = hub.objects.get(OCM_API, "ManagedCluster", cluster)
    except ApiError:
        return False  # absent, or the OCM CRDs are not installed
    conditions = (managed.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "ManagedClusterJoined" and c.get("status") == "True" for c in conditions)
