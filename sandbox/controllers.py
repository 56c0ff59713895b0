"""The controllers the sandbox runs so that the emulated estate behaves like a real one.

The Kubernetes emulator already plays kube-controller-manager inside each cluster (token Secrets,
namespace cleanup, Deployments reporting ready). This module adds what lives *between* clusters
or in the cloud around them:

* **OCM registration, direct mode** (the hub's side): a ``ManagedCluster`` labelled
  ``fleetform.io/connection-mode=direct`` is marked joined and available while the member answers
  ``/readyz`` over HTTPS with the token and CA the hub holds for it (the hub Secret
  ``fleetform-system/<cluster>-credential``), and ``Available=Unknown`` when it stops answering.
* **OCM registration, agent mode** (the klusterlet's side): in a member where Deployment
  ``open-cluster-management-agent/klusterlet-agent`` is available, the agent reads its Secret
  ``bootstrap-hub-kubeconfig`` and, with that credential and over HTTPS like a real agent, patches
  its ``ManagedCluster`` status on the hub (Joined, Available). A credential that is not allowed to
  do so leaves the cluster pending, as it would in a real estate. The CSR exchange of a real
  klusterlet is not emulated: the bootstrap credential itself is used.
* **Load balancers**: Services of type ``LoadBalancer`` get an ingress address.

Everything runs on one polling thread (``interval`` seconds).
"""

from __future__ import annotations

import base64
import json
import logging
import ssl
import threading
import urllib.error
import urllib.request
from datetime import datetime, timezone

import yaml

from .kubeapi import ApiError, KubeApiEmulator, VirtualCluster

log = logging.getLogger("sandbox.controllers")

OCM_API = "cluster.open-cluster-management.io/v1"
AGENT_NAMESPACE = "open-cluster-management-agent"
AGENT_DEPLOYMENT = "klusterlet-agent"
CREDENTIAL_NAMESPACE = "fleetform-system"


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _https(url: str, token: str, ca_pem: str, method: str = "GET", body: dict | None = None,
           content_type: str = "application/merge-patch+json", timeout: float = 3.0) -> tuple[int, dict | None]:
    """One HTTPS request with a bearer token, verifying the server against ``ca_pem``."""
    context = ssl.create_default_context(cadata=ca_pem)
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, context=context, timeout=timeout) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw.startswith(b"{") else None
    except urllib.error.HTTPError as exc:
        return exc.code, None


def _condition(kind: str, status: str, reason: str, message: str) -> dict:
    return {"type": kind, "status": status, "reason": reason, "message": message, "lastTransitionTime": _now()}


def _with_conditions(current: list[dict], wanted: list[dict]) -> list[dict] | None:
    """Conditions after applying ``wanted``; None when nothing would change (keeps times stable)."""
    by_type = {c["type"]: c for c in current}
    changed = False
    for condition in wanted:
        old = by_type.get(condition["type"])
        if old is None or old.get("status") != condition["status"] or old.get("reason") != condition["reason"]:
            by_type[condition["type"]] = condition
            changed = True
    return list(by_type.values()) if changed else None


