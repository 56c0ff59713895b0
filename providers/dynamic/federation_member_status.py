"""FederationMemberStatus: whether a member joined its federation (DOMAIN §2.5, §5.7).

Reads the Karmada ``Cluster <cluster>`` on the federation's API: ``connected`` when its ``Ready``
condition is True and it carries neither the not-ready nor the unreachable taint, ``joining`` while
the Cluster is absent or has no verdict yet, ``disconnected`` otherwise. Create and update wait up to
``timeout_seconds`` (the federation's ``join_timeout``) for ``connected`` and fail with FF-FED-010
(``add-failed``); refresh reads once.

For Pull members the agent creates the Cluster itself; this resource then puts fleetform's
``labels`` on it (a merge patch), so that fleet placement selects Pull members like Push ones.

Delete is the V46 gate of an unjoin: it refuses (FF-FED-005) while PropagationPolicies name the
cluster or ResourceBindings still place workloads on it, unless ``drain_workloads``. A Pull member's
delete then unregisters it the way ``karmadactl unregister`` does: the Cluster is deleted while the
karmada-agent still runs (it is deleted after this resource), because the agent is what removes the
Works' objects from the member and releases them; Karmada's cluster controller then deletes the
execution namespace and the Cluster goes. The agent registers only when it starts, so it does not
bring the Cluster back. Left behind, the Cluster would keep its execution namespace alive (the
cluster controller recreates it) and stay on the federation as an unknown member.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from .. import kube
from ..errors import ClusterAccessError, ErrorCode
from ._props import Props, now
from ._waiting import poll

CLUSTERS = "/apis/cluster.karmada.io/v1alpha1/clusters"
PROPAGATION_POLICIES = "/apis/policy.karmada.io/v1alpha1/propagationpolicies"
CLUSTER_PROPAGATION_POLICIES = "/apis/policy.karmada.io/v1alpha1/clusterpropagationpolicies"
RESOURCE_BINDINGS = "/apis/work.karmada.io/v1alpha2/resourcebindings"
TAINTS = ("cluster.karmada.io/not-ready", "cluster.karmada.io/unreachable")
POLICY_ANNOTATION = "propagationpolicy.karmada.io"  # <prefix>/name and /namespace on a ResourceBinding
POLL_SECONDS = 1.0


@dataclass(frozen=True)
class FederationMemberStatusInputs(Props):
    cluster: str
    federation: str
    karmada_kubeconfig: str
    sync_mode: str  # Push | Pull
    timeout_seconds: int
    labels: dict = field(default_factory=dict)
    endpoint: str = ""  # a new endpoint (member_network_type) restarts the join wait
    drain_workloads: bool = False


@dataclass(frozen=True)
class FederationMemberStatusOutputs(Props):
    state: str  # connected | joining | disconnected
    ready: str  # Ready | NotReady
    state_reason: str
    observed_at: str


def observe(inputs: FederationMemberStatusInputs) -> FederationMemberStatusOutputs:
    client = kube.api_client(inputs.karmada_kubeconfig, f"Karmada API of federation '{inputs.federation}'")
    status, cluster = kube.request_json(client, "GET", f"{CLUSTERS}/{inputs.cluster}")
    if status == 404:
        who = "the karmada-agent has not registered it" if inputs.sync_mode == "Pull" else "it is not created yet"
        return _outputs("joining", f"Cluster {inputs.cluster} is not on the Karmada API ({who})")
    if status != 200:
        return _outputs("joining", f"the Karmada API answered HTTP {status}")
    if inputs.labels and any((cluster["metadata"].get("labels") or {}).get(k) != v for k, v in inputs.labels.items()):
        client.request(
            "PATCH",
            f"{CLUSTERS}/{inputs.cluster}",
            body={"metadata": {"labels": inputs.labels}},
            content_type="application/merge-patch+json",
        )
    ready = next((c for c in (cluster.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"), None)
    taints = sorted({t.get("key") for t in (cluster.get("spec") or {}).get("taints") or []} & set(TAINTS))
    if ready is None:
        return _outputs("joining", "Cluster has no Ready condition yet")
    detail = f"Ready={ready.get('status')} ({ready.get('reason', '')})" + (
        f"; taints {', '.join(taints)}" if taints else ""
    )
    if ready.get("status") == "True" and not taints:
        return _outputs("connected", detail)
    return _outputs("disconnected", f"{detail}: {ready.get('message', '')}".rstrip(": "))


def _outputs(state: str, reason: str) -> FederationMemberStatusOutputs:
    return FederationMemberStatusOutputs(
        state=state, ready="Ready" if state == "connected" else "NotReady", state_reason=reason, observed_at=now()
    )


def targeting(inputs: FederationMemberStatusInputs) -> list[str]:
    """What still places workloads on the cluster: policies naming it, and bindings scheduled onto it
    by a policy that still exists (a binding whose policy is being deleted goes with it)."""
    client = kube.api_client(inputs.karmada_kubeconfig, f"Karmada API of federation '{inputs.federation}'")
    found: list[str] = []
    policies: set[tuple[str, str]] = set()
    for path, kind in (
        (PROPAGATION_POLICIES, "PropagationPolicy"),
        (CLUSTER_PROPAGATION_POLICIES, "ClusterPropagationPolicy"),
    ):
        status, listing = kube.request_json(client, "GET", path)
        for policy in (listing or {}).get("items") or [] if status == 200 else []:
            meta = policy.get("metadata") or {}
            policies.add((meta.get("namespace", ""), meta.get("name", "")))
            if inputs.cluster in _named_clusters(policy.get("spec") or {}):
                found.append(f"{kind} {_qualified(policy)}")
    status, listing = kube.request_json(client, "GET", RESOURCE_BINDINGS)
    for binding in (listing or {}).get("items") or [] if status == 200 else []:
        on_cluster = any(c.get("name") == inputs.cluster for c in (binding.get("spec") or {}).get("clusters") or [])
        if on_cluster and _still_claimed(binding, policies):
            found.append(f"ResourceBinding {_qualified(binding)}")
    return found


def unregister(inputs: FederationMemberStatusInputs) -> None:
    """Delete the member's Cluster and wait up to ``timeout_seconds`` until it is gone (FF-FED-013 if not)."""
    client = kube.api_client(inputs.karmada_kubeconfig, f"Karmada API of federation '{inputs.federation}'")
    path = f"{CLUSTERS}/{inputs.cluster}"
    kube.expect(client, f"unregister cluster '{inputs.cluster}'", "DELETE", path, ok=(200, 202, 404))
    (status, cluster), gone = poll(
        lambda: kube.request_json(client, "GET", path),
        lambda seen: seen[0] == 404,
        inputs.timeout_seconds,
        POLL_SECONDS,
    )
    if not gone:
        finalizers = ((cluster or {}).get("metadata") or {}).get("finalizers") if status == 200 else None
        raise ClusterAccessError(
            ErrorCode.FED_MEMBER_UNJOIN_FAILED,
            f"cluster '{inputs.cluster}' is still in federation '{inputs.federation}' {inputs.timeout_seconds}s after "
            f"its Cluster was deleted (finalizers: {finalizers or 'none'}; last answer HTTP {status}): its karmada-agent "
            "removes the federation's workloads from the member first; check that the agent runs there, then run up again",
        )


