"""Karmada's binding and execution controllers: scheduled templates land in the member clusters.

For each target ``{name, replicas}`` of a binding, the binding controller writes a ``Work``
(``work.karmada.io/v1alpha1``) in the execution namespace ``karmada-es-<cluster>``, named
``<template name>-<hash of kind, namespace and name>``. Its one manifest is the template without
status and server-set metadata, with ``spec.replicas`` set to the target's replicas, the override
policies for that cluster applied (:mod:`.karmada_overrides`), labels
``karmada.io/managed: "true"`` and the binding's permanent-id label, and annotations naming the
binding, the Work and the template's generation. Works no longer wanted are deleted.

The execution controller applies each Work's manifest into the member cluster, in process, as the
virtual cluster whose URL is the Cluster's ``spec.apiEndpoint``, and only while that Cluster is
``Ready`` (for a Push cluster: while it answers the HTTPS probe made with the Cluster's own
credential, :mod:`.karmada_clusters`). It uses server-side apply with field manager
``karmada-execution`` and force, after creating the object's namespace in the member when missing.
An object already in the member without the ``karmada.io/managed`` label is left alone (the
manifest fails) unless the binding's ``conflictResolution`` is ``Overwrite``. A Work carries the
finalizer ``karmada.io/execution-controller``: deleting it deletes its object from the member (only
an object carrying the same binding permanent id), or, when the member is not Ready, leaves the
object there and releases the Work. So unscheduling a cluster, deleting the policy or the template
removes the objects from the members that answer.

Status: each Work gets ``conditions[Applied]`` and ``manifestStatuses[{identifier, status,
health}]`` (``status`` is the member object's status as the member reports it); each binding gets
``status.aggregatedStatus[{clusterName, applied, appliedMessage?, status?, health}]`` for its
targets and ``conditions[FullyApplied]`` (True when every target applied). A Work for a cluster
that is not Ready keeps its last status.

Not emulated: the resource interpreter (the whole status is reflected; health is ``Healthy`` when
the object exists), dependencies distribution, ``suspension``, ``preserveResourcesOnDeletion``,
the graceful eviction of the previous cluster, and Works for Pull clusters being read by the agent
(the sandbox applies them from the control plane's side in both modes).
"""

from __future__ import annotations

import copy
import logging

from ..kubeapi import ApiError, VirtualCluster
from . import karmada_apis
from . import karmada_scheduler as scheduler
from .conditions import condition, merged
from .karmada_overrides import OverrideError, overridden, policies_for

log = logging.getLogger("sandbox.controllers.karmada")

WORK_API = karmada_apis.WORK_API
FIELD_MANAGER = "karmada-execution"
FINALIZER = "karmada.io/execution-controller"
MANAGED = "karmada.io/managed"
_SERVER_SET = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "ownerReferences")


def sync(control_plane: VirtualCluster, members: dict[str, VirtualCluster]) -> None:
    """One pass; ``members`` maps member API URLs to their virtual clusters."""
    clusters = {
        c["metadata"]["name"]: c for c in karmada_apis.listed(control_plane, karmada_apis.CLUSTER_API, "Cluster")
    }
    bindings = [
        b
        for kind in ("ResourceBinding", "ClusterResourceBinding")
        for b in karmada_apis.listed(control_plane, scheduler.BINDING_API, kind)
        if not b["metadata"].get("deletionTimestamp")
    ]
    cluster_overrides = karmada_apis.listed(control_plane, karmada_apis.POLICY_API, "ClusterOverridePolicy")
    overrides = karmada_apis.listed(control_plane, karmada_apis.POLICY_API, "OverridePolicy")
    wanted: dict[tuple[str, str], dict] = {}
    failures: dict[str, dict[str, str]] = {}  # binding id -> cluster -> why no Work
    for binding in bindings:
        template = _template(control_plane, binding)
        if template is None:
            continue
        policies = policies_for(template, cluster_overrides, overrides)
        for target in binding["spec"].get("clusters") or []:
            cluster = clusters.get(target["name"])
            if cluster is None:
                continue
            try:
                work = _work(binding, template, cluster, policies, target.get("replicas"))
            except OverrideError as err:
                failures.setdefault(scheduler.binding_id(binding), {})[target["name"]] = str(err)
                continue
            wanted[(work["metadata"]["namespace"], work["metadata"]["name"])] = work
    works = _write_works(control_plane, wanted)
    for work in works:
        cluster = clusters.get(work["metadata"]["namespace"][len(karmada_apis.EXECUTION_NAMESPACE_PREFIX) :])
        member = _member(cluster, members)
        _execute(control_plane, work, member)
    by_binding: dict[str, dict[str, dict]] = {}
    for work in karmada_apis.listed(control_plane, WORK_API, "Work"):
        cluster = work["metadata"]["namespace"][len(karmada_apis.EXECUTION_NAMESPACE_PREFIX) :]
        by_binding.setdefault(scheduler.binding_id(work), {})[cluster] = work
    for binding in bindings:
        identity = scheduler.binding_id(binding)
        _aggregate(control_plane, binding, by_binding.get(identity, {}), failures.get(identity, {}))


