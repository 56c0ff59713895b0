"""Labels and names every fleetform-written object carries (DOMAIN §2.1, §5)."""

from __future__ import annotations

MANAGED_BY = {"app.kubernetes.io/managed-by": "fleetform"}
SYSTEM_NAMESPACE = "fleetform-system"
CLUSTERSET_LABEL = "cluster.open-cluster-management.io/clusterset"

CLOUD_OF_KIND = {
    "ctyun": "ctyun",
    "idc": "idc",
    "eks": "aws",
    "gke": "gcp",
    "aks": "azure",
    "ack": "alibaba",
    "tke": "tencent",
}


def common(hub: str, **entity: str) -> dict[str, str]:
    """``managed-by`` and ``fleetform.io/hub`` plus entity labels given as ``cluster="x"`` etc."""
    labels = {**MANAGED_BY, "fleetform.io/hub": hub}
    labels.update({f"fleetform.io/{key.replace('_', '-')}": value for key, value in entity.items()})
    return labels
