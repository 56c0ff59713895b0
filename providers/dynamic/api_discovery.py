"""ApiDiscovery: the member's namespaced resource types, for the ``operator`` preset (DOMAIN §2.8:
all verbs on every namespaced type found by API discovery at apply time).

With a kubeconfig it reads ``/api/v1`` and each group's preferred version under ``/apis`` and
outputs RBAC rules, one per API group, naming that group's namespaced resources (subresources
included). A member fleetform reaches only through a ManifestWork gets :data:`FALLBACK`, the
namespaced types of every Kubernetes release fleetform supports (1.19+), since nothing can list
its API from here. Create and update discover; refresh re-discovers, so a new CRD shows as drift.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from .. import kube
from ..errors import ClusterAccessError
from ._props import Props, now

FALLBACK: dict[str, list[str]] = {
    "": [
        "bindings", "configmaps", "endpoints", "events", "limitranges", "persistentvolumeclaims", "pods",
        "pods/attach", "pods/exec", "pods/log", "pods/portforward", "podtemplates", "replicationcontrollers",
        "resourcequotas", "secrets", "serviceaccounts", "services",
    ],
    "apps": ["controllerrevisions", "daemonsets", "deployments", "deployments/scale", "replicasets", "statefulsets"],
    "autoscaling": ["horizontalpodautoscalers"],
    "batch": ["cronjobs", "jobs"],
    "coordination.k8s.io": ["leases"],
    "discovery.k8s.io": ["endpointslices"],
    "events.k8s.io": ["events"],
    "networking.k8s.io": ["ingresses", "networkpolicies"],
    "policy": ["poddisruptionbudgets"],
    "rbac.authorization.k8s.io": ["rolebindings", "roles"],
}  # fmt: skip


@dataclass(frozen=True)
class ApiDiscoveryInputs(Props):
    cluster: str
    kubeconfig: str = ""  # "" : the member is reached only through a ManifestWork; FALLBACK is used


@dataclass(frozen=True)
class ApiDiscoveryOutputs(Props):
    namespaced_rules: list  # RBAC rules without verbs: [{apiGroups: [g], resources: [...]}]
    source: str  # discovery | fallback
    observed_at: str


def discover(inputs: ApiDiscoveryInputs) -> ApiDiscoveryOutputs:
    if not inputs.kubeconfig:
        return ApiDiscoveryOutputs(_rules(FALLBACK), "fallback", now())
    client = kube.api_client(inputs.kubeconfig, inputs.cluster)
    found: dict[str, list[str]] = {"": _namespaced(client, "/api/v1")}
    status, groups = kube.request_json(client, "GET", "/apis")
    if status != 200:
        raise ClusterAccessError(None, f"API discovery on '{inputs.cluster}': /apis answered HTTP {status}")
    for group in groups.get("groups") or []:
        preferred = (group.get("preferredVersion") or {}).get("groupVersion")
        if preferred:
            found[group["name"]] = _namespaced(client, f"/apis/{preferred}")
    return ApiDiscoveryOutputs(_rules(found), "discovery", now())


def _namespaced(client, path: str) -> list[str]:
    status, listing = kube.request_json(client, "GET", path)
    if status != 200:
        return []  # an aggregated API that is down: its types are left out, as kubectl does
    return sorted(r["name"] for r in listing.get("resources") or [] if r.get("namespaced"))


def _rules(by_group: dict[str, list[str]]) -> list[dict]:
    return [{"apiGroups": [g], "resources": sorted(r)} for g, r in sorted(by_group.items()) if r]


class ApiDiscoveryProvider(ResourceProvider):
    repeatable_create = True  # it observes or converges and makes nothing a second create would duplicate

    def diff(self, _id: str, olds: dict, news: dict) -> DiffResult:
        changed = ApiDiscoveryInputs.from_props(news).changed(ApiDiscoveryInputs.from_props(olds))
        return DiffResult(changes=bool(changed))

    def create(self, props: dict) -> CreateResult:
        inputs = ApiDiscoveryInputs.from_props(props)
        return CreateResult(id_=inputs.cluster, outs={**inputs.to_props(), **discover(inputs).to_props()})

    def update(self, _id: str, _olds: dict, news: dict) -> UpdateResult:
        inputs = ApiDiscoveryInputs.from_props(news)
        return UpdateResult(outs={**inputs.to_props(), **discover(inputs).to_props()})

    def read(self, id_: str, props: dict) -> ReadResult:
        found = discover(ApiDiscoveryInputs.from_props(props))
        return ReadResult(id_, {**props, "namespaced_rules": found.namespaced_rules, "source": found.source})

    def delete(self, _id: str, _props: dict) -> None:
        """Reading owns nothing."""


class ApiDiscovery(Resource, module="fleetform", name="ApiDiscovery"):
    """``namespaced_rules``: one RBAC rule (no verbs) per API group of the member's namespaced types."""

    namespaced_rules: pulumi.Output[list]
    source: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        cluster: str,
        kubeconfig: pulumi.Input[str] | None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        props = {
            "cluster": cluster,
            "kubeconfig": pulumi.Output.secret(kubeconfig) if kubeconfig is not None else "",
            **ApiDiscoveryOutputs.placeholders(),
        }
        super().__init__(ApiDiscoveryProvider(), name, props, opts)
