"""Labels, annotations and names every fleetform-written object carries (DOMAIN §2.1, §5)."""

from __future__ import annotations

MANAGED_BY = {"app.kubernetes.io/managed-by": "fleetform"}
SYSTEM_NAMESPACE = "fleetform-system"
CLUSTERSET_LABEL = "cluster.open-cluster-management.io/clusterset"
FIELD_MANAGER_ANNOTATION = "pulumi.com/patchFieldManager"


def common(hub: str, **entity: str) -> dict[str, str]:
    """``managed-by`` and ``fleetform.io/hub`` plus entity labels given as ``cluster="x"`` etc."""
    labels = {**MANAGED_BY, "fleetform.io/hub": hub}
    labels.update({f"fleetform.io/{key.replace('_', '-')}": value for key, value in entity.items()})
    return labels


def field_manager(owner: str) -> dict[str, str]:
    """The annotation that makes server-side apply write an object as ``fleetform-<owner>``: each
    owner keeps its own fields, so two components never take each other's (pulumi-kubernetes reads
    the same annotation)."""
    return {FIELD_MANAGER_ANNOTATION: f"fleetform-{owner}"}
