"""The emulated karmada-operator: a ``Karmada`` on the host cluster becomes a Karmada control plane.

The operator acts only while the host serves the CRD ``karmadas.operator.karmada.io`` and
Deployment ``karmada-system/karmada-operator`` reports an available replica (the emulator reports
a stored Deployment available at once; no pod runs); control planes it created keep serving, and
their Karmada controllers keep running, while it does not. For a ``Karmada`` in any namespace:

* it adds the finalizer ``operator.karmada.io/finalizer`` (upstream's);
* it creates a new virtual cluster in the same emulator, named ``karmada-<12 hex>`` from a hash of
  the CR's namespace and name (so the same CR finds its control plane again after a restart: the
  emulator persists virtual clusters), with no nodes and the emulator's default Kubernetes version,
  serving the Karmada APIs of :mod:`.karmada_apis`;
* it writes the admin kubeconfig Secret in the CR's namespace, named as upstream names it
  (``<name>-admin-config`` when the name contains "karmada", else ``<name>-karmada-admin-config``),
  under upstream's data key ``karmada.config``, labelled ``app.kubernetes.io/managed-by:
  karmada-operator``. Its server is the new cluster's HTTPS URL and its credential the cluster's
  admin token. The Secret is rewritten if it drifts from that;
* it sets ``status``: ``conditions`` (``Ready=True``, reason ``Completed``), ``observedGeneration``,
  ``secretRef{namespace, name}``, ``apiServerService{name}`` (upstream's apiserver Service name,
  ``<name>-apiserver`` or ``<name>-karmada-apiserver``), ``karmadaVersion`` (the
  ``karmadaControllerManager`` image tag when it looks like a version, else
  :data:`DEFAULT_KARMADA_VERSION`) and ``kubernetesVersion`` (the control plane's).

Deleting the CR removes the virtual cluster and the Secret, then the finalizer.

Not emulated: the control-plane Deployments, Services (the apiserver Service named in the status is
not created; the kubeconfig points straight at the virtual cluster whatever ``serviceType`` says),
etcd, certificates, the per-component ``<component>-config`` Secrets, remote host clusters
(``spec.hostCluster``), ``suspend``, upgrades, ``Ready=False`` while installing (the control plane
is ready in one pass), and the removal of a control plane whose CR vanished without finalization.
"""

from __future__ import annotations

import base64
import hashlib
import re

from ..kubeapi import ApiError, KubeApiEmulator, VirtualCluster
from . import karmada_apis
from .conditions import condition, merged

OPERATOR_API = "operator.karmada.io/v1alpha1"
CRD_NAME = "karmadas.operator.karmada.io"
OPERATOR_NAMESPACE = "karmada-system"
OPERATOR_DEPLOYMENT = "karmada-operator"
FINALIZER = "operator.karmada.io/finalizer"
CONFIG_KEY = "karmada.config"
MANAGED_BY = {"app.kubernetes.io/managed-by": "karmada-operator"}
DEFAULT_KARMADA_VERSION = "v1.18.2"
_VERSION = re.compile(r"^v\d+\.\d+\.\d+")


def resource_name(karmada_name: str, suffix: str) -> str:
    """How the operator names what it creates for a Karmada (Secrets, Services)."""
    if "karmada" in karmada_name:
        return f"{karmada_name}-{suffix}"
    return f"{karmada_name}-karmada-{suffix}"


def control_plane_name(namespace: str, name: str) -> str:
    return "karmada-" + hashlib.sha256(f"{namespace}/{name}".encode()).hexdigest()[:12]


def operator_available(host: VirtualCluster) -> bool:
    try:
        host.objects.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", CRD_NAME)
        deployment = host.objects.get("apps/v1", "Deployment", OPERATOR_DEPLOYMENT, OPERATOR_NAMESPACE)
    except ApiError:
        return False
    return ((deployment.get("status") or {}).get("availableReplicas") or 0) >= 1


