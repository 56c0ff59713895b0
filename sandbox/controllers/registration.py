"""OCM registration: members become joined and available ``ManagedCluster`` objects on the hub.

* **Direct mode** (the hub's side): a ``ManagedCluster`` labelled
  ``fleetform.io/connection-mode=direct`` is marked joined and available while the member answers
  ``/readyz`` over HTTPS with the token and CA the hub holds for it (the hub Secret
  ``fleetform-system/<cluster>-credential``), and ``Available=Unknown`` when it stops answering.
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

import yaml

from ..kubeapi import ApiError, VirtualCluster
from . import klusterlet
from .conditions import condition, merged
from .https import request as https_request

log = logging.getLogger("sandbox.controllers.registration")

OCM_API = klusterlet.OCM_API
CREDENTIAL_NAMESPACE = "fleetform-system"


# -- hub side, direct members ----------------------------------------------------------------------


def sync_direct_members(hub: VirtualCluster) -> None:
    try:
        managed_clusters = hub.objects.list(OCM_API, "ManagedCluster")
    except ApiError:
        return  # the OCM CRDs are not installed (yet)
    for managed in managed_clusters:
        labels = managed["metadata"].get("labels") or {}
        if labels.get("fleetform.io/connection-mode") != "direct" or not managed["spec"].get("hubAcceptsClient"):
            continue
        reachable, reason = _probe_member(hub, managed["metadata"]["name"])
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
                OCM_API,
                "ManagedCluster",
                managed["metadata"]["name"],
                {"status": {"conditions": conditions}},
                subresource="status",
            )


def _probe_member(hub: VirtualCluster, name: str) -> tuple[bool, str]:
    try:
        secret = hub.objects.get("v1", "Secret", f"{name}-credential", CREDENTIAL_NAMESPACE)
    except ApiError:
        return False, "no credential for the member on the hub"
    data = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
    try:
        ca_pem = base64.b64decode(data["caBundle"]).decode()
        status, _ = https_request(data["endpoint"].rstrip("/") + "/readyz", data["token"], ca_pem)
    except (KeyError, OSError, ValueError, ssl.SSLError) as exc:
        return False, f"the member does not answer ({type(exc).__name__})"
    return status == 200, "the member answers /readyz" if status == 200 else f"/readyz answered {status}"


# -- klusterlet side, agent members ----------------------------------------------------------------


def join(member: VirtualCluster) -> None:
    """The member's klusterlet (if one runs) reports its cluster joined and available to the hub."""
    name = klusterlet.running_as(member)
    if name is None:
        return
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
