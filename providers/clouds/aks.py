"""Azure AKS (kind ``aks``): ARM ``managedClusters`` through azure-mgmt-containerservice.

Identity: ``subscription_id``, ``resource_group``, ``cluster_name``. Credentials come from
``DefaultAzureCredential`` (environment service principal, workload identity, managed identity,
Azure CLI, ...). ``endpoint`` replaces the ARM endpoint (Azure Stack, a sovereign cloud, the sandbox
emulator); the token scope follows it (``<endpoint>/.default``) and MSAL's instance discovery is
turned off, because Microsoft's discovery service does not know such clouds' authorities (set
``AZURE_AUTHORITY_HOST`` for them).

The SDK's own retry policy is switched off: throttling and transient faults are retried here, by
:func:`base.with_retries`, so every kind backs off the same way and errors are mapped only once.

The credential (with the tokens it caches) per endpoint and a client per endpoint and subscription
are shared by the process (:mod:`.sdk_clients`), for the Azure environment they were made in; the
client's authentication policy renews its token before it expires. Both get a requests session that
keeps :data:`.sdk_clients.POOL_CONNECTIONS` connections per host: concurrent calls also fetch the
credential's first token concurrently.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import requests
from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.identity import DefaultAzureCredential
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.containerservice.models import AzureKeyVaultKms, ManagedCluster, ManagedClusterSecurityProfile
from urllib3.util.retry import Retry

from ..errors import ErrorCode, Problem
from . import sdk_clients
from .base import RETRYABLE_STATUS, CloudError, ClusterDescription, kubeconfig_context, not_found, with_retries

T = TypeVar("T")

KIND = "aks"
_VERSIONED_KEY = re.compile(r"^https://[a-zA-Z0-9-]+\.vault\.[a-z0-9.]+/keys/[a-zA-Z0-9-]+/[0-9a-zA-Z]+$")
_CREDENTIAL_HINT = "set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET or run az login"
# What DefaultAzureCredential reads: the service principal or workload identity, the managed identity
# endpoints, the Azure CLI's login (under HOME unless AZURE_CONFIG_DIR says).
_ENVIRONMENT = ("AZURE_", "IDENTITY_", "MSI_", "IMDS_ENDPOINT", "HOME")


@dataclass(frozen=True)
class AksSource:
    subscription_id: str
    resource_group: str
    cluster_name: str
    endpoint: str | None = None

    # --- protocol -------------------------------------------------------------------------------

    def describe(self) -> ClusterDescription:
        """The managed cluster plus, for the API server URL and CA (the resource has no CA), the
        user kubeconfig: unlike the admin one it is issued with local accounts disabled too."""

        def lookup(client: ContainerServiceClient) -> tuple[ManagedCluster, str]:
            cluster = client.managed_clusters.get(self.resource_group, self.cluster_name)
            user = client.managed_clusters.list_cluster_user_credentials(self.resource_group, self.cluster_name)
            return cluster, user.kubeconfigs[0].value.decode()

        cluster, kubeconfig = self._call("look up", lookup)
        server = kubeconfig_context(kubeconfig, self.cluster_name)
        provisioning = _text(cluster.provisioning_state)
        power = _text(cluster.power_state.code) if cluster.power_state else ""
        return ClusterDescription(
            kind=KIND,
            native_id=cluster.id,
            region=cluster.location,
            state=power if provisioning == "Succeeded" else provisioning,
            running=provisioning == "Succeeded" and power == "Running",
            kubernetes_version=cluster.current_kubernetes_version or cluster.kubernetes_version or "",
            endpoint=server.server,
            ca_data=server.ca_data,
            flags={
                "disable_local_accounts": bool(cluster.disable_local_accounts),
                "azure_key_vault_kms": _kms(cluster),
                "sku_tier": _text(cluster.sku.tier) if cluster.sku else "",
            },
        )

    def credentials(self) -> str:
        """The admin kubeconfig (listClusterAdminCredential); the SDK has already decoded it."""
        result = self._call(
            "list admin credentials of",
            lambda client: client.managed_clusters.list_cluster_admin_credentials(
                self.resource_group, self.cluster_name
            ),
        )
        return result.kubeconfigs[0].value.decode()

    def encryption_status(self) -> dict:
        cluster = self._call(
            "look up", lambda client: client.managed_clusters.get(self.resource_group, self.cluster_name)
        )
        return _encryption(cluster)

    def enable_encryption(self, key: dict, timeout: float | None = None) -> dict:
        """Full PUT of the cluster as read, with ``securityProfile.azureKeyVaultKms`` set and the
        read eTag as ``If-Match`` (PATCH only changes tags); waits up to ``timeout`` seconds (None:
        until it ends) for the long-running operation, following its ``Azure-AsyncOperation`` URL.
        ``key``: ``key_id``, optional ``key_vault_network_access`` (Public) and ``key_vault_resource_id``.
        Nothing is put when the cluster has these settings already, or is busy with another
        operation (``busy`` in the answer: wait for it). Switching Public/Private needs KMS
        disabled first (:meth:`disable_encryption`)."""
        if problems := check_encryption_key(key):
            raise CloudError.refusing(problems)
        wanted = {
            "enabled": True,
            "key_id": key["key_id"],
            "key_vault_network_access": key.get("key_vault_network_access") or "Public",
            "key_vault_resource_id": key.get("key_vault_resource_id") or None,
        }
        return self._put_kms(wanted, "enable KMS encryption on", timeout)

    def disable_encryption(self, timeout: float | None = None) -> dict:
        """PUT ``azureKeyVaultKms.enabled: false`` (the key settings are kept, as ``az aks update
        --disable-azure-keyvault-kms`` does) and wait as :meth:`enable_encryption` does."""
        current = self.encryption_status()["settings"]
        wanted = {**current, "enabled": False}
        return self._put_kms(wanted, "disable KMS encryption on", timeout)

    def encryption_state(self, operation: str | None = None) -> dict:
        """Secret encryption in the shape every cloud kind answers (``providers.dynamic.cloud_encryption``):
        ``azureKeyVaultKms`` while ``provisioningState`` is ``Succeeded``; ``enabling``/``disabling``
        (busy) while an operation runs, ``failed`` when it ended ``Failed`` or ``Canceled``."""
        cluster = self._call(
            "look up", lambda client: client.managed_clusters.get(self.resource_group, self.cluster_name)
        )
        return _encryption_state(cluster, operation)

    def _put_kms(self, wanted: dict, what: str, timeout: float | None) -> dict:
        operation: dict = {}

        def start(client: ContainerServiceClient):
            """GET, then PUT unless there is nothing to do; each retry reads the cluster again, so a
            PUT that went through before a transient failure is not put twice."""
            cluster = client.managed_clusters.get(self.resource_group, self.cluster_name)
            provisioning = _text(cluster.provisioning_state)
            current = _kms(cluster) or {"enabled": False}
            if provisioning not in _TERMINAL or _same_kms(current, wanted):
                return None
            profile = cluster.security_profile or ManagedClusterSecurityProfile()
            profile.azure_key_vault_kms = AzureKeyVaultKms(
                enabled=wanted["enabled"],
                key_id=wanted.get("key_id"),
                key_vault_network_access=wanted.get("key_vault_network_access") or "Public",
                key_vault_resource_id=wanted.get("key_vault_resource_id"),
            )
            cluster.security_profile = profile
            condition = {}
            if cluster.e_tag:
                condition = {"etag": cluster.e_tag, "match_condition": MatchConditions.IfNotModified}
            return client.managed_clusters.begin_create_or_update(
                self.resource_group,
                self.cluster_name,
                cluster,
                raw_response_hook=lambda response: _note_operation(response, operation),
                **condition,
            )

        client = self._client()
        try:
            poller = with_retries(lambda: start(client), retryable=_retryable)
            error = ""
            if poller is not None:
                try:
                    poller.wait(timeout)  # the SDK polls the Azure-AsyncOperation URL, honouring Retry-After
                except HttpResponseError as exc:  # the operation ended Failed or Canceled
                    error = _summary(exc)
            cluster = with_retries(
                lambda: client.managed_clusters.get(self.resource_group, self.cluster_name), retryable=_retryable
            )
        except AzureError as exc:
            raise self._error(what, exc) from exc
        state = _encryption_state(cluster, operation.get("id"))
        return {
            **_encryption(cluster),
            "called": poller is not None,
            "operation": operation.get("id"),
            "busy": state["busy"],
            "error": error,
        }

    # --- SDK plumbing ---------------------------------------------------------------------------

    def _client(self) -> ContainerServiceClient:
        """The shared client for this endpoint and subscription."""
        options: dict = {"retry_total": 0}
        if self.endpoint:
            base_url = self.endpoint.rstrip("/")
            options.update(base_url=base_url, credential_scopes=[f"{base_url}/.default"])
        return sdk_clients.client(
            KIND,
            ("client", self.endpoint, self.subscription_id),
            _ENVIRONMENT,
            lambda: ContainerServiceClient(self._credential(), self.subscription_id, session=_session(), **options),
        )

    def _credential(self) -> DefaultAzureCredential:
        """The shared credential for this endpoint's cloud."""
        options = {"disable_instance_discovery": True} if self.endpoint else {}
        return sdk_clients.client(
            KIND,
            ("credential", self.endpoint),
            _ENVIRONMENT,
            lambda: DefaultAzureCredential(session=_session(), **options),
        )

    def _call(self, operation: str, call: Callable[[ContainerServiceClient], T]) -> T:
        """``call`` with retries, on the shared client."""
        try:
            client = self._client()
            return with_retries(lambda: call(client), retryable=_retryable)
        except AzureError as exc:
            raise self._error(operation, exc) from exc

    @property
    def _where(self) -> str:
        return f"resource group {self.resource_group} (subscription {self.subscription_id})"

    def _error(self, operation: str, exc: AzureError) -> CloudError:
        """Map by HTTP status and ARM error code (the family), never by message text."""
        status = getattr(exc, "status_code", None)
        error = getattr(exc, "error", None)
        code = getattr(error, "code", None) or ""
        detail = f"{code}: {error.message}" if error is not None and error.message else _summary(exc)
        cluster = f"AKS cluster {self.cluster_name} in {self._where}"
        if isinstance(exc, ClientAuthenticationError):
            if code == "ExpiredAuthenticationToken":
                return CloudError(
                    "expired", f"Azure says the access token has expired ({detail}); {_CREDENTIAL_HINT} again"
                )
            return CloudError("unauthorized", f"Azure rejected the credential ({detail}): {_CREDENTIAL_HINT}")
        if status == 404:
            return not_found(KIND, self.cluster_name, self._where)
        if status == 403:
            return CloudError(
                "forbidden",
                f"the Azure identity may not {operation} {cluster} ({detail}): grant it "
                "'Azure Kubernetes Service Cluster Admin Role' on the cluster",
            )
        if status == 429:
            return CloudError(
                "throttled", f"Azure kept throttling the requests to {operation} {cluster} ({detail}); retry later"
            )
        if status == 409:
            return CloudError(
                "unavailable",
                f"Azure refused to {operation} {cluster} while another operation runs "
                f"({detail}); retry when it has finished",
            )
        if status == 412:
            return CloudError("invalid", f"{cluster} changed while fleetform was updating it ({detail}); run again")
        if status is not None and 400 <= status < 500:
            return CloudError("invalid", f"Azure refused to {operation} {cluster}: {detail}")
        return CloudError(
            "unavailable", f"Azure Resource Manager could not {operation} {cluster} ({detail}); retry later"
        )


