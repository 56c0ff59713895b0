"""FleetStatus: a fleet as the hub sees it (DOMAIN §2.4): state, members and summed capacity.

State comes from OCM's conditions: ``active`` when the binding is ``Bound=True`` and the set
``ClusterSetEmpty=False``, ``empty`` when ``ClusterSetEmpty=True``, ``pending`` until OCM reports.
Members are the ManagedClusters carrying the fleet's cluster-set label; ``capacity`` and
``allocatable`` are their ``status.capacity``/``allocatable`` added up per resource (exact quantity
arithmetic). Create and update wait, up to ``timeout_seconds``, for OCM to report the expected
member names; refresh reads once. It owns nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from kubeclient import quantity

from .. import kube
from ._props import Props, now
from ._waiting import poll

SET_API = "/apis/cluster.open-cluster-management.io/v1beta2"
CLUSTER_API = "/apis/cluster.open-cluster-management.io/v1/managedclusters"
CLUSTERSET_LABEL = "cluster.open-cluster-management.io/clusterset"


@dataclass(frozen=True)
class FleetStatusInputs(Props):
    fleet: str
    binding_namespace: str
    hub_kubeconfig: str
    members: list[str]  # declared: what create and update wait to see
    timeout_seconds: int = 60


@dataclass(frozen=True)
class FleetStatusOutputs(Props):
    state: str  # active | empty | pending
    state_reason: str
    member_names: list[str] = field(default_factory=list)
    cluster_count: int = 0
    capacity: dict = field(default_factory=dict)
    allocatable: dict = field(default_factory=dict)
    observed_at: str = ""


def _conditions(obj: dict | None) -> dict[str, str]:
    return {c.get("type"): c.get("status") for c in ((obj or {}).get("status") or {}).get("conditions") or []}


def observe(inputs: FleetStatusInputs) -> FleetStatusOutputs:
    hub = kube.api_client(inputs.hub_kubeconfig, f"hub of fleet {inputs.fleet}")
    _, cluster_set = kube.request_json(hub, "GET", f"{SET_API}/managedclustersets/{inputs.fleet}")
    binding_path = f"{SET_API}/namespaces/{inputs.binding_namespace}/managedclustersetbindings/{inputs.fleet}"
    _, binding = kube.request_json(hub, "GET", binding_path)
    selector = f"labelSelector={CLUSTERSET_LABEL}%3D{inputs.fleet}"
    _, listed = kube.request_json(hub, "GET", f"{CLUSTER_API}?{selector}")
    members = sorted((listed or {}).get("items") or [], key=lambda m: m["metadata"]["name"])
    set_conditions, bound = _conditions(cluster_set), _conditions(binding).get("Bound")
    empty = set_conditions.get("ClusterSetEmpty")
    if empty == "True":
        state = "empty"
    elif empty == "False" and bound == "True":
        state = "active"
    else:
        state = "pending"
    return FleetStatusOutputs(
        state=state,
        state_reason=f"ClusterSetEmpty={empty or 'missing'}, Bound={bound or 'missing'}",
        member_names=[m["metadata"]["name"] for m in members],
        cluster_count=len(members),
        capacity=quantity.summed((m.get("status") or {}).get("capacity") or {} for m in members),
        allocatable=quantity.summed((m.get("status") or {}).get("allocatable") or {} for m in members),
        observed_at=now(),
    )


class FleetStatusProvider(ResourceProvider):
    repeatable_create = True  # it observes or converges and makes nothing a second create would duplicate

    def diff(self, _id: str, olds: dict, news: dict) -> DiffResult:
        changed = FleetStatusInputs.from_props(news).changed(FleetStatusInputs.from_props(olds))
        return DiffResult(changes=bool(changed))

    def _settle(self, inputs: FleetStatusInputs) -> dict:
        outputs, _ = poll(
            lambda: observe(inputs),
            lambda o: o.state != "pending" and o.member_names == sorted(inputs.members),
            inputs.timeout_seconds,
            0.5,
        )
        return {**inputs.to_props(), **outputs.to_props()}

    def create(self, props: dict) -> CreateResult:
        inputs = FleetStatusInputs.from_props(props)
        return CreateResult(id_=inputs.fleet, outs=self._settle(inputs))

    def update(self, _id: str, _olds: dict, news: dict) -> UpdateResult:
        return UpdateResult(outs=self._settle(FleetStatusInputs.from_props(news)))

    def read(self, id_: str, props: dict) -> ReadResult:
        found = observe(FleetStatusInputs.from_props(props)).to_props()
        found.pop("observed_at")  # a refresh that finds nothing new shows no drift
        return ReadResult(id_, {**props, **found})

    def delete(self, _id: str, _props: dict) -> None:
        """Observing owns nothing."""


class FleetStatus(Resource, module="fleetform", name="FleetStatus"):
    """The fleet's state (active | empty | pending), member names, count and summed capacity."""

    state: pulumi.Output[str]
    state_reason: pulumi.Output[str]
    member_names: pulumi.Output[list]
    cluster_count: pulumi.Output[int]
    capacity: pulumi.Output[dict]
    allocatable: pulumi.Output[dict]

    def __init__(
        self,
        name: str,
        *,
        fleet: str,
        binding_namespace: str,
        hub_kubeconfig: pulumi.Input[str],
        members: list[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        props = {
            "fleet": fleet,
            "binding_namespace": binding_namespace,
            "hub_kubeconfig": pulumi.Output.secret(hub_kubeconfig),
            "members": sorted(members),
            "timeout_seconds": 60,
            **FleetStatusOutputs.placeholders(),
        }
        super().__init__(FleetStatusProvider(), name, props, opts)
