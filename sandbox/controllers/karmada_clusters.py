"""Karmada's cluster controllers: member ``Cluster`` objects are Ready while their member answers.

On each emulated control plane, for every ``Cluster``:

* **Push**: the control plane probes ``spec.apiEndpoint`` + ``/readyz`` over HTTPS with the
  credential of the Secret at ``spec.secretRef`` (data ``token``, and ``caBundle`` holding the
  member's CA certificate in PEM, as ``karmadactl join`` writes it). An answer ``200`` sets
  ``Ready=True`` (reason ``ClusterReady``); no answer sets ``Ready=False`` (``ClusterNotReachable``);
  another answer ``Ready=False`` (``ClusterNotReady``).
* **Pull**: the emulated karmada-agent runs in a member where Deployment
  ``karmada-system/karmada-agent`` reports an available replica and Secret
  ``karmada-system/karmada-kubeconfig`` holds, under key ``karmada-kubeconfig``, a kubeconfig for
  the control plane (the names ``karmadactl register`` uses). Over HTTPS with that credential the
  agent creates its ``Cluster`` (named by the container's ``--cluster-name=`` argument, with
  ``syncMode: Pull`` and ``apiEndpoint`` from ``--cluster-api-endpoint=`` or else the member's URL)
  when it starts, and reports it Ready. As upstream, it registers only at start (a new Deployment, a
  new generation of it, or once it is available again): a Cluster deleted while the agent runs
  (``karmadactl unregister``) stays deleted, and the agent stops reporting. A Pull cluster whose
  agent did not report in the current pass (the Deployment is gone or unavailable, or the member
  is unreachable) is set ``Ready=Unknown`` (``ClusterStatusUnknown``) by the control plane.

A Ready cluster also gets ``status.kubernetesVersion`` and ``status.nodeSummary{totalNum,
readyNum}`` (read from the member when it turns Ready). Taints follow the Ready condition as
upstream's cluster controller sets them: ``cluster.karmada.io/not-ready`` for False,
``cluster.karmada.io/unreachable`` for Unknown, none for True. Each is set with effect
``NoSchedule`` (upstream's cluster controller) and ``NoExecute`` (upstream leaves that to a
``ClusterTaintPolicy``; the sandbox behaves as if one tainted every not-ready cluster), with
``timeAdded`` set when the taint appears and kept while it stays.

Every Cluster gets its execution namespace ``karmada-es-<name>`` and the finalizer
``karmada.io/cluster-controller``; deleting the Cluster deletes that namespace (with its Works,
see :mod:`.karmada_execution`), then releases the Cluster.

Not emulated: the failure threshold and grace periods (Ready flips on the first failed probe and
the first missed agent report), leases, ``apiEnablements``, ``resourceSummary``,
``impersonatorSecretRef``, ``insecureSkipTLSVerification``, ``proxyURL``, the agent's CSR-based
certificate and its cert rotation.
"""

from __future__ import annotations

import base64
import logging
import ssl

import yaml

from ..kubeapi import ApiError, VirtualCluster
from . import karmada_apis
from .conditions import condition, merged, now
from .https import request

log = logging.getLogger("sandbox.controllers.karmada")

CLUSTER_API = karmada_apis.CLUSTER_API
FINALIZER = "karmada.io/cluster-controller"
NOT_READY = "cluster.karmada.io/not-ready"
UNREACHABLE = "cluster.karmada.io/unreachable"
AGENT_NAMESPACE = "karmada-system"
AGENT_DEPLOYMENT = "karmada-agent"
AGENT_SECRET = "karmada-kubeconfig"
AGENT_SECRET_KEY = "karmada-kubeconfig"


# -- the control plane's side ----------------------------------------------------------------------


def sync(control_plane: VirtualCluster, reported: set[tuple[str, str]]) -> None:
    """Refresh every Cluster of ``control_plane``. ``reported`` holds ``(control-plane URL, cluster
    name)`` for each Pull cluster whose agent reported in this pass."""
    for cluster in karmada_apis.listed(control_plane, CLUSTER_API, "Cluster"):
        try:
            _sync_cluster(control_plane, cluster, reported)
        except ApiError as err:  # e.g. a write raced with a client's: the next pass looks again
            log.debug("cluster %s on %s: %s", cluster["metadata"]["name"], control_plane.name, err.message)