def reconcile(emulator: KubeApiEmulator, host: VirtualCluster) -> list[VirtualCluster]:
    """One pass over the host's Karmadas (when the operator runs); returns the control planes that
    exist, whether or not the operator runs now (a control plane outlives its operator's pods)."""
    karmadas = karmada_apis.listed(host, OPERATOR_API, "Karmada")
    if operator_available(host):
        for karmada in karmadas:
            meta = karmada["metadata"]
            if not meta.get("deletionTimestamp"):
                _install(emulator, host, karmada)
            elif FINALIZER in (meta.get("finalizers") or []):
                _tear_down(emulator, host, karmada)
    names = [control_plane_name(k["metadata"]["namespace"], k["metadata"]["name"]) for k in karmadas]
    return [emulator.cluster(name) for name in names if name in emulator]


def _install(emulator: KubeApiEmulator, host: VirtualCluster, karmada: dict) -> None:
    meta = karmada["metadata"]
    if FINALIZER not in (meta.get("finalizers") or []):
        karmada = _set_finalizers(host, karmada, [*(meta.get("finalizers") or []), FINALIZER])
        meta = karmada["metadata"]
    control_plane = emulator.add_cluster(control_plane_name(meta["namespace"], meta["name"]), nodes=0, exist_ok=True)
    karmada_apis.install(control_plane)
    secret_name = resource_name(meta["name"], "admin-config")
    _write_secret(host, meta["namespace"], secret_name, control_plane.kubeconfig("admin"))
    status = karmada.get("status") or {}
    wanted = {
        "observedGeneration": meta.get("generation"),
        "conditions": merged(
            status.get("conditions") or [],
            [condition("Ready", "True", "Completed", "the emulated Karmada control plane is serving")],
        ),
        "secretRef": {"namespace": meta["namespace"], "name": secret_name},
        "apiServerService": {"name": resource_name(meta["name"], "apiserver")},
        "karmadaVersion": _karmada_version(karmada),
        "kubernetesVersion": "v" + control_plane.version.lstrip("v"),
    }
    if any(status.get(k) != v for k, v in wanted.items()):
        host.objects.patch(
            OPERATOR_API, "Karmada", meta["name"], {"status": wanted}, meta["namespace"], subresource="status"
        )


def _karmada_version(karmada: dict) -> str:
    components = (karmada.get("spec") or {}).get("components") or {}
    tag = str((components.get("karmadaControllerManager") or {}).get("imageTag") or "")
    return tag if _VERSION.match(tag) else DEFAULT_KARMADA_VERSION


def _write_secret(host: VirtualCluster, namespace: str, name: str, kubeconfig: str) -> None:
    data = {CONFIG_KEY: base64.b64encode(kubeconfig.encode()).decode()}
    try:
        found = host.objects.get("v1", "Secret", name, namespace)
    except ApiError as err:
        if err.code != 404:
            raise
        host.objects.create(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": name, "namespace": namespace, "labels": MANAGED_BY},
                "type": "Opaque",
                "data": data,
            }
        )
        return
    if found.get("data") != data:
        host.objects.update({**found, "data": data})


def _tear_down(emulator: KubeApiEmulator, host: VirtualCluster, karmada: dict) -> None:
    meta = karmada["metadata"]
    name = control_plane_name(meta["namespace"], meta["name"])
    if name in emulator:
        emulator.remove_cluster(name)
    try:
        host.objects.delete("v1", "Secret", resource_name(meta["name"], "admin-config"), meta["namespace"])
    except ApiError as err:
        if err.code != 404:
            raise
    _set_finalizers(host, karmada, [f for f in meta.get("finalizers") or [] if f != FINALIZER])


def _set_finalizers(host: VirtualCluster, karmada: dict, finalizers: list[str]) -> dict:
    meta = karmada["metadata"]
    return host.objects.patch(
        OPERATOR_API,
        "Karmada",
        meta["name"],
        {"metadata": {"finalizers": finalizers or None, "resourceVersion": meta["resourceVersion"]}},
        meta["namespace"],
    )
