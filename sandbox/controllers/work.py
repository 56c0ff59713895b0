"""OCM's work agent, for every member running a klusterlet whose ManagedCluster has joined.

Every ``ManifestWork`` (``work.open-cluster-management.io/v1``) in the hub namespace named after the
managed cluster is applied into the member, manifest by manifest in order (see :mod:`.manifests`),
and its status written back on the hub (see :mod:`.workstatus`). The agent puts the finalizer
``cluster.open-cluster-management.io/manifest-work-cleanup`` on each work it handles. What a work
applied is recorded in the member (see :mod:`.appliedwork`): objects whose manifest leaves the spec
are deleted, and a deleted work keeps its finalizer until the objects it applied are gone
(``deleteOption.propagationPolicy`` Foreground, the default). ``Orphan`` leaves every object in
place and ``SelectivelyOrphan`` those its ``orphaningRules`` name, both when the work is deleted and
when a manifest leaves the spec.

Reaching the clusters: a real work agent reads the hub with the credential the registration agent
obtained through its CSR exchange. That credential is not emulated, so this agent reads and writes
the hub in-process (the hub's RBAC for the agent is not checked); it reaches the member in-process
too, as the registration emulation does. A member or hub that does not answer
(``set_reachable(False)``) stops the agent: the ManifestWork status stays as last written, since
the hub cannot know what happens in the member.

Cheap on the polling thread: a member is looked at again only when a write happened on the hub or
in the member since its last complete pass (the clusters' resourceVersions say so without reading
any object).
"""

from __future__ import annotations

import logging

from ..kubeapi import ApiError, VirtualCluster
from . import appliedwork, klusterlet, manifests
from .workstatus import work_status

log = logging.getLogger("sandbox.controllers.work")

WORK_API = "work.open-cluster-management.io/v1"
KIND = "ManifestWork"
CLEANUP_FINALIZER = "cluster.open-cluster-management.io/manifest-work-cleanup"


class WorkAgent:
    def __init__(self) -> None:
        self._settled: dict[str, tuple[int, int]] = {}  # member -> (hub rv, member rv) after a complete pass

    def sync(self, hub: VirtualCluster, member: VirtualCluster, cluster: str) -> None:
        """The agent of ``member``, whose klusterlet runs as managed cluster ``cluster``."""
        if not (hub.reachable and member.reachable):
            return
        if self._settled.get(member.name) == self._versions(hub, member):
            return
        complete = True
        if klusterlet.joined(hub, cluster):
            for work in _works(hub, cluster):
                try:
                    self._sync_work(hub, member, cluster, work)
                except ApiError as err:  # e.g. a conflict with another writer: the next pass retries
                    log.debug("work %s/%s: %s", cluster, work["metadata"]["name"], err.message)
                    complete = False
        if complete:
            self._settled[member.name] = self._versions(hub, member)
        else:
            self._settled.pop(member.name, None)

    @staticmethod
    def _versions(hub: VirtualCluster, member: VirtualCluster) -> tuple[int, int]:
        return hub.objects.resource_version, member.objects.resource_version

    def _sync_work(self, hub: VirtualCluster, member: VirtualCluster, cluster: str, work: dict) -> None:
        finalizers = work["metadata"].get("finalizers") or []
        if work["metadata"].get("deletionTimestamp"):
            if CLEANUP_FINALIZER in finalizers:
                _clean_up(hub, member, work)
            return
        if CLEANUP_FINALIZER not in finalizers:
            work = _set_finalizers(hub, work, finalizers + [CLEANUP_FINALIZER])
        record = appliedwork.ensure(member, hub, cluster, work["metadata"]["name"])
        documents = ((work.get("spec") or {}).get("workload") or {}).get("manifests") or []
        outcomes = [manifests.apply(member, ordinal, document) for ordinal, document in enumerate(documents)]
        _forget_dropped(member, work, record, outcomes)
        status = work_status(work, outcomes)
        if status != work.get("status"):
            hub.objects.patch(
                WORK_API, KIND, work["metadata"]["name"], {"status": status}, cluster, subresource="status"
            )


def _works(hub: VirtualCluster, cluster: str) -> list[dict]:
    try:
        return hub.objects.list(WORK_API, KIND, cluster)
    except ApiError:
        return []  # the ManifestWork CRD is not installed on the hub


def _set_finalizers(hub: VirtualCluster, work: dict, finalizers: list[str]) -> dict:
    m = work["metadata"]
    return hub.objects.patch(
        WORK_API,
        KIND,
        m["name"],
        {"metadata": {"finalizers": finalizers or None, "resourceVersion": m["resourceVersion"]}},
        m["namespace"],
    )


def _orphaned(work: dict, resource: dict) -> bool:
    """Whether the work's deleteOption keeps ``resource`` in the member when it leaves the work."""
    option = (work.get("spec") or {}).get("deleteOption") or {}
    policy = option.get("propagationPolicy") or "Foreground"
    if policy == "Orphan":
        return True
    if policy == "SelectivelyOrphan":
        rules = (option.get("selectivelyOrphans") or {}).get("orphaningRules") or []
        return any(manifests.identity(rule) == manifests.identity(resource) for rule in rules)
    return False


def _forget_dropped(member: VirtualCluster, work: dict, record: dict, outcomes: list[manifests.Outcome]) -> None:
    """Record what the work applied now; delete what it applied before and no longer holds.

    A manifest that failed this time keeps its earlier entry: a failed update does not remove the
    object it applied before."""
    previous = {manifests.identity(r): r for r in appliedwork.resources(record)}
    current = {o.identity for o in outcomes}
    applied = [
        o.applied_resource() if o.error is None else previous[o.identity]
        for o in outcomes
        if o.error is None or o.identity in previous
    ]
    for key, resource in previous.items():
        if key not in current and not _orphaned(work, resource):
            manifests.delete_applied(member, resource)
    appliedwork.set_resources(member, record, applied)


def _clean_up(hub: VirtualCluster, member: VirtualCluster, work: dict) -> None:
    """A deleted work: delete what it applied (unless orphaned), then release it once all is gone."""
    record = appliedwork.get(member, appliedwork.record_name(hub, work["metadata"]["name"]))
    if record is not None:
        remaining = [
            r for r in appliedwork.resources(record) if not _orphaned(work, r) and manifests.delete_applied(member, r)
        ]
        if remaining:
            return  # the member's control plane finishes the deletions; a later pass sees them gone
        appliedwork.delete(member, record)
    finalizers = work["metadata"].get("finalizers") or []
    _set_finalizers(hub, work, [f for f in finalizers if f != CLEANUP_FINALIZER])
