"""Discovery documents: ``/version``, ``/api``, ``/apis``, ``/apis/<g>``, ``/api/v1``, ``/apis/<g>/<v>``.

Group version entries and ``preferredVersion`` are built by the same function so they compare
equal, which is how the Python DynamicClient recognises the preferred version.
"""

from __future__ import annotations

import hashlib
import re

from .resources import Registry, ResourceType

_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(.*)$")


def parse_version(version: str) -> tuple[int, int, int, str]:
    """``"1.29.4"``, ``"v1.29.4"`` or ``"v1.29.4-eks-1234"`` -> ``(1, 29, 4, "-eks-1234")``."""
    m = _VERSION.match(version)
    if not m:
        raise ValueError(f"not a Kubernetes version: {version!r}")
    return int(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4)


def version_info(version: str) -> dict:
    major, minor, patch, suffix = parse_version(version)
    git_version = f"v{major}.{minor}.{patch}{suffix}"
    return {
        "major": str(major),
        "minor": f"{minor}+" if suffix else str(minor),  # vendor builds mark the minor with '+'
        "gitVersion": git_version,
        "gitCommit": hashlib.sha1(git_version.encode()).hexdigest(),
        "gitTreeState": "clean",
        "buildDate": "2024-01-01T00:00:00Z",
        "goVersion": "go1.21.9",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def core_versions(address: str) -> dict:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}],
    }


def _group_version(group: str, version: str) -> dict:
    return {"groupVersion": f"{group}/{version}", "version": version}


def _group(group: str, versions: list[str]) -> dict:
    return {
        "name": group,
        "versions": [_group_version(group, v) for v in versions],
        "preferredVersion": _group_version(group, versions[0]),
    }


def group_list(registry: Registry) -> dict:
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_group(g, versions) for g, versions in registry.groups()],
    }


def group(registry: Registry, name: str) -> dict | None:
    for g, versions in registry.groups():
        if g == name:
            return {"kind": "APIGroup", "apiVersion": "v1", **_group(g, versions)}
    return None


def _entries(t: ResourceType) -> list[dict]:
    entry = {
        "name": t.plural,
        "singularName": t.singular_name,
        "namespaced": t.namespaced,
        "kind": t.kind,
        "verbs": list(t.verbs),
    }
    if t.short_names:
        entry["shortNames"] = list(t.short_names)
    if t.categories:
        entry["categories"] = list(t.categories)
    entries = [entry]
    for sub in t.subresources():
        sub_entry = {
            "name": f"{t.plural}/{sub.name}",
            "singularName": "",
            "namespaced": t.namespaced,
            "kind": sub.kind or t.kind,
            "verbs": list(sub.verbs),
        }
        if sub.group is not None:
            sub_entry.update(group=sub.group, version=sub.version)
        entries.append(sub_entry)
    return entries


def resource_list(registry: Registry, group_name: str, version: str) -> dict | None:
    types = registry.in_group_version(group_name, version)
    if not types:
        return None
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group_name}/{version}" if group_name else version,
        "resources": [e for t in types for e in _entries(t)],
    }