def _sync_cluster(control_plane: VirtualCluster, cluster: dict, reported: set[tuple[str, str]]) -> None:
    meta = cluster["metadata"]
    if meta.get("deletionTimestamp"):
        _release(control_plane, cluster)
        return
    if FINALIZER not in (meta.get("finalizers") or []):
        cluster = _patch(
            control_plane, meta["name"], {"metadata": {"finalizers": [*(meta.get("finalizers") or []), FINALIZER]}}
        )
    karmada_apis.ensure_namespace(control_plane, karmada_apis.execution_namespace(meta["name"]))
    if (cluster.get("spec") or {}).get("syncMode") == "Pull":
        if (control_plane.url, meta["name"]) not in reported:
            _set_ready(control_plane, cluster, "Unknown", "ClusterStatusUnknown", "the karmada-agent stopped reporting")
        else:  # the agent wrote the condition; the taints follow it (and go once it reports again)
            _sync_taints(control_plane, cluster, _ready_status(cluster))
        return
    ready, reason, message, facts = _probe(control_plane, cluster)
    _set_ready(control_plane, cluster, "True" if ready else "False", reason, message, facts)


def _release(control_plane: VirtualCluster, cluster: dict) -> None:
    meta = cluster["metadata"]
    if FINALIZER not in (meta.get("finalizers") or []):
        return
    namespace = karmada_apis.execution_namespace(meta["name"])
    try:
        found = control_plane.objects.get("v1", "Namespace", namespace)
        if not found["metadata"].get("deletionTimestamp"):
            control_plane.objects.delete("v1", "Namespace", namespace)
        return  # the namespace's cleanup is under way; a later pass releases the Cluster
    except ApiError as err:
        if err.code != 404:
            raise
    rest = [f for f in meta["finalizers"] if f != FINALIZER]
    _patch(control_plane, meta["name"], {"metadata": {"finalizers": rest or None}})


def _probe(control_plane: VirtualCluster, cluster: dict) -> tuple[bool, str, str, dict]:
    """Whether the member answers; with a ready member also its version and node summary."""
    spec = cluster.get("spec") or {}
    ref = spec.get("secretRef") or {}
    try:
        secret = control_plane.objects.get("v1", "Secret", ref.get("name", ""), ref.get("namespace", ""))
    except ApiError:
        return False, "ClusterNotReachable", "the cluster's secretRef names no Secret", {}
    data = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
    endpoint = str(spec.get("apiEndpoint") or "").rstrip("/")
    try:
        status, _ = request(endpoint + "/readyz", data["token"], data["caBundle"])
        if status != 200:
            return False, "ClusterNotReady", f"/readyz answered {status}", {}
        _, version = request(endpoint + "/version", data["token"], data["caBundle"])
        _, nodes = request(endpoint + "/api/v1/nodes", data["token"], data["caBundle"])
        facts = _facts((version or {}).get("gitVersion", ""), (nodes or {}).get("items") or [])
    except (KeyError, OSError, ValueError, ssl.SSLError) as exc:
        return False, "ClusterNotReachable", f"cluster is not reachable ({type(exc).__name__})", {}
    return True, "ClusterReady", "cluster is healthy and ready to accept workloads", facts


def _facts(version: str, nodes: list[dict]) -> dict:
    """The status fields a Ready cluster reports besides its condition."""
    ready = [
        n
        for n in nodes
        if any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in (n.get("status") or {}).get("conditions") or []
        )
    ]
    return {
        "kubernetesVersion": version,
        "nodeSummary": {"totalNum": len(nodes), "readyNum": len(ready)},
    }


def _set_ready(
    control_plane: VirtualCluster, cluster: dict, status: str, reason: str, message: str, facts: dict | None = None
) -> None:
    current = (cluster.get("status") or {}).get("conditions") or []
    conditions = merged(current, [condition("Ready", status, reason, message)])
    was_ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in current)
    wanted = {"conditions": conditions}
    if facts and (not was_ready or not (cluster.get("status") or {}).get("kubernetesVersion")):
        wanted |= facts
    if any((cluster.get("status") or {}).get(k) != v for k, v in wanted.items()):
        control_plane.objects.patch(
            CLUSTER_API, "Cluster", cluster["metadata"]["name"], {"status": wanted}, subresource="status"
        )
    _sync_taints(control_plane, cluster, status)


def _ready_status(cluster: dict) -> str:
    conditions = (cluster.get("status") or {}).get("conditions") or []
    return next((c.get("status", "Unknown") for c in conditions if c.get("type") == "Ready"), "Unknown")


