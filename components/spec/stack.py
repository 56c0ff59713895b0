"""FleetSpec: a whole stack, and the questions about it that need more than one entity."""

from pydantic import Field, model_validator

from .clusters import ClusterSpec, IdcCluster, idc_agent_install
from .common import DEFAULT_CLUSTERSET, FEDERATION_MIN_KUBERNETES_VERSION, MIN_KUBERNETES_VERSION, Problem, StrictModel
from .federations import Federation
from .fleets import Fleet
from .hub import Hub
from .permissions import FleetPermission


class FleetSpec(StrictModel):
    """A whole stack: the ``fleetform:*`` config keys, validated, with the defaults of DOMAIN resolved."""

    sandbox: bool = False
    hub: Hub
    clusters: list[ClusterSpec] = []
    fleets: list[Fleet] = []
    federations: list[Federation] = []
    permissions: list[FleetPermission] = []
    warnings: list[Problem] = Field(default_factory=list, exclude=True)

    @model_validator(mode="after")
    def _resolve_stack_defaults(self) -> "FleetSpec":
        """Defaults that depend on other entities: the hub's access timeout, idc agent_install."""
        for cluster in self.clusters:
            if cluster.access_timeout is None:
                cluster.access_timeout = self.hub.default_access_timeout
            if isinstance(cluster, IdcCluster) and cluster.agent_install is None:
                cluster.agent_install = idc_agent_install(cluster, self.sandbox)
        return self

    def fleet_of(self, cluster_name: str) -> Fleet | None:
        """The fleet the cluster is a member of (at most one, V16), or None."""
        return next((fleet for fleet in self.fleets if cluster_name in fleet.members), None)

    def clusterset_of(self, cluster_name: str) -> str:
        """The value of the cluster's clusterset label: its fleet's ManagedClusterSet, else ``default`` (§5.2)."""
        fleet = self.fleet_of(cluster_name)
        return fleet.cluster_set if fleet else DEFAULT_CLUSTERSET

    def is_federated(self, cluster_name: str) -> bool:
        """Whether the cluster is a member of a fleet bound to a federation (it joins that federation, §5.7)."""
        fleet = self.fleet_of(cluster_name)
        return fleet is not None and fleet.federation is not None

    def min_version_of(self, cluster_name: str) -> str:
        """The lowest Kubernetes version the cluster may run: 1.21 when federated (V10), else 1.19 (V9)."""
        return FEDERATION_MIN_KUBERNETES_VERSION if self.is_federated(cluster_name) else MIN_KUBERNETES_VERSION

    def permission_targets(self, permission: FleetPermission) -> list[str]:
        """The clusters a permission is pushed to: its fleet's members, or its one cluster (§2.8)."""
        if permission.fleet is not None:
            return next((list(f.members) for f in self.fleets if f.name == permission.fleet), [])
        return [permission.cluster] if permission.cluster is not None else []

    def suspended_on(self, permission: FleetPermission) -> set[str]:
        """V44: a cluster permission is suspended while its cluster is in a fleet (the fleet's win)."""
        cluster = permission.cluster
        return {cluster} if cluster is not None and self.fleet_of(cluster) is not None else set()