def _session() -> requests.Session:
    """A session for the requests transport of a client or credential (its ``session`` keyword), as
    azure-core sets one up (urllib3's retries off), with the larger pool of :func:`.sdk_clients.widen_pool`."""
    return sdk_clients.widen_pool(
        requests.Session(), max_retries=Retry(total=False, redirect=False, raise_on_status=False)
    )


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        return True
    return isinstance(exc, HttpResponseError) and exc.status_code in RETRYABLE_STATUS


def _text(value) -> str:
    """SDK enums are str enums; plain strings arrive for values the SDK does not know."""
    return str(getattr(value, "value", value) or "")


def _summary(exc: Exception) -> str:
    """One line of an SDK message: the Entra error (``AADSTS...``) when the credential chain
    reports one among its attempts, else the first line."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()] or [type(exc).__name__]
    return next((line for line in lines if "AADSTS" in line), lines[0])


def _kms(cluster: ManagedCluster) -> dict | None:
    kms = cluster.security_profile.azure_key_vault_kms if cluster.security_profile else None
    if kms is None:
        return None
    return {
        "enabled": bool(kms.enabled),
        "key_id": kms.key_id,
        "key_vault_network_access": _text(kms.key_vault_network_access) or None,
        "key_vault_resource_id": kms.key_vault_resource_id,
    }


_TERMINAL = ("Succeeded", "Failed", "Canceled")


def _same_kms(current: dict, wanted: dict) -> bool:
    if not wanted["enabled"]:
        return not current.get("enabled")
    keys = ("enabled", "key_id", "key_vault_network_access", "key_vault_resource_id")
    normal = {**current, "key_vault_network_access": current.get("key_vault_network_access") or "Public"}
    return all((normal.get(k) or None) == (wanted.get(k) or None) for k in keys)


def _note_operation(response, operation: dict) -> None:
    """Keep the operation id (the last segment of the ``Azure-AsyncOperation`` URL) of a PUT's answer."""
    url = response.http_response.headers.get("Azure-AsyncOperation") or ""
    if url and "id" not in operation:
        operation["id"] = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def _encryption_state(cluster: ManagedCluster, operation: str | None) -> dict:
    kms = _kms(cluster) or {"enabled": False}
    provisioning = _text(cluster.provisioning_state)
    enabled = bool(kms.get("enabled"))
    if provisioning == "Succeeded":
        state, busy = ("enabled" if enabled else "disabled"), False
    elif provisioning in ("Failed", "Canceled"):
        state, busy = "failed", False
    else:
        state, busy = ("enabling" if enabled else "disabling"), True
    key = None
    if state == "enabled":
        key = {
            "key_id": kms.get("key_id"),
            "key_vault_network_access": kms.get("key_vault_network_access") or "Public",
            "key_vault_resource_id": kms.get("key_vault_resource_id"),
        }
    return {
        "state": state,
        "key": key,
        "key_reported": True,
        "busy": busy,
        "operation": operation,
        "reason": f"provisioningState {provisioning}; azureKeyVaultKms.enabled={str(enabled).lower()}",
    }


