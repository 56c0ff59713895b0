"""Karmada's resource detector, scheduler and taint manager: policies become ``ResourceBinding`` objects.

A resource template (any object of a kind a policy's ``resourceSelectors`` name) is claimed by the
``PropagationPolicy`` of its namespace that matches it, else by a matching
``ClusterPropagationPolicy``; among several, the higher ``spec.priority``, then the more specific
selector (:mod:`.karmada_selectors`), then the name first in order. The claimed template gets a
binding named ``<template name>-<kind lowercased>``: a ``ResourceBinding`` in the template's
namespace (a ``ClusterResourceBinding`` for a cluster-scoped template), labelled with the policy's
permanent id (``propagationpolicy.karmada.io/permanent-id``, the policy's uid here) and a
``resourcebinding.karmada.io/permanent-id`` of its own, annotated with the policy's name (and
namespace). Its spec: ``resource{apiVersion, kind, namespace, name, uid, resourceVersion}``,
``replicas`` (the template's ``spec.replicas``), the policy's ``placement`` and
``conflictResolution`` (default ``Abort``), and ``clusters[{name, replicas}]``. A binding whose
template or policy is gone is deleted.

Placement: the Clusters that match ``clusterAffinity`` and pass the taint filter. A cluster already
in the binding stays until a ``NoExecute`` taint is no longer tolerated by
``placement.clusterTolerations`` (not tolerated at all, or past the first tolerating toleration's
``tolerationSeconds`` counted from the taint's ``timeAdded``): then it is evicted and its replicas
go to the remaining clusters in the same pass (the taint manager and a fresh scheduling at once).
A cluster not yet in the binding needs every ``NoSchedule``/``NoExecute`` taint tolerated, and is
not taken while an expired toleration would evict it. A member that answers again loses its taints
and is scheduled back on the next pass (upstream may keep the replicas where they went; the
sandbox always reschedules to the current fit).

Replicas: ``Duplicated`` (also when ``replicaScheduling`` is absent, or the template has no
``spec.replicas``) gives every cluster the template's replicas. ``Divided`` splits them by weight
with upstream's Webster (Sainte-Laguë) method: each replica goes to the cluster with the largest
``weight / (2 * replicas so far + 1)``; ties go to the cluster with fewer replicas, then by name,
ascending or descending by the parity of the FNV-1a hash of the template's uid. With
``replicaDivisionPreference: Weighted`` the weights come from
``weightPreference.staticWeightList[{targetCluster, weight}]`` (a cluster's largest matching
weight; clusters without one are left out; when none has one, all weigh 1); clusters that get no
replica are left out. ``Aggregated`` and ``dynamicWeight`` (which upstream computes from the
members' free resources) are emulated as equal weights.

Status: ``conditions[Scheduled]`` (``True``/``Success``, or ``False``/``NoClusterFit``) and
``schedulerObservedGeneration``. Not emulated: ``spreadConstraints``, ``clusterAffinities``
(failover between affinity groups), preemption, suspension, ``propagateDeps``, the template's
claim labels, graceful eviction tasks, ``failover.application``, and the namespace
auto-propagation.
"""

from __future__ import annotations

import uuid

from ..kubeapi import ApiError, VirtualCluster
from . import karmada_apis
from . import karmada_selectors as selectors
from .conditions import condition, merged

BINDING_API = karmada_apis.BINDING_API
POLICY_API = karmada_apis.POLICY_API
BINDING_ID = "resourcebinding.karmada.io/permanent-id"
CLUSTER_BINDING_ID = "clusterresourcebinding.karmada.io/permanent-id"
POLICY_ID = "propagationpolicy.karmada.io/permanent-id"
CLUSTER_POLICY_ID = "clusterpropagationpolicy.karmada.io/permanent-id"