def _template(control_plane: VirtualCluster, binding: dict) -> dict | None:
    resource = binding["spec"].get("resource") or {}
    try:
        return control_plane.objects.get(
            resource.get("apiVersion", ""),
            resource.get("kind", ""),
            resource.get("name", ""),
            resource.get("namespace", ""),
        )
    except ApiError:
        return None  # gone: the scheduler deletes the binding


def _member(cluster: dict | None, members: dict[str, VirtualCluster]) -> VirtualCluster | None:
    """The member to apply into: only a Ready cluster whose endpoint is an emulated cluster."""
    if cluster is None or not karmada_apis.ready(cluster):
        return None
    member = members.get(str((cluster.get("spec") or {}).get("apiEndpoint") or "").rstrip("/"))
    return member if member is not None and member.reachable else None


def work_name(template: dict) -> str:
    meta = template["metadata"]
    key = "/".join((template["kind"], meta.get("namespace", ""), meta["name"]))
    return f"{meta['name']}-{scheduler.fnv1a(key):08x}"


def _work(binding: dict, template: dict, cluster: dict, policies: list[dict], replicas: int | None) -> dict:
    manifest = copy.deepcopy(template)
    manifest.pop("status", None)
    meta = manifest["metadata"]
    for field in _SERVER_SET:
        meta.pop(field, None)
    if replicas is not None and isinstance((manifest.get("spec") or {}).get("replicas"), int):
        manifest["spec"]["replicas"] = replicas
    manifest = overridden(manifest, cluster, policies)
    meta = manifest["metadata"]
    identity = scheduler.binding_id(binding)
    id_label = scheduler.BINDING_ID if binding["kind"] == "ResourceBinding" else scheduler.CLUSTER_BINDING_ID
    name, namespace = work_name(template), karmada_apis.execution_namespace(cluster["metadata"]["name"])
    meta["labels"] = {**(meta.get("labels") or {}), MANAGED: "true", id_label: identity}
    binding_meta = binding["metadata"]
    annotations = {"work.karmada.io/name": name, "work.karmada.io/namespace": namespace}
    if binding["kind"] == "ResourceBinding":
        annotations["resourcebinding.karmada.io/name"] = binding_meta["name"]
        annotations["resourcebinding.karmada.io/namespace"] = binding_meta["namespace"]
    else:
        annotations["clusterresourcebinding.karmada.io/name"] = binding_meta["name"]
    annotations["resourcetemplate.karmada.io/generation"] = str(template["metadata"].get("generation", ""))
    meta["annotations"] = {**(meta.get("annotations") or {}), **annotations}
    return {
        "apiVersion": WORK_API,
        "kind": "Work",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {id_label: identity},
            "annotations": {"work.karmada.io/conflict-resolution": binding["spec"].get("conflictResolution", "Abort")},
        },
        "spec": {"workload": {"manifests": [manifest]}},
    }


def _write_works(control_plane: VirtualCluster, wanted: dict[tuple[str, str], dict]) -> list[dict]:
    """Create or update the wanted Works, delete the others; returns the Works now stored."""
    current = {
        (w["metadata"]["namespace"], w["metadata"]["name"]): w
        for w in karmada_apis.listed(control_plane, WORK_API, "Work")
        if w["metadata"]["namespace"].startswith(karmada_apis.EXECUTION_NAMESPACE_PREFIX)
    }
    stored = []
    for key, work in wanted.items():
        found = current.get(key)
        try:
            if found is None:
                work["metadata"]["finalizers"] = [FINALIZER]
                found = control_plane.objects.create(work)
            elif found["spec"] != work["spec"] or found["metadata"].get("labels") != work["metadata"]["labels"]:
                found = control_plane.objects.update(
                    {
                        **found,
                        "metadata": {
                            **found["metadata"],
                            "labels": work["metadata"]["labels"],
                            "annotations": work["metadata"]["annotations"],
                        },
                        "spec": work["spec"],
                    }
                )
        except ApiError as err:  # e.g. the execution namespace is being deleted with its Cluster
            log.debug("work %s/%s: %s", *key, err.message)
            continue
        stored.append(found)
    for key, work in current.items():
        if key not in wanted:
            if not work["metadata"].get("deletionTimestamp"):
                work = control_plane.objects.delete(WORK_API, "Work", key[1], key[0])
            stored.append(work)
    return stored


