"""The work agent's memory in the member: one ``AppliedManifestWork`` per ManifestWork it applied.

As in OCM, the record is cluster-scoped, named ``<hub hash>-<ManifestWork name>`` (the hash of the
hub's API server URL), and lists in ``status.appliedResources`` every object the work applied (group,
version, resource, namespace, name, uid). Keeping it in the member rather than in the controller
means it survives a restart of the sandbox (it is persisted with the member) and can be inspected
there as in a real estate. A real klusterlet's operator installs the AppliedManifestWork CRD; the
sandbox has no operator, so the emulated agent installs an open-schema CRD itself the first time it
needs one. Eviction of records whose ManifestWork vanished from the hub is not emulated.
"""

from __future__ import annotations

import hashlib

from ..kubeapi import ApiError, VirtualCluster

WORK_API = "work.open-cluster-management.io/v1"
KIND = "AppliedManifestWork"
CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "appliedmanifestworks.work.open-cluster-management.io"},
    "spec": {
        "group": "work.open-cluster-management.io",
        "scope": "Cluster",
        "names": {
            "kind": KIND,
            "listKind": "AppliedManifestWorkList",
            "plural": "appliedmanifestworks",
            "singular": "appliedmanifestwork",
        },
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
            }
        ],
    },
}


def record_name(hub: VirtualCluster, work_name: str) -> str:
    return f"{hashlib.sha256(hub.url.encode()).hexdigest()}-{work_name}"


def get(member: VirtualCluster, name: str) -> dict | None:
    try:
        return member.objects.get(WORK_API, KIND, name)
    except ApiError as err:
        if err.code == 404:
            return None  # no record, or the CRD is not installed
        raise


def ensure(member: VirtualCluster, hub: VirtualCluster, cluster: str, work_name: str) -> dict:
    """The record for ``work_name``, created (with its CRD if need be) when missing; ``cluster`` is
    the managed cluster's name, which stands as the agent's id."""
    name = record_name(hub, work_name)
    found = get(member, name)
    if found is not None:
        return found
    try:
        member.objects.resource_type(WORK_API, KIND)
    except ApiError:
        member.objects.create(CRD)
    hub_hash = name[: -len(work_name) - 1]
    return member.objects.create(
        {
            "apiVersion": WORK_API,
            "kind": KIND,
            "metadata": {"name": name},
            "spec": {"hubHash": hub_hash, "agentID": cluster, "manifestWorkName": work_name},
        }
    )


def resources(record: dict) -> list[dict]:
    return list((record.get("status") or {}).get("appliedResources") or [])


def set_resources(member: VirtualCluster, record: dict, applied: list[dict]) -> None:
    if applied != resources(record):
        member.objects.patch(
            WORK_API, KIND, record["metadata"]["name"], {"status": {"appliedResources": applied}}, subresource="status"
        )


def delete(member: VirtualCluster, record: dict) -> None:
    try:
        member.objects.delete(WORK_API, KIND, record["metadata"]["name"])
    except ApiError as err:
        if err.code != 404:
            raise
