"""How any component puts objects into a registered cluster (DOMAIN §2.6, §4).

A component hands :func:`deliver` plain Kubernetes objects (dicts, values may be ``pulumi.Output``)
and a :class:`Member`; the objects reach the member one of two ways:

* **through the member's provider** when fleetform reaches the member (direct mode, or agent mode
  installed by fleetform): one typed ``pulumi_kubernetes`` resource per object, so that preview
  shows every property; Namespaces and CRDs go first, workloads last;
* **through an OCM ``ManifestWork``** in the hub namespace named after the cluster when it does not
  (agent mode with a manual install): the klusterlet's work agent applies the objects inside the
  member, and a ``ManifestWorkStatus`` reads its ``Applied``/``Available`` conditions back.

Every object is applied with the field manager of its owner (``pulumi.com/patchFieldManager``), so
two components writing different fields of one object never take each other's fields.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from providers.dynamic import ManifestWorkStatus

from . import labels, ocm

FIRST_KINDS = ("Namespace", "CustomResourceDefinition")
LAST_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")
SA_TOKEN_TYPE = "kubernetes.io/service-account-token"


@dataclass(frozen=True)
class Member:
    """Where a registered cluster's objects go and what they must wait for."""

    cluster: str
    hub_provider: k8s.Provider
    hub_kubeconfig: pulumi.Output[str]
    provider: k8s.Provider | None  # None: fleetform does not reach the member; objects go by ManifestWork
    ready: list[pulumi.Resource] = field(default_factory=list)  # registration objects the member needs first
    wait: bool = True  # wait for a ManifestWork to be applied (False while a manual agent is not installed)
    timeout_seconds: int = 600

    @property
    def reachable(self) -> bool:
        return self.provider is not None


@dataclass
class Delivered:
    """What :func:`deliver` declared: the resources (to depend on) and the delivery's state."""

    resources: list[pulumi.Resource]
    state: pulumi.Output[str]  # "applied" (direct) or the ManifestWork's state (available, applied, pending, degraded)
    via: str  # "provider" | "manifestwork"


def deliver(
    prefix: str,
    member: Member,
    objects: dict[str, dict],
    *,
    owner: str,
    parent: pulumi.Resource,
    depends_on: list[pulumi.Resource] | None = None,
    keep: frozenset[str] = frozenset(),
) -> Delivered:
    """Declare ``objects`` in ``member`` under ``parent``.

    ``keep`` names the suffixes of objects left in the member when fleetform stops declaring them
    (e.g. a namespace it created that may hold the user's workloads): ``retain_on_delete`` through the
    provider, an orphaning rule in the ManifestWork.

    ``objects`` maps a stable suffix to each object: through the provider each becomes resource
    ``<prefix>-<suffix>`` (renaming a suffix would replace the object, so keep them). ``owner``
    names the field manager of a direct apply (``fleetform-<owner>``) and the ManifestWork
    (``fleetform-<owner>`` in the hub namespace of the cluster), whose objects the work agent applies.
    """
    needs = [*member.ready, *(depends_on or [])]
    if member.reachable:
        return _through_provider(prefix, member, objects, owner, parent, needs, keep)
    kept = [_orphaning_rule(obj) for suffix, obj in objects.items() if suffix in keep]
    return _through_manifest_work(prefix, member, list(objects.values()), owner, parent, needs, kept)


def _through_provider(
    prefix: str,
    member: Member,
    objects: dict[str, dict],
    owner: str,
    parent: pulumi.Resource,
    needs: list[pulumi.Resource],
    keep: frozenset[str],
) -> Delivered:
    by_rank: dict[int, list[pulumi.Resource]] = {0: [], 1: [], 2: []}
    manager = labels.field_manager(owner)
    for suffix, obj in sorted(objects.items(), key=lambda item: _apply_rank(item[1])):
        rank = _apply_rank(obj)
        before = needs + [r for earlier in range(rank) for r in by_rank[earlier]]
        opts = pulumi.ResourceOptions(
            parent=parent, provider=member.provider, depends_on=before, retain_on_delete=suffix in keep or None
        )
        by_rank[rank].append(typed_resource(f"{prefix}-{suffix}", _with_annotations(obj, manager), opts))
    everything = by_rank[0] + by_rank[1] + by_rank[2]
    state = pulumi.Output.all(*[r.id for r in everything]).apply(lambda _: "applied")
    return Delivered(everything, state, "provider")


