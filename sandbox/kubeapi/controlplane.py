"""The background controllers of a control plane, reduced to what API clients can observe.

The store's change events are consumed on the process's few background threads (so, like the real
kube-controller-manager, it acts asynchronously, a few milliseconds after a write):

* namespaces: a new namespace gets the ``default`` ServiceAccount and the ``kube-root-ca.crt``
  ConfigMap; a terminating one has its content deleted, then its ``kubernetes`` finalizer
  removed, so it disappears once objects held by finalizers are released;
* CRD cleanup: a deleted CRD's custom resources are deleted, then its cleanup finalizer goes;
* service-account tokens: a token Secret is filled in (``token``, ``ca.crt``, ``namespace``)
  once its ServiceAccount exists; without one for ``TOKEN_GRACE`` seconds it is deleted, and
  deleting a ServiceAccount deletes its token Secrets;
* garbage collection by ``ownerReferences`` (background, ``orphan`` and ``foregroundDeletion``);
* workloads (optional): Deployments run ReplicaSets that run Pods (:mod:`workloads`, which also plays the
  kubelet for those pods, ready at once); DaemonSets report one ready pod per node without making any;
* pods bound to a node the sandbox hosts are started by that node's kubelet (:mod:`.kubelet`).
"""

from __future__ import annotations

import copy
import heapq
import itertools
import logging
import threading
import time

from . import crd, errors, meta
from .background import RUNNER
from .operations import FOREGROUND_FINALIZER, ORPHAN_FINALIZER
from .patch import MERGE
from .rules import NAMESPACE_FINALIZER, SA_NAME_ANNOTATION, SA_TOKEN_TYPE, SA_UID_ANNOTATION
from .store import Change
from .workloads import Workloads, owning_replicaset

log = logging.getLogger("sandbox.kubeapi.controlplane")

TOKEN_GRACE = 1.0
BATCH = 100  # changes handled in one turn
MANAGER = "kube-controller-manager"
_NS, _SA, _SECRETS, _CM = ("", "namespaces"), ("", "serviceaccounts"), ("", "secrets"), ("", "configmaps")
_CRD = ("apiextensions.k8s.io", "customresourcedefinitions")
_DEPLOYMENTS, _REPLICASETS, _PODS = ("apps", "deployments"), ("apps", "replicasets"), ("", "pods")
_DAEMONSETS = ("apps", "daemonsets")


