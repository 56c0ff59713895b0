"""Load balancers: Services of type ``LoadBalancer`` get an ingress address (loopback)."""

from __future__ import annotations

from ..kubeapi import VirtualCluster


def assign_addresses(cluster: VirtualCluster) -> None:
    for service in cluster.objects.list("v1", "Service"):
        if (service.get("spec") or {}).get("type") != "LoadBalancer":
            continue
        if ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
            continue
        meta = service["metadata"]
        cluster.objects.patch(
            "v1",
            "Service",
            meta["name"],
            {"status": {"loadBalancer": {"ingress": [{"ip": "127.0.0.1"}]}}},
            meta["namespace"],
            subresource="status",
        )
