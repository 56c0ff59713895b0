"""Resource types a virtual cluster serves: the built-in catalogue and the per-cluster registry.

A :class:`ResourceType` is one (group, version, plural). Several versions of a custom resource
share one storage key ``(group, plural)``: objects are stored once and shown in the requested
version (the CRD conversion strategy ``None``: only ``apiVersion`` changes).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
NO_COLLECTION_DELETE = tuple(v for v in ALL_VERBS if v != "deletecollection")


@dataclass(frozen=True)
class Subresource:
    """A discovery entry ``<plural>/<name>``; ``kind``/``group``/``version`` when it differs."""

    name: str
    verbs: tuple[str, ...]
    kind: str = ""
    group: str | None = None
    version: str | None = None


@dataclass(frozen=True)
class ScalePaths:
    """Where a custom resource keeps what its ``scale`` subresource shows (its CRD's ``subresources.scale``):
    dotted JSON paths such as ``.spec.replicas``; the label selector path names a string field, if any."""

    spec_replicas: str
    status_replicas: str
    label_selector: str | None = None


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    singular: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    status: bool = False  # has the /status subresource
    generation: bool = False  # server maintains metadata.generation (as upstream: workloads,
    # ingresses, CRDs and custom resources)
    name_rule: str = "subdomain"  # see meta.name_problems
    verbs: tuple[str, ...] = ALL_VERBS
    extra_subresources: tuple[Subresource, ...] = ()
    since: tuple[int, int] = (1, 0)  # first Kubernetes minor version serving it
    virtual: bool = False  # create-only review objects, never stored
    custom: bool = False  # served because a CRD says so
    list_kind: str = ""
    terminating: bool = False  # its CRD is being deleted: no new objects
    storage_version: bool = True  # the version objects are stored in (CRDs: exactly one)
    schema: dict | None = field(default=None, compare=False, hash=False)
    printer_columns: tuple[dict, ...] = field(default=(), compare=False, hash=False)  # CRD additionalPrinterColumns
    scale_paths: ScalePaths | None = None  # a custom resource with the scale subresource

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> tuple[str, str]:
        """Storage identity shared by all versions of a resource."""
        return (self.group, self.plural)

    @property
    def list_kind_name(self) -> str:
        return self.list_kind or f"{self.kind}List"

    @property
    def singular_name(self) -> str:
        return self.singular or self.kind.lower()

    def subresources(self) -> tuple[Subresource, ...]:
        own = (Subresource("status", ("get", "patch", "update")),) if self.status else ()
        return own + self.extra_subresources


SCALE = Subresource("scale", ("get", "patch", "update"), "Scale", "autoscaling", "v1")


def _t(group, version, kind, plural, namespaced, **kw) -> ResourceType:
    return ResourceType(group, version, kind, plural, namespaced, **kw)


_RBAC = "rbac.authorization.k8s.io"
BUILTIN_TYPES: tuple[ResourceType, ...] = (
    _t(
        "",
        "v1",
        "Namespace",
        "namespaces",
        False,
        short_names=("ns",),
        status=True,
        name_rule="label",
        verbs=NO_COLLECTION_DELETE,
        extra_subresources=(Subresource("finalize", ("update",)),),
    ),
    _t(
        "",
        "v1",
        "ServiceAccount",
        "serviceaccounts",
        True,
        short_names=("sa",),
        extra_subresources=(Subresource("token", ("create",), "TokenRequest", "authentication.k8s.io", "v1"),),
    ),
    _t("", "v1", "Secret", "secrets", True),
    _t("", "v1", "ConfigMap", "configmaps", True, short_names=("cm",)),
    _t(
        "",
        "v1",
        "Service",
        "services",
        True,
        short_names=("svc",),
        categories=("all",),
        status=True,
        name_rule="dns1035",
    ),
    _t(
        "",
        "v1",
        "Pod",
        "pods",
        True,
        short_names=("po",),
        categories=("all",),
        status=True,
        extra_subresources=(Subresource("exec", ("create", "get"), "PodExecOptions"),),
    ),
    _t("", "v1", "Node", "nodes", False, short_names=("no",), status=True),
    _t("", "v1", "Endpoints", "endpoints", True, short_names=("ep",)),
    _t("", "v1", "Event", "events", True, short_names=("ev",)),
    _t(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        True,
        short_names=("deploy",),
        categories=("all",),
        status=True,
        generation=True,
        extra_subresources=(SCALE,),
    ),
    _t(
        "apps",
        "v1",
        "DaemonSet",
        "daemonsets",
        True,
        short_names=("ds",),
        categories=("all",),
        status=True,
        generation=True,
    ),
    _t(_RBAC, "v1", "ClusterRole", "clusterroles", False, name_rule="path"),
    _t(_RBAC, "v1", "ClusterRoleBinding", "clusterrolebindings", False, name_rule="path"),
    _t(_RBAC, "v1", "Role", "roles", True, name_rule="path"),
    _t(_RBAC, "v1", "RoleBinding", "rolebindings", True, name_rule="path"),
    _t("storage.k8s.io", "v1", "StorageClass", "storageclasses", False, short_names=("sc",)),
    _t("storage.k8s.io", "v1", "CSIDriver", "csidrivers", False, since=(1, 18)),
    _t("networking.k8s.io", "v1", "IngressClass", "ingressclasses", False, generation=True, since=(1, 19)),
    _t(
        "networking.k8s.io",
        "v1",
        "Ingress",
        "ingresses",
        True,
        short_names=("ing",),
        status=True,
        generation=True,
        since=(1, 19),
    ),
    _t(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        False,
        short_names=("crd", "crds"),
        categories=("api-extensions",),
        status=True,
        generation=True,
        since=(1, 16),
    ),
    _t("coordination.k8s.io", "v1", "Lease", "leases", True, since=(1, 14)),
    # Stored and served; the emulator never calls admission webhooks (nothing here runs their servers).
    _t(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        False,
        generation=True,
        since=(1, 16),
    ),
    _t(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
        False,
        verbs=("create",),
        virtual=True,
    ),
    # Review objects answered by the reviews module.
    *(
        _t(group, "v1", kind, plural, kind.startswith("Local"), verbs=("create",), virtual=True, since=since)
        for group, kind, plural, since in (
            ("authentication.k8s.io", "TokenReview", "tokenreviews", (1, 0)),
            ("authentication.k8s.io", "SelfSubjectReview", "selfsubjectreviews", (1, 28)),
            ("authorization.k8s.io", "SubjectAccessReview", "subjectaccessreviews", (1, 0)),
            ("authorization.k8s.io", "LocalSubjectAccessReview", "localsubjectaccessreviews", (1, 0)),
            ("authorization.k8s.io", "SelfSubjectRulesReview", "selfsubjectrulesreviews", (1, 0)),
        )
    ),
    # Standard types stored and served with their API rules (no controller acts on them unless
    # the control plane module says so).
    _t("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True, short_names=("pvc",), status=True),
    _t("", "v1", "PersistentVolume", "persistentvolumes", False, short_names=("pv",), status=True),
    _t(
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        True,
        short_names=("rs",),
        categories=("all",),
        status=True,
        generation=True,
        extra_subresources=(SCALE,),
    ),
    _t(
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        True,
        short_names=("sts",),
        categories=("all",),
        status=True,
        generation=True,
        extra_subresources=(SCALE,),
    ),
    _t("apps", "v1", "ControllerRevision", "controllerrevisions", True),
    _t("batch", "v1", "Job", "jobs", True, categories=("all",), status=True, generation=True),
    _t(
        "batch",
        "v1",
        "CronJob",
        "cronjobs",
        True,
        short_names=("cj",),
        categories=("all",),
        status=True,
        generation=True,
        since=(1, 21),
    ),
    _t("events.k8s.io", "v1", "Event", "events", True, short_names=("ev",), since=(1, 19)),
    _t("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", True, since=(1, 21)),
    _t(
        "certificates.k8s.io",
        "v1",
        "CertificateSigningRequest",
        "certificatesigningrequests",
        False,
        short_names=("csr",),
        status=True,
        since=(1, 19),
        extra_subresources=(Subresource("approval", ("get", "patch", "update")),),
    ),
    _t(
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        True,
        short_names=("pdb",),
        status=True,
        generation=True,
        since=(1, 21),
    ),
    _t(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        True,
        short_names=("hpa",),
        categories=("all",),
        status=True,
        since=(1, 23),
    ),
    _t("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", False, short_names=("pc",), since=(1, 14)),
    _t(
        "apiregistration.k8s.io",
        "v1",
        "APIService",
        "apiservices",
        False,
        status=True,
        name_rule="path",
        categories=("api-extensions",),
        since=(1, 10),
    ),
)

_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple:
    """Sort key, highest first: GA before beta before alpha, bigger numbers first, others last."""
    m = _VERSION.match(version)
    if not m:
        return (0, 0, 0, version)
    stage = {"alpha": 1, "beta": 2, None: 3}[m.group(2)]
    return (1, stage, int(m.group(1)), int(m.group(3) or 0))


class Registry:
    """The types one cluster serves, with lookups by URL path and by apiVersion/kind.

    Lookups read an immutable snapshot that is swapped on change, so readers need no lock.
    """

    def __init__(self, minor_version: int):
        self._builtin = [t for t in BUILTIN_TYPES if (1, minor_version) >= t.since]
        self._custom: dict[str, list[ResourceType]] = {}
        self._lock = threading.Lock()
        self._rebuild()

    def _rebuild(self) -> None:
        types = self._builtin + [t for ts in self._custom.values() for t in ts]
        by_path = {(t.group, t.version, t.plural): t for t in types}
        by_kind = {(t.api_version, t.kind): t for t in types}
        storage: dict[tuple[str, str], ResourceType] = {}
        for t in types:
            if t.storage_version or t.key not in storage:
                storage[t.key] = t
        self._snapshot = (tuple(types), by_path, by_kind, storage)

    def set_custom(self, crd_name: str, types: list[ResourceType]) -> None:
        with self._lock:
            self._custom[crd_name] = types
            self._rebuild()

    def remove_custom(self, crd_name: str) -> None:
        with self._lock:
            self._custom.pop(crd_name, None)
            self._rebuild()

    def all(self) -> tuple[ResourceType, ...]:
        return self._snapshot[0]

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._snapshot[1].get((group, version, plural))

    def for_kind(self, api_version: str, kind: str) -> ResourceType | None:
        return self._snapshot[2].get((api_version, kind))

    def storage_types(self) -> list[ResourceType]:
        """One type per stored resource (for sweeps over every object)."""
        return [t for t in self._snapshot[3].values() if not t.virtual]

    def storage_type(self, key: tuple[str, str]) -> ResourceType | None:
        return self._snapshot[3].get(key)

    def groups(self) -> list[tuple[str, list[str]]]:
        """``[(group, versions highest-priority first)]`` for named groups, built-ins first."""
        order: dict[str, set[str]] = {}
        for t in self.all():
            if t.group:
                order.setdefault(t.group, set()).add(t.version)
        builtin_groups = list(dict.fromkeys(t.group for t in self._builtin if t.group))
        custom_groups = sorted(g for g in order if g not in builtin_groups)
        return [
            (g, sorted(order[g], key=version_priority, reverse=True))
            for g in builtin_groups + custom_groups
            if g in order
        ]

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [t for t in self.all() if t.group == group and t.version == version]
