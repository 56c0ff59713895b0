"""OCM registration: members become joined and available ``ManagedCluster`` objects on the hub.

* **Direct mode** (the hub's side): a ``ManagedCluster`` labelled
  ``fleetform.io/connection-mode=direct`` is marked joined and available while the member answers
  ``/readyz`` over HTTPS with the token and CA the hub holds for it (the hub Secret
  ``fleetform-system/<cluster>-credential``), and ``Available=Unknown`` when it stops answering.
  A probe stands until that Secret or the member cluster changes, or for ``PROBE_SECONDS``.
* **Agent mode** (the klusterlet's side): in a member running a klusterlet (see :mod:`.klusterlet`),
  the agent reads its Secret ``bootstrap-hub-kubeconfig`` and, with that credential and over HTTPS
  like a real agent, patches its ``ManagedCluster`` status on the hub (Joined, Available). A
  credential that is not allowed to do so leaves the cluster pending, as it would in a real estate.
  The CSR exchange of a real klusterlet is not emulated: the bootstrap credential itself is used.
"""

from __future__ import annotations

import base64
import logging
import ssl
import time

import yaml

from ..kubeapi import ApiError, VirtualCluster
from . import klusterlet
from .changes import Pass
from .conditions import condition, merged
from .https import request as https_request

log = logging.getLogger("sandbox.controllers.registration")

OCM_API = klusterlet.OCM_API
CREDENTIAL_NAMESPACE = "fleetform-system"
MANAGED_CLUSTERS = ("cluster.open-cluster-management.io", "managedclusters")
SECRETS = ("", "secrets")
PROBE_SECONDS = 60.0  # an OCM lease's default duration


# -- hub side, direct members ----------------------------------------------------------------------


class DirectMembers:
    """The hub's side of direct members, looking only at what changed.

    A pass looks at the ManagedClusters written on the hub since the last one, those whose
    credential Secret was written (probing them again), and those whose member cluster changed
    otherwise (reachability, faults: probing again). A full pass looks at every ManagedCluster and
    probes those whose last probe is ``PROBE_SECONDS`` old, as the hub would notice a lease not
    renewed."""

    def __init__(self) -> None:
        self._probes: dict[str, tuple[float, str | None, tuple[bool, str]]] = {}  # name -> (when, member, outcome)

    def sync(self, hub: VirtualCluster, clusters: dict[str, VirtualCluster], changes: Pass | None) -> None:
        """One pass; ``changes`` None: a full pass."""
        try:
            names = set(hub.objects.names(OCM_API, "ManagedCluster")) if changes is None else self._due(hub, changes)
        except ApiError:
            return  # the OCM CRDs are not installed (yet)
        by_url = {cluster.url: name for name, cluster in clusters.items()}
        for name in sorted(names):
            self._sync_one(hub, name, by_url)

    def _due(self, hub: VirtualCluster, changes: Pass) -> set[str]:
        on_hub = changes.get(hub.name)
        if on_hub is not None and on_hub.everything:
            return set(hub.objects.names(OCM_API, "ManagedCluster"))
        credentials = set()
        if on_hub is not None:
            secrets = on_hub.names(SECRETS, CREDENTIAL_NAMESPACE)
            credentials = {s.removesuffix("-credential") for s in secrets if s.endswith("-credential")}
        moved = {name for name, probe in self._probes.items() if (c := changes.get(probe[1] or "")) and c.everything}
        for name in credentials | moved:
            self._probes.pop(name, None)
        return credentials | moved | (on_hub.names(MANAGED_CLUSTERS) if on_hub else set())

    def _sync_one(self, hub: VirtualCluster, name: str, by_url: dict[str, str]) -> None:
        try:
            managed = hub.objects.get(OCM_API, "ManagedCluster", name)
        except ApiError:
            self._probes.pop(name, None)
            return
        labels = managed["metadata"].get("labels") or {}
        if labels.get("fleetform.io/connection-mode") != "direct" or not managed["spec"].get("hubAcceptsClient"):
            return
        probe = self._probes.get(name)
        if probe is None or time.monotonic() - probe[0] >= PROBE_SECONDS:
            probe = self._probes[name] = (time.monotonic(), *_probe_member(hub, name, by_url))
        reachable, reason = probe[2]
        wanted = [condition("HubAcceptedManagedCluster", "True", "HubClusterAdminAccepted", "accepted by the hub")]
        if reachable:
            wanted += [
                condition("ManagedClusterJoined", "True", "ManagedClusterJoined", "the hub reaches the member"),
                condition("ManagedClusterConditionAvailable", "True", "ManagedClusterAvailable", reason),
            ]
        else:
            wanted += [
                condition("ManagedClusterConditionAvailable", "Unknown", "ManagedClusterLeaseUpdateStopped", reason)
            ]
        current = (managed.get("status") or {}).get("conditions") or []
        conditions = merged(current, wanted)
        if conditions != current:
            hub.objects.patch(
                OCM_API, "ManagedCluster", name, {"status": {"conditions": conditions}}, subresource="status"
            )


def _probe_member(hub: VirtualCluster, name: str, by_url: dict[str, str]) -> tuple[str | None, tuple[bool, str]]:
    """The virtual cluster the hub's credential for ``name`` points at (None: none of them), and
    whether it answers ``/readyz`` with that credential, with the reason."""
    try:
        secret = hub.objects.get("v1", "Secret", f"{name}-credential", CREDENTIAL_NAMESPACE)
    except ApiError:
        return None, (False, "no credential for the member on the hub")
    data = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
    member = by_url.get(data.get("endpoint", "").rstrip("/"))
    try:
        ca_pem = base64.b64decode(data["caBundle"]).decode()
        status, _ = https_request(data["endpoint"].rstrip("/") + "/readyz", data["token"], ca_pem)
    except (KeyError, OSError, ValueError, ssl.SSLError) as exc:
        return member, (False, f"the member does not answer ({type(exc).__name__})")
    return member, (status == 200, "the member answers /readyz" if status == 200 else f"/readyz answered {status}")


# -- klusterlet side, agent members ----------------------------------------------------------------


def join(member: VirtualCluster, name: str) -> None:
    """The member's klusterlet, running as managed cluster ``name`` (see :func:`klusterlet.running_as`),
    reports its cluster joined and available to the hub."""
    try:
        secret = member.objects.get("v1", "Secret", "bootstrap-hub-kubeconfig", klusterlet.AGENT_NAMESPACE)
    except ApiError:
        return
    config = yaml.safe_load(base64.b64decode((secret.get("data") or {}).get("kubeconfig", "")).decode() or "{}")
    try:
        server = config["clusters"][0]["cluster"]["server"]
        ca_pem = base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"]).decode()
        token = config["users"][0]["user"]["token"]
    except (KeyError, IndexError, TypeError):
        return
    url = f"{server.rstrip('/')}/apis/{OCM_API}/managedclusters/{name}"
    try:
        status, managed = https_request(url, token, ca_pem)
        if status != 200 or managed is None:
            return
        current = (managed.get("status") or {}).get("conditions") or []
        conditions = merged(
            current,
            [
                condition("ManagedClusterJoined", "True", "ManagedClusterJoined", "the klusterlet joined"),
                condition("ManagedClusterConditionAvailable", "True", "ManagedClusterAvailable", "lease renewed"),
            ],
        )
        if conditions != current:
            https_request(url + "/status", token, ca_pem, "PATCH", {"status": {"conditions": conditions}})
    except (OSError, ssl.SSLError) as exc:
        log.debug("agent of %s cannot reach the hub: %s", name, exc)
