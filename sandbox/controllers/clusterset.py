"""OCM's cluster-set side on the hub: ``ManagedClusterSet`` and ``ManagedClusterSetBinding``
conditions, and the capacity each member reports on its ``ManagedCluster``.

* A set with ``ExclusiveClusterSetLabel`` selects the ManagedClusters labelled
  ``cluster.open-cluster-management.io/clusterset=<set>``; its condition ``ClusterSetEmpty`` says
  whether there are none (``LabelSelector`` sets are not emulated).
* A binding is ``Bound`` while the set named by ``spec.clusterSet`` (= its own name) exists.
* A joined ManagedCluster gets ``status.capacity``/``allocatable``: the sum over the member's Nodes,
  as a klusterlet reports it. The member is the virtual cluster serving the ManagedCluster's client
  URL (cloud clusters are virtual clusters under other names), else the one of the same name.
"""

from __future__ import annotations

from kubeclient import quantity

from ..kubeapi import ApiError, VirtualCluster
from .changes import Changed, Pass
from .conditions import condition, merged

API = "cluster.open-cluster-management.io/v1beta2"
MANAGED_API = "cluster.open-cluster-management.io/v1"
LABEL = "cluster.open-cluster-management.io/clusterset"
REPORTED = ("capacity", "allocatable")
SETS = ("cluster.open-cluster-management.io", "managedclustersets")
BINDINGS = ("cluster.open-cluster-management.io", "managedclustersetbindings")
MANAGED_CLUSTERS = ("cluster.open-cluster-management.io", "managedclusters")
NODES = ("", "nodes")


class ClusterSets:
    """Looks only at what changed: the sets' and bindings' conditions when a set, a binding or a
    ManagedCluster was written on the hub; a ManagedCluster's capacity when it was written or when
    its member's Nodes were."""

    def __init__(self) -> None:
        self._member_of: dict[str, str] = {}  # joined managed cluster -> the virtual cluster serving it

    def sync(self, hub: VirtualCluster, clusters: dict[str, VirtualCluster], changes: Pass | None) -> None:
        """One pass; ``changes`` None: a full pass."""
        on_hub = Changed(everything=True) if changes is None else changes.get(hub.name, Changed())
        try:
            if on_hub.touches(SETS, BINDINGS, MANAGED_CLUSTERS):
                _sync_sets(hub)
            if on_hub.everything:
                names = set(hub.objects.names(MANAGED_API, "ManagedCluster"))
            else:
                nodes_changed = {
                    m for m, member in self._member_of.items() if member in changes and changes[member].touches(NODES)
                }
                names = on_hub.names(MANAGED_CLUSTERS) | nodes_changed
        except ApiError:
            return  # the OCM CRDs are not installed (yet), or are being removed
        by_url = {c.url: c for c in clusters.values()}
        for name in sorted(names):
            try:
                managed = hub.objects.get(MANAGED_API, "ManagedCluster", name)
            except ApiError:
                self._member_of.pop(name, None)
                continue
            member = _report_capacity(hub, managed, by_url, clusters)
            if member is None:
                self._member_of.pop(name, None)
            else:
                self._member_of[name] = member.name


def _sync_sets(hub: VirtualCluster) -> None:
    sets = hub.objects.list(API, "ManagedClusterSet")
    for cluster_set in sets:
        name = cluster_set["metadata"]["name"]
        count = len(hub.objects.names(MANAGED_API, "ManagedCluster", label_selector=f"{LABEL}={name}"))
        empty = "True" if count == 0 else "False"
        reason = "NoClusterMatched" if count == 0 else "ClustersSelected"
        _set_conditions(hub, API, cluster_set, [condition("ClusterSetEmpty", empty, reason, f"{count} clusters")])
    names = {s["metadata"]["name"] for s in sets}
    for binding in hub.objects.list(API, "ManagedClusterSetBinding"):
        bound = binding.get("spec", {}).get("clusterSet") in names
        wanted = condition(
            "Bound", "True" if bound else "False", "ClusterSetBound" if bound else "ClusterSetNotFound", ""
        )
        _set_conditions(hub, API, binding, [wanted])


def _set_conditions(hub: VirtualCluster, api: str, obj: dict, wanted: list[dict]) -> None:
    current = (obj.get("status") or {}).get("conditions") or []
    conditions = merged(current, wanted)
    if conditions != current:
        meta = obj["metadata"]
        hub.objects.patch(
            api,
            obj["kind"],
            meta["name"],
            {"status": {"conditions": conditions}},
            meta.get("namespace", ""),
            subresource="status",
        )


def _report_capacity(hub: VirtualCluster, managed: dict, by_url: dict, clusters: dict) -> VirtualCluster | None:
    """Report a joined ManagedCluster's capacity; returns the member serving it (None: not joined,
    or no member answers for it)."""
    conditions = {c.get("type"): c.get("status") for c in (managed.get("status") or {}).get("conditions") or []}
    if conditions.get("ManagedClusterJoined") != "True":
        return None
    configs = managed.get("spec", {}).get("managedClusterClientConfigs") or []
    member = next((by_url[c["url"]] for c in configs if c.get("url") in by_url), None)
    member = member or clusters.get(managed["metadata"]["name"])
    if member is None or not member.reachable:
        return member
    nodes = member.objects.list("v1", "Node")
    report = {key: quantity.summed((n.get("status") or {}).get(key) or {} for n in nodes) for key in REPORTED}
    status = managed.get("status") or {}
    if all(status.get(key) == value for key, value in report.items()):
        return member
    hub.objects.patch(
        MANAGED_API, "ManagedCluster", managed["metadata"]["name"], {"status": report}, subresource="status"
    )
    return member
