"""Deployment -> ReplicaSet -> Pod, reduced to what API clients observe.

Called by the control plane (:mod:`controlplane`) on changes of Deployments, ReplicaSets and
Pods:

* a Deployment owns one ReplicaSet per pod template (``<name>-<pod-template-hash>``, labelled
  with the hash, ``deployment.kubernetes.io/revision`` annotated); the current one is scaled to
  ``spec.replicas`` and older ones to 0, with ``ScalingReplicaSet`` events; its status sums its
  ReplicaSets' and says ``Available`` only when enough of their pods are ready;
* a ReplicaSet creates or deletes Pods (``<rs>-<5 chars>``) until it has ``spec.replicas``, with
  ``SuccessfulCreate``/``SuccessfulDelete`` events, and counts its ready pods in its status;
* a new Pod is bound to the first node and given the status a kubelet would report for started
  containers (Running, Ready, a pod IP).

Shortcuts: containers never fail and images are never pulled, so every pod is ready at once; a
template change replaces all pods in one step (no surge/unavailability budget, no
``minReadySeconds``, no ``progressDeadlineSeconds``), ``paused`` is ignored, and ReplicaSets
adopt only the pods they created (no orphan adoption by selector).
"""

from __future__ import annotations

import hashlib
import json
import random

from . import errors, meta

MANAGER = "kube-controller-manager"
HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
_DEPLOYMENTS, _REPLICASETS, _PODS = ("apps", "deployments"), ("apps", "replicasets"), ("", "pods")
_EVENTS, _NODES = ("", "events"), ("", "nodes")
_SAFE = "bcdfghjklmnpqrstvwxz2456789"  # the alphabet of generated Kubernetes name suffixes


def template_hash(template: dict) -> str:
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()
    return "".join(_SAFE[b % len(_SAFE)] for b in digest[:10])


def _owned_by(obj: dict, owner: dict) -> bool:
    return any(r.get("uid") == owner["metadata"]["uid"] for r in obj["metadata"].get("ownerReferences") or [])


