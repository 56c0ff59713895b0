"""Per-kind API server behaviour: defaults, validation and lifecycle side effects.

What the real API server's per-type strategies do that matters to clients, kept small:

* Namespace: ``spec.finalizers: [kubernetes]``, ``status.phase`` Active/Terminating, the
  ``kubernetes.io/metadata.name`` label; ``spec`` only changes through ``/finalize``.
* Secret / ConfigMap: ``stringData`` folded into base64 ``data``, key and base64 checks, ``type``
  immutable, ``immutable: true`` honoured; a service-account token Secret needs its annotation.
* Service: type defaulting, clusterIP and nodePort allocation (kept on update).
* Deployment / DaemonSet: selector required, matching the template labels, immutable.
* (Cluster)RoleBinding: ``roleRef`` required and immutable.
* CustomResourceDefinition: see :mod:`crd`; custom resources: see :mod:`schema`.

Before these, every write of a built-in kind loses the fields its type does not have
(:mod:`typeschemas`) and gets the type's defaults (:mod:`defaults`), as on a real server.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re

from . import crd, defaults, errors, meta, schema, typeschemas
from .resources import Registry, ResourceType
from .store import Store

SA_TOKEN_TYPE = "kubernetes.io/service-account-token"
SA_NAME_ANNOTATION = "kubernetes.io/service-account.name"
SA_UID_ANNOTATION = "kubernetes.io/service-account.uid"
NAMESPACE_FINALIZER = "kubernetes"
_DATA_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_SERVICE_RANGE = ipaddress.ip_network("10.96.0.0/16")
_NODE_PORTS = range(30000, 32768)


class KindRules:
    def __init__(self, store: Store, registry: Registry):
        self.store = store
        self.registry = registry
        self._preparers = {
            ("", "namespaces"): self._prepare_namespace,
            ("", "secrets"): self._prepare_secret,
            ("", "services"): self._prepare_service,
            ("apps", "deployments"): self._prepare_deployment,
            ("apiextensions.k8s.io", "customresourcedefinitions"): self._prepare_crd,
        }

    # --- hooks called by Operations ------------------------------------------------------------

    def prepare(self, rt: ResourceType, obj: dict, old: dict | None, subresource: str = "") -> None:
        """Defaults and server-owned fields, before validation (``old`` None on create)."""
        if rt.custom:
            schema.normalize(obj, rt.schema)
            return
        if model := typeschemas.model_for(rt.group, rt.version, rt.kind):
            typeschemas.unknown_fields(obj, model.__name__, prune=True)  # dropped, as a real server does
        if subresource not in ("status", "finalize"):
            defaults.apply(rt.key, obj)
        if subresource != "finalize" and (handler := self._preparers.get(rt.key)):
            handler(obj, old)

    def causes(self, rt: ResourceType, obj: dict, old: dict | None) -> list[dict]:
        if rt.custom:
            return schema.causes(obj, rt.schema)
        if rt.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
            return crd.causes(obj, old)
        if rt.kind in ("Secret", "ConfigMap") and rt.group == "":
            return _data_causes(rt.kind, obj, old)
        if rt.group == "apps" and rt.kind in ("Deployment", "DaemonSet"):
            return _workload_causes(obj, old)
        if rt.group == "rbac.authorization.k8s.io" and rt.kind.endswith("Binding"):
            return _binding_causes(obj, old)
        if rt.kind == "Service" and rt.group == "":
            return _service_causes(obj, old)
        return []

    def start_deletion(self, rt: ResourceType, obj: dict) -> None:
        """The object got its deletionTimestamp and waits for finalizers."""
        if rt.key == ("", "namespaces"):
            obj.setdefault("status", {})["phase"] = "Terminating"
        elif rt.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
            crd.mark_terminating(obj)

    def pending_finalizers(self, rt: ResourceType, obj: dict) -> list[str]:
        pending = meta.finalizers(obj)
        if rt.key == ("", "namespaces"):
            pending += (obj.get("spec") or {}).get("finalizers") or []
        return pending

    def committed(self, rt: ResourceType, obj: dict, removed: bool) -> None:
        """React to a stored change: CRDs make their kinds (un)servable."""
        if rt.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
            name = obj["metadata"]["name"]
            if removed:
                self.registry.remove_custom(name)
            else:
                self.registry.set_custom(name, crd.served_types(obj))

    # --- per-kind defaults ----------------------------------------------------------------------

    def _prepare_namespace(self, obj: dict, old: dict | None) -> None:
        if old is None:
            obj["spec"] = {"finalizers": [NAMESPACE_FINALIZER]}
            obj["status"] = {"phase": "Active"}
        else:
            obj["spec"] = old.get("spec", {})
        labels = obj["metadata"].setdefault("labels", {})
        labels["kubernetes.io/metadata.name"] = obj["metadata"]["name"]

    def _prepare_secret(self, obj: dict, old: dict | None) -> None:
        obj.setdefault("type", "Opaque")
        string_data = obj.pop("stringData", None) or {}
        if string_data:
            data = obj.setdefault("data", {})
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()

    def _prepare_deployment(self, obj: dict, old: dict | None) -> None:
        spec = obj.setdefault("spec", {})
        spec.setdefault("replicas", 1)

    def _prepare_service(self, obj: dict, old: dict | None) -> None:
        spec = obj.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        old_spec = (old or {}).get("spec") or {}
        if spec["type"] != "ExternalName":
            spec.setdefault("clusterIP", old_spec.get("clusterIP") or self._free_cluster_ip())
            spec["clusterIPs"] = [spec["clusterIP"]]
        old_ports = {p.get("port"): p.get("nodePort") for p in old_spec.get("ports") or []}
        for port in spec.get("ports") or []:
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
            if spec["type"] in ("NodePort", "LoadBalancer") and not port.get("nodePort"):
                port["nodePort"] = old_ports.get(port.get("port")) or self._free_node_port()
        if old is None:
            obj["status"] = {"loadBalancer": {}}

    def _prepare_crd(self, obj: dict, old: dict | None) -> None:
        if not crd.causes(obj, old):
            crd.prepare(obj)

    def _services(self):
        return self.store.objects(("", "services"))

    def _free_cluster_ip(self) -> str:
        used = {(s.get("spec") or {}).get("clusterIP") for s in self._services()}
        for n, ip in enumerate(_SERVICE_RANGE.hosts()):
            if n >= 9 and str(ip) not in used:  # .1 - .9 are kept for system services
                return str(ip)
        raise errors.internal_error("the service IP range is full")

    def _free_node_port(self) -> int:
        used = {p.get("nodePort") for s in self._services() for p in (s.get("spec") or {}).get("ports") or []}
        for port in _NODE_PORTS:
            if port not in used:
                return port
        raise errors.internal_error("the node port range is full")


# --- per-kind validation ------------------------------------------------------------------------


def _data_causes(kind: str, obj: dict, old: dict | None) -> list[dict]:
    found = []
    for field in ("data", "binaryData"):
        for key, value in (obj.get(field) or {}).items():
            if not _DATA_KEY.match(key):
                found.append(
                    errors.field_invalid(
                        f"{field}[{key}]", key, "a valid key must consist of alphanumerics, '-', '_' or '.'"
                    )
                )
            if kind == "Secret" or field == "binaryData":
                try:
                    base64.b64decode(value, validate=True)
                except (binascii.Error, TypeError, ValueError):
                    found.append(errors.field_invalid(f"{field}[{key}]", "<value>", "illegal base64 data"))
    token_secret = kind == "Secret" and obj.get("type") == SA_TOKEN_TYPE
    if token_secret and not (obj["metadata"].get("annotations") or {}).get(SA_NAME_ANNOTATION):
        found.append(errors.field_required(f"metadata.annotations[{SA_NAME_ANNOTATION}]"))
    if old is not None:
        if kind == "Secret" and obj.get("type") != old.get("type"):
            found.append(errors.field_invalid("type", obj.get("type"), "field is immutable"))
        if old.get("immutable"):
            for field in ("data", "binaryData", "immutable"):
                if obj.get(field) != old.get(field):
                    found.append(errors.field_forbidden(field, "field is immutable when `immutable` is set"))
    return found


def _workload_causes(obj: dict, old: dict | None) -> list[dict]:
    spec = obj.get("spec") or {}
    selector = spec.get("selector")
    if not isinstance(selector, dict) or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        return [errors.field_required("spec.selector")]
    found = []
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        found.append(
            errors.field_invalid("spec.template.metadata.labels", labels, "`selector` does not match template `labels`")
        )
    if old is not None and selector != (old.get("spec") or {}).get("selector"):
        found.append(errors.field_invalid("spec.selector", selector, "field is immutable"))
    return found


def _binding_causes(obj: dict, old: dict | None) -> list[dict]:
    ref = obj.get("roleRef")
    if not isinstance(ref, dict) or not ref.get("name") or ref.get("kind") not in ("Role", "ClusterRole"):
        return [errors.field_required("roleRef", "kind (Role or ClusterRole) and name are required")]
    if old is not None and ref != old.get("roleRef"):
        return [errors.field_invalid("roleRef", ref, "cannot change roleRef")]
    return []


def _service_causes(obj: dict, old: dict | None) -> list[dict]:
    spec = obj.get("spec") or {}
    kinds = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
    if spec.get("type") not in kinds:
        return [errors.field_not_supported("spec.type", spec.get("type"), kinds)]
    found = []
    if spec["type"] != "ExternalName" and spec.get("clusterIP") != "None" and not spec.get("ports"):
        found.append(errors.field_required("spec.ports"))
    old_ip = ((old or {}).get("spec") or {}).get("clusterIP")
    if old_ip and spec.get("clusterIP") != old_ip:
        found.append(errors.field_invalid("spec.clusterIPs[0]", spec.get("clusterIP"), "may not change once set"))
    return found
