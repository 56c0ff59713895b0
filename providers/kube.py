"""Reaching member and hub clusters through :mod:`kubeclient`: clients, probing, versions, waiting.

Every function takes kubeconfig *text* (YAML), so that dynamic providers stay picklable; the clients
made from it share kubeclient's one connection per cluster per process. What a run must read only once
(a cluster's identity, a listing every member's check asks of the hub) is kept until the run ends
(:func:`kubeclient.remembered`). kubeclient's errors become :class:`~providers.errors.ClusterAccessError`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubeclient import KubeClientError, Kubeconfig, RestClient, Unreachable, delete_unreachable, remembered

from .errors import ClusterAccessError, ErrorCode, Problem


@dataclass(frozen=True)
class ClusterInfo:
    server: str
    ca_data: str  # base64 PEM, as in a kubeconfig
    git_version: str  # e.g. v1.29.4
    major_minor: tuple[int, int]
    kube_system_uid: str


def kubeconfig(text: str, what: str) -> Kubeconfig:
    """The parsed kubeconfig; a malformed one is a ClusterAccessError naming ``what``."""
    try:
        return Kubeconfig.load(text, what)
    except KubeClientError as exc:
        raise ClusterAccessError(None, str(exc)) from exc


def api_client(text: str, what: str, context: str | None = None) -> RestClient:
    """A JSON client for the cluster (official client configuration; retries throttling and 5xx)."""
    try:
        return RestClient(kubeconfig(text, what), context)
    except KubeClientError as exc:
        raise ClusterAccessError(None, str(exc)) from exc


def request_json(
    client: RestClient,
    method: str,
    path: str,
    body: Any = None,
    timeout: float = 10.0,
    attempts: int = 3,
    content_type: str = "application/json",
) -> tuple[int, Any]:
    """(status, parsed body); a network failure that outlasts the retries raises ClusterAccessError."""
    try:
        return client.request(method, path, body=body, content_type=content_type, timeout=timeout, attempts=attempts)
    except KubeClientError as exc:
        raise ClusterAccessError(None, str(exc)) from exc


def expect(
    client: RestClient,
    what: str,
    method: str,
    path: str,
    body: Any = None,
    ok: tuple[int, ...] = (200,),
    content_type: str = "application/json",
) -> Any:
    """The parsed body of a request answered with a status in ``ok`` (None for an accepted 404); any other
    answer is a ClusterAccessError naming ``what``, the call and the server's message."""
    status, data = request_json(client, method, path, body, content_type=content_type)
    if status not in ok:
        raise ClusterAccessError(None, f"{what}: {method} {path} answered HTTP {status} ({_message(data)})")
    return None if status == 404 else data


def parse_version(git_version: str) -> tuple[int, int]:
    core = git_version.lstrip("v").split("-")[0].split("+")[0]
    major, minor = core.split(".")[:2]
    return int(major), int("".join(ch for ch in minor if ch.isdigit()))


def probe(text: str, what: str, attempts: int = 3, context: str | None = None) -> ClusterInfo:
    """Reach the cluster: ``/readyz``, ``/version`` and the kube-system namespace (its UID names the
    physical cluster). Transient failures are retried with backoff; raises ClusterAccessError."""
    client = api_client(text, what, context)
    server = client.server
    try:
        status, _ = client.request("GET", "/readyz", timeout=10.0, attempts=attempts)
    except Unreachable as exc:
        raise ClusterAccessError(
            ErrorCode.CONN_UNREACHABLE, f"API server {server} of '{what}' is not reachable ({exc})"
        ) from exc
    if status == 401:
        raise ClusterAccessError(None, f"{what}: the API server at {server} rejected the credential (401 Unauthorized)")
    if status != 200:
        raise ClusterAccessError(
            ErrorCode.CONN_UNREACHABLE, f"API server {server} of '{what}' is not ready (/readyz answered HTTP {status})"
        )
    code, version = request_json(client, "GET", "/version", attempts=attempts)
    git_version = (version or {}).get("gitVersion") if code == 200 and isinstance(version, dict) else None
    if not git_version:
        raise ClusterAccessError(
            None, f"{what}: GET {server}/version answered HTTP {code} without a gitVersion ({_message(version)})"
        )
    code, namespace = request_json(client, "GET", "/api/v1/namespaces/kube-system", attempts=attempts)
    if code == 403:
        raise ClusterAccessError(
            None, f"{what}: the credential may not read namespace kube-system (403); it needs cluster-admin"
        )
    uid = ((namespace or {}).get("metadata") or {}).get("uid", "") if code == 200 else ""
    if not uid:  # the UID is what V4/V5 compare: never carry on with an empty one
        raise ClusterAccessError(
            None,
            f"{what}: GET {server}/api/v1/namespaces/kube-system answered HTTP {code} without a UID "
            f"({_message(namespace)})",
        )
    return ClusterInfo(
        server=server,
        ca_data=client.context.ca_data,
        git_version=git_version,
        major_minor=parse_version(git_version),
        kube_system_uid=uid,
    )


def probe_once(text: str, what: str, context: str | None = None) -> ClusterInfo:
    """:func:`probe`, asked of the cluster once per run: its identity and version do not change within a
    run, and a preview asks them of one hub for every member (a failure is not kept: it is asked again)."""
    return remembered(("probe", key_digest(text), context), lambda: probe(text, what, context=context))


def get_once(text: str, what: str, path: str) -> tuple[int, Any]:
    """``GET path`` (status, parsed body), asked of the cluster once per run: for reads whose answer only
    this run's own changes could alter, made by a preview's check for every member. Only an answer
    with HTTP 200 is kept."""
    return remembered(
        ("get", key_digest(text), path),
        lambda: request_json(api_client(text, what), "GET", path),
        keep=lambda answer: answer[0] == 200,
    )


def key_digest(text: str) -> str:
    """What names a kubeconfig (or other credential-bearing text) in a key, never the text itself."""
    return hashlib.sha256(text.encode()).hexdigest()


def _message(body: Any) -> str:
    """What an API server's answer says about itself (a Status message, or the start of the body)."""
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return str(body)[:200] if body else "empty body"


def version_problem(git_version: str, name: str, minimum: str, federated: bool) -> Problem | None:
    """V9/V10: the problem when ``git_version`` is below ``minimum`` (``major.minor``), which the caller
    chose; ``federated`` says the minimum is that of a federation member."""
    if parse_version(git_version) >= parse_version(minimum):
        return None
    if federated:
        return Problem(
            ErrorCode.VER_TOO_OLD_FOR_FEDERATION,
            f"cluster '{name}' runs Kubernetes {git_version}; federation members require >= {minimum}",
        )
    return Problem(
        ErrorCode.VER_TOO_OLD, f"cluster '{name}' runs Kubernetes {git_version}; fleetform requires >= {minimum}"
    )


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


def gone_and_may_be_forgotten(exc: ClusterAccessError) -> bool:
    """Whether a delete that failed with ``exc`` may end as done: the cluster could not be reached or its
    credential not made, and the user said such clusters are gone (pulumi-kubernetes's deleteUnreachable)."""
    return exc.unreachable and delete_unreachable()
