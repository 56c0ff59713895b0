"""Kubeconfig building, Kubernetes client construction, probing and waiting.

Every function takes kubeconfig *text* (YAML) and builds its own client, so that dynamic providers
stay picklable and nothing here keeps a connection between calls.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from typing import Any, Callable

import yaml

from engine.kubernetes import NETWORK_FAILURE, KubeRest

MIN_VERSION = (1, 19)
FEDERATION_MIN_VERSION = (1, 21)


class ClusterAccessError(Exception):
    """A cluster could not be reached or used; the message says which and why."""


@dataclass(frozen=True)
class ClusterInfo:
    server: str
    ca_data: str  # base64 PEM, as in a kubeconfig
    git_version: str  # e.g. v1.29.4
    major_minor: tuple[int, int]
    kube_system_uid: str


def parse_kubeconfig(text: str, what: str) -> dict:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ClusterAccessError(f"{what}: the kubeconfig is not valid YAML ({exc})") from exc
    if not isinstance(data, dict) or not data.get("clusters"):
        raise ClusterAccessError(f"{what}: the kubeconfig names no cluster")
    return data


def current_cluster(config: dict, context: str | None = None) -> dict:
    """The ``cluster`` entry the (given or current) context points to."""
    wanted = context or config.get("current-context")
    contexts = {c["name"]: c.get("context", {}) for c in config.get("contexts") or []}
    cluster_name = contexts.get(wanted, {}).get("cluster") if wanted else None
    for entry in config.get("clusters") or []:
        if cluster_name is None or entry["name"] == cluster_name:
            return entry.get("cluster", {})
    raise ClusterAccessError(f"the kubeconfig has no cluster for context '{wanted}'")


def api_client(kubeconfig: str, what: str, context: str | None = None) -> KubeRest:
    """A JSON client for the cluster (official client configuration; retries throttling and 5xx)."""
    config = parse_kubeconfig(kubeconfig, what)
    try:
        return KubeRest(config, context)
    except Exception as exc:  # the client raises ConfigException and friends
        raise ClusterAccessError(f"{what}: the kubeconfig cannot be used ({exc})") from exc


def render_kubeconfig(name: str, server: str, ca_data: str, token: str) -> str:
    """A token kubeconfig, rendered deterministically (fixed keys and order) so it only changes
    when the server, CA or token really change."""
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": server, "certificate-authority-data": ca_data}}],
        "users": [{"name": name, "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
    }
    return yaml.safe_dump(document, sort_keys=False)


def parse_version(git_version: str) -> tuple[int, int]:
    core = git_version.lstrip("v").split("-")[0].split("+")[0]
    major, minor = core.split(".")[:2]
    return int(major), int("".join(ch for ch in minor if ch.isdigit()))


def request_json(client: KubeRest, method: str, path: str, body: Any = None, timeout: float = 10.0,
                 attempts: int = 3) -> tuple[int, Any]:
    """(status, parsed body), retrying throttling, 5xx and network failures with backoff; a network
    failure that outlasts the retries raises ClusterAccessError."""
    status, data = client.request(method, path, body=body, timeout=timeout, attempts=attempts)
    if status == NETWORK_FAILURE:
        raise ClusterAccessError(data["message"])
    return status, data


def probe(kubeconfig: str, what: str, attempts: int = 3, context: str | None = None) -> ClusterInfo:
    """Reach the cluster: ``/readyz``, ``/version`` and the kube-system namespace (its UID names the
    physical cluster). Transient failures are retried with backoff; raises ClusterAccessError."""
    config = parse_kubeconfig(kubeconfig, what)
    server = current_cluster(config, context).get("server", "")
    client = api_client(kubeconfig, what, context)
    try:
        status, _ = request_json(client, "GET", "/readyz", attempts=attempts)
    except ClusterAccessError as exc:
        raise ClusterAccessError(f"FF-CONN-002 API server {server} of '{what}' is not reachable ({exc})") from exc
    if status == 401:
        raise ClusterAccessError(f"{what}: the API server at {server} rejected the credential (401 Unauthorized)")
    if status != 200:
        raise ClusterAccessError(f"FF-CONN-002 API server {server} of '{what}' is not ready (/readyz answered HTTP {status})")
    _, version = request_json(client, "GET", "/version", attempts=attempts)
    code, namespace = request_json(client, "GET", "/api/v1/namespaces/kube-system", attempts=attempts)
    if code == 403:
        raise ClusterAccessError(f"{what}: the credential may not read namespace kube-system (403); it needs cluster-admin")
    return ClusterInfo(
        server=server,
        ca_data=current_cluster(config, context).get("certificate-authority-data", ""),
        git_version=version["gitVersion"],
        major_minor=parse_version(version["gitVersion"]),
        kube_system_uid=(namespace or {}).get("metadata", {}).get("uid", ""),
    )


def check_version(git_version: str, name: str, minimum: tuple[int, int] = MIN_VERSION) -> None:
    """V9/V10: raise ClusterAccessError when ``git_version`` is below ``minimum``."""
    if parse_version(git_version) >= minimum:
        return
    wanted = ".".join(map(str, minimum))
    if minimum == FEDERATION_MIN_VERSION:
        raise ClusterAccessError(
            f"FF-VER-002 cluster '{name}' runs Kubernetes {git_version}; federation members require >= {wanted}"
        )
    raise ClusterAccessError(f"FF-VER-001 cluster '{name}' runs Kubernetes {git_version}; fleetform requires >= {wanted}")


def jwt_expiry(token: str) -> int | None:
    """The ``exp`` claim of a JWT, or None when it has none (a long-lived ServiceAccount token)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    exp = claims.get("exp")
    return int(exp) if exp is not None else None


def wait_for(condition: Callable[[], Any], timeout: float, interval: float = 0.5, what: str = "condition") -> Any:
    """Poll until ``condition()`` returns a truthy value; return it. Raises TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} not met within {timeout:.0f}s")
        time.sleep(interval)
