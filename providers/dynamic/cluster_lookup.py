"""ClusterLookup: a cluster found through its cloud API (or, for idc, its kubeconfig) and checked:
it exists, is running, runs the minimum version the component asks for, passes its kind's own rules
and is not registered twice (V4) nor the hub itself (V5)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)
from pulumi.runtime.rpc import UNKNOWN

from kubeclient import remembered

from .. import kube
from ..clouds import kind_problems, source_for
from ..clouds.base import CloudError, ClusterDescription
from ..credential_exec import exec_kubeconfig
from ..errors import ClusterAccessError, ErrorCode, Problem
from ._props import Props

MANAGED_CLUSTERS = "/apis/cluster.open-cluster-management.io/v1/managedclusters"
CLUSTER_UID_ANNOTATION = "fleetform.io/cluster-uid"


@dataclass(frozen=True)
class ClusterLookupInputs(Props):
    cluster: str
    kind: str
    min_version: str  # "major.minor"; the component chooses it (higher for federation members)
    federated: bool = False  # the minimum is that of a federation member (FF-VER-002, not FF-VER-001)
    identity: dict = field(default_factory=dict)
    kubeconfig: str = ""  # idc: the member's kubeconfig; cloud kinds: an optional bootstrap_kubeconfig
    context: str = ""
    cloud_endpoint: str = ""
    hub_kubeconfig: str = ""


@dataclass(frozen=True)
class ClusterLookupOutputs(Props):
    kubernetes_version: str
    cluster_uid: str
    endpoint: str
    ca_bundle: str
    native_id: str
    region: str
    cloud_state: str
    bootstrap_kubeconfig: str
    reachable: bool


class ClusterLookupProvider(ResourceProvider):
    """The lookup runs at preview (check) as well as at apply, read-only (DOMAIN's P*), so a missing,
    stopped, too-old or unsupported cluster fails the preview of that cluster alone. Outputs include
    ``bootstrap_kubeconfig``: the user's kubeconfig for idc; for cloud kinds a kubeconfig whose
    credential comes from the cloud at each use (:mod:`providers.credential_exec`), so no
    short-lived cloud token is ever kept in state.
    """

    repeatable_create = True  # it observes or converges and makes nothing a second create would duplicate

    @staticmethod
    def _source(inputs: ClusterLookupInputs):
        identity = dict(inputs.identity)
        if inputs.kind == "idc":
            identity.update(cluster=inputs.cluster, kubeconfig=inputs.kubeconfig, context=inputs.context or None)
        return source_for(inputs.kind, identity, inputs.cloud_endpoint or None)

    def _describe(self, inputs: ClusterLookupInputs) -> ClusterDescription:
        """The cluster as its cloud (or, for idc, its API) describes it, asked once per run: a check and
        the create or read after it in one run need the same answer (a failure is asked again)."""
        source = [
            inputs.kind,
            inputs.identity,
            inputs.cloud_endpoint,
            inputs.cluster,
            inputs.kubeconfig,
            inputs.context,
        ]
        key = kube.key_digest(json.dumps(source, sort_keys=True))
        description = remembered(("describe", key), lambda: self._source(inputs).describe())
        problems: list[Problem] = []
        if not description.running:
            problems.append(
                Problem(
                    ErrorCode.REG_NOT_RUNNING,
                    f"{inputs.kind} cluster {description.native_id} is in "
                    f"state '{description.state}'; it must be running",
                )
            )
        too_old = kube.version_problem(
            description.kubernetes_version, inputs.cluster, inputs.min_version, inputs.federated
        )
        problems += [too_old] if too_old else []
        problems += [
            p
            for p in kind_problems(inputs.kind, description, inputs.cluster)
            # V12: a supplied bootstrap_kubeconfig is the fix FF-KIND-011 asks for
            if not (inputs.kubeconfig and p.code is ErrorCode.KIND_LOCAL_ACCOUNTS_DISABLED)
        ]
        if problems:
            raise ClusterAccessError.of(problems)
        return description

    @staticmethod
    def _bootstrap_kubeconfig(inputs: ClusterLookupInputs, description: ClusterDescription) -> str:
        if inputs.kubeconfig:  # idc, or a cloud cluster given an explicit bootstrap_kubeconfig
            return inputs.kubeconfig
        return exec_kubeconfig(
            f"fleetform-{inputs.cluster}",
            inputs.kind,
            inputs.identity,
            inputs.cloud_endpoint or None,
            description.endpoint,
            description.ca_data,
        )

    @staticmethod
    def _registration_conflicts(inputs: ClusterLookupInputs, cluster_uid: str) -> list[Problem]:
        """V5 (the hub is not its own member) and V4 (one physical cluster, one registration),
        told apart by the kube-system namespace UID, which the ManagedCluster records. The hub's
        registrations are read once per run for all members (read anew for each member, an apply grew
        quadratic with the estate); what this run registers meanwhile is caught by the claim each lookup
        makes on its UID in this run (:func:`_first_claim`), so two entries naming one physical cluster
        are refused even before either is registered."""
        if not inputs.hub_kubeconfig or not cluster_uid:
            return []
        name, what = inputs.cluster, f"hub of {inputs.cluster}"
        hub_uid = kube.probe_once(inputs.hub_kubeconfig, what).kube_system_uid
        if hub_uid == cluster_uid:
            return [
                Problem(
                    ErrorCode.REG_HUB_ITSELF, f"cluster '{name}' is the hub cluster itself and cannot be registered"
                )
            ]
        claimant = _first_claim(hub_uid, cluster_uid, name)
        if claimant != name:
            return [
                Problem(
                    ErrorCode.REG_ALREADY_REGISTERED,
                    f"cluster uid {cluster_uid} is also declared as '{claimant}' in this stack; "
                    f"register each physical cluster once (remove '{name}' or '{claimant}')",
                )
            ]
        status, listing = kube.get_once(inputs.hub_kubeconfig, what, MANAGED_CLUSTERS)
        others = [
            item["metadata"]["name"]
            for item in ((listing or {}).get("items") or [] if status == 200 else [])
            if (item["metadata"].get("annotations") or {}).get(CLUSTER_UID_ANNOTATION) == cluster_uid
            and item["metadata"]["name"] != name
        ]
        return [
            Problem(
                ErrorCode.REG_ALREADY_REGISTERED,
                f"cluster uid {cluster_uid} is already registered as '{other}' on the hub",
            )
            for other in others
        ]

    def _outputs(self, inputs: ClusterLookupInputs, check_registration: bool = True) -> dict:
        description = self._describe(inputs)
        bootstrap = self._bootstrap_kubeconfig(inputs, description)
        if inputs.kind == "idc":  # describe() already probed the cluster through this very kubeconfig
            version, cluster_uid = description.kubernetes_version, description.flags["cluster_uid"]
        else:  # prove the cloud-issued (or given) credential opens the cluster
            info = kube.probe_once(bootstrap, inputs.cluster, context=inputs.context or None)
            version, cluster_uid = info.git_version, info.kube_system_uid
        conflicts = self._registration_conflicts(inputs, cluster_uid) if check_registration else []
        if conflicts:
            raise ClusterAccessError.of(conflicts)
        outputs = ClusterLookupOutputs(
            kubernetes_version=version,
            cluster_uid=cluster_uid,
            endpoint=description.endpoint,
            ca_bundle=description.ca_data,
            native_id=description.native_id,
            region=description.region,
            cloud_state=description.state,
            bootstrap_kubeconfig=bootstrap,
            reachable=True,
        )
        return {**inputs.to_props(), **outputs.to_props()}

    def check(self, _olds: dict, news: dict) -> CheckResult:
        if any(news.get(k) == UNKNOWN for k in ("kubeconfig", "cluster", "identity", "hub_kubeconfig")):
            return CheckResult(news, [])
        inputs = ClusterLookupInputs.from_props(news)
        try:
            description = self._describe(inputs)
            # idc clusters are looked up through the member itself, so the UID is known at preview
            conflicts = self._registration_conflicts(inputs, description.flags.get("cluster_uid", ""))
            if conflicts:
                raise ClusterAccessError.of(conflicts)
        except (ClusterAccessError, CloudError) as exc:
            if not _breaks_a_rule(exc):
                raise  # the cluster or its cloud could not be asked: a failure, not invalid inputs
            return CheckResult(news, [CheckFailure("identity" if inputs.kind != "idc" else "kubeconfig", str(exc))])
        return CheckResult(news, [])

    def diff(self, _id: str, olds: dict, news: dict) -> DiffResult:
        changed = ClusterLookupInputs.from_props(news).changed(ClusterLookupInputs.from_props(olds))
        return DiffResult(changes=bool(changed), replaces=[k for k in changed if k in ("cluster", "kind")])

    def create(self, props: dict) -> CreateResult:
        inputs = ClusterLookupInputs.from_props(props)
        outputs = self._outputs(inputs)
        return CreateResult(id_=outputs["cluster_uid"] or inputs.cluster, outs=outputs)

    def update(self, _id: str, _olds: dict, news: dict) -> UpdateResult:
        return UpdateResult(outs=self._outputs(ClusterLookupInputs.from_props(news)))

    def read(self, id_: str, props: dict) -> ReadResult:
        """A cluster gone from its cloud reads as deleted (drift); one that stopped answering, as unreachable."""
        inputs = ClusterLookupInputs.from_props(props)
        try:
            return ReadResult(id_, self._outputs(inputs, check_registration=False))
        except CloudError as exc:
            if exc.reason == "not-found":
                return ReadResult(None, {})
            return ReadResult(id_, {**props, "reachable": False})
        except ClusterAccessError:
            return ReadResult(id_, {**props, "reachable": False})

    def delete(self, _id: str, _props: dict) -> None:
        """A lookup owns nothing: fleetform never deletes a cluster."""


class ClusterLookup(Resource, module="fleetform", name="ClusterLookup"):
    """A cluster found through its cloud API or kubeconfig; outputs its version, kube-system UID,
    endpoint, CA, native id and ``bootstrap_kubeconfig`` (secret)."""

    kubernetes_version: pulumi.Output[str]
    cluster_uid: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    ca_bundle: pulumi.Output[str]
    native_id: pulumi.Output[str]
    region: pulumi.Output[str]
    bootstrap_kubeconfig: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        cluster: str,
        kind: str,
        min_version: str,
        federated: bool = False,
        identity: dict | None = None,
        kubeconfig: pulumi.Input[str] | None = None,
        context: str | None = None,
        cloud_endpoint: str | None = None,
        hub_kubeconfig: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        props = {
            "cluster": cluster,
            "kind": kind,
            "min_version": min_version,
            "federated": federated,
            "identity": identity or {},
            "kubeconfig": pulumi.Output.secret(kubeconfig) if kubeconfig is not None else "",
            "context": context or "",
            "cloud_endpoint": cloud_endpoint or "",
            "hub_kubeconfig": pulumi.Output.secret(hub_kubeconfig) if hub_kubeconfig is not None else "",
            **ClusterLookupOutputs.placeholders(),
        }
        secret_outputs = pulumi.ResourceOptions(additional_secret_outputs=["bootstrap_kubeconfig"])
        super().__init__(ClusterLookupProvider(), name, props, pulumi.ResourceOptions.merge(opts, secret_outputs))


def _first_claim(hub_uid: str, cluster_uid: str, name: str) -> str:
    """The name of the first lookup in this run to claim ``cluster_uid`` on the hub ``hub_uid``: ``name``
    unless another entry of the stack claimed the same physical cluster first."""
    return remembered(("cluster-uid-claim", hub_uid, cluster_uid), lambda: name)


def _breaks_a_rule(exc: Exception) -> bool:
    """Whether the lookup answered and the cluster breaks a rule (missing, stopped, too old, a kind
    rule, registered twice): the stack asks for something that cannot be, so the inputs are invalid.
    An unreachable API or a refused credential is not that: it may pass on the next try."""
    if isinstance(exc, ClusterAccessError):
        return bool(exc.problems)
    return isinstance(exc, CloudError) and exc.reason in ("not-found", "invalid")
