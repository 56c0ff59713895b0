"""FleetMembership: one registered cluster in one fleet (DOMAIN §2.4), a child of the Fleet so that
adding, removing or moving a member never replaces the fleet.

The membership itself is the cluster-set label on the member's ``ManagedCluster``, which the
registration writes (its one writer). This resource checks V17 (the registration is ``running``)
and waits, up to ``timeout_seconds``, until the hub shows the label: state ``joined``. Deleting it
writes nothing: the registration sets the label back to ``default`` (or to the new fleet) in the
same run.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from .. import kube
from ..errors import ErrorCode, FleetformError
from ._props import Props, now
from ._waiting import poll

MANAGED_CLUSTER = "/apis/cluster.open-cluster-management.io/v1/managedclusters/{cluster}"
CLUSTERSET_LABEL = "cluster.open-cluster-management.io/clusterset"


@dataclass(frozen=True)
class FleetMembershipInputs(Props):
    fleet: str
    cluster: str
    hub_kubeconfig: str
    registration_state: str  # the member's RegistrationStatus.state; V17 wants running
    timeout_seconds: int = 120


@dataclass(frozen=True)
class FleetMembershipOutputs(Props):
    state: str  # joined | leaving
    state_reason: str
    observed_at: str


def observe(inputs: FleetMembershipInputs) -> FleetMembershipOutputs:
    hub = kube.api_client(inputs.hub_kubeconfig, f"hub of fleet {inputs.fleet}")
    status, managed = kube.request_json(hub, "GET", MANAGED_CLUSTER.format(cluster=inputs.cluster))
    label = ((managed or {}).get("metadata", {}).get("labels") or {}).get(CLUSTERSET_LABEL) if status == 200 else None
    if label == inputs.fleet:
        return FleetMembershipOutputs("joined", f"{CLUSTERSET_LABEL}={label}", now())
    seen = f"{CLUSTERSET_LABEL}={label}" if label else f"no ManagedCluster label (HTTP {status})"
    return FleetMembershipOutputs("leaving", seen, now())


class FleetMembershipProvider(ResourceProvider):
    repeatable_create = True  # it observes or converges and makes nothing a second create would duplicate

    def diff(self, _id: str, olds: dict, news: dict) -> DiffResult:
        old, new = FleetMembershipInputs.from_props(olds), FleetMembershipInputs.from_props(news)
        changed = new.changed(old)
        replaces = [key for key in ("fleet", "cluster") if key in changed]
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=False)

    def _join(self, inputs: FleetMembershipInputs, joining: bool = True) -> dict:
        """V17 gates a cluster joining; a member already joined that stops running stays a member
        (its fleet reports it; DOMAIN §5.5 defers its own resources, not its membership)."""
        if joining and inputs.registration_state != "running":
            raise FleetformError(
                ErrorCode.FLEET_MEMBER_NOT_RUNNING,
                f"cluster '{inputs.cluster}' is '{inputs.registration_state}'; only running clusters can join "
                f"a fleet (fleet '{inputs.fleet}': wait until it runs, or take it out of the fleet's members)",
            )
        outputs, joined = poll(lambda: observe(inputs), lambda o: o.state == "joined", inputs.timeout_seconds, 0.5)
        if not joined:
            raise FleetformError(
                None,
                f"cluster '{inputs.cluster}' did not join fleet '{inputs.fleet}' within "
                f"{inputs.timeout_seconds}s: the hub shows {outputs.state_reason}",
            )
        return {**inputs.to_props(), **outputs.to_props()}

    def create(self, props: dict) -> CreateResult:
        inputs = FleetMembershipInputs.from_props(props)
        return CreateResult(id_=f"{inputs.fleet}/{inputs.cluster}", outs=self._join(inputs))

    def update(self, _id: str, olds: dict, news: dict) -> UpdateResult:
        joined = olds.get("state") == "joined"
        return UpdateResult(outs=self._join(FleetMembershipInputs.from_props(news), joining=not joined))

    def read(self, id_: str, props: dict) -> ReadResult:
        inputs = FleetMembershipInputs.from_props(props)
        return ReadResult(id_, {**props, **observe(inputs).to_props()})

    def delete(self, _id: str, _props: dict) -> None:
        """The registration owns the label; it resets it in the same run."""


class FleetMembership(Resource, module="fleetform", name="FleetMembership"):
    """Cluster ``cluster`` in fleet ``fleet``: ``state`` joined | leaving."""

    state: pulumi.Output[str]
    state_reason: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        fleet: str,
        cluster: str,
        hub_kubeconfig: pulumi.Input[str],
        registration_state: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        props = {
            "fleet": fleet,
            "cluster": cluster,
            "hub_kubeconfig": pulumi.Output.secret(hub_kubeconfig),
            "registration_state": registration_state,
            "timeout_seconds": 120,
            **FleetMembershipOutputs.placeholders(),
        }
        super().__init__(FleetMembershipProvider(), name, props, opts)