def schedule(control_plane: VirtualCluster, now: float) -> float | None:
    """One pass over ``control_plane``; returns when (epoch seconds) a toleration that holds a
    cluster in some binding ends, so that the caller looks again by then (None: no such time)."""
    policies = [
        *karmada_apis.listed(control_plane, POLICY_API, "PropagationPolicy"),
        *karmada_apis.listed(control_plane, POLICY_API, "ClusterPropagationPolicy"),
    ]
    clusters = [
        c
        for c in karmada_apis.listed(control_plane, karmada_apis.CLUSTER_API, "Cluster")
        if not c["metadata"].get("deletionTimestamp")
    ]
    existing = {
        (b["kind"], b["metadata"].get("namespace", ""), b["metadata"]["name"]): b
        for kind in ("ResourceBinding", "ClusterResourceBinding")
        for b in karmada_apis.listed(control_plane, BINDING_API, kind)
    }
    deadlines: list[float] = []
    wanted = set()
    for template in _templates(control_plane, policies):
        policy = _claiming(policies, template)
        if policy is None:
            continue
        kind = "ResourceBinding" if template["metadata"].get("namespace") else "ClusterResourceBinding"
        key = (kind, template["metadata"].get("namespace", ""), binding_name(template))
        wanted.add(key)
        previous = existing.get(key)
        scheduled = {c["name"] for c in ((previous or {}).get("spec") or {}).get("clusters") or []}
        placement = (policy.get("spec") or {}).get("placement") or {}
        fit, deadline = _fit(clusters, placement, scheduled, now)
        if deadline is not None:
            deadlines.append(deadline)
        _write(control_plane, previous, _binding(kind, template, policy, _divide(template, placement, fit)))
    for key, binding in existing.items():
        if key not in wanted and not binding["metadata"].get("deletionTimestamp"):
            _delete(control_plane, binding)
    return min(deadlines) if deadlines else None


def binding_name(template: dict) -> str:
    return f"{template['metadata']['name']}-{template['kind'].lower()}"


def _templates(control_plane: VirtualCluster, policies: list[dict]) -> list[dict]:
    kinds = {
        (s.get("apiVersion"), s.get("kind"))
        for p in policies
        for s in (p.get("spec") or {}).get("resourceSelectors") or []
        if s.get("apiVersion") and s.get("kind")
    }
    found = []
    for api_version, kind in sorted(kinds):
        for obj in karmada_apis.listed(control_plane, api_version, kind):
            if not obj["metadata"].get("deletionTimestamp"):
                found.append(obj)
    return found


def _claiming(policies: list[dict], template: dict) -> dict | None:
    namespace = template["metadata"].get("namespace", "")
    ranked = []
    for policy in policies:
        namespaced = policy["kind"] == "PropagationPolicy"
        if namespaced and policy["metadata"].get("namespace") != namespace:
            continue
        score = selectors.best_match(policy, template)
        if score is not None:
            priority = int((policy.get("spec") or {}).get("priority") or 0)
            ranked.append(((not namespaced, -priority, -score, policy["metadata"]["name"]), policy))
    return min(ranked, key=lambda r: r[0])[1] if ranked else None


def _fit(clusters: list[dict], placement: dict, scheduled: set[str], now: float) -> tuple[list[dict], float | None]:
    """The clusters the placement admits now, and the earliest end of a toleration one relies on."""
    tolerations = placement.get("clusterTolerations") or []
    fit, deadlines = [], []
    for cluster in clusters:
        if not selectors.cluster_matches(cluster, placement.get("clusterAffinity")):
            continue
        taints = (cluster.get("spec") or {}).get("taints") or []
        if cluster["metadata"]["name"] not in scheduled and any(
            t.get("effect") in ("NoSchedule", "NoExecute") and not any(selectors.tolerates(o, t) for o in tolerations)
            for t in taints
        ):
            continue
        ends = [selectors.toleration_ends(t, tolerations) for t in taints if t.get("effect") == "NoExecute"]
        finite = [e for e in ends if e is not None]
        if finite and min(finite) <= now:
            continue  # evicted
        if finite:
            deadlines.append(min(finite))
        fit.append(cluster)
    return fit, (min(deadlines) if deadlines else None)


def _divide(template: dict, placement: dict, fit: list[dict]) -> list[dict]:
    replicas = (template.get("spec") or {}).get("replicas")
    if not isinstance(replicas, int):
        return [{"name": c["metadata"]["name"]} for c in fit]
    scheduling = placement.get("replicaScheduling") or {}
    if scheduling.get("replicaSchedulingType", "Duplicated") != "Divided":
        return [{"name": c["metadata"]["name"], "replicas": replicas} for c in fit]
    weights = {c["metadata"]["name"]: 1 for c in fit}
    preference = scheduling.get("weightPreference") or {}
    if scheduling.get("replicaDivisionPreference") == "Weighted" and not preference.get("dynamicWeight"):
        static = {
            c["metadata"]["name"]: max(
                [
                    int(w.get("weight") or 0)
                    for w in preference.get("staticWeightList") or []
                    if selectors.cluster_matches(c, w.get("targetCluster"))
                ]
                or [0]
            )
            for c in fit
        }
        if any(static.values()):
            weights = {name: weight for name, weight in static.items() if weight > 0}
    seats = webster(replicas, weights, template["metadata"].get("uid", ""))
    return [{"name": name, "replicas": n} for name, n in sorted(seats.items()) if n > 0]


