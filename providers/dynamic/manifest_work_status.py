"""ManifestWorkStatus: whether the objects an OCM ``ManifestWork`` delivers to an agent-mode member
were applied and are available there (DOMAIN §2.6, §5.3).

The ManifestWork ``<work>`` lives on the hub in the namespace named after the cluster; the member's
work agent reports on it through the conditions ``Applied`` and ``Available``. This resource reads
them: create and update wait (up to ``timeout_seconds``) for both to be True, refresh reads once.
``manifests_hash`` changes with the delivered content, so a content change is an update that waits
again. It owns nothing: the ManifestWork itself is a Kubernetes resource of the component.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from .. import kube
from ..errors import ClusterAccessError, ErrorCode
from ._props import Props, now
from ._waiting import poll

WORK_API = "/apis/work.open-cluster-management.io/v1"
CONDITIONS = ("Applied", "Available")
POLL_SECONDS = 1.0


@dataclass(frozen=True)
class ManifestWorkStatusInputs(Props):
    cluster: str  # the member, and the hub namespace the ManifestWork is in
    work: str  # the ManifestWork's name
    hub_kubeconfig: str
    manifests_hash: str  # of the delivered objects: a new hash re-waits
    timeout_seconds: int
    wait: bool = True

    @property
    def path(self) -> str:
        return f"{WORK_API}/namespaces/{self.cluster}/manifestworks/{self.work}"


@dataclass(frozen=True)
class ManifestWorkStatusOutputs(Props):
    applied: bool
    available: bool
    state: str  # available | applied | pending | degraded
    state_reason: str
    observed_at: str


def observe(inputs: ManifestWorkStatusInputs) -> ManifestWorkStatusOutputs:
    """The work's state right now. ``pending``: not found, or no verdict yet; ``degraded``: Applied or
    Available is False; ``applied``: Applied but not (yet) Available; ``available``: both True."""
    hub = kube.api_client(inputs.hub_kubeconfig, f"hub of {inputs.cluster}")
    status, work = kube.request_json(hub, "GET", inputs.path)
    if status == 404:
        return _outputs(
            False, False, "pending", f"ManifestWork {inputs.work} is not on the hub in namespace {inputs.cluster}"
        )
    if status != 200:
        return _outputs(False, False, "pending", f"the hub answered HTTP {status}")
    conditions = {c.get("type"): c for c in (work.get("status") or {}).get("conditions") or []}
    seen = {name: (conditions.get(name) or {}).get("status", "missing") for name in CONDITIONS}
    applied, available = seen["Applied"] == "True", seen["Available"] == "True"
    summary = ", ".join(f"{name}={value}" for name, value in seen.items())
    false = [name for name in CONDITIONS if seen[name] == "False"]
    if false:
        reasons = "; ".join(
            f"{n}: {conditions[n].get('reason', '')} {conditions[n].get('message', '')}".strip() for n in false
        )
        return _outputs(applied, available, "degraded", f"{summary} ({reasons})")
    state = "available" if applied and available else "applied" if applied else "pending"
    return _outputs(applied, available, state, summary)


def _outputs(applied: bool, available: bool, state: str, reason: str) -> ManifestWorkStatusOutputs:
    return ManifestWorkStatusOutputs(
        applied=applied, available=available, state=state, state_reason=reason, observed_at=now()
    )


class ManifestWorkStatusProvider(ResourceProvider):
    """Waits for a ManifestWork's Applied and Available conditions; fails with FF-DLV-001 naming the
    cluster, the work and the conditions last seen when they are not both True in time."""

    repeatable_create = True  # it observes or converges and makes nothing a second create would duplicate

    def diff(self, _id: str, olds: dict, news: dict) -> DiffResult:
        changed = ManifestWorkStatusInputs.from_props(news).changed(ManifestWorkStatusInputs.from_props(olds))
        return DiffResult(changes=bool(changed))

    def _settle(self, inputs: ManifestWorkStatusInputs) -> dict:
        outputs, settled = poll(
            lambda: observe(inputs),
            lambda o: o.state == "available" or not inputs.wait,
            float(inputs.timeout_seconds),
            POLL_SECONDS,
        )
        if not settled:
            raise ClusterAccessError(
                ErrorCode.DLV_WORK_NOT_AVAILABLE,
                f"ManifestWork {inputs.work} for cluster '{inputs.cluster}' was not applied and available "
                f"within {inputs.timeout_seconds}s (state {outputs.state}: {outputs.state_reason})",
            )
        return {**inputs.to_props(), **outputs.to_props()}

    def create(self, props: dict) -> CreateResult:
        inputs = ManifestWorkStatusInputs.from_props(props)
        return CreateResult(id_=f"{inputs.cluster}/{inputs.work}", outs=self._settle(inputs))

    def update(self, _id: str, _olds: dict, news: dict) -> UpdateResult:
        return UpdateResult(outs=self._settle(ManifestWorkStatusInputs.from_props(news)))

    def read(self, id_: str, props: dict) -> ReadResult:
        inputs = ManifestWorkStatusInputs.from_props(props)
        return ReadResult(id_, {**props, **inputs.to_props(), **observe(inputs).to_props()})

    def delete(self, _id: str, _props: dict) -> None:
        """Observing owns nothing."""


class ManifestWorkStatus(Resource, module="fleetform", name="ManifestWorkStatus"):
    """Whether the ManifestWork ``work`` in hub namespace ``cluster`` is applied and available."""

    applied: pulumi.Output[bool]
    available: pulumi.Output[bool]
    state: pulumi.Output[str]
    state_reason: pulumi.Output[str]
    observed_at: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        cluster: str,
        work: str,
        hub_kubeconfig: pulumi.Input[str],
        manifests_hash: str,
        timeout_seconds: int,
        wait: bool = True,
        opts: pulumi.ResourceOptions | None = None,
    ):
        props = {
            "cluster": cluster,
            "work": work,
            "hub_kubeconfig": pulumi.Output.secret(hub_kubeconfig),
            "manifests_hash": manifests_hash,
            "timeout_seconds": timeout_seconds,
            "wait": wait,
            **ManifestWorkStatusOutputs.placeholders(),
        }
        super().__init__(ManifestWorkStatusProvider(), name, props, opts)