def _still_claimed(binding: dict, policies: set[tuple[str, str]]) -> bool:
    """Whether the policy that placed the binding (Karmada's annotations) still exists; a binding
    that does not say which policy placed it counts."""
    annotations = (binding.get("metadata") or {}).get("annotations") or {}
    name = annotations.get(f"{POLICY_ANNOTATION}/name")
    return name is None or (annotations.get(f"{POLICY_ANNOTATION}/namespace", ""), name) in policies


def _named_clusters(spec: dict) -> set[str]:
    placement = spec.get("placement") or {}
    names = set((placement.get("clusterAffinity") or {}).get("clusterNames") or [])
    weights = ((placement.get("replicaScheduling") or {}).get("weightPreference") or {}).get("staticWeightList") or []
    for weight in weights:
        names.update((weight.get("targetCluster") or {}).get("clusterNames") or [])
    return names


def _qualified(obj: dict) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else meta.get("name", "")


class FederationMemberStatusProvider(ResourceProvider):
    repeatable_create = True  # it observes or converges and makes nothing a second create would duplicate

    def diff(self, _id: str, olds: dict, news: dict) -> DiffResult:
        changed = FederationMemberStatusInputs.from_props(news).changed(FederationMemberStatusInputs.from_props(olds))
        return DiffResult(changes=bool(changed))

    def _settle(self, inputs: FederationMemberStatusInputs) -> dict:
        outputs, connected = poll(
            lambda: observe(inputs), lambda o: o.state == "connected", float(inputs.timeout_seconds), POLL_SECONDS
        )
        if not connected:
            raise ClusterAccessError(
                ErrorCode.FED_MEMBER_ADD_FAILED,
                f"cluster '{inputs.cluster}' did not become Ready in federation '{inputs.federation}' within "
                f"{inputs.timeout_seconds}s: {outputs.state_reason} (state add-failed; fix connectivity, "
                "then change member_network_type or re-run up to retry the join)",
            )
        return {**inputs.to_props(), **outputs.to_props()}

    def create(self, props: dict) -> CreateResult:
        inputs = FederationMemberStatusInputs.from_props(props)
        return CreateResult(id_=f"{inputs.federation}/{inputs.cluster}", outs=self._settle(inputs))

    def update(self, _id: str, _olds: dict, news: dict) -> UpdateResult:
        return UpdateResult(outs=self._settle(FederationMemberStatusInputs.from_props(news)))

    def read(self, id_: str, props: dict) -> ReadResult:
        inputs = FederationMemberStatusInputs.from_props(props)
        return ReadResult(id_, {**props, **inputs.to_props(), **observe(inputs).to_props()})

    def delete(self, _id: str, props: dict) -> None:
        """V46: the Cluster must no longer be targeted, unless drain_workloads; a Pull member's Cluster
        then goes (a Push member's is a resource of its own, deleted after this)."""
        inputs = FederationMemberStatusInputs.from_props(props)
        found = [] if inputs.drain_workloads else targeting(inputs)
        if found:
            raise ClusterAccessError(
                ErrorCode.FED_MEMBER_STILL_TARGETED,
                f"cluster '{inputs.cluster}' is still targeted by {len(found)} propagation policies or bindings in "
                f"federation '{inputs.federation}' ({', '.join(found)}); remove it from those policies first, or set "
                "drain_workloads: true on the federation to let Karmada move its workloads away",
            )
        if inputs.sync_mode == "Pull":
            unregister(inputs)


class FederationMemberStatus(Resource, module="fleetform", name="FederationMemberStatus"):
    """The join state of ``cluster`` in ``federation``: ``connected`` | ``joining`` | ``disconnected``."""

    state: pulumi.Output[str]
    ready: pulumi.Output[str]
    state_reason: pulumi.Output[str]
    observed_at: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        cluster: str,
        federation: str,
        karmada_kubeconfig: pulumi.Input[str],
        sync_mode: str,
        timeout_seconds: int,
        labels: dict[str, str] | None = None,
        endpoint: pulumi.Input[str] = "",
        drain_workloads: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ):
        props = {
            "cluster": cluster,
            "federation": federation,
            "karmada_kubeconfig": pulumi.Output.secret(karmada_kubeconfig),
            "sync_mode": sync_mode,
            "timeout_seconds": timeout_seconds,
            "labels": labels or {},
            "endpoint": endpoint,
            "drain_workloads": drain_workloads,
            **FederationMemberStatusOutputs.placeholders(),
        }
        super().__init__(FederationMemberStatusProvider(), name, props, opts)
