"""Karmada propagation and override policies as typed helpers (DOMAIN §2.9).

``render_*`` are pure: typed arguments in, the ``policy.karmada.io/v1alpha1`` object out.
:func:`propagation_policy` and :func:`override_policy` declare that object on a federation's Karmada
API (``federation.provider``), after checking that every cluster named is a member of the
federation (V45) and every weight positive. The stack's ``fleetform:federations[].policies`` are
declared through the same helpers (:mod:`components.federation`).

Rule builders for overrides: :func:`image_registry`, :func:`image_tag`, :func:`storage_class`,
:func:`labels`; :func:`override_rule` combines several for one set of clusters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pulumi
import pulumi_kubernetes as k8s

from . import karmada

DUPLICATED = "duplicated"
FLEET_LABEL = "fleetform.io/fleet"
STORAGE_CLASS_PATHS = {
    "PersistentVolumeClaim": "/spec/storageClassName",
    "StatefulSet": "/spec/volumeClaimTemplates/0/spec/storageClassName",  # the first claim template
}


@dataclass(frozen=True)
class Selector:
    """A resource selector: apiVersion and kind, and a name or matchLabels (or neither: all of the kind)."""

    api_version: str
    kind: str
    name: str | None = None
    namespace: str | None = None
    labels: dict[str, str] | None = None

    def render(self) -> dict:
        rendered: dict[str, Any] = {"apiVersion": self.api_version, "kind": self.kind}
        if self.namespace:
            rendered["namespace"] = self.namespace
        if self.name:
            rendered["name"] = self.name
        if self.labels:
            rendered["labelSelector"] = {"matchLabels": dict(self.labels)}
        return rendered


@dataclass(frozen=True)
class Divided:
    """Replicas split across clusters by static weights (each ≥ 1)."""

    weights: dict[str, int]


@dataclass(frozen=True)
class OverrideRule:
    """One ``overrideRules[]`` entry: the overriders for the target clusters."""

    clusters: tuple[str, ...]
    overriders: dict[str, list] = field(default_factory=dict)

    def render(self) -> dict:
        return {"targetCluster": {"clusterNames": list(self.clusters)}, "overriders": self.overriders}


class PolicyError(ValueError):
    """A policy breaks V45 (FF-POL-002, FF-POL-003); the message names the policy and the fix."""


# -- rule builders -----------------------------------------------------------------------------------


def image_registry(clusters: Sequence[str], registry: str) -> OverrideRule:
    """Every container image of the templates pulled from ``registry`` in ``clusters``."""
    return override_rule(clusters, image_registry=registry)


def image_tag(clusters: Sequence[str], tag: str) -> OverrideRule:
    return override_rule(clusters, image_tag=tag)


def storage_class(
    clusters: Sequence[str], class_name: str, kinds: Iterable[str] = ("PersistentVolumeClaim",)
) -> OverrideRule:
    """``storageClassName`` set for the kinds given (PVC, or a StatefulSet's first claim template)."""
    return override_rule(clusters, storage_class=class_name, storage_kinds=kinds)


def labels(clusters: Sequence[str], add: dict[str, str]) -> OverrideRule:
    return override_rule(clusters, labels=add)


def override_rule(
    clusters: Sequence[str],
    *,
    image_registry: str | None = None,
    image_tag: str | None = None,
    storage_class: str | None = None,
    storage_kinds: Iterable[str] = ("PersistentVolumeClaim",),
    labels: dict[str, str] | None = None,
) -> OverrideRule:
    """Several overriders for one set of clusters, as one rule. The storage class is written with
    ``add`` rather than ``replace``: it also works when the template leaves the class unset."""
    overriders: dict[str, list] = {}
    images = [_image(c, v) for c, v in (("Registry", image_registry), ("Tag", image_tag)) if v]
    if images:
        overriders["imageOverrider"] = images
    if storage_class:
        paths = [STORAGE_CLASS_PATHS[kind] for kind in storage_kinds if kind in STORAGE_CLASS_PATHS]
        overriders["plaintext"] = [{"path": path, "operator": "add", "value": storage_class} for path in paths]
    if labels:
        overriders["labelsOverrider"] = [{"operator": "add", "value": dict(labels)}]
    return OverrideRule(tuple(clusters), overriders)


def _image(component: str, value: str) -> dict:
    return {"component": component, "operator": "replace", "value": value}


# -- renderers -----------------------------------------------------------------------------------------


def _metadata(name: str, namespace: str | None, extra_labels: dict[str, str] | None) -> dict:
    meta: dict[str, Any] = {"name": name, "labels": dict(extra_labels or {})}
    if namespace:
        meta["namespace"] = namespace
    return meta


def render_propagation_policy(
    name: str,
    *,
    selectors: Sequence[Selector],
    namespace: str | None = None,
    clusters: Sequence[str] | None = None,
    fleet: str | None = None,
    replicas: str | Divided = DUPLICATED,
    tolerations_seconds: int = 300,
    conflict_resolution: str = "Abort",
    propagate_deps: bool = True,
    priority: int = 0,
    extra_labels: dict[str, str] | None = None,
) -> dict:
    """A PropagationPolicy (``namespace`` given) or ClusterPropagationPolicy; exactly one of
    ``clusters`` and ``fleet`` (members labelled ``fleetform.io/fleet=<fleet>``)."""
    if (clusters is None) == (fleet is None):
        raise PolicyError(f"policy '{name}': give exactly one of clusters and fleet")
    affinity = (
        {"clusterNames": list(clusters)}
        if clusters is not None
        else {"labelSelector": {"matchLabels": {FLEET_LABEL: fleet}}}
    )
    placement: dict[str, Any] = {
        "clusterAffinity": affinity,
        "clusterTolerations": [
            {"key": taint, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": tolerations_seconds}
            for taint in (karmada.TAINT_NOT_READY, karmada.TAINT_UNREACHABLE)
        ],
    }
    if isinstance(replicas, Divided):
        bad = [cluster for cluster, weight in replicas.weights.items() if not isinstance(weight, int) or weight < 1]
        if bad:
            raise PolicyError(
                f"FF-POL-003 weight must be a positive integer (policy '{name}', clusters {', '.join(bad)})"
            )
        placement["replicaScheduling"] = {
            "replicaSchedulingType": "Divided",
            "replicaDivisionPreference": "Weighted",
            "weightPreference": {
                "staticWeightList": [
                    {"targetCluster": {"clusterNames": [cluster]}, "weight": weight}
                    for cluster, weight in replicas.weights.items()
                ]
            },
        }
    else:
        placement["replicaScheduling"] = {"replicaSchedulingType": "Duplicated"}
    return {
        "apiVersion": karmada.POLICY_API,
        "kind": "PropagationPolicy" if namespace else "ClusterPropagationPolicy",
        "metadata": _metadata(name, namespace, extra_labels),
        "spec": {
            "resourceSelectors": [selector.render() for selector in selectors],
            "placement": placement,
            "conflictResolution": conflict_resolution,
            "propagateDeps": propagate_deps,
            "priority": priority,
        },
    }


def render_override_policy(
    name: str,
    *,
    selectors: Sequence[Selector],
    rules: Sequence[OverrideRule],
    namespace: str | None = None,
    extra_labels: dict[str, str] | None = None,
) -> dict:
    """An OverridePolicy (``namespace`` given) or ClusterOverridePolicy."""
    return {
        "apiVersion": karmada.POLICY_API,
        "kind": "OverridePolicy" if namespace else "ClusterOverridePolicy",
        "metadata": _metadata(name, namespace, extra_labels),
        "spec": {
            "resourceSelectors": [selector.render() for selector in selectors],
            "overrideRules": [rule.render() for rule in rules],
        },
    }


def targets(clusters: Sequence[str] | None, replicas: str | Divided, fleet_members: Sequence[str]) -> list[str]:
    """The clusters a placement names: the weighted ones, the listed ones, or every fleet member."""
    if isinstance(replicas, Divided):
        return list(replicas.weights)
    return list(clusters) if clusters is not None else list(fleet_members)


# -- declaring them on a federation --------------------------------------------------------------------


class FederationLike(Protocol):
    """What the helpers need of a :class:`components.federation.Federation`."""

    name: str
    fleet_name: str
    member_names: list[str]
    provider: k8s.Provider
    labels: dict[str, str]


def check_members(federation: FederationLike, policy: str, clusters: Iterable[str]) -> None:
    """V45: every cluster a policy names is a member of the federation."""
    for cluster in clusters:
        if cluster not in federation.member_names:
            raise PolicyError(
                f"FF-POL-002 cluster '{cluster}' in policy '{policy}' is not a member of federation "
                f"'{federation.name}' (members: {', '.join(federation.member_names) or 'none'})"
            )


def propagation_policy(
    federation: FederationLike,
    name: str,
    *,
    selectors: Sequence[Selector],
    namespace: str | None = None,
    clusters: Sequence[str] | None = None,
    fleet: str | None = None,
    replicas: str | Divided = DUPLICATED,
    tolerations_seconds: int = 300,
    conflict_resolution: str = "Abort",
    propagate_deps: bool = True,
    priority: int = 0,
    opts: pulumi.ResourceOptions | None = None,
) -> k8s.apiextensions.CustomResource:
    """Declare a (Cluster)PropagationPolicy on the federation's Karmada API. Declare the override
    policies it should see first and pass them in ``opts.depends_on`` (an OverridePolicy created
    after the match is not applied)."""
    named = list(clusters or []) + (list(replicas.weights) if isinstance(replicas, Divided) else [])
    check_members(federation, name, named)
    if fleet is not None and fleet != federation.fleet_name:
        raise PolicyError(
            f"FF-POL-002 fleet '{fleet}' in policy '{name}' is not the fleet of federation '{federation.name}' "
            f"(use fleet '{federation.fleet_name}')"
        )
    obj = render_propagation_policy(
        name,
        selectors=selectors,
        namespace=namespace,
        clusters=clusters,
        fleet=fleet,
        replicas=replicas,
        tolerations_seconds=tolerations_seconds,
        conflict_resolution=conflict_resolution,
        propagate_deps=propagate_deps,
        priority=priority,
        extra_labels=federation.labels,
    )
    return _declare(federation, f"{federation.name}-pp-{namespace or 'cluster'}-{name}", obj, opts)


def override_policy(
    federation: FederationLike,
    name: str,
    *,
    selectors: Sequence[Selector],
    rules: Sequence[OverrideRule],
    namespace: str | None = None,
    opts: pulumi.ResourceOptions | None = None,
) -> k8s.apiextensions.CustomResource:
    """Declare a (Cluster)OverridePolicy on the federation's Karmada API."""
    check_members(federation, name, [cluster for rule in rules for cluster in rule.clusters])
    obj = render_override_policy(
        name, selectors=selectors, rules=rules, namespace=namespace, extra_labels=federation.labels
    )
    return _declare(federation, f"{federation.name}-op-{namespace or 'cluster'}-{name}", obj, opts)


def _declare(
    federation: FederationLike, resource_name: str, obj: dict, opts: pulumi.ResourceOptions | None
) -> k8s.apiextensions.CustomResource:
    on_karmada = pulumi.ResourceOptions(parent=federation, provider=federation.provider)  # type: ignore[arg-type]
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version=obj["apiVersion"],
        kind=obj["kind"],
        metadata=obj["metadata"],
        spec=obj["spec"],
        opts=pulumi.ResourceOptions.merge(on_karmada, opts),
    )
