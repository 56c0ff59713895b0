"""DefaultStorageClass: a cluster's default StorageClass, created or adopted (DOMAIN §2.6, §6.3, §6.4).

Which class a cluster ends up with depends on what its cloud already installed, so the choice is
made against the live cluster, by :func:`plan`, at preview (read-only, when the cluster can be
reached: V31 and V32 fail preview then) and again at apply:

1. ``adopt_existing`` and a class in ``adopt`` exists (a name, or a prefix ending in ``*``), or
   (``adopt_default``) a default class of the provisioner exists: that class is adopted.
2. Else a class named ``class_name`` exists: adopted when its immutable fields are the requested
   ones, else FF-STOR-002 (V31): fleetform never changes a class silently.
3. Else, with ``create`` (the parameters are known), ``class_name`` is created, once the
   provisioner's CSI driver is installed (V32, FF-STOR-003).

With ``make_default`` the chosen class gets the default-class annotation, and every other default
class loses it *after* the chosen one exists; they are recorded in ``previous_defaults``. On delete
a created class is removed, an adopted one loses only the annotation fleetform gave it, and the
recorded classes become default again. Any change of inputs other than the credential replaces the
resource (delete, then create), which runs exactly that undo and redo.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from urllib.parse import quote

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)
from pulumi.runtime.rpc import UNKNOWN

from .. import kube
from ..errors import ClusterAccessError, ErrorCode
from ._props import Props

STORAGE_CLASSES = "/apis/storage.k8s.io/v1/storageclasses"
CSI_DRIVERS = "/apis/storage.k8s.io/v1/csidrivers"
DEFAULT_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
IMMUTABLE = ("provisioner", "parameters", "reclaimPolicy", "volumeBindingMode")
# Provisioners that are not CSI drivers (in-tree) and so have no CSIDriver object to look for.
IN_TREE_PREFIX = "kubernetes.io/"
CSI_HINTS = {
    "ebs.csi.aws.com": "add the aws-ebs-csi-driver add-on",
    "pd.csi.storage.gke.io": "enable the Compute Engine persistent disk CSI driver",
    "diskplugin.csi.ctyun.com": "enable the cstor-csi plugin",
}


@dataclass(frozen=True)
class StorageInputs(Props):
    cluster: str
    kubeconfig: str
    class_name: str
    provisioner: str  # "" when none is assumed (idc adopting)
    parameters: dict
    reclaim_policy: str = "Delete"
    volume_binding_mode: str = "WaitForFirstConsumer"
    allow_volume_expansion: bool = True
    make_default: bool = True
    adopt_existing: bool = True
    adopt: list = field(default_factory=list)
    adopt_default: bool = False
    create: bool = True  # the class may be created (its parameters are known)
    labels: dict = field(default_factory=dict)


@dataclass(frozen=True)
class StorageOutputs(Props):
    storage_class: str  # the class in force, "" when there is none (state degraded)
    adopted: bool
    created: bool
    marked_default: bool  # fleetform put the default annotation on an adopted class
    previous_defaults: list  # classes that lost their default annotation to it
    previous_default: str  # the first of them, "" when none (the stack output)
    state: str  # ready | adopted | degraded
    state_reason: str


@dataclass(frozen=True)
class Plan:
    """What :func:`plan` decided: the class, whether to create it, which defaults to demote."""

    class_name: str
    create: bool
    demote: list[str]
    mark_default: bool
    reason: str


def _is_default(sc: dict) -> bool:
    return ((sc.get("metadata") or {}).get("annotations") or {}).get(DEFAULT_ANNOTATION) == "true"


def _fields(sc: dict) -> dict:
    return {
        "provisioner": sc.get("provisioner", ""),
        "parameters": sc.get("parameters") or {},
        "reclaimPolicy": sc.get("reclaimPolicy", "Delete"),
        "volumeBindingMode": sc.get("volumeBindingMode", "Immediate"),
    }


def requested_fields(inputs: StorageInputs) -> dict:
    return {
        "provisioner": inputs.provisioner,
        "parameters": dict(inputs.parameters),
        "reclaimPolicy": inputs.reclaim_policy,
        "volumeBindingMode": inputs.volume_binding_mode,
    }


def _adoptable(inputs: StorageInputs, classes: dict[str, dict]) -> str | None:
    if not inputs.adopt_existing:
        return None
    for pattern in inputs.adopt:
        matches = sorted(
            name
            for name, sc in classes.items()
            if fnmatch.fnmatchcase(name, pattern)
            and (not inputs.provisioner or sc["provisioner"] == inputs.provisioner)
        )
        if matches:
            return matches[0]
    if inputs.adopt_default:
        defaults = sorted(
            name
            for name, sc in classes.items()
            if _is_default(sc) and (not inputs.provisioner or sc["provisioner"] == inputs.provisioner)
        )
        if defaults:
            return defaults[0]
    return None


def plan(inputs: StorageInputs, classes: dict[str, dict], drivers: set[str]) -> Plan:
    """The §6.4 decision against the cluster's StorageClasses (by name) and CSIDriver names.

    Raises ClusterAccessError for V31 (FF-STOR-002) and V32 (FF-STOR-003)."""
    name = _adoptable(inputs, classes)
    create = False
    if name is not None:
        reason = f"adopted the existing StorageClass '{name}'"
    elif inputs.class_name in classes:
        name = inputs.class_name
        found, wanted = _fields(classes[name]), requested_fields(inputs)
        different = [key for key in IMMUTABLE if inputs.create and found[key] != wanted[key]]
        if different:
            raise ClusterAccessError(
                ErrorCode.STOR_CLASS_DIFFERS,
                f"StorageClass '{name}' exists on '{inputs.cluster}' with different {', '.join(different)}; "
                "set adopt_existing=true or choose another class_name",
            )
        reason = f"adopted the existing StorageClass '{name}' (same provisioner and parameters)"
    elif inputs.create:
        provisioner = inputs.provisioner
        if not provisioner.startswith(IN_TREE_PREFIX) and provisioner not in drivers:
            hint = CSI_HINTS.get(provisioner, f"install the CSI driver {provisioner}")
            raise ClusterAccessError(
                ErrorCode.STOR_CSI_MISSING,
                f"CSI driver '{provisioner}' is not installed on '{inputs.cluster}' ({hint})",
            )
        name, create = inputs.class_name, True
        reason = f"created StorageClass '{name}' ({provisioner})"
    else:
        return Plan(
            "",
            False,
            [],
            False,
            f"{ErrorCode.STOR_NO_DEFAULT.value} cluster '{inputs.cluster}' has no default StorageClass and none is "
            "requested; PVCs without storageClassName will stay Pending (set storage.provisioner and parameters)",
        )
    demote, mark = [], False
    if inputs.make_default:
        demote = sorted(other for other, sc in classes.items() if other != name and _is_default(sc))
        mark = not (name in classes and _is_default(classes[name]))
    return Plan(name, create, demote, mark, reason)


class _Cluster:
    """The StorageClass calls against one member."""

    def __init__(self, inputs: StorageInputs):
        self.name = inputs.cluster
        self.client = kube.api_client(inputs.kubeconfig, inputs.cluster)

    def _call(self, method: str, path: str, body=None, ok=(200,), content_type="application/json") -> dict:
        return kube.expect(self.client, self.name, method, path, body, ok, content_type) or {}

    def classes(self) -> dict[str, dict]:
        return {sc["metadata"]["name"]: sc for sc in self._call("GET", STORAGE_CLASSES).get("items") or []}

    def drivers(self) -> set[str]:
        return {d["metadata"]["name"] for d in self._call("GET", CSI_DRIVERS).get("items") or []}

    def create(self, inputs: StorageInputs) -> None:
        body = {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": inputs.class_name, "labels": dict(inputs.labels)},
            **requested_fields(inputs),
            "allowVolumeExpansion": inputs.allow_volume_expansion,
        }
        self._call("POST", STORAGE_CLASSES, body, ok=(201, 409))  # 409: a retried create that had landed

    def set_default(self, name: str, default: bool) -> None:
        value = "true" if default else None  # None removes the annotation (merge patch)
        path = f"{STORAGE_CLASSES}/{quote(name)}"
        patch = {"metadata": {"annotations": {DEFAULT_ANNOTATION: value}}}
        # 404: gone meanwhile, nothing to mark or restore
        self._call("PATCH", path, patch, ok=(200, 404), content_type="application/merge-patch+json")

    def delete(self, name: str) -> None:
        self._call("DELETE", f"{STORAGE_CLASSES}/{quote(name)}", ok=(200, 202, 404))


def apply(inputs: StorageInputs) -> StorageOutputs:
    cluster = _Cluster(inputs)
    classes = cluster.classes()
    decided = plan(inputs, classes, cluster.drivers())
    if not decided.class_name:
        return StorageOutputs("", False, False, False, [], "", "degraded", decided.reason)
    if decided.create:
        cluster.create(inputs)
    if decided.mark_default:
        cluster.set_default(decided.class_name, True)
    for other in decided.demote:  # only once the chosen class exists and is default: never zero defaults
        cluster.set_default(other, False)
    defaults = sorted(name for name, sc in cluster.classes().items() if _is_default(sc))
    if inputs.make_default and defaults != [decided.class_name]:  # V30
        raise ClusterAccessError(
            ErrorCode.STOR_DEFAULTS,
            f"cluster '{inputs.cluster}' would have {len(defaults)} default StorageClasses ({', '.join(defaults)})",
        )
    return StorageOutputs(
        decided.class_name,
        adopted=not decided.create,
        created=decided.create,
        marked_default=decided.mark_default and not decided.create,
        previous_defaults=decided.demote,
        previous_default=decided.demote[0] if decided.demote else "",
        state="ready" if decided.create else "adopted",
        state_reason=decided.reason,
    )


def undo(inputs: StorageInputs, outputs: StorageOutputs) -> None:
    """Remove what :func:`apply` did: the created class or the annotation it added; restore the old defaults."""
    cluster = _Cluster(inputs)
    if outputs.created:
        cluster.delete(outputs.storage_class)
    elif outputs.marked_default:
        cluster.set_default(outputs.storage_class, False)
    for name in outputs.previous_defaults:
        cluster.set_default(name, True)


class DefaultStorageClassProvider(ResourceProvider):
    def check(self, _olds: dict, news: dict) -> CheckResult:
        """V31/V32 at preview when the cluster can be read; an unknown credential waits for apply."""
        if news.get("kubeconfig") in (None, "") or UNKNOWN in (news.get("kubeconfig"), news.get("cluster")):
            return CheckResult(news, [])
        inputs = StorageInputs.from_props(news)
        try:
            cluster = _Cluster(inputs)
            plan(inputs, cluster.classes(), cluster.drivers())
        except ClusterAccessError as exc:
            if exc.code in (ErrorCode.STOR_CLASS_DIFFERS, ErrorCode.STOR_CSI_MISSING):
                return CheckResult(news, [CheckFailure("storage", str(exc))])
        return CheckResult(news, [])

    def diff(self, _id: str, olds: dict, news: dict) -> DiffResult:
        changed = [
            name
            for name in StorageInputs.from_props(news).changed(StorageInputs.from_props(olds))
            if name != "kubeconfig"
        ]
        return DiffResult(changes=bool(changed) or olds.get("kubeconfig") != news.get("kubeconfig"), replaces=changed)

    def create(self, props: dict) -> CreateResult:
        inputs = StorageInputs.from_props(props)
        return CreateResult(id_=inputs.cluster, outs={**inputs.to_props(), **apply(inputs).to_props()})

    def update(self, _id: str, olds: dict, news: dict) -> UpdateResult:
        return UpdateResult(outs={**olds, "kubeconfig": news.get("kubeconfig")})  # only the credential changed

    def read(self, id_: str, props: dict) -> ReadResult:
        """Refresh: the class in force still exists and is (or is not) the default."""
        inputs, outputs = StorageInputs.from_props(props), StorageOutputs.from_props(props)
        if not outputs.storage_class:
            return ReadResult(id_, props)
        live = _Cluster(inputs).classes().get(outputs.storage_class)
        if live is None:
            state, reason = "degraded", f"StorageClass '{outputs.storage_class}' no longer exists"
        elif inputs.make_default and not _is_default(live):
            state, reason = "degraded", f"StorageClass '{outputs.storage_class}' is no longer the default"
        else:
            state, reason = outputs.state if outputs.state != "degraded" else "ready", outputs.state_reason
        return ReadResult(id_, {**props, "state": state, "state_reason": reason})

    def delete(self, _id: str, props: dict) -> None:
        try:
            undo(StorageInputs.from_props(props), StorageOutputs.from_props(props))
        except ClusterAccessError as exc:
            if not kube.gone_and_may_be_forgotten(exc):
                raise
            pulumi.log.warn(f"{props.get('cluster')}: the cluster is unreachable ({exc}); removed from the state only")


class DefaultStorageClass(Resource, module="fleetform", name="DefaultStorageClass"):
    """``storage_class``, ``previous_default``, ``state`` (ready | adopted | degraded), ``state_reason``."""

    storage_class: pulumi.Output[str]
    adopted: pulumi.Output[bool]
    created: pulumi.Output[bool]
    previous_default: pulumi.Output[str]
    state: pulumi.Output[str]
    state_reason: pulumi.Output[str]

    def __init__(
        self, name: str, *, kubeconfig: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None, **inputs
    ):
        props = {**inputs, "kubeconfig": pulumi.Output.secret(kubeconfig), **StorageOutputs.placeholders()}
        super().__init__(DefaultStorageClassProvider(), name, props, opts)