def _owner_ref(owner: dict) -> dict:
    m = owner["metadata"]
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": m["name"],
        "uid": m["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _condition(ctype: str, ok: bool, reason: str, message: str, old: list) -> dict:
    """A condition that keeps its timestamps while its status and reason stay the same."""
    status = "True" if ok else "False"
    previous = next((c for c in old if c.get("type") == ctype), None)
    if previous and previous.get("status") == status and previous.get("reason") == reason:
        return previous
    now = meta.now()
    return {
        "type": ctype,
        "status": status,
        "lastUpdateTime": now,
        "lastTransitionTime": now,
        "reason": reason,
        "message": message,
    }


class Workloads:
    def __init__(self, cluster, seed: int = 0):
        self.c = cluster
        self._rng = random.Random(seed)
        self._ips = iter(range(2, 1 << 16))

    def _rt(self, key):
        return self.c.registry.storage_type(key)

    def _owned(self, key, owner: dict) -> list[dict]:
        objs = self.c.store.objects(key, owner["metadata"]["namespace"])
        return [o for o in objs if _owned_by(o, owner) and not meta.is_deleting(o)]

    def _event(self, obj: dict, reason: str, message: str, component: str) -> None:
        m, now = obj["metadata"], meta.now()
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{m['name']}.{self._rng.getrandbits(64):016x}", "namespace": m["namespace"]},
            "involvedObject": {
                "apiVersion": obj["apiVersion"],
                "kind": obj["kind"],
                "name": m["name"],
                "namespace": m["namespace"],
                "uid": m["uid"],
                "resourceVersion": m.get("resourceVersion", ""),
            },
            "reason": reason,
            "message": message,
            "type": "Normal",
            "source": {"component": component},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "reportingComponent": component,
        }
        self.c.ops.create(self._rt(_EVENTS), m["namespace"], event, manager=MANAGER)

    def _write_status(self, key, obj: dict, status: dict) -> None:
        if obj.get("status") != status:
            m = obj["metadata"]
            self.c.ops.replace(
                self._rt(key),
                m["namespace"],
                m["name"],
                {**obj, "status": status},
                subresource="status",
                manager=MANAGER,
            )

    # --- deployments ----------------------------------------------------------------------------

    def sync_deployment(self, deployment: dict) -> None:
        if meta.is_deleting(deployment):
            return
        spec = deployment.get("spec") or {}
        wanted = spec.get("replicas", 1)
        template = spec.get("template") or {}
        pod_hash = template_hash(template)
        sets = self._owned(_REPLICASETS, deployment)
        current = next((s for s in sets if s["metadata"].get("labels", {}).get(HASH_LABEL) == pod_hash), None)
        if current is None:
            current = self._new_replicaset(deployment, pod_hash, template, wanted, sets)
        elif (current.get("spec") or {}).get("replicas") != wanted:
            current = self._scale(deployment, current, wanted)
        for old in sets:
            if old is not current and (old.get("spec") or {}).get("replicas", 0):
                self._scale(deployment, old, 0)
        sets = self._owned(_REPLICASETS, deployment)
        self._write_status(_DEPLOYMENTS, deployment, self._deployment_status(deployment, sets, pod_hash, wanted))

    def _new_replicaset(self, deployment: dict, pod_hash: str, template: dict, wanted: int, sets: list) -> dict:
        m, spec = deployment["metadata"], deployment["spec"]
        labels = {**((template.get("metadata") or {}).get("labels") or {}), HASH_LABEL: pod_hash}
        selector = json.loads(json.dumps(spec.get("selector") or {}))
        selector.setdefault("matchLabels", {})[HASH_LABEL] = pod_hash
        revision = 1 + max((int(s["metadata"].get("annotations", {}).get(REVISION, "0")) for s in sets), default=0)
        body = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": f"{m['name']}-{pod_hash}",
                "namespace": m["namespace"],
                "labels": labels,
                "annotations": {REVISION: str(revision)},
                "ownerReferences": [_owner_ref(deployment)],
            },
            "spec": {
                "replicas": wanted,
                "selector": selector,
                "template": {**template, "metadata": {**(template.get("metadata") or {}), "labels": labels}},
            },
        }
        created = self.c.ops.create(self._rt(_REPLICASETS), m["namespace"], body, manager=MANAGER)
        self._event(
            deployment,
            "ScalingReplicaSet",
            f"Scaled up replica set {created['metadata']['name']} to {wanted}",
            "deployment-controller",
        )
        return created

    def _scale(self, deployment: dict, replicaset: dict, replicas: int) -> dict:
        m = replicaset["metadata"]
        before = (replicaset.get("spec") or {}).get("replicas", 0)
        scaled, _ = self.c.ops.patch(
            self._rt(_REPLICASETS),
            m["namespace"],
            m["name"],
            {"spec": {"replicas": replicas}},
            "application/merge-patch+json",
            manager=MANAGER,
        )
        direction = "up" if replicas > before else "down"
        message = f"Scaled {direction} replica set {m['name']} from {before} to {replicas}"
        self._event(deployment, "ScalingReplicaSet", message, "deployment-controller")
        return scaled

    @staticmethod
    def _deployment_status(deployment: dict, sets: list, pod_hash: str, wanted: int) -> dict:
        def total(field: str, only_current: bool = False) -> int:
            return sum(
                (s.get("status") or {}).get(field, 0)
                for s in sets
                if not only_current or s["metadata"].get("labels", {}).get(HASH_LABEL) == pod_hash
            )

        available, updated = total("availableReplicas"), total("replicas", only_current=True)
        old = (deployment.get("status") or {}).get("conditions") or []
        rolled_out = updated == wanted and total("replicas") == wanted and available >= wanted
        conditions = [
            _condition(
                "Available",
                available >= wanted,
                "MinimumReplicasAvailable" if available >= wanted else "MinimumReplicasUnavailable",
                "Deployment has minimum availability."
                if available >= wanted
                else "Deployment does not have minimum availability.",
                old,
            ),
            _condition(
                "Progressing",
                True,
                "NewReplicaSetAvailable" if rolled_out else "ReplicaSetUpdated",
                f'ReplicaSet "{deployment["metadata"]["name"]}-{pod_hash}" '
                + ("has successfully progressed." if rolled_out else "is progressing."),
                old,
            ),
        ]
        status = {
            "observedGeneration": deployment["metadata"].get("generation"),
            "replicas": total("replicas"),
            "updatedReplicas": updated,
            "readyReplicas": total("readyReplicas"),
            "availableReplicas": available,
            "conditions": conditions,
        }
        if total("replicas") > available:
            status["unavailableReplicas"] = total("replicas") - available
        return {k: v for k, v in status.items() if v != 0 or k == "observedGeneration"}

    # --- replicasets and pods -------------------------------------------------------------------

    def sync_replicaset(self, replicaset: dict) -> None:
        if meta.is_deleting(replicaset):
            return
        m = replicaset["metadata"]
        wanted = (replicaset.get("spec") or {}).get("replicas", 1)
        pods = sorted(self._owned(_PODS, replicaset), key=lambda p: p["metadata"]["creationTimestamp"])
        for _ in range(wanted - len(pods)):
            pods.append(self._new_pod(replicaset))
        for pod in pods[wanted:][::-1]:
            pm = pod["metadata"]
            try:
                self.c.ops.delete(self._rt(_PODS), pm["namespace"], pm["name"])
            except errors.ApiError:
                continue
            self._event(replicaset, "SuccessfulDelete", f"Deleted pod: {pm['name']}", "replicaset-controller")
        pods = pods[:wanted]
        ready = sum(1 for p in pods if _pod_ready(p))
        status = {
            "observedGeneration": m.get("generation"),
            "replicas": len(pods),
            "fullyLabeledReplicas": len(pods),
            "readyReplicas": ready,
            "availableReplicas": ready,
        }
        status = {k: v for k, v in status.items() if v != 0 or k in ("observedGeneration", "replicas")}
        self._write_status(
            _REPLICASETS, self.c.store.get(_REPLICASETS, m["namespace"], m["name"]) or replicaset, status
        )

    def _new_pod(self, replicaset: dict) -> dict:
        m, template = replicaset["metadata"], (replicaset.get("spec") or {}).get("template") or {}
        nodes = self.c.store.objects(_NODES)
        spec = json.loads(json.dumps(template.get("spec") or {}))
        if nodes:
            spec.setdefault("nodeName", nodes[0]["metadata"]["name"])
        body = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "generateName": f"{m['name']}-",
                "namespace": m["namespace"],
                "labels": (template.get("metadata") or {}).get("labels") or {},
                "ownerReferences": [_owner_ref(replicaset)],
            },
            "spec": spec,
        }
        pod = self.c.ops.create(self._rt(_PODS), m["namespace"], body, manager=MANAGER)
        self._event(replicaset, "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}", "replicaset-controller")
        return self._start(pod)

    def _start(self, pod: dict) -> dict:
        """The status a kubelet reports once the pod's containers run."""
        now, ip = meta.now(), next(self._ips)
        conditions = [
            {"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": now}
            for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
        ]
        containers = [
            {
                "name": c.get("name", ""),
                "image": c.get("image", ""),
                "imageID": f"{c.get('image', '')}@sha256:{hashlib.sha256(c.get('image', '').encode()).hexdigest()}",
                "ready": True,
                "started": True,
                "restartCount": 0,
                "state": {"running": {"startedAt": now}},
            }
            for c in (pod.get("spec") or {}).get("containers") or []
        ]
        status = {
            "phase": "Running",
            "conditions": conditions,
            "hostIP": "10.0.0.10",
            "podIP": f"10.244.{ip >> 8}.{ip & 255}",
            "startTime": now,
            "containerStatuses": containers,
            "qosClass": "BestEffort",
        }
        m = pod["metadata"]
        return self.c.ops.replace(
            self._rt(_PODS),
            m["namespace"],
            m["name"],
            {**pod, "status": status},
            subresource="status",
            manager="kubelet",
        )


def _pod_ready(pod: dict) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def owning_replicaset(pod: dict) -> str | None:
    """The name of the ReplicaSet controlling ``pod``, if any."""
    for ref in pod["metadata"].get("ownerReferences") or []:
        if ref.get("kind") == "ReplicaSet" and ref.get("controller"):
            return ref.get("name")
    return None