class SandboxControllers:
    def __init__(self, emulator: KubeApiEmulator, hub: str, interval: float = 0.3):
        self.emulator = emulator
        self.hub = hub
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sandbox-controllers", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.reconcile()
            except Exception:  # a controller keeps going, as a real one would
                log.exception("sandbox controller pass failed")

    def reconcile(self) -> None:
        clusters = dict(self.emulator.clusters)
        for cluster in clusters.values():
            self._load_balancers(cluster)
        hub = clusters.get(self.hub)
        if hub is None:
            return
        for cluster in clusters.values():
            if cluster.name != self.hub:
                self._agent(cluster, hub)
        self._direct_members(hub)

    # -- load balancers --------------------------------------------------------------------------
    def _load_balancers(self, cluster: VirtualCluster) -> None:
        for service in cluster.objects.list("v1", "Service"):
            if (service.get("spec") or {}).get("type") != "LoadBalancer":
                continue
            if ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
                continue
            meta = service["metadata"]
            cluster.objects.patch("v1", "Service", meta["name"], {"status": {"loadBalancer": {"ingress": [{"ip": "127.0.0.1"}]}}},
                                  meta["namespace"], subresource="status")

    # -- OCM: hub side, direct members -----------------------------------------------------------
    def _managed_clusters(self, hub: VirtualCluster) -> list[dict]:
        try:
            return hub.objects.list(OCM_API, "ManagedCluster")
        except (ApiError, KeyError, LookupError):
            return []  # the OCM CRDs are not installed (yet)

    def _direct_members(self, hub: VirtualCluster) -> None:
        for managed in self._managed_clusters(hub):
            labels = managed["metadata"].get("labels") or {}
            if labels.get("fleetform.io/connection-mode") != "direct" or not managed["spec"].get("hubAcceptsClient"):
                continue
            name = managed["metadata"]["name"]
            reachable, reason = self._probe_member(hub, name)
            wanted = [_condition("HubAcceptedManagedCluster", "True", "HubClusterAdminAccepted", "accepted by the hub")]
            if reachable:
                wanted += [_condition("ManagedClusterJoined", "True", "ManagedClusterJoined", "the hub reaches the member"),
                           _condition("ManagedClusterConditionAvailable", "True", "ManagedClusterAvailable", reason)]
            else:
                wanted += [_condition("ManagedClusterConditionAvailable", "Unknown", "ManagedClusterLeaseUpdateStopped", reason)]
            self._set_conditions(hub, managed, wanted)

    def _probe_member(self, hub: VirtualCluster, name: str) -> tuple[bool, str]:
        try:
            secret = hub.objects.get("v1", "Secret", f"{name}-credential", CREDENTIAL_NAMESPACE)
        except ApiError:
            return False, "no credential for the member on the hub"
        data = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
        try:
            ca_pem = base64.b64decode(data["caBundle"]).decode()
            status, _ = _https(data["endpoint"].rstrip("/") + "/readyz", data["token"], ca_pem)
        except (KeyError, OSError, ValueError, ssl.SSLError) as exc:
            return False, f"the member does not answer ({type(exc).__name__})"
        return status == 200, "the member answers /readyz" if status == 200 else f"/readyz answered {status}"

    def _set_conditions(self, hub: VirtualCluster, managed: dict, wanted: list[dict]) -> None:
        current = (managed.get("status") or {}).get("conditions") or []
        merged = _with_conditions(current, wanted)
        if merged is not None:
            hub.objects.patch(OCM_API, "ManagedCluster", managed["metadata"]["name"], {"status": {"conditions": merged}},
                              subresource="status")

    # -- OCM: agent side -------------------------------------------------------------------------
    def _agent(self, member: VirtualCluster, hub: VirtualCluster) -> None:
        try:
            deployment = member.objects.get("apps/v1", "Deployment", AGENT_DEPLOYMENT, AGENT_NAMESPACE)
            secret = member.objects.get("v1", "Secret", "bootstrap-hub-kubeconfig", AGENT_NAMESPACE)
        except ApiError:
            return
        if not (deployment.get("status") or {}).get("availableReplicas"):
            return
        args = deployment["spec"]["template"]["spec"]["containers"][0].get("args", [])
        names = [a.split("=", 1)[1] for a in args if a.startswith("--cluster-name=")]
        if not names:
            return
        config = yaml.safe_load(base64.b64decode((secret.get("data") or {}).get("kubeconfig", "")).decode() or "{}")
        try:
            server = config["clusters"][0]["cluster"]["server"]
            ca_pem = base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"]).decode()
            token = config["users"][0]["user"]["token"]
        except (KeyError, IndexError, TypeError):
            return
        url = f"{server.rstrip('/')}/apis/{OCM_API}/managedclusters/{names[0]}"
        try:
            status, managed = _https(url, token, ca_pem)
            if status != 200 or managed is None:
                return
            merged = _with_conditions(
                (managed.get("status") or {}).get("conditions") or [],
                [_condition("ManagedClusterJoined", "True", "ManagedClusterJoined", "the klusterlet joined"),
                 _condition("ManagedClusterConditionAvailable", "True", "ManagedClusterAvailable", "lease renewed")],
            )
            if merged is not None:
                _https(url + "/status", token, ca_pem, "PATCH", {"status": {"conditions": merged}})
        except (OSError, ssl.SSLError) as exc:
            log.debug("agent of %s cannot reach the hub: %s", names[0], exc)


__all__ = ["SandboxControllers"]
