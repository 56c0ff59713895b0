"""Fleet (容器舰队): registered clusters grouped as one OCM ``ManagedClusterSet`` (DOMAIN §2.4).

Hub objects: the set ``<fleet>`` (exclusive cluster-set label), namespace ``fleetform-fleet-<fleet>``
and in it the ``ManagedClusterSetBinding`` ``<fleet>``. Each member is a child
:class:`~providers.dynamic.FleetMembership`; the membership itself is the cluster-set label, written
by the member's registration (its one writer), so adding, removing or moving a member changes that
label and a membership, never the fleet. Memberships and anything bound to the fleet (permissions,
a federation) depend on it, so a fleet is deleted after them in the same run (V19).
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from providers.dynamic import FleetMembership, FleetStatus

from . import labels, ocm
from .cluster import RegisteredCluster
from .hub import Hub
from .spec import Fleet as FleetSpec

SET_API = f"{ocm.GROUP}/v1beta2"


def binding_namespace(fleet: str) -> str:
    return f"fleetform-fleet-{fleet}"


class Fleet(pulumi.ComponentResource):
    """Outputs ``cluster_set``, ``binding_namespace``, ``member_names``, ``cluster_count``, ``capacity``,
    ``allocatable`` (summed from the members' ManagedCluster status), ``federation`` and ``state``
    (``active`` | ``empty`` | ``pending``). ``deletion_protection`` protects the ManagedClusterSet."""

    def __init__(
        self,
        spec: FleetSpec,
        hub: Hub,
        members: dict[str, RegisteredCluster],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("fleetform:index:Fleet", spec.name, None, opts)
        self.spec = spec
        name, namespace = spec.name, binding_namespace(spec.name)
        self.binding_namespace = namespace
        meta_labels = {**spec.labels, **labels.common(hub.name, fleet=name)}
        annotations = {**labels.field_manager("fleet"), "fleetform.io/description": spec.description}
        on_hub = pulumi.ResourceOptions(parent=self, provider=hub.provider, depends_on=hub.ready)
        cluster_set = k8s.apiextensions.CustomResource(
            f"{name}-clusterset",
            api_version=SET_API,
            kind="ManagedClusterSet",
            metadata={"name": spec.cluster_set, "labels": meta_labels, "annotations": annotations},
            spec={"clusterSelector": {"selectorType": "ExclusiveClusterSetLabel"}},
            opts=pulumi.ResourceOptions.merge(on_hub, pulumi.ResourceOptions(protect=spec.deletion_protection)),
        )
        ns = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": namespace, "labels": meta_labels, "annotations": labels.field_manager("fleet")},
            opts=on_hub,
        )
        binding = k8s.apiextensions.CustomResource(
            f"{name}-binding",
            api_version=SET_API,
            kind="ManagedClusterSetBinding",
            metadata={
                "name": spec.cluster_set,
                "namespace": namespace,
                "labels": meta_labels,
                "annotations": annotations,
            },
            spec={"clusterSet": spec.cluster_set},  # OCM: must equal the binding's own name
            opts=pulumi.ResourceOptions.merge(on_hub, pulumi.ResourceOptions(depends_on=[cluster_set, ns])),
        )
        self.memberships = {
            cluster: FleetMembership(
                f"{name}-member-{cluster}",
                fleet=spec.cluster_set,
                cluster=cluster,
                hub_kubeconfig=hub.kubeconfig,
                registration_state=member.status.state,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[binding, member.status]),
            )
            for cluster, member in sorted(members.items())
        }
        self.status = FleetStatus(
            f"{name}-status",
            fleet=spec.cluster_set,
            binding_namespace=namespace,
            hub_kubeconfig=hub.kubeconfig,
            members=list(members),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[binding, *self.memberships.values()]),
        )
        self.cluster_set = pulumi.Output.from_input(spec.cluster_set)
        self.state = self.status.state
        self.member_names = self.status.member_names
        self.register_outputs(
            {
                "cluster_set": spec.cluster_set,
                "binding_namespace": namespace,
                "member_names": self.status.member_names,
                "cluster_count": self.status.cluster_count,
                "capacity": self.status.capacity,
                "allocatable": self.status.allocatable,
                "federation": spec.federation,
                "state": self.status.state,
            }
        )
