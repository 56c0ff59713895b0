"""Open Cluster Management objects on the hub: the CRDs fleetform installs and their API versions.

With ``ocm: install`` the hub gets the OCM CRDs fleetform writes to (names, scopes, short names and
status subresources as in CLOUD-APIS §10, open schemas) so that the registration objects and the
ManifestWorks that carry objects to agent-mode members can be stored and read back. It does not
deploy the cluster-manager operator's controllers: their job (joining clusters, leases, applying
ManifestWorks) is done by the klusterlet agents and, in the sandbox, by its controllers.
"""

from __future__ import annotations

from dataclasses import dataclass

OCM_RELEASE = "0.16.0"  # the OCM release whose agent fleetform deploys (hub ``ocm_version`` cannot change it yet)
GROUP = "cluster.open-cluster-management.io"
WORK_GROUP = "work.open-cluster-management.io"
MANAGED_CLUSTER_API = f"{GROUP}/v1"
MANIFEST_WORK_API = f"{WORK_GROUP}/v1"


@dataclass(frozen=True)
class Crd:
    group: str
    plural: str
    kind: str
    version: str
    scope: str  # Cluster | Namespaced
    short_names: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.plural}.{self.group}"

    def spec(self) -> dict:
        return {
            "group": self.group,
            "names": {
                "plural": self.plural,
                "singular": self.kind.lower(),
                "kind": self.kind,
                "listKind": f"{self.kind}List",
                "shortNames": list(self.short_names),
            },
            "scope": self.scope,
            "versions": [
                {
                    "name": self.version,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                }
            ],
        }


CRDS = (
    Crd(GROUP, "managedclusters", "ManagedCluster", "v1", "Cluster", ("mcl", "mcls")),
    Crd(GROUP, "managedclustersets", "ManagedClusterSet", "v1beta2", "Cluster", ("mclset", "mclsets")),
    Crd(
        GROUP,
        "managedclustersetbindings",
        "ManagedClusterSetBinding",
        "v1beta2",
        "Namespaced",
        ("mclsetbinding", "mclsetbindings"),
    ),
    Crd(WORK_GROUP, "manifestworks", "ManifestWork", "v1", "Namespaced"),
)
