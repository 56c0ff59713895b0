"""RegistrationStatus: the state of a registration (pending-access, running, disconnected), read
from the hub (agent) or by probing the member (direct), and waited for on apply."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from .. import kube
from ..errors import ClusterAccessError, ErrorCode
from ._props import Props, now
from ._waiting import poll

MANAGED_CLUSTER = "/apis/cluster.open-cluster-management.io/v1/managedclusters/{cluster}"


@dataclass(frozen=True)
class RegistrationStatusInputs(Props):
    cluster: str
    mode: str  # direct | agent
    hub_kubeconfig: str
    timeout_seconds: int
    member_kubeconfig: str = ""  # direct: the hub's credential for the member
    wait: bool = True
    generation: int = 1


@dataclass(frozen=True)
class RegistrationStatusOutputs(Props):
    state: str
    state_reason: str
    observed_at: str | None = None


class RegistrationStatusProvider(ResourceProvider):
    """Create and update wait, up to ``timeout_seconds``, for ``running``; a cluster that does not get
    there fails with FF-CONN-005 (agent) or FF-CONN-002 (direct). Refresh reads the state once, so
    that a cluster that stopped answering shows up as drift to ``disconnected``.
    """

    repeatable_create = True  # it observes or converges and makes nothing a second create would duplicate

    def diff(self, _id: str, olds: dict, news: dict) -> DiffResult:
        changed = RegistrationStatusInputs.from_props(news).changed(RegistrationStatusInputs.from_props(olds))
        return DiffResult(changes=bool(changed))

    @staticmethod
    def observe(inputs: RegistrationStatusInputs) -> tuple[str, str]:
        """(state, reason) right now."""
        hub = kube.api_client(inputs.hub_kubeconfig, f"hub of {inputs.cluster}")
        status, managed = kube.request_json(hub, "GET", MANAGED_CLUSTER.format(cluster=inputs.cluster))
        if status == 404:
            return "pending-access", "ManagedCluster is missing on the hub"
        if status != 200:
            return "pending-access", f"hub answered HTTP {status}"
        if inputs.mode == "direct":
            try:
                kube.probe(inputs.member_kubeconfig, inputs.cluster, attempts=1)
            except ClusterAccessError as exc:
                return "disconnected", str(exc)
            return "running", "the member answers /readyz and /version with the hub's token"
        conditions = {c.get("type"): c for c in (managed.get("status") or {}).get("conditions") or []}
        joined = conditions.get("ManagedClusterJoined", {}).get("status") == "True"
        available = conditions.get("ManagedClusterConditionAvailable", {}).get("status")
        if not joined:
            return "pending-access", "the agent has not joined yet"
        if available == "True":
            return "running", "joined and available"
        return "disconnected", f"ManagedClusterConditionAvailable is {available or 'missing'}"

    def _wait(self, inputs: RegistrationStatusInputs) -> dict:
        timeout = float(inputs.timeout_seconds or 1800)
        (state, reason), settled = poll(
            lambda: self.observe(inputs), lambda seen: seen[0] == "running" or not inputs.wait, timeout
        )
        if settled:
            outputs = RegistrationStatusOutputs(state=state, state_reason=reason, observed_at=now())
            return {**inputs.to_props(), **outputs.to_props()}
        if inputs.mode == "direct":
            raise ClusterAccessError(None, f"cluster '{inputs.cluster}' is {state}: {reason}")
        raise ClusterAccessError(
            ErrorCode.CONN_AGENT_TIMEOUT,
            f"cluster '{inputs.cluster}' did not connect within {timeout:.0f}s "
            f"(state access-timeout: {reason}); re-run to issue a new agent manifest",
        )

    def create(self, props: dict) -> CreateResult:
        inputs = RegistrationStatusInputs.from_props(props)
        return CreateResult(id_=inputs.cluster, outs=self._wait(inputs))

    def update(self, _id: str, _olds: dict, news: dict) -> UpdateResult:
        return UpdateResult(outs=self._wait(RegistrationStatusInputs.from_props(news)))

    def read(self, id_: str, props: dict) -> ReadResult:
        state, reason = self.observe(RegistrationStatusInputs.from_props(props))
        return ReadResult(id_, {**props, "state": state, "state_reason": reason})

    def delete(self, _id: str, _props: dict) -> None:
        """Observing owns nothing."""


class RegistrationStatus(Resource, module="fleetform", name="RegistrationStatus"):
    """The state of a registration (pending-access, running, disconnected), waited for on apply."""

    state: pulumi.Output[str]
    state_reason: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        cluster: str,
        mode: str,
        hub_kubeconfig: pulumi.Input[str],
        member_kubeconfig: pulumi.Input[str] | None,
        timeout_seconds: int,
        wait: bool = True,
        generation: int = 1,
        opts: pulumi.ResourceOptions | None = None,
    ):
        props = {
            "cluster": cluster,
            "mode": mode,
            "hub_kubeconfig": pulumi.Output.secret(hub_kubeconfig),
            "member_kubeconfig": pulumi.Output.secret(member_kubeconfig) if member_kubeconfig is not None else "",
            "timeout_seconds": timeout_seconds,
            "wait": wait,
            "generation": generation,
            **RegistrationStatusOutputs.placeholders(),
        }
        super().__init__(RegistrationStatusProvider(), name, props, opts)
