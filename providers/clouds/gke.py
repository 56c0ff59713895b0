"""Google GKE (kind ``gke``): GetCluster for the lookup, the OAuth access token of the
application-default credentials as the bearer token, UpdateCluster(desiredDatabaseEncryption) for
Secret encryption (CLOUD-APIS §3).

Identity: ``project``, ``location`` (region or zone), ``cluster_name``. Credentials come from
google-auth's application-default chain only (``GOOGLE_APPLICATION_CREDENTIALS``, gcloud's ADC
file, workload identity / metadata server). ``endpoint`` replaces container.googleapis.com; the
client uses the REST transport, so an ``http://`` endpoint (an emulator) works.

The credentials (one key parse, one access token until it is no longer valid) and a client per
endpoint are shared by the process (:mod:`.sdk_clients`), for the Google environment they were made in.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import google.auth
import google.auth.credentials
import google.auth.transport.requests
import requests
from google.api_core import exceptions as api
from google.api_core.client_options import ClientOptions
from google.auth import exceptions as auth
from google.cloud import container_v1

from kubeclient import render_token_kubeconfig

from ..errors import ErrorCode, Problem
from . import sdk_clients
from .base import CloudError, ClusterDescription, api_error, not_found, with_retries

KIND = "gke"
SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
TIMEOUT = 30.0  # seconds per API call
_KEY_NAME = re.compile(r"^projects/[^/]+/locations/(?P<location>[^/]+)/keyRings/[^/]+/cryptoKeys/[^/]+$")
_ZONE = re.compile(r"^(?P<region>[a-z]+-[a-z]+\d+)-[a-z]$")
_LOGIN_HINT = (
    "set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file, or run gcloud auth application-default login"
)

# What google-auth's application-default chain reads: the key file, gcloud's configuration (under
# HOME unless CLOUDSDK_CONFIG says), the metadata server's address.
_ENVIRONMENT = ("GOOGLE_", "GCLOUD_", "CLOUDSDK_", "GCE_", "NO_GCE_CHECK", "HOME")
_REFRESH_LOCK = threading.Lock()  # one token refresh at a time for the shared credentials

T = TypeVar("T")


def source(identity: dict, endpoint: str | None = None) -> GkeSource:
    return GkeSource(identity["project"], identity["location"], identity["cluster_name"], endpoint)


def check(description: ClusterDescription, name: str) -> list[Problem]:
    """V11: Autopilot clusters are refused (their control plane cannot host fleetform's agents).
    The message names the GKE cluster; ``name`` (the RegisteredCluster) is in the caller's context."""
    if description.flags.get("autopilot"):
        cluster = description.native_id.rsplit("/", 1)[-1]
        return [
            Problem(
                ErrorCode.KIND_AUTOPILOT,
                f"GKE cluster '{cluster}' is an Autopilot cluster; only Standard clusters are supported",
            )
        ]
    return []


def check_key(key_name: str, location: str) -> list[Problem]:
    """V38: the key is a Cloud KMS key name in the cluster's region (a zone's region for zonal clusters)."""
    zone = _ZONE.match(location)
    region = zone["region"] if zone else location
    match = _KEY_NAME.match(key_name or "")
    if match and match["location"] == region:
        return []
    return [
        Problem(ErrorCode.ENC_GKE_KEY_LOCATION, f"GKE key '{key_name}' must be a Cloud KMS key in location {region}")
    ]


@dataclass(frozen=True)
class GkeSource:
    project: str
    location: str
    cluster_name: str
    endpoint: str | None = None

    @property
    def resource_name(self) -> str:
        return f"projects/{self.project}/locations/{self.location}/clusters/{self.cluster_name}"

    @property
    def _where(self) -> str:
        return f"{self.location} (project {self.project})"

    def describe(self) -> ClusterDescription:
        cluster = self._get_cluster()
        encryption = cluster.database_encryption
        return ClusterDescription(
            kind=KIND,
            native_id=self.resource_name,
            region=self.location,
            state=cluster.status.name,
            running=cluster.status == container_v1.Cluster.Status.RUNNING,
            kubernetes_version=cluster.current_master_version,
            endpoint=f"https://{cluster.endpoint}",
            ca_data=cluster.master_auth.cluster_ca_certificate,
            flags={
                "autopilot": bool(cluster.autopilot.enabled),
                "private_endpoint": bool(cluster.private_cluster_config.enable_private_endpoint),
                "database_encryption": encryption.current_state.name,
            },
        )

    def credentials(self) -> str:
        """A token kubeconfig: the cluster's endpoint and CA, the ADC access token (about 1 h)."""
        description = self.describe()
        token = self._call("token refresh", self._access_token)
        return render_token_kubeconfig(f"gke-{self.cluster_name}", description.endpoint, description.ca_data, token)

    def encryption_status(self) -> dict:
        encryption = self._get_cluster().database_encryption
        state = encryption.current_state.name
        return {
            "enabled": state == "CURRENT_STATE_ENCRYPTED",
            "key": encryption.key_name or None,
            "state": state,
            "pending": state.endswith("_PENDING"),
            "errors": [error.error_message for error in encryption.last_operation_errors],
        }

    def enable_encryption(self, key: dict) -> dict:
        """Start encrypting Secrets with ``key["key_name"]`` (a Cloud KMS key). Returns the
        operation; GKE rewrites the Secrets itself, :meth:`encryption_status` shows when it is done."""
        key_name = key.get("key_name", "")
        problems = check_key(key_name, self.location)
        if problems:
            raise CloudError.refusing(problems[:1])
        current = self.encryption_status()
        if current["enabled"] and current["key"] == key_name:
            return {"operation": None, "status": "DONE", "key": key_name}
        update = {
            "desired_database_encryption": {
                "state": container_v1.DatabaseEncryption.State.ENCRYPTED,
                "key_name": key_name,
            }
        }
        operation = self._update_cluster(update)
        return {"operation": operation.name, "status": operation.status.name, "key": key_name}

    def disable_encryption(self) -> dict:
        """Decrypt Secrets (``desiredDatabaseEncryption.state: DECRYPTED``; GKE rewrites them itself).
        Returns the operation; nothing is called when they are decrypted already."""
        if self.encryption_status()["state"] == "CURRENT_STATE_DECRYPTED":
            return {"operation": None, "status": "DONE", "key": None}
        update = {"desired_database_encryption": {"state": container_v1.DatabaseEncryption.State.DECRYPTED}}
        operation = self._update_cluster(update)
        return {"operation": operation.name, "status": operation.status.name, "key": None}

    def encryption_state(self, operation: str | None = None) -> dict:
        """Secret encryption in the shape every cloud kind answers (``providers.dynamic.cloud_encryption``),
        from ``databaseEncryption.currentState`` and, given the ``operation`` of an update, its
        status (not ``DONE``: busy) and ``error``; ``lastOperationErrors`` explain a failure."""
        encryption = self._get_cluster().database_encryption
        current = encryption.current_state.name
        if current == "CURRENT_STATE_UNSPECIFIED":  # older answers: only the desired state is set
            encrypted = encryption.state == container_v1.DatabaseEncryption.State.ENCRYPTED
            current = "CURRENT_STATE_ENCRYPTED" if encrypted else "CURRENT_STATE_DECRYPTED"
        state = _CURRENT_STATES.get(current)
        errors = [error.error_message for error in encryption.last_operation_errors]
        reason = current + (": " + "; ".join(errors) if errors and state == "failed" else "")
        busy = state in ("enabling", "disabling")
        if operation:
            done = self._get_operation(operation)
            if done.status != container_v1.Operation.Status.DONE:
                busy = True
                state = state if state in ("enabling", "disabling") else "enabling"
                reason = f"operation {operation} {done.status.name}"
            elif done.error.message:
                state, busy = "failed", False
                reason = f"operation {operation} failed: {done.error.message}" + (
                    f" ({'; '.join(errors)})" if errors else ""
                )
        if state is None:
            reason = f"unknown databaseEncryption.currentState {current}"
        return {
            "state": state,
            "key": {"key_name": encryption.key_name} if state == "enabled" and encryption.key_name else None,
            "key_reported": True,
            "busy": busy,
            "operation": operation,
            "reason": reason,
        }

    # --- SDK plumbing ---------------------------------------------------------------------------

    def _update_cluster(self, update: dict) -> container_v1.Operation:
        """UpdateCluster, retried only when throttled: after a server error the operation may have
        started, and a second one would be refused while it runs."""
        return self._call(
            "UpdateCluster",
            lambda: self._client().update_cluster(name=self.resource_name, update=update, retry=None, timeout=TIMEOUT),
            retryable=_throttled,
        )

    def _get_operation(self, operation: str) -> container_v1.Operation:
        name = f"projects/{self.project}/locations/{self.location}/operations/{operation.rsplit('/', 1)[-1]}"
        return self._call("GetOperation", lambda: self._client().get_operation(name=name, retry=None, timeout=TIMEOUT))

    def _get_cluster(self) -> container_v1.Cluster:
        return self._call(
            "GetCluster", lambda: self._client().get_cluster(name=self.resource_name, retry=None, timeout=TIMEOUT)
        )

    def _client(self) -> container_v1.ClusterManagerClient:
        """The shared client for this endpoint (REST transport; the library's own retries are off, so
        :func:`with_retries` is the only retry loop)."""
        options = ClientOptions(api_endpoint=self.endpoint) if self.endpoint else None
        return sdk_clients.client(
            KIND,
            ("client", self.endpoint),
            _ENVIRONMENT,
            lambda: _pooled(
                container_v1.ClusterManagerClient(credentials=_credentials(), transport="rest", client_options=options)
            ),
        )

    @staticmethod
    def _access_token() -> str:
        """The shared credentials' access token, refreshed once it is no longer valid."""
        credentials = _credentials()
        with _REFRESH_LOCK:
            if not credentials.valid:
                credentials.refresh(google.auth.transport.requests.Request())
            return credentials.token

    def _call(self, operation: str, call: Callable[[], T], retryable: Callable[[Exception], bool] | None = None) -> T:
        try:
            return with_retries(call, retryable=retryable or _transient)
        except (api.GoogleAPICallError, auth.GoogleAuthError, requests.RequestException) as exc:
            raise self._error(operation, exc) from exc

    def _error(self, operation: str, exc: Exception) -> CloudError:
        """The CloudError for an SDK error, with what the user should do about it."""
        failed = f"gke API call {operation} failed"
        if isinstance(exc, auth.DefaultCredentialsError):
            return api_error("unauthorized", f"{failed}: no Google credentials found: {_LOGIN_HINT}")
        if isinstance(exc, auth.RefreshError):
            if any(word in str(exc).lower() for word in ("expired", "revoked")):
                return api_error(
                    "expired",
                    f"{failed}: GKE credentials expired ({exc.args[0]}): "
                    "run gcloud auth application-default login, or renew the service-account key",
                )
            return api_error("unauthorized", f"{failed}: Google refused the credentials ({exc.args[0]}): {_LOGIN_HINT}")
        if isinstance(exc, (auth.TransportError, requests.RequestException)):
            return api_error(
                "unavailable",
                f"{failed}: the Google API could not be reached ({exc}); "
                "check the network, proxy and endpoint, then retry",
            )
        detail = f"{exc.code} {type(exc).__name__} ({exc.message})"
        if isinstance(exc, api.NotFound):
            return not_found(KIND, self.cluster_name, self._where)
        if isinstance(exc, api.Unauthorized):
            return api_error("unauthorized", f"{failed}: {detail}. GKE rejected the credentials: {_LOGIN_HINT}")
        if isinstance(exc, api.Forbidden):
            return api_error(
                "forbidden",
                f"{failed}: {detail}. The cluster {self.cluster_name} in {self._where} "
                "does not exist, or the caller lacks container.clusters.get/update there: check the "
                "name, or grant roles/container.admin (or roles/container.viewer to look it up)",
            )
        if isinstance(exc, api.TooManyRequests):
            return api_error(
                "throttled",
                f"{failed}: {detail}. Still throttled after retries; retry later or raise the project's quota",
            )
        if isinstance(exc, api.ClientError):
            return api_error("invalid", f"{failed}: {detail}")
        return api_error("unavailable", f"{failed}: {detail}. Google's side failed repeatedly; retry later")


def _credentials() -> google.auth.credentials.Credentials:
    """The application-default credentials, shared by the process."""
    return sdk_clients.client(KIND, "credentials", _ENVIRONMENT, lambda: google.auth.default(scopes=SCOPES)[0])


_CURRENT_STATES = {  # databaseEncryption.currentState -> the shared state words
    "CURRENT_STATE_ENCRYPTED": "enabled",
    "CURRENT_STATE_ALL_OBJECTS_ENCRYPTION_ENABLED": "enabled",
    "CURRENT_STATE_DECRYPTED": "disabled",
    "CURRENT_STATE_ENCRYPTION_PENDING": "enabling",
    "CURRENT_STATE_ALL_OBJECTS_ENCRYPTION_PENDING": "enabling",
    "CURRENT_STATE_DECRYPTION_PENDING": "disabling",
    "CURRENT_STATE_ENCRYPTION_ERROR": "failed",
    "CURRENT_STATE_DECRYPTION_ERROR": "failed",
    "CURRENT_STATE_ALL_OBJECTS_ENCRYPTION_ERROR": "failed",
}


def _throttled(exc: Exception) -> bool:
    return isinstance(exc, api.TooManyRequests)


def _pooled(client: container_v1.ClusterManagerClient) -> container_v1.ClusterManagerClient:
    """``client`` with the larger pool of :func:`.sdk_clients.widen_pool`: its REST transport has no
    setting for it, so its requests session gets the adapter."""
    sdk_clients.widen_pool(client.transport._session)
    return client


def _transient(exc: Exception) -> bool:
    """Throttling, server-side faults and network errors are worth another try."""
    return isinstance(
        exc, (api.TooManyRequests, api.ServerError, auth.TransportError, requests.ConnectionError, requests.Timeout)
    )