def _execute(control_plane: VirtualCluster, work: dict, member: VirtualCluster | None) -> None:
    meta = work["metadata"]
    manifest = work["spec"]["workload"]["manifests"][0]
    if meta.get("deletionTimestamp"):
        if FINALIZER not in (meta.get("finalizers") or []):
            return
        if member is not None and not _delete_from(member, manifest, scheduler.binding_id(work)):
            return  # still being deleted there
        rest = [f for f in meta["finalizers"] if f != FINALIZER]
        try:
            control_plane.objects.patch(
                WORK_API, "Work", meta["name"], {"metadata": {"finalizers": rest or None}}, meta["namespace"]
            )
        except ApiError as err:
            if err.code != 404:
                raise
        return
    if member is None:
        return
    error, live = _apply(
        member, manifest, meta["annotations"].get("work.karmada.io/conflict-resolution") == "Overwrite"
    )
    applied = condition(
        "Applied",
        "False" if error else "True",
        "AppliedFailed" if error else "AppliedSuccessful",
        error or "Manifest has been successfully applied",
    )
    group, _, version = manifest["apiVersion"].rpartition("/")
    identifier = {
        "ordinal": 0,
        "group": group,
        "version": version,
        "kind": manifest["kind"],
        "namespace": manifest["metadata"].get("namespace", ""),
        "name": manifest["metadata"]["name"],
    }
    entry = {"identifier": identifier, "health": "Healthy" if live else "Unknown"}
    if live and live.get("status"):
        entry["status"] = live["status"]
    status = work.get("status") or {}
    wanted = {"conditions": merged(status.get("conditions") or [], [applied]), "manifestStatuses": [entry]}
    if any(status.get(k) != v for k, v in wanted.items()):
        control_plane.objects.patch(
            WORK_API, "Work", meta["name"], {"status": wanted}, meta["namespace"], subresource="status"
        )


def _apply(member: VirtualCluster, manifest: dict, overwrite: bool) -> tuple[str | None, dict | None]:
    """Apply into the member; ``(error or None, the live object or None)``."""
    meta = manifest["metadata"]
    try:
        rt = member.objects.resource_type(manifest["apiVersion"], manifest["kind"])
        if rt.namespaced and meta.get("namespace"):
            karmada_apis.ensure_namespace(member, meta["namespace"])
        try:
            live = member.objects.get(manifest["apiVersion"], manifest["kind"], meta["name"], meta.get("namespace", ""))
        except ApiError as err:
            if err.code != 404:
                raise
            live = None
        if live is not None and (live["metadata"].get("labels") or {}).get(MANAGED) != "true" and not overwrite:
            return (
                "the object exists in the member cluster and is not managed by Karmada (conflictResolution: Abort)",
                live,
            )
        return None, member.objects.apply(manifest, field_manager=FIELD_MANAGER, force=True)
    except ApiError as err:
        return err.message, None


def _delete_from(member: VirtualCluster, manifest: dict, identity: str) -> bool:
    """Delete the Work's object from the member; True once it is gone (or not ours)."""
    meta = manifest["metadata"]
    try:
        live = member.objects.get(manifest["apiVersion"], manifest["kind"], meta["name"], meta.get("namespace", ""))
        labels = live["metadata"].get("labels") or {}
        if identity not in (labels.get(scheduler.BINDING_ID), labels.get(scheduler.CLUSTER_BINDING_ID)):
            return True
        if not live["metadata"].get("deletionTimestamp"):
            live = member.objects.delete(
                manifest["apiVersion"], manifest["kind"], meta["name"], meta.get("namespace", "")
            )
    except ApiError as err:
        if err.code == 404:
            return True
        raise
    return not live["metadata"].get("deletionTimestamp")


def _aggregate(control_plane: VirtualCluster, binding: dict, works: dict[str, dict], failures: dict[str, str]) -> None:
    entries = []
    for target in binding["spec"].get("clusters") or []:
        name = target["name"]
        entry = {"clusterName": name, "applied": False}
        work = works.get(name)
        applied = next(
            (c for c in ((work or {}).get("status") or {}).get("conditions") or [] if c["type"] == "Applied"), None
        )
        if name in failures:
            entry["appliedMessage"] = failures[name]
        elif applied is None:
            entry["appliedMessage"] = "not applied yet (is the cluster Ready?)"
        else:
            entry["applied"] = applied["status"] == "True"
            if not entry["applied"]:
                entry["appliedMessage"] = applied["message"]
            manifest_status = (work["status"].get("manifestStatuses") or [{}])[0]
            if manifest_status.get("status"):
                entry["status"] = manifest_status["status"]
            entry["health"] = manifest_status.get("health", "Unknown")
        entries.append(entry)
    fully = bool(entries) and all(e["applied"] for e in entries)
    applied = condition(
        "FullyApplied",
        "True" if fully else "False",
        "FullyAppliedSuccess" if fully else "FullyAppliedFailed",
        "applied to every scheduled cluster" if fully else "not applied to every scheduled cluster",
    )
    status = binding.get("status") or {}
    wanted = {"aggregatedStatus": entries, "conditions": merged(status.get("conditions") or [], [applied])}
    if any(status.get(k) != v for k, v in wanted.items()):
        meta = binding["metadata"]
        control_plane.objects.patch(
            scheduler.BINDING_API,
            binding["kind"],
            meta["name"],
            {"status": wanted},
            meta.get("namespace", ""),
            subresource="status",
        )
