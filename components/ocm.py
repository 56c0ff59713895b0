"""Open Cluster Management objects on the hub: the CRDs fleetform installs and the ManagedCluster.

With ``ocm: install`` the hub gets the OCM cluster-registration CRDs (names, scopes, short names and
status subresources as in CLOUD-APIS §10, open schemas) so that the registration objects can be
stored and read back. It does not deploy the cluster-manager operator's controllers: their job
(joining clusters, leases) is done by the klusterlet agents and, in the sandbox, by its controllers.
"""

from __future__ import annotations

GROUP = "cluster.open-cluster-management.io"
MANAGED_CLUSTER_API = f"{GROUP}/v1"

CRDS = [
    # (plural, kind, version, scope, short names)
    ("managedclusters", "ManagedCluster", "v1", "Cluster", ["mcl", "mcls"]),
    ("managedclustersets", "ManagedClusterSet", "v1beta2", "Cluster", ["mclset", "mclsets"]),
    ("managedclustersetbindings", "ManagedClusterSetBinding", "v1beta2", "Namespaced", ["mclsetbinding", "mclsetbindings"]),
]


def crd_spec(plural: str, kind: str, version: str, scope: str, short_names: list[str]) -> dict:
    return {
        "group": GROUP,
        "names": {"plural": plural, "singular": kind.lower(), "kind": kind, "listKind": f"{kind}List", "shortNames": short_names},
        "scope": scope,
        "versions": [
            {
                "name": version,
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
            }
        ],
    }
