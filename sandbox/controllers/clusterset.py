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
from .conditions import condition, merged

API = "cluster.open-cluster-management.io/v1beta2"
MANAGED_API = "cluster.open-cluster-management.io/v1"
LABEL = "cluster.open-cluster-management.io/clusterset"
REPORTED = ("capacity", "allocatable")


def sync(hub: VirtualCluster, clusters: dict[str, VirtualCluster]) -> None:
    try:
        sets = hub.objects.list(API, "ManagedClusterSet")
        bindings = hub.objects.list(API, "ManagedClusterSetBinding")
        managed = hub.objects.list(MANAGED_API, "ManagedCluster")
    except ApiError:
        return  # the OCM CRDs are not installed (yet), or are being removed
    for cluster_set in sets:
        name = cluster_set["metadata"]["name"]
        count = sum(1 for m in managed if (m["metadata"].get("labels") or {}).get(LABEL) == name)
        empty = "True" if count == 0 else "False"
        reason = "NoClusterMatched" if count == 0 else "ClustersSelected"
        _set_conditions(hub, API, cluster_set, [condition("ClusterSetEmpty", empty, reason, f"{count} clusters")])
    names = {s["metadata"]["name"] for s in sets}
    for binding in bindings:
        bound = binding.get("spec", {}).get("clusterSet") in names
        wanted = condition(
            "Bound", "True" if bound else "False", "ClusterSetBound" if bound else "ClusterSetNotFound", ""
        )
        _set_conditions(hub, API, binding, [wanted])
    by_url = {c.url: c for c in clusters.values()}
    for item in managed:
        _report_capacity(hub, item, by_url, clusters)


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


def _report_capacity(hub: VirtualCluster, managed: dict, by_url: dict, clusters: dict) -> None:
    conditions = {c.get("type"): c.get("status") for c in (managed.get("status") or {}).get("conditions") or []}
    if conditions.get("ManagedClusterJoined") != "True":
        return
    configs = managed.get("spec", {}).get("managedClusterClientConfigs") or []
    member = next((by_url[c["url"]] for c in configs if c.get("url") in by_url), None)
    member = member or clusters.get(managed["metadata"]["name"])
    if member is None or not member.reachable:
        return
    nodes = member.objects.list("v1", "Node")
    report = {key: quantity.summed((n.get("status") or {}).get(key) or {} for n in nodes) for key in REPORTED}
    status = managed.get("status") or {}
    if all(status.get(key) == value for key, value in report.items()):
        return
    hub.objects.patch(
        MANAGED_API, "ManagedCluster", managed["metadata"]["name"], {"status": report}, subresource="status"
    )