def _through_manifest_work(
    prefix: str,
    member: Member,
    objects: list[dict],
    owner: str,
    parent: pulumi.Resource,
    needs: list[pulumi.Resource],
    kept: list[dict],
) -> Delivered:
    work_name = f"fleetform-{owner}"
    work = k8s.apiextensions.CustomResource(
        f"{prefix}-{owner}-work",
        api_version=ocm.MANIFEST_WORK_API,
        kind="ManifestWork",
        metadata={
            "name": work_name,
            "namespace": member.cluster,
            "labels": {**labels.MANAGED_BY, "fleetform.io/cluster": member.cluster},
            "annotations": labels.field_manager(owner),
        },
        spec={"workload": {"manifests": objects}, "deleteOption": _delete_option(kept)},
        opts=pulumi.ResourceOptions(parent=parent, provider=member.hub_provider, depends_on=needs),
    )
    status = ManifestWorkStatus(
        f"{prefix}-{owner}-work-status",
        cluster=member.cluster,
        work=work_name,
        hub_kubeconfig=member.hub_kubeconfig,
        manifests_hash=pulumi.Output.from_input(objects).apply(_content_hash),
        timeout_seconds=member.timeout_seconds,
        wait=member.wait,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[work]),
    )
    return Delivered([work, status], status.state, "manifestwork")


def _delete_option(kept: list[dict]) -> dict:
    if not kept:
        return {"propagationPolicy": "Foreground"}
    return {"propagationPolicy": "SelectivelyOrphan", "selectivelyOrphans": {"orphaningRules": kept}}


def _orphaning_rule(obj: dict) -> dict:
    """OCM's identity of an object in a ManifestWork: group, resource (plural), namespace, name."""
    group = obj["apiVersion"].rpartition("/")[0]
    meta = obj["metadata"]
    return {
        "group": group,
        "resource": obj["kind"].lower() + "s",
        "namespace": meta.get("namespace", ""),
        "name": meta["name"],
    }


def typed_resource(resource_name: str, obj: dict, opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    """The ``pulumi_kubernetes`` class for the object's apiVersion and kind (built-in groups), or a
    ``CustomResource`` (any other group), with the object's fields as its arguments."""
    api_version, kind = obj["apiVersion"], obj["kind"]
    fields = {key: value for key, value in obj.items() if key not in ("apiVersion", "kind", "status")}
    cls = _typed_class(api_version, kind)
    if cls is None:
        unsupported = sorted(set(fields) - {"metadata", "spec"})
        if unsupported:
            raise ValueError(f"{kind} {api_version}: custom resources carry metadata and spec only, not {unsupported}")
        return k8s.apiextensions.CustomResource(
            resource_name,
            api_version=api_version,
            kind=kind,
            metadata=fields.get("metadata"),
            spec=fields.get("spec"),
            opts=opts,
        )
    return cls(resource_name, opts=opts, **{_snake(key): value for key, value in fields.items()})


def _typed_class(api_version: str, kind: str):
    group, _, version = api_version.rpartition("/")
    if group and not (group.endswith(".k8s.io") or "." not in group):
        return None
    module_name = group.split(".", 1)[0] if group else "core"
    module = getattr(getattr(k8s, module_name, None), version, None)
    return getattr(module, kind, None)


def _apply_rank(obj: dict) -> int:
    """0: Namespaces and CRDs, 1: everything else, 2: workloads (they need their config first) and
    ServiceAccount token Secrets (the token controller deletes one whose ServiceAccount does not exist)."""
    if obj["kind"] == "Secret" and obj.get("type") == SA_TOKEN_TYPE:
        return 2
    return 0 if obj["kind"] in FIRST_KINDS else 2 if obj["kind"] in LAST_KINDS else 1


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def _with_annotations(obj: dict, annotation: dict) -> dict:
    meta = dict(obj.get("metadata") or {})
    meta["annotations"] = {**(meta.get("annotations") or {}), **annotation}
    return {**obj, "metadata": meta}


def _content_hash(objects: list) -> str:
    return hashlib.sha256(json.dumps(objects, sort_keys=True, default=str).encode()).hexdigest()[:16]
