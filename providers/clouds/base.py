"""The small protocol every cluster kind implements, and the errors they raise.

A kind module (``providers/clouds/<kind>.py``) exposes ``source(identity, endpoint=None) ->
ClusterSource``:

* ``identity``: the kind's non-secret identifiers from the stack (e.g. ``{"region": "eu-west-1",
  "cluster_name": "prod"}`` for eks; see DOMAIN §2.3). Credentials come from the SDK's standard
  chain (environment, profile, workload identity), never from the stack file.
* ``endpoint``: an API endpoint override (a custom or emulated cloud API), or None for the cloud's
  public endpoint.

``ClusterSource.describe()`` looks the cluster up (read-only) and ``credentials()`` returns a
kubeconfig (YAML text) that opens the cluster's API server: the *bootstrap* credential, used once to
create fleetform's own ServiceAccount. Every SDK error is mapped to a :class:`CloudError` whose
message tells the user what to do; throttling and transient faults are retried with backoff first
(:func:`with_retries`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar
from urllib.parse import urlsplit

from kubeclient import Context, KubeClientError, Kubeconfig

from ..errors import ErrorCode, FleetformError, Problem

T = TypeVar("T")

RETRYABLE_STATUS = (429, 500, 502, 503, 504)  # throttling and server-side faults: worth another try


@dataclass(frozen=True)
class ClusterDescription:
    kind: str
    native_id: str  # the cloud's identifier (ARN, project/location/name, ARM id, cluster id)
    region: str
    state: str  # the cloud's own status word, e.g. ACTIVE, RUNNING, Succeeded, running
    running: bool  # whether that state counts as running for this kind
    kubernetes_version: str  # e.g. "1.29.4" or "v1.29.4-eks-1a2b3c"
    endpoint: str  # https URL of the API server (per endpoint preference)
    ca_data: str  # base64 PEM of the API server CA, as in a kubeconfig
    flags: dict = field(default_factory=dict)  # kind-specific facts, e.g. {"autopilot": True}


class CloudError(FleetformError):
    """A cloud API call failed; ``reason`` is one of the REASONS, the message says what to do, and
    ``code`` is the FF-* code when the failure has one."""

    REASONS = ("not-found", "throttled", "unauthorized", "expired", "forbidden", "invalid", "unavailable")

    def __init__(self, reason: str, message: str, code: ErrorCode | None = None):
        super().__init__(code, message)
        self.reason = reason

    @classmethod
    def refusing(cls, problems: list[Problem]) -> CloudError:
        """An ``invalid`` request: the problems its input has (one code when there is one problem)."""
        if len(problems) == 1:
            return cls("invalid", problems[0].message, problems[0].code)
        return cls("invalid", "; ".join(map(str, problems)))


def not_found(kind: str, cluster: str, where: str) -> CloudError:
    """The lookup's error for a cluster the cloud does not have (``where``: its region, or
    whatever else scopes the name)."""
    return CloudError("not-found", f"{kind} cluster {cluster} not found in {where}", ErrorCode.REG_NOT_FOUND)


def api_error(reason: str, message: str) -> CloudError:
    """FF-CLOUD-001: a cloud API call failed (``message`` says which and what to do)."""
    return CloudError(reason, message, ErrorCode.CLOUD_API)


def kubeconfig_context(text: str, what: str) -> Context:
    """The current context of a kubeconfig a cloud returned; an unusable one is a CloudError."""
    try:
        return Kubeconfig.load(text, what).context()
    except KubeClientError as exc:
        raise CloudError("invalid", f"the cloud returned an unusable kubeconfig: {exc}") from exc


def no_public_endpoint(name: str) -> Problem:
    """V15, for kinds whose clusters may lack a public API endpoint."""
    return Problem(
        ErrorCode.CONN_NO_PUBLIC_ENDPOINT,
        f"cluster '{name}' has no public API endpoint; bind an EIP/public access first or use private",
    )


def split_endpoint(endpoint: str) -> tuple[str, str]:
    """``(scheme, host[:port])`` of an endpoint override given as a URL or as a bare
    ``host[:port]`` (then the scheme is empty), for SDKs that take the two apart."""
    parts = urlsplit(endpoint if "://" in endpoint else f"//{endpoint}")
    return parts.scheme, parts.netloc


class ClusterSource(Protocol):
    def describe(self) -> ClusterDescription: ...

    def credentials(self) -> str: ...

    def encryption_status(self) -> dict:
        """Secret encryption at rest as the cloud reports it, e.g. ``{"enabled": True, "key": "<id>"}``."""
        ...

    def enable_encryption(self, key: dict) -> dict:
        """Ask the cloud to enable (or re-key) secret encryption; returns what it answered."""
        ...

    def encryption_state(self, operation: str | None = None) -> dict:
        """Secret encryption in the one shape every kind answers (``providers.dynamic.cloud_encryption``),
        following the long-running ``operation`` an enable or disable started, when given."""
        ...

    def disable_encryption(self) -> dict:
        """Ask the cloud to turn secret encryption off (refused where that is impossible: EKS)."""
        ...


def with_retries(
    call: Callable[[], T],
    *,
    retryable: Callable[[Exception], bool],
    attempts: int = 5,
    base_delay: float = 0.2,
    max_delay: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``call``; on an exception ``retryable`` accepts, wait (exponential backoff with jitter)
    and try again, up to ``attempts`` times. The last exception propagates."""
    delay = base_delay
    for attempt in range(attempts):
        try:
            return call()
        except Exception as exc:
            if attempt == attempts - 1 or not retryable(exc):
                raise
            sleep(min(max_delay, delay) * (0.5 + random.random() / 2))
            delay *= 2
    raise AssertionError("unreachable")