class ControlPlane:
    """Runs on the process's background threads (:mod:`.background`), woken by its store."""

    def __init__(self, cluster, simulate_workloads: bool = True):
        self.c = cluster
        self.simulate_workloads = simulate_workloads
        self.workloads = Workloads(cluster)
        self._timers: list = []
        self._seq = itertools.count()
        self._busy = threading.RLock()  # held for a turn of work; stop() waits for it
        self._watcher = None
        self._resynced = False

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        with self._busy:
            self._resynced = False
            self._watcher = self.c.store.watch(lambda change: True, notify=lambda: RUNNER.wake(self))
        RUNNER.wake(self)

    def stop(self) -> None:
        with self._busy:
            if self._watcher:
                self._watcher.close()
            self._watcher = None

    def _later(self, delay: float, action) -> None:
        when = time.monotonic() + delay
        heapq.heappush(self._timers, (when, next(self._seq), action))
        RUNNER.at(when, self)

    def work(self) -> None:
        """A turn: catch up after a start, run due timers, handle up to ``BATCH`` queued changes."""
        with self._busy:
            if self._watcher is None:
                return
            if not self._resynced:
                self._resynced = True
                self._guard(self._resync)
            while self._timers and self._timers[0][0] <= time.monotonic():
                self._guard(heapq.heappop(self._timers)[2])
            for _ in range(BATCH):
                change = self._watcher.next(timeout=0)
                if change is None:
                    return
                self._guard(self._handle, change)
            RUNNER.wake(self)  # more is queued: after the other clusters' turns

    @staticmethod
    def _guard(action, *args) -> None:
        try:
            action(*args)
        except errors.ApiError as err:  # conflicts and races are retried by later events
            log.debug("controller action skipped: %s", err.message)
        except Exception:
            log.exception("controller action failed")

    # --- dispatch -------------------------------------------------------------------------------

    def _resync(self) -> None:
        """Catch up with the stored state (after a restart from disk)."""
        for rt in self.c.registry.storage_types():
            for obj in self.c.store.objects(rt.key):
                self._handle(Change("ADDED", rt.key, obj, None))

    def _handle(self, change: Change) -> None:
        obj, key = change.object, change.key
        m = obj["metadata"]
        if change.type == "DELETED":
            self._collect(m["uid"])
            self._recheck_owners(obj)
            if key == _SA:
                self._revoke_account(obj)
            if m.get("namespace"):
                self._clean_namespace(m["namespace"])
            owner_crd = self.c.store.get(_CRD, "", f"{key[1]}.{key[0]}")
            if owner_crd is not None and meta.is_deleting(owner_crd):
                self._clean_crd(owner_crd)
            if self.simulate_workloads and key in (_PODS, _REPLICASETS):
                self._sync_owner(key, obj)
            return
        if m.get("ownerReferences"):
            self._check_owners(obj)
        if meta.is_deleting(obj):
            if key == _NS:
                self._clean_namespace(m["name"])
            elif key == _CRD:
                self._clean_crd(obj)
            self._settle_dependents(key, obj)
        elif key == _NS and change.type == "ADDED":
            self._namespace_defaults(m["name"])
        elif key == _SECRETS:
            self._sync_token_secret(obj)
        elif key == _SA and change.type == "ADDED":
            for secret in self.c.store.objects(_SECRETS, m["namespace"]):
                if _token_secret_for(secret, m["name"]):
                    self._sync_token_secret(secret)
        elif key == _PODS:
            self.c.kubelets.handle(change)
            if self.simulate_workloads:
                self._sync_owner(key, obj)
        elif not self.simulate_workloads:
            return
        elif key == _DAEMONSETS:
            self._sync_workload(key, obj)
        elif key == _DEPLOYMENTS:
            self.workloads.sync_deployment(obj)
        elif key == _REPLICASETS:
            self.workloads.sync_replicaset(obj)
            self._sync_owner(key, obj)

    def _sync_owner(self, key, obj: dict) -> None:
        """A pod's ReplicaSet, or a ReplicaSet's Deployment, recounts after a change below it."""
        ns = obj["metadata"].get("namespace", "")
        if key == _PODS:
            name = owning_replicaset(obj)
            owner = self.c.store.get(_REPLICASETS, ns, name) if name else None
            if owner is not None:
                self.workloads.sync_replicaset(owner)
            return
        for ref in obj["metadata"].get("ownerReferences") or []:
            if ref.get("kind") == "Deployment" and ref.get("controller"):
                owner = self.c.store.get(_DEPLOYMENTS, ns, ref.get("name", ""))
                if owner is not None and owner["metadata"]["uid"] == ref.get("uid"):
                    self.workloads.sync_deployment(owner)

    def _type(self, key):
        return self.c.registry.storage_type(key)

    def _ignore_missing(self, action, *args) -> None:
        try:
            action(*args)
        except errors.ApiError as err:
            if err.code not in (404, 409):
                raise

    # --- namespaces -----------------------------------------------------------------------------

    def _namespace_defaults(self, namespace: str) -> None:
        ops = self.c.ops
        self._ignore_missing(
            lambda: ops.create(self._type(_SA), namespace, {"metadata": {"name": "default"}}, manager=MANAGER)
        )
        self._ignore_missing(
            lambda: ops.create(
                self._type(_CM),
                namespace,
                {"metadata": {"name": "kube-root-ca.crt"}, "data": {"ca.crt": self.c.pki.ca_cert}},
                manager=MANAGER,
            )
        )

    def _clean_namespace(self, namespace: str) -> None:
        ns = self.c.store.get(_NS, "", namespace)
        if ns is None or not meta.is_deleting(ns):
            return
        namespaced = [rt for rt in self.c.registry.storage_types() if rt.namespaced]
        for rt in namespaced:
            for obj in self.c.store.objects(rt.key, namespace):
                if not meta.is_deleting(obj):
                    self._ignore_missing(self.c.ops.delete, rt, namespace, obj["metadata"]["name"])
        if any(self.c.store.objects(rt.key, namespace) for rt in namespaced):
            return
        remaining = [f for f in (ns.get("spec") or {}).get("finalizers") or [] if f != NAMESPACE_FINALIZER]
        self.c.ops.replace(
            self._type(_NS),
            "",
            namespace,
            {"metadata": {"name": namespace}, "spec": {"finalizers": remaining}},
            subresource="finalize",
            manager=MANAGER,
        )

    # --- CRDs -----------------------------------------------------------------------------------

    def _clean_crd(self, definition: dict) -> None:
        spec = definition["spec"]
        key = (spec["group"], spec["names"]["plural"])
        rt = self._type(key)
        objects = self.c.store.objects(key)
        for obj in objects:
            if rt is not None and not meta.is_deleting(obj):
                self._ignore_missing(
                    self.c.ops.delete, rt, obj["metadata"].get("namespace", ""), obj["metadata"]["name"]
                )
        if not self.c.store.objects(key):
            self._drop_finalizer(_CRD, definition, crd.CLEANUP_FINALIZER)

    def _drop_finalizer(self, key, obj: dict, finalizer: str) -> None:
        if finalizer not in meta.finalizers(obj):
            return
        rest = [f for f in meta.finalizers(obj) if f != finalizer]
        m = obj["metadata"]
        self._ignore_missing(
            lambda: self.c.ops.patch(
                self._type(key),
                m.get("namespace", ""),
                m["name"],
                {"metadata": {"finalizers": rest or None, "resourceVersion": m["resourceVersion"]}},
                MERGE,
                manager=MANAGER,
            )
        )

    # --- service-account tokens -----------------------------------------------------------------

    def _sync_token_secret(self, secret: dict) -> None:
        m = secret["metadata"]
        if secret.get("type") != SA_TOKEN_TYPE or (secret.get("data") or {}).get("token") or meta.is_deleting(secret):
            return
        annotations = m.get("annotations") or {}
        account = self.c.store.get(_SA, m["namespace"], annotations.get(SA_NAME_ANNOTATION, ""))
        if account is None:
            self._later(TOKEN_GRACE, lambda: self._expire_token_secret(m["namespace"], m["name"], m["uid"]))
            return
        if annotations.get(SA_UID_ANNOTATION, account["metadata"]["uid"]) != account["metadata"]["uid"]:
            self._ignore_missing(lambda: self.c.ops.delete(self._type(_SECRETS), m["namespace"], m["name"]))
            return
        filled = copy.deepcopy(secret)
        filled.setdefault("data", {}).update(self.c.sa_tokens.secret_data(secret, account))
        filled["metadata"].setdefault("annotations", {})[SA_UID_ANNOTATION] = account["metadata"]["uid"]
        self._ignore_missing(
            lambda: self.c.ops.replace(self._type(_SECRETS), m["namespace"], m["name"], filled, manager=MANAGER)
        )

    def _expire_token_secret(self, namespace: str, name: str, uid: str) -> None:
        secret = self.c.store.get(_SECRETS, namespace, name)
        if secret is None or secret["metadata"]["uid"] != uid or (secret.get("data") or {}).get("token"):
            return
        account_name = (secret["metadata"].get("annotations") or {}).get(SA_NAME_ANNOTATION, "")
        if self.c.store.get(_SA, namespace, account_name) is None:
            self._ignore_missing(lambda: self.c.ops.delete(self._type(_SECRETS), namespace, name))

    def _revoke_account(self, account: dict) -> None:
        m = account["metadata"]
        for secret in self.c.store.objects(_SECRETS, m["namespace"]):
            uid = (secret["metadata"].get("annotations") or {}).get(SA_UID_ANNOTATION, m["uid"])
            if _token_secret_for(secret, m["name"]) and uid == m["uid"]:
                self._ignore_missing(
                    self.c.ops.delete, self._type(_SECRETS), m["namespace"], secret["metadata"]["name"]
                )

    # --- garbage collection ---------------------------------------------------------------------

    def _dependents(self, owner_uid: str):
        for rt in self.c.registry.storage_types():
            for obj in self.c.store.objects(rt.key):
                if any(r.get("uid") == owner_uid for r in obj["metadata"].get("ownerReferences") or []):
                    yield rt, obj

    def _collect(self, owner_uid: str) -> None:
        """The owner is gone: drop the reference, delete dependents left without owners."""
        for rt, obj in list(self._dependents(owner_uid)):
            m = obj["metadata"]
            rest = [r for r in m["ownerReferences"] if r.get("uid") != owner_uid]
            if rest:
                self._set_owners(rt, obj, rest)
            elif not meta.is_deleting(obj):
                self._ignore_missing(self.c.ops.delete, rt, m.get("namespace", ""), m["name"])

    def _owner(self, dependent: dict, ref: dict):
        """``(type, owner)`` named by an owner reference; owner None when absent or replaced."""
        rt = self.c.registry.for_kind(ref.get("apiVersion", ""), ref.get("kind", ""))
        if rt is None:
            return None, None
        ns = dependent["metadata"].get("namespace", "") if rt.namespaced else ""
        owner = self.c.store.get(rt.key, ns, ref.get("name", ""))
        return rt, owner if owner and owner["metadata"]["uid"] == ref.get("uid") else None

    def _check_owners(self, dependent: dict) -> None:
        """Owners that do not exist (any more) are treated as deleted."""
        for ref in dependent["metadata"]["ownerReferences"]:
            rt, owner = self._owner(dependent, ref)
            if rt is not None and owner is None:
                self._collect(ref.get("uid"))

    def _set_owners(self, rt, obj: dict, owners: list) -> None:
        m = obj["metadata"]
        self._ignore_missing(
            lambda: self.c.ops.patch(
                rt,
                m.get("namespace", ""),
                m["name"],
                {"metadata": {"ownerReferences": owners or None, "resourceVersion": m["resourceVersion"]}},
                MERGE,
                manager=MANAGER,
            )
        )

    def _settle_dependents(self, key, owner: dict) -> None:
        """Deletion with ``orphan`` or ``foregroundDeletion`` finalizers."""
        finalizers = meta.finalizers(owner)
        uid = owner["metadata"]["uid"]
        if ORPHAN_FINALIZER in finalizers:
            for rt, obj in list(self._dependents(uid)):
                self._set_owners(rt, obj, [r for r in obj["metadata"]["ownerReferences"] if r.get("uid") != uid])
            done = ORPHAN_FINALIZER
        elif FOREGROUND_FINALIZER in finalizers:
            for rt, obj in list(self._dependents(uid)):
                if not meta.is_deleting(obj):
                    self._ignore_missing(
                        self.c.ops.delete, rt, obj["metadata"].get("namespace", ""), obj["metadata"]["name"]
                    )
            if any(True for _ in self._dependents(uid)):
                return
            done = FOREGROUND_FINALIZER
        else:
            return
        current = self.c.store.get(key, owner["metadata"].get("namespace", ""), owner["metadata"]["name"])
        if current is not None:
            self._drop_finalizer(key, current, done)

    def _recheck_owners(self, dependent: dict) -> None:
        for ref in dependent["metadata"].get("ownerReferences") or []:
            rt, owner = self._owner(dependent, ref)
            if owner is not None and meta.is_deleting(owner):
                self._settle_dependents(rt.key, owner)

    # --- workloads ------------------------------------------------------------------------------

    def _sync_workload(self, key, obj: dict) -> None:
        m = obj["metadata"]
        if (obj.get("status") or {}).get("observedGeneration") == m.get("generation"):
            return
        n = len(self.c.store.objects(("", "nodes")))
        status = {
            "observedGeneration": m.get("generation"),
            "currentNumberScheduled": n,
            "desiredNumberScheduled": n,
            "numberAvailable": n,
            "numberMisscheduled": 0,
            "numberReady": n,
            "updatedNumberScheduled": n,
        }
        self._ignore_missing(
            lambda: self.c.ops.replace(
                self._type(key),
                m["namespace"],
                m["name"],
                {**obj, "status": status},
                subresource="status",
                manager=MANAGER,
            )
        )


def _token_secret_for(secret: dict, account: str) -> bool:
    annotations = secret["metadata"].get("annotations") or {}
    return secret.get("type") == SA_TOKEN_TYPE and annotations.get(SA_NAME_ANNOTATION) == account