def webster(replicas: int, weights: dict[str, int], uid: str) -> dict[str, int]:
    """``replicas`` divided among ``weights`` by the Webster method, ties broken as upstream does."""
    descending = bool(uid) and fnv1a(uid) & 1 == 1
    position = {name: i for i, name in enumerate(sorted(weights, reverse=descending))}
    seats = dict.fromkeys(weights, 0)
    for _ in range(replicas if weights else 0):
        chosen = min(seats, key=lambda n: (-weights[n] / (2 * seats[n] + 1), seats[n], position[n]))
        seats[chosen] += 1
    return seats


def fnv1a(text: str) -> int:
    value = 0x811C9DC5
    for byte in text.encode():
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def _binding(kind: str, template: dict, policy: dict, clusters: list[dict]) -> dict:
    meta, policy_meta = template["metadata"], policy["metadata"]
    namespaced_policy = policy["kind"] == "PropagationPolicy"
    spec = policy.get("spec") or {}
    resource = {
        "apiVersion": template["apiVersion"],
        "kind": template["kind"],
        "name": meta["name"],
        "uid": meta.get("uid"),
        "resourceVersion": meta.get("resourceVersion"),
    }
    if meta.get("namespace"):
        resource["namespace"] = meta["namespace"]
    binding_spec = {
        "resource": resource,
        "placement": spec.get("placement") or {},
        "conflictResolution": spec.get("conflictResolution") or "Abort",
        "clusters": clusters,
    }
    if isinstance((template.get("spec") or {}).get("replicas"), int):
        binding_spec["replicas"] = template["spec"]["replicas"]
    if namespaced_policy:
        labels = {POLICY_ID: policy_meta["uid"]}
        annotations = {
            "propagationpolicy.karmada.io/name": policy_meta["name"],
            "propagationpolicy.karmada.io/namespace": policy_meta["namespace"],
        }
    else:
        labels = {CLUSTER_POLICY_ID: policy_meta["uid"]}
        annotations = {"clusterpropagationpolicy.karmada.io/name": policy_meta["name"]}
    metadata = {"name": binding_name(template), "labels": labels, "annotations": annotations}
    if meta.get("namespace"):
        metadata["namespace"] = meta["namespace"]
    return {"apiVersion": BINDING_API, "kind": kind, "metadata": metadata, "spec": binding_spec}


def binding_id(binding: dict) -> str:
    labels = binding["metadata"].get("labels") or {}
    return labels.get(BINDING_ID) or labels.get(CLUSTER_BINDING_ID) or ""


def _write(control_plane: VirtualCluster, previous: dict | None, wanted: dict) -> None:
    id_label = BINDING_ID if wanted["kind"] == "ResourceBinding" else CLUSTER_BINDING_ID
    if previous is None:
        wanted["metadata"]["labels"][id_label] = str(uuid.uuid4())
        binding = control_plane.objects.create(wanted)
    else:
        wanted["metadata"]["labels"][id_label] = binding_id(previous)
        meta = previous["metadata"]
        same = previous.get("spec") == wanted["spec"] and all(
            (meta.get(f) or {}).get(k) == v for f in ("labels", "annotations") for k, v in wanted["metadata"][f].items()
        )
        binding = previous
        if not same:
            binding = control_plane.objects.update(
                {
                    **previous,
                    "metadata": {
                        **meta,
                        "labels": {**(meta.get("labels") or {}), **wanted["metadata"]["labels"]},
                        "annotations": {**(meta.get("annotations") or {}), **wanted["metadata"]["annotations"]},
                    },
                    "spec": wanted["spec"],
                }
            )
    status = binding.get("status") or {}
    fits = bool(wanted["spec"]["clusters"])
    scheduled = condition(
        "Scheduled",
        "True" if fits else "False",
        "Success" if fits else "NoClusterFit",
        f"scheduled onto {len(wanted['spec']['clusters'])} clusters" if fits else "no cluster fits the placement",
    )
    update = {
        "conditions": merged(status.get("conditions") or [], [scheduled]),
        "schedulerObservedGeneration": binding["metadata"].get("generation"),
    }
    if any(status.get(k) != v for k, v in update.items()):
        meta = binding["metadata"]
        control_plane.objects.patch(
            BINDING_API,
            binding["kind"],
            meta["name"],
            {"status": update},
            meta.get("namespace", ""),
            subresource="status",
        )


def _delete(control_plane: VirtualCluster, binding: dict) -> None:
    meta = binding["metadata"]
    try:
        control_plane.objects.delete(BINDING_API, binding["kind"], meta["name"], meta.get("namespace", ""))
    except ApiError as err:
        if err.code != 404:
            raise
