"""One manifest of a ManifestWork against the member: apply it, or delete what it applied.

A manifest is applied by server-side apply as field manager ``work-agent`` with ``force``: the
work's content wins over other writers, as with OCM's default ``Update`` strategy (the per-manifest
``manifestConfigs`` — update strategies, feedback and condition rules — are not emulated).
Resources are named as OCM names them: group, version, resource (plural), namespace, name.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..kubeapi import ApiError, VirtualCluster

FIELD_MANAGER = "work-agent"


@dataclass(frozen=True)
class Outcome:
    """What applying manifest ``resource_meta["ordinal"]`` gave: the object's uid, or the error."""

    resource_meta: dict  # ManifestResourceMeta: ordinal, group, version, kind, resource, namespace, name
    uid: str | None
    error: str | None
    available: str  # "True" (exists), "False" (absent) or "Unknown" (cannot tell)

    @property
    def identity(self) -> tuple[str, str, str, str]:
        return identity(self.resource_meta)

    def applied_resource(self) -> dict:
        """The AppliedManifestWork entry for this manifest (only meaningful when it applied)."""
        return {k: self.resource_meta[k] for k in ("group", "version", "resource", "namespace", "name")} | {
            "uid": self.uid
        }


def identity(resource: dict) -> tuple[str, str, str, str]:
    """What names one object across versions: group, resource, namespace, name."""
    return (
        resource.get("group", ""),
        resource.get("resource", ""),
        resource.get("namespace", ""),
        resource.get("name", ""),
    )


def describe(resource_meta: dict) -> str:
    where = f"{resource_meta['namespace']}/" if resource_meta.get("namespace") else ""
    return f"{resource_meta.get('kind') or '?'} {where}{resource_meta.get('name') or '?'}"


def apply(member: VirtualCluster, ordinal: int, manifest) -> Outcome:
    if not isinstance(manifest, dict):
        return Outcome(_resource_meta(ordinal, {}), None, "the manifest is not an object", "Unknown")
    resource_meta = _resource_meta(ordinal, manifest)
    if not (manifest.get("apiVersion") and manifest.get("kind") and resource_meta["name"]):
        return Outcome(resource_meta, None, "the manifest needs apiVersion, kind and metadata.name", "Unknown")
    try:
        rt = member.objects.resource_type(manifest["apiVersion"], manifest["kind"])
    except ApiError as err:  # the kind is not served in the member
        return Outcome(resource_meta, None, err.message, "Unknown")
    resource_meta["resource"] = rt.plural
    if rt.namespaced and not resource_meta["namespace"]:
        resource_meta["namespace"] = "default"
    elif not rt.namespaced:
        resource_meta["namespace"] = ""
    try:
        live = member.objects.apply(manifest, field_manager=FIELD_MANAGER, force=True)
    except ApiError as err:
        return Outcome(resource_meta, None, err.message, _exists(member, rt.api_version, rt.kind, resource_meta))
    return Outcome(resource_meta, live["metadata"]["uid"], None, "True")


def _resource_meta(ordinal: int, manifest: dict) -> dict:
    group, _, version = str(manifest.get("apiVersion") or "").rpartition("/")
    metadata = manifest.get("metadata") if isinstance(manifest.get("metadata"), dict) else {}
    return {
        "ordinal": ordinal,
        "group": group,
        "version": version,
        "kind": str(manifest.get("kind") or ""),
        "resource": "",
        "namespace": str(metadata.get("namespace") or ""),
        "name": str(metadata.get("name") or ""),
    }


def _exists(member: VirtualCluster, api_version: str, kind: str, resource_meta: dict) -> str:
    try:
        member.objects.get(api_version, kind, resource_meta["name"], resource_meta["namespace"])
    except ApiError as err:
        return "False" if err.code == 404 else "Unknown"
    return "True"


def delete_applied(member: VirtualCluster, resource: dict) -> bool:
    """Start deleting (foreground) the object an AppliedManifestWork entry names, unless it is gone
    or was replaced by another object of the same name (another uid). True while it still exists."""
    try:
        rt = member.objects.resource_type_of(
            resource.get("group", ""), resource.get("version", ""), resource.get("resource", "")
        )
        live = member.objects.get(rt.api_version, rt.kind, resource["name"], resource.get("namespace", ""))
        if resource.get("uid") and live["metadata"]["uid"] != resource["uid"]:
            return False
        if not live["metadata"].get("deletionTimestamp"):
            live = member.objects.delete(
                rt.api_version, rt.kind, resource["name"], resource.get("namespace", ""), propagation="Foreground"
            )
    except ApiError as err:
        if err.code == 404:
            return False  # gone, or its kind is no longer served (which removed its objects too)
        raise
    return bool(live["metadata"].get("deletionTimestamp"))