def _sync_taints(control_plane: VirtualCluster, cluster: dict, ready: str) -> None:
    taints = _taints((cluster.get("spec") or {}).get("taints") or [], ready)
    if taints != ((cluster.get("spec") or {}).get("taints") or []):
        _patch(control_plane, cluster["metadata"]["name"], {"spec": {"taints": taints or None}})


def _taints(current: list[dict], ready: str) -> list[dict]:
    """``current`` with the readiness taints of a cluster whose Ready condition is ``ready``."""
    key = {"True": None, "False": NOT_READY, "Unknown": UNREACHABLE}[ready]
    kept = [t for t in current if t.get("key") not in (NOT_READY, UNREACHABLE) or t.get("key") == key]
    for effect in ("NoSchedule", "NoExecute") if key else ():
        if not any(t.get("key") == key and t.get("effect") == effect for t in kept):
            kept.append({"key": key, "effect": effect, "timeAdded": now()})
    return kept


def _patch(control_plane: VirtualCluster, name: str, patch: dict) -> dict:
    return control_plane.objects.patch(CLUSTER_API, "Cluster", name, patch)


# -- the karmada-agent's side (Pull members) -------------------------------------------------------


def run_agent(member: VirtualCluster, starting: bool) -> tuple[str, str] | None:
    """The member's karmada-agent (if one runs) refreshes its Pull cluster, and registers it when
    ``starting``; returns ``(control-plane URL, cluster name)`` when it reported."""
    found = agent(member)
    if found is None:
        return None
    name, api_endpoint, config, _start = found
    try:
        server = config["clusters"][0]["cluster"]["server"].rstrip("/")
        ca_pem = base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"]).decode()
        token = config["users"][0]["user"]["token"]
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    url = f"{server}/apis/{CLUSTER_API}/clusters"
    try:
        status, cluster = request(f"{url}/{name}", token, ca_pem)
        if status == 404 and starting:
            body = {
                "apiVersion": CLUSTER_API,
                "kind": "Cluster",
                "metadata": {"name": name},
                "spec": {"syncMode": "Pull", "apiEndpoint": api_endpoint or member.url},
            }
            status, cluster = request(url, token, ca_pem, "POST", body, "application/json")
        if status not in (200, 201) or cluster is None:
            return None
        current = (cluster.get("status") or {}).get("conditions") or []
        wanted = {
            "conditions": merged(
                current,
                [condition("Ready", "True", "ClusterReady", "cluster is healthy and ready to accept workloads")],
            ),
            **_facts("v" + member.version.lstrip("v"), member.objects.list("v1", "Node")),
        }
        if any((cluster.get("status") or {}).get(k) != v for k, v in wanted.items()):
            # an update of the status subresource, as the agent does upstream (its RBAC allows update only)
            updated = {**cluster, "status": {**(cluster.get("status") or {}), **wanted}}
            status, _ = request(f"{url}/{name}/status", token, ca_pem, "PUT", updated, "application/json")
            if status != 200:
                log.debug("karmada-agent of %s: status update answered HTTP %s", member.name, status)
                return None
    except (OSError, ssl.SSLError) as exc:
        log.debug("karmada-agent of %s cannot reach its control plane: %s", member.name, exc)
        return None
    return server, name


def agent(member: VirtualCluster) -> tuple[str, str, dict, tuple[str, int]] | None:
    """``(cluster name, api endpoint or "", control-plane kubeconfig, start)`` of a running agent;
    ``start`` (the Deployment's uid and generation) changes when the agent is started anew."""
    try:
        deployment = member.objects.get("apps/v1", "Deployment", AGENT_DEPLOYMENT, AGENT_NAMESPACE)
        secret = member.objects.get("v1", "Secret", AGENT_SECRET, AGENT_NAMESPACE)
    except ApiError:
        return None
    if not (deployment.get("status") or {}).get("availableReplicas"):
        return None
    container = (deployment["spec"]["template"]["spec"].get("containers") or [{}])[0]
    flags = dict(
        arg[2:].split("=", 1)
        for arg in [*container.get("command", []), *container.get("args", [])]
        if arg.startswith("--") and "=" in arg
    )
    if not flags.get("cluster-name"):
        return None
    encoded = (secret.get("data") or {}).get(AGENT_SECRET_KEY, "")
    config = yaml.safe_load(base64.b64decode(encoded).decode() or "{}")
    start = (deployment["metadata"]["uid"], deployment["metadata"].get("generation", 0))
    return flags["cluster-name"], flags.get("cluster-api-endpoint", ""), config, start
