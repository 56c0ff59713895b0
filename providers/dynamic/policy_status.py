"""PolicyStatus: where Karmada scheduled what a PropagationPolicy selects (DOMAIN §2.9).

Policies have no status of their own. Karmada binds each resource template a policy selects in a
``ResourceBinding`` named ``<template name>-<kind lowercase>`` (``work.karmada.io/v1alpha2``) in the
template's namespace: ``spec.clusters[] {name, replicas}`` is the scheduling result and
``status.aggregatedStatus[] {clusterName, applied}`` the per-member apply result. The state:

* ``unscheduled``: no binding, or a binding that lists no cluster (e.g. nothing matched);
* ``scheduled``: every binding lists every target and is applied there;
* ``partially-applied``: anything in between.

``clusters`` sums the replicas per member over the bindings. Create and update wait up to
``timeout_seconds`` for ``scheduled`` and then report what they saw (never fail: scheduling is
Karmada's); refresh reads once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from .. import kube
from ._props import Props, now
from ._waiting import poll

BINDINGS = "/apis/work.karmada.io/v1alpha2"
POLL_SECONDS = 1.0


def binding_name(template_name: str, kind: str) -> str:
    """Karmada's name for the binding of a template (``:`` is not allowed in it and becomes ``.``)."""
    return f"{template_name.replace(':', '.')}-{kind.lower()}"


@dataclass(frozen=True)
class PolicyStatusInputs(Props):
    policy: str
    federation: str
    karmada_kubeconfig: str
    bindings: list = field(default_factory=list)  # [{namespace, name}] of the templates' ResourceBindings
    targets: list = field(default_factory=list)  # the clusters the placement names
    timeout_seconds: int = 60
    policy_hash: str = ""  # of the rendered policy: a change waits again


@dataclass(frozen=True)
class PolicyStatusOutputs(Props):
    state: str  # scheduled | partially-applied | unscheduled
    clusters: dict  # cluster -> replicas
    state_reason: str
    observed_at: str


def observe(inputs: PolicyStatusInputs) -> PolicyStatusOutputs:
    client = kube.api_client(inputs.karmada_kubeconfig, f"Karmada API of federation '{inputs.federation}'")
    clusters: dict[str, int] = {}
    complete, missing, partial = True, [], []
    for ref in inputs.bindings:
        status, binding = kube.request_json(
            client, "GET", f"{BINDINGS}/namespaces/{ref['namespace']}/resourcebindings/{ref['name']}"
        )
        listed = ((binding or {}).get("spec") or {}).get("clusters") or [] if status == 200 else []
        if not listed:
            missing.append(ref["name"])
            complete = False
            continue
        for target in listed:
            clusters[target["name"]] = clusters.get(target["name"], 0) + int(target.get("replicas") or 0)
        applied = {
            item.get("clusterName")
            for item in ((binding.get("status") or {}).get("aggregatedStatus") or [])
            if item.get("applied")
        }
        names = {target["name"] for target in listed}
        pending = sorted((set(inputs.targets) - names) | (names - applied))
        if pending:
            partial.append(f"{ref['name']} not placed or applied on {', '.join(pending)}")
            complete = False
    if not clusters:
        reason = (
            f"no ResourceBinding schedules {', '.join(missing)}" if missing else "the policy selects no named template"
        )
        return _outputs("unscheduled", {}, reason)
    if complete:
        return _outputs("scheduled", clusters, f"applied on {', '.join(sorted(clusters))}")
    return _outputs("partially-applied", clusters, "; ".join(partial + [f"{m} not scheduled" for m in missing]))


def _outputs(state: str, clusters: dict, reason: str) -> PolicyStatusOutputs:
    return PolicyStatusOutputs(state=state, clusters=clusters, state_reason=reason, observed_at=now())


class PolicyStatusProvider(ResourceProvider):
    repeatable_create = True  # it observes or converges and makes nothing a second create would duplicate

    def diff(self, _id: str, olds: dict, news: dict) -> DiffResult:
        return DiffResult(
            changes=bool(PolicyStatusInputs.from_props(news).changed(PolicyStatusInputs.from_props(olds)))
        )

    def _settle(self, inputs: PolicyStatusInputs) -> dict:
        # never fails: a policy that schedules nothing yet is reported as such
        outputs, _ = poll(
            lambda: observe(inputs), lambda o: o.state == "scheduled", float(inputs.timeout_seconds), POLL_SECONDS
        )
        return {**inputs.to_props(), **outputs.to_props()}

    def create(self, props: dict) -> CreateResult:
        inputs = PolicyStatusInputs.from_props(props)
        return CreateResult(id_=f"{inputs.federation}/{inputs.policy}", outs=self._settle(inputs))

    def update(self, _id: str, _olds: dict, news: dict) -> UpdateResult:
        return UpdateResult(outs=self._settle(PolicyStatusInputs.from_props(news)))

    def read(self, id_: str, props: dict) -> ReadResult:
        inputs = PolicyStatusInputs.from_props(props)
        return ReadResult(id_, {**props, **inputs.to_props(), **observe(inputs).to_props()})

    def delete(self, _id: str, _props: dict) -> None:
        """Observing owns nothing."""


class PolicyStatus(Resource, module="fleetform", name="PolicyStatus"):
    """Where the templates a propagation policy selects are scheduled: ``state`` and ``clusters``."""

    state: pulumi.Output[str]
    clusters: pulumi.Output[dict]
    state_reason: pulumi.Output[str]
    observed_at: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        policy: str,
        federation: str,
        karmada_kubeconfig: pulumi.Input[str],
        bindings: list[dict],
        targets: list[str],
        timeout_seconds: int = 60,
        policy_hash: str = "",
        opts: pulumi.ResourceOptions | None = None,
    ):
        props = {
            "policy": policy,
            "federation": federation,
            "karmada_kubeconfig": pulumi.Output.secret(karmada_kubeconfig),
            "bindings": bindings,
            "targets": targets,
            "timeout_seconds": timeout_seconds,
            "policy_hash": policy_hash,
            **PolicyStatusOutputs.placeholders(),
        }
        super().__init__(PolicyStatusProvider(), name, props, opts)