def _encryption(cluster: ManagedCluster) -> dict:
    kms = _kms(cluster) or {"enabled": False, "key_id": None}
    return {
        "enabled": kms["enabled"],
        "key": kms["key_id"],
        "settings": kms,
        "provisioning_state": _text(cluster.provisioning_state),
    }


# --- kind rules -----------------------------------------------------------------------------------


def check(description: ClusterDescription, name: str) -> list[Problem]:
    """V12. The rule holds only when the user supplies no ``bootstrap_kubeconfig``; the caller
    knows whether they did, this function does not."""
    if description.flags.get("disable_local_accounts"):
        return [
            Problem(
                ErrorCode.KIND_LOCAL_ACCOUNTS_DISABLED,
                f"AKS cluster '{name}' disables local accounts; supply bootstrap_kubeconfig "
                "with an Entra identity that is cluster-admin",
            )
        ]
    return []


def check_encryption_key(key: dict) -> list[Problem]:
    """V39: ``key_id`` is a versioned Key Vault key URI; ``Private`` needs ``key_vault_resource_id``."""
    problems = []
    key_id = key.get("key_id") or ""
    if not _VERSIONED_KEY.match(key_id):
        problems.append(
            f"key_id '{key_id}' is not a versioned Key Vault key URI "
            "(https://<vault>.vault.azure.net/keys/<name>/<version>)"
        )
    access = key.get("key_vault_network_access") or "Public"
    if access not in ("Public", "Private"):
        problems.append(f"key_vault_network_access must be Public or Private, not '{access}'")
    elif access == "Private" and not key.get("key_vault_resource_id"):
        problems.append("key_vault_network_access Private needs key_vault_resource_id")
    return [Problem(ErrorCode.ENC_AKS_KMS_SETTINGS, f"AKS KMS settings invalid: {problem}") for problem in problems]


def source(identity: dict, endpoint: str | None = None) -> AksSource:
    return AksSource(
        identity["subscription_id"], identity["resource_group"], identity["cluster_name"], endpoint or None
    )
