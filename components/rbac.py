"""The RBAC object fleetform writes in several places: a ClusterRole bound to a ServiceAccount."""

from __future__ import annotations

RBAC_API = "rbac.authorization.k8s.io/v1"


def service_account_binding(metadata: dict, cluster_role: str, account: str, namespace: str) -> dict:
    """A ClusterRoleBinding of ClusterRole ``cluster_role`` to ServiceAccount ``namespace/account``."""
    return {
        "apiVersion": RBAC_API,
        "kind": "ClusterRoleBinding",
        "metadata": metadata,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}],
    }
