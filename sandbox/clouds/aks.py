"""Azure AKS control plane on loopback: ARM ``managedClusters`` plus a Microsoft Entra token endpoint.

One HTTPS server answers both, so ``azure-identity`` and ``azure-mgmt-containerservice`` talk to it
unchanged. How the SDKs are pointed at it (all in :meth:`AksEmulator.environment`):

* TLS. Azure's bearer-token policy refuses plain HTTP and MSAL accepts only https authorities, so
  the server presents a certificate for 127.0.0.1 signed by the emulator's own CA (kept in the data
  directory). ``REQUESTS_CA_BUNDLE`` names a bundle of that CA plus certifi's public roots; the
  ``requests`` transport under azure-core (which MSAL also uses here) honours it.
* Entra. ``AZURE_AUTHORITY_HOST`` sends azure-identity to ``/{tenant}/v2.0/.well-known/
  openid-configuration`` and ``/{tenant}/oauth2/v2.0/token`` (client-credentials grant for the
  emulator's service principal: ``AZURE_TENANT_ID``/``AZURE_CLIENT_ID``/``AZURE_CLIENT_SECRET``).
  Clients must turn MSAL's instance discovery off: it asks login.microsoftonline.com whether the
  authority is a known cloud. Tokens are opaque, valid for an hour and bound to the audience of the
  requested scope; ARM answers ``InvalidAuthenticationTokenAudience`` unless the scope was
  ``<endpoint>/.default``.
* ARM (``api-version`` required, any value accepted): GET a managed cluster; POST
  ``listClusterAdminCredential`` / ``listClusterUserCredential`` (base64 kubeconfigs); PUT a managed
  cluster to change ``securityProfile.azureKeyVaultKms`` and ``tags``, honouring ``If-Match``, as an
  ARM long-running operation (``Azure-AsyncOperation`` status URL, ``Retry-After``) that finishes
  ``operation_seconds`` later and once its status URL has answered ``InProgress``
  ``operation_polls`` times (the resource shows ``provisioningState: Updating`` and the new
  settings meanwhile; :meth:`AksEmulator.fail_next_operation` makes the next one end ``Failed``). A
  PUT while an operation runs is 409 ``OperationNotAllowed``; switching ``keyVaultNetworkAccess``
  between Public and Private on an enabled KMS is refused (400), because AKS needs KMS disabled
  first (the error code is the emulator's choice). Errors use ARM's envelope
  ``{"error": {"code", "message"}}``. :meth:`AksEmulator.set_kms` changes the KMS settings as
  someone else would (portal, az CLI), and :attr:`AksEmulator.calls` counts ARM calls by name.

Every cluster is backed by a virtual cluster ``aks-<name>`` of the Kubernetes emulator (see
:func:`~sandbox.clouds.emulator.backing_name`; clusters of the same name in different resource
groups share it). The admin kubeconfig carries a client
certificate (CN ``masterclient``, O ``system:masters``) from that cluster's CA, so it really opens
it. With local accounts disabled the admin credential is refused (400) and the user kubeconfig has a
``kubelogin`` exec user, as on AKS with Entra integration.

Not emulated: creating, deleting, starting or stopping clusters through ARM (use
:meth:`AksEmulator.add_cluster`), Key Vault (any versioned key URI is usable; the identity's key
permissions are not checked), list operations, agent pools, ``server-fqdn`` and ``format``,
Entra tokens accepted by the backing clusters (kubelogin), managed/workload identity and Azure CLI
credentials, ARM RBAC (``AuthorizationFailed``), resource-provider registration. Issued tokens are
kept in memory only: after a restart clients must fetch new ones (azure-identity does, per client).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import ssl
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Self
from urllib.parse import parse_qs

import certifi
import yaml

from ..kubeapi import KubeApiEmulator, VirtualCluster
from ..kubeapi.pki import ClusterPki
from .emulator import CloudEmulator
from .faults import status_error_code
from .loopback import Request, Response

_PROVIDER = "/providers/Microsoft.ContainerService"
_CLUSTER = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    + _PROVIDER
    + r"/managedClusters/(?P<name>[^/]+)(?:/(?P<action>listClusterAdminCredential|listClusterUserCredential))?$",
    re.IGNORECASE,
)
_OPERATION = re.compile(
    r"^/subscriptions/[^/]+" + _PROVIDER + r"/locations/[^/]+/operations/(?P<op>[^/]+)$", re.IGNORECASE
)
_OIDC = re.compile(r"^/(?P<tenant>[^/]+)/v2\.0/\.well-known/openid-configuration$")
_TOKEN = re.compile(r"^/(?P<tenant>[^/]+)/oauth2/v2\.0/token$")
_KEY_ID = re.compile(r"^https://[^/]+/keys/[^/]+/[^/]+$")
_TOKEN_SECONDS = 3600
# The first-party Entra application of the AKS API server, and the Azure CLI's client id, as they
# appear in the kubelogin exec user of Entra-integrated clusters.
_AKS_SERVER_APP = "6dae42f8-4368-4678-94ff-3960e28e3630"
_AZURE_CLI_APP = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"


def _arm_error(status: int, code: str, message: str, headers: dict | None = None) -> Response:
    return Response.json(status, {"error": {"code": code, "message": message, "details": []}}, headers)


def _entra_error(status: int, error: str, aadsts: int, description: str) -> Response:
    return Response.json(
        status, {"error": error, "error_description": f"AADSTS{aadsts}: {description}", "error_codes": [aadsts]}
    )


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _key(subscription_id: str, resource_group: str, cluster_name: str) -> str:
    """ARM names are case-insensitive."""
    return f"{subscription_id}/{resource_group}/{cluster_name}".lower()


# --- the emulator -------------------------------------------------------------------------------


class AksEmulator(CloudEmulator):
    """AKS's ARM API and an Entra token endpoint over HTTPS on 127.0.0.1 (see the module docstring).

    ``data_dir`` keeps the port, CA, service principal and clusters in ``aks.json`` (and the CA
    bundle in ``ca-bundle.pem``), so a new emulator on the same directory answers at the same
    endpoint with the same credentials. ``operation_seconds``: how long a PUT stays ``Updating``.
    The :attr:`endpoint` is also the Entra authority host.
    """

    kind = "aks"
    keep_alive = True

    def __init__(
        self,
        kube: KubeApiEmulator,
        data_dir: Path | None = None,
        *,
        operation_seconds: float = 0.2,
        operation_polls: int = 0,
    ):
        super().__init__(kube, data_dir)
        self.operation_seconds = operation_seconds
        self.operation_polls = operation_polls  # InProgress answers of the status URL before an operation can end
        self.calls: Counter[str] = Counter()  # ARM calls answered: GET, PUT, operation status, credentials
        self._failing_operations: list[str] = []
        self._tokens: dict[str, dict] = {}
        self._state = self._load() or self._new_state()
        self._pki = ClusterPki(**self._state["pki"])
        self._ca_bundle: Path | None = None  # written when it starts: an emulator only built leaves no file
        self._save()

    # --- lifecycle ------------------------------------------------------------------------------

    @property
    def ca_pem(self) -> str:
        return self._pki.ca_cert

    def start(self) -> Self:
        if self._ca_bundle is None:
            self._ca_bundle = self._write_ca_bundle()
        super().start()
        return self

    def stop(self) -> None:
        super().stop()
        if self.data_dir is None and self._ca_bundle is not None:
            self._ca_bundle.unlink(missing_ok=True)
            self._ca_bundle = None

    def _tls(self) -> ssl.SSLContext:
        return self._pki.server_context()

    def environment(self) -> dict[str, str]:
        """Environment for DefaultAzureCredential (its EnvironmentCredential) and the requests
        transport to use this emulator."""
        return {
            "AZURE_TENANT_ID": self._state["tenant_id"],
            "AZURE_CLIENT_ID": self._state["client_id"],
            "AZURE_CLIENT_SECRET": self._state["client_secret"],
            "AZURE_AUTHORITY_HOST": self.endpoint,
            "REQUESTS_CA_BUNDLE": str(self._ca_bundle),
        }

    # --- clusters -------------------------------------------------------------------------------

    def add_cluster(
        self,
        subscription_id: str,
        resource_group: str,
        cluster_name: str,
        *,
        version: str = "1.29.4",
        state: str = "Succeeded",
        power_state: str = "Running",
        location: str = "eastus",
        disable_local_accounts: bool = False,
        azure_key_vault_kms: dict | None = None,
        sku_tier: str = "Free",
    ) -> dict:
        """Add (or replace) a managed cluster; ``state`` is its ``provisioningState``,
        ``azure_key_vault_kms`` is in ARM's spelling (``{"enabled", "keyId", ...}``). Creates the
        backing virtual cluster running ``version``. Returns the resource as ARM's GET does."""
        self._backing_cluster(
            cluster_name,
            version,
            {
                "subscription_id": subscription_id,
                "resource_group": resource_group,
                "cluster_name": cluster_name,
                "location": location,
            },
        )
        record = {
            "subscription_id": subscription_id,
            "resource_group": resource_group,
            "cluster_name": cluster_name,
            "location": location,
            "version": version,
            "provisioning_state": state,
            "power_state": power_state,
            "disable_local_accounts": disable_local_accounts,
            "kms": azure_key_vault_kms,
            "sku_tier": sku_tier,
            "tags": {},
            "etag": str(uuid.uuid4()),
            "operation": None,
        }
        with self._lock:
            self._state["clusters"][_key(subscription_id, resource_group, cluster_name)] = record
            groups = set(self._state["resource_groups"]) | {_key(subscription_id, resource_group, "")}
            self._state["resource_groups"] = sorted(groups)
            self._save()
            return self._resource(record)

    def remove_cluster(self, subscription_id: str, resource_group: str, cluster_name: str) -> None:
        """Forget the cluster (its resource group stays); drop the backing virtual cluster unless
        another managed cluster shares it."""
        with self._lock:
            name = self._state["clusters"].pop(_key(subscription_id, resource_group, cluster_name))["cluster_name"]
            self._save()
            shared = any(r["cluster_name"] == name for r in self._state["clusters"].values())
        if not shared:
            self._remove_backing(name)

    def set_kms(self, subscription_id: str, resource_group: str, cluster_name: str, kms: dict | None) -> None:
        """Set ``securityProfile.azureKeyVaultKms`` (ARM spelling; None removes it) at once, as
        someone using the portal or the az CLI would (drift for fleetform to find)."""
        with self._lock:
            record = self._state["clusters"][_key(subscription_id, resource_group, cluster_name)]
            record.update(kms=kms, etag=str(uuid.uuid4()))
            self._save()

    def fail_next_operation(self, message: str = "Key Vault key is not accessible.") -> None:
        """The next PUT is accepted but its operation ends ``Failed`` (``provisioningState: Failed``)."""
        with self._lock:
            self._failing_operations.append(message)

    def cluster(self, subscription_id: str, resource_group: str, cluster_name: str) -> dict:
        """The resource as ARM's GET returns it (KeyError when absent)."""
        with self._lock:
            record = self._state["clusters"][_key(subscription_id, resource_group, cluster_name)]
            self._settle(record)
            return self._resource(record)

    # --- fault knobs ----------------------------------------------------------------------------

    def throttle_next(self, count: int = 1) -> None:
        """The next ``count`` ARM requests get 429 ``TooManyRequests`` with ``Retry-After: 0``."""
        self._faults.add(count, ("throttle", 429))

    def fail_next(self, count: int = 1, code: int = 500) -> None:
        """The next ``count`` ARM requests fail with HTTP status ``code``."""
        self._faults.add(count, ("fail", code))

    def deny_next(self, count: int = 1) -> None:
        """The next ``count`` ARM requests get 401 ``InvalidAuthenticationToken``."""
        self._faults.add(count, ("deny", 401))

    # --- state ----------------------------------------------------------------------------------

    def _new_state(self) -> dict:
        return {
            "format": 1,
            "pki": ClusterPki.generate("aks-emulator").dump(),
            "tenant_id": str(uuid.uuid4()),
            "client_id": str(uuid.uuid4()),
            "client_secret": secrets.token_urlsafe(24),
            "resource_groups": [],
            "clusters": {},
            "operations": {},
        }

    def _snapshot(self) -> dict:
        return self._state

    def _write_ca_bundle(self) -> Path:
        """The emulator's CA after certifi's roots: REQUESTS_CA_BUNDLE replaces the default trust
        store, and real Azure endpoints must keep working in the same process."""
        bundle = Path(certifi.where()).read_text() + "\n" + self._pki.ca_cert
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path = self.data_dir / "ca-bundle.pem"
            path.write_text(bundle)
            return path
        fd, name = tempfile.mkstemp(prefix="aks-emulator-", suffix=".pem")
        with os.fdopen(fd, "w") as handle:
            handle.write(bundle)
        return Path(name)

    # --- request handling -----------------------------------------------------------------------

    def _handle(self, request: Request) -> Response:
        if match := _OIDC.match(request.path):
            return self._openid_configuration(match["tenant"])
        if (match := _TOKEN.match(request.path)) and request.method == "POST":
            return self._issue_token(match["tenant"], request.body)
        if "api-version" not in request.query:
            return _arm_error(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        if fault := self._faults.take():
            return self._fault(*fault)
        if denied := self._authenticate(request.header("authorization")):
            return denied
        with self._lock:
            if match := _CLUSTER.match(request.path):
                return self._cluster_request(request, match)
            if (match := _OPERATION.match(request.path)) and request.method == "GET":
                return self._operation_status(match["op"])
        return _arm_error(404, "NotFound", f"The AKS emulator does not serve {request.method} {request.path}.")

    def _fault(self, kind: str, status: int) -> Response:
        if kind == "throttle":
            return _arm_error(429, "TooManyRequests", "The request is being throttled.", {"Retry-After": "0"})
        if kind == "deny":
            return self._unauthorized("InvalidAuthenticationToken", "The access token is invalid.")
        return _arm_error(status, status_error_code(status), f"Injected fault: HTTP {status}.")

    # --- Entra ----------------------------------------------------------------------------------

    def _openid_configuration(self, tenant: str) -> Response:
        if tenant != self._state["tenant_id"]:
            return _entra_error(400, "invalid_tenant", 90002, f"Tenant '{tenant}' not found.")
        base = f"{self.endpoint}/{tenant}"
        return Response.json(
            200,
            {
                "issuer": f"{base}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": ["client_secret_post"],
                "response_types_supported": ["code", "id_token", "token"],
                "tenant_region_scope": "EM",
            },
        )

    def _issue_token(self, tenant: str, body: bytes) -> Response:
        form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
        scope = form.get("scope", "").split()
        if tenant != self._state["tenant_id"]:
            return _entra_error(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
        if form.get("grant_type") != "client_credentials":
            return _entra_error(400, "unsupported_grant_type", 70003, "The emulator supports client credentials only.")
        if form.get("client_id") != self._state["client_id"]:
            return _entra_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{form.get('client_id')}' was not found in the directory.",
            )
        if form.get("client_secret") != self._state["client_secret"]:
            return _entra_error(401, "invalid_client", 7000215, "Invalid client secret provided.")
        resources = [s[: -len("/.default")] for s in scope if s.endswith("/.default")]
        if len(resources) != 1:
            return _entra_error(
                400, "invalid_scope", 1002012, "Client credentials need exactly one '<resource>/.default' scope."
            )
        token = secrets.token_urlsafe(32)
        self._tokens[token] = {"aud": resources[0].rstrip("/"), "exp": time.time() + _TOKEN_SECONDS}
        return Response.json(
            200,
            {
                "token_type": "Bearer",
                "expires_in": _TOKEN_SECONDS - 1,
                "ext_expires_in": _TOKEN_SECONDS - 1,
                "access_token": token,
            },
        )

    def _authenticate(self, authorization: str) -> Response | None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return self._unauthorized(
                "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."
            )
        claims = self._tokens.get(token.strip())
        if claims is None:
            return self._unauthorized("InvalidAuthenticationToken", "The access token is invalid.")
        if claims["exp"] < time.time():
            return self._unauthorized("ExpiredAuthenticationToken", "The access token expiry has passed.")
        if claims["aud"] != self.endpoint:
            return self._unauthorized(
                "InvalidAuthenticationTokenAudience",
                f"The access token has been obtained for wrong audience or resource '{claims['aud']}'. "
                f"It should exactly match one of the allowed audiences '{self.endpoint}'.",
            )
        return None

    def _unauthorized(self, code: str, message: str) -> Response:
        challenge = (
            f'Bearer authorization_uri="{self.endpoint}/{self._state["tenant_id"]}", '
            f'error="invalid_token", error_description="{message}"'
        )
        return _arm_error(401, code, message, {"WWW-Authenticate": challenge})

    # --- ARM ------------------------------------------------------------------------------------

    def _cluster_request(self, request: Request, match: re.Match) -> Response:
        sub, rg, name = match["sub"], match["rg"], match["name"]
        action = (match["action"] or "").lower()
        record = self._state["clusters"].get(_key(sub, rg, name))
        if record is None:
            if request.method == "PUT":
                return _arm_error(400, "BadRequest", "The AKS emulator does not create clusters; use add_cluster.")
            return self._not_found(sub, rg, name)
        self._settle(record)
        self.calls[f"{request.method} {action or 'managedCluster'}"] += 1
        if (request.method, action) == ("GET", ""):
            return Response.json(200, self._resource(record))
        if (request.method, action) == ("PUT", ""):
            return self._update(request, record)
        if (request.method, action) == ("POST", "listclusteradmincredential"):
            return self._admin_credentials(record)
        if (request.method, action) == ("POST", "listclusterusercredential"):
            return self._user_credentials(record)
        return _arm_error(405, "MethodNotAllowed", f"{request.method} is not allowed on {request.path}.")

    def _not_found(self, sub: str, rg: str, name: str) -> Response:
        if _key(sub, rg, "") not in self._state["resource_groups"]:
            return _arm_error(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
        return _arm_error(
            404,
            "ResourceNotFound",
            f"The Resource 'Microsoft.ContainerService/managedClusters/{name}' "
            f"under resource group '{rg}' was not found.",
        )

    def _resource(self, record: dict) -> dict:
        sub, rg, name, location = (record[k] for k in ("subscription_id", "resource_group", "cluster_name", "location"))
        suffix = hashlib.sha256(_key(sub, rg, name).encode()).hexdigest()[:8]
        properties = {
            "provisioningState": record["provisioning_state"],
            "powerState": {"code": record["power_state"]},
            "kubernetesVersion": ".".join(record["version"].split(".")[:2]),
            "currentKubernetesVersion": record["version"],
            "dnsPrefix": f"{name}-dns",
            "fqdn": f"{name}-dns-{suffix}.hcp.{location}.azmk8s.io",
            "azurePortalFQDN": f"{name}-dns-{suffix}.portal.hcp.{location}.azmk8s.io",
            "enableRBAC": True,
            "supportPlan": "KubernetesOfficial",
            "nodeResourceGroup": f"MC_{rg}_{name}_{location}",
            "disableLocalAccounts": record["disable_local_accounts"],
            "securityProfile": {"azureKeyVaultKms": record["kms"]} if record["kms"] else {},
        }
        if record["disable_local_accounts"]:
            properties["aadProfile"] = {"managed": True, "enableAzureRBAC": True, "tenantID": self._state["tenant_id"]}
        return {
            "id": f"/subscriptions/{sub}/resourcegroups/{rg}{_PROVIDER}/managedClusters/{name}",
            "name": name,
            "type": "Microsoft.ContainerService/ManagedClusters",
            "location": location,
            "eTag": record["etag"],
            "tags": record["tags"],
            "sku": {"name": "Base", "tier": record["sku_tier"]},
            "identity": {"type": "SystemAssigned"},
            "properties": properties,
        }

    def _update(self, request: Request, record: dict) -> Response:
        """A full PUT of an existing cluster: KMS settings and tags change, the rest is kept."""
        if_match = request.header("if-match")
        if if_match and if_match not in ("*", record["etag"], f'"{record["etag"]}"'):
            return _arm_error(
                412,
                "PreconditionFailed",
                f"The eTag '{if_match}' does not match the resource's current eTag '{record['etag']}'.",
            )
        if record["operation"] is not None:
            return _arm_error(
                409,
                "OperationNotAllowed",
                "Operation is not allowed because there's an in progress "
                "update managed cluster operation on the cluster.",
            )
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return _arm_error(400, "InvalidRequestContent", "The request content is not valid JSON.")
        kms = ((body.get("properties") or {}).get("securityProfile") or {}).get("azureKeyVaultKms")
        if problem := _kms_problem(kms):
            return _arm_error(400, "InvalidParameter", problem)
        current = record["kms"] or {}
        if (
            current.get("enabled")
            and kms
            and kms.get("enabled")
            and (current.get("keyVaultNetworkAccess") or "Public") != (kms.get("keyVaultNetworkAccess") or "Public")
        ):
            return _arm_error(
                400,
                "BadRequest",
                "Changing keyVaultNetworkAccess of an enabled azureKeyVaultKms is not supported; disable KMS first.",
            )
        operation = str(uuid.uuid4())
        record.update(
            kms=kms,
            tags=body.get("tags") or {},
            provisioning_state="Updating",
            etag=str(uuid.uuid4()),
            operation=operation,
        )
        self._state["operations"][operation] = {
            "cluster": _key(record["subscription_id"], record["resource_group"], record["cluster_name"]),
            "startTime": _now(),
            "done_at": time.time() + self.operation_seconds,
            "status": "InProgress",
            "polls": 0,
            "fails_with": self._failing_operations.pop(0) if self._failing_operations else None,
        }
        self._save()
        status_url = (
            f"{self.endpoint}/subscriptions/{record['subscription_id']}{_PROVIDER}/locations/"
            f"{record['location']}/operations/{operation}?api-version={request.query['api-version']}"
        )
        return Response.json(200, self._resource(record), {"Azure-AsyncOperation": status_url, "Retry-After": "1"})

    def _settle(self, record: dict) -> None:
        """Finish the cluster's operation once its time is up (operations advance when observed)."""
        operation = self._state["operations"].get(record["operation"] or "")
        if operation is None or time.time() < operation["done_at"] or operation.get("polls", 0) < self.operation_polls:
            return
        if operation.get("fails_with"):
            operation.update(
                status="Failed",
                endTime=_now(),
                error={"code": "KMSKeyNotAccessible", "message": operation["fails_with"]},
            )
            record.update(provisioning_state="Failed", operation=None)
        else:
            operation.update(status="Succeeded", endTime=_now())
            record.update(provisioning_state="Succeeded", operation=None)
        self._save()

    def _operation_status(self, operation_id: str) -> Response:
        operation = self._state["operations"].get(operation_id)
        if operation is None:
            return _arm_error(404, "NotFound", f"Operation '{operation_id}' was not found.")
        self.calls["GET operation"] += 1
        record = self._state["clusters"].get(operation["cluster"])
        if record is not None:
            self._settle(record)
        if operation["status"] == "InProgress":
            operation["polls"] = operation.get("polls", 0) + 1
        body = {"name": operation_id, "status": operation["status"], "startTime": operation["startTime"]}
        if "endTime" in operation:
            body["endTime"] = operation["endTime"]
        if "error" in operation:
            body["error"] = operation["error"]
        headers = {"Retry-After": "1"} if operation["status"] == "InProgress" else {}
        return Response.json(200, body, headers)

    # --- credentials ----------------------------------------------------------------------------

    def _backing(self, record: dict) -> VirtualCluster:
        placement = {k: record[k] for k in ("subscription_id", "resource_group", "cluster_name", "location")}
        return self._backing_cluster(record["cluster_name"], record["version"], placement)

    def _admin_credentials(self, record: dict) -> Response:
        if record["disable_local_accounts"]:
            return _arm_error(
                400,
                "BadRequest",
                "Getting static credential is not allowed because this cluster is set to disable local accounts.",
            )
        cluster = self._backing(record)
        cert, key = cluster.client_certificate("masterclient", ("system:masters",))
        user = {"client-certificate-data": _b64(cert), "client-key-data": _b64(key)}
        return _credential_results("clusterAdmin", _kubeconfig(cluster, record, "clusterAdmin", user))

    def _user_credentials(self, record: dict) -> Response:
        cluster = self._backing(record)
        if record["disable_local_accounts"]:
            user = {
                "exec": {
                    "apiVersion": "client.authentication.k8s.io/v1beta1",
                    "command": "kubelogin",
                    "args": [
                        "get-token",
                        "--environment",
                        "AzurePublicCloud",
                        "--server-id",
                        _AKS_SERVER_APP,
                        "--client-id",
                        _AZURE_CLI_APP,
                        "--tenant-id",
                        self._state["tenant_id"],
                        "--login",
                        "devicecode",
                    ],
                    "interactiveMode": "IfAvailable",
                    "provideClusterInfo": False,
                }
            }
        else:
            cert, key = cluster.client_certificate("clusterUser", ("system:masters",))
            user = {"client-certificate-data": _b64(cert), "client-key-data": _b64(key)}
        return _credential_results("clusterUser", _kubeconfig(cluster, record, "clusterUser", user))


def _kms_problem(kms: dict | None) -> str | None:
    """Why ARM would refuse these azureKeyVaultKms settings, or None."""
    if not kms or not kms.get("enabled"):
        return None
    if not _KEY_ID.match(kms.get("keyId") or ""):
        return "securityProfile.azureKeyVaultKms.keyId must be a versioned Key Vault key URI."
    access = kms.get("keyVaultNetworkAccess") or "Public"
    if access not in ("Public", "Private"):
        return "securityProfile.azureKeyVaultKms.keyVaultNetworkAccess must be Public or Private."
    if access == "Private" and not kms.get("keyVaultResourceId"):
        return "securityProfile.azureKeyVaultKms.keyVaultResourceId is required when keyVaultNetworkAccess is Private."
    return None


def _kubeconfig(cluster: VirtualCluster, record: dict, role: str, user: dict) -> dict:
    name = record["cluster_name"]
    user_name = f"{role}_{record['resource_group']}_{name}"
    context = f"{name}-admin" if role == "clusterAdmin" else name
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [
            {"name": name, "cluster": {"server": cluster.url, "certificate-authority-data": _b64(cluster.ca_pem)}}
        ],
        "users": [{"name": user_name, "user": user}],
        "contexts": [{"name": context, "context": {"cluster": name, "user": user_name}}],
        "current-context": context,
    }


def _credential_results(name: str, kubeconfig: dict) -> Response:
    value = base64.b64encode(yaml.safe_dump(kubeconfig, sort_keys=False).encode()).decode()
    return Response.json(200, {"kubeconfigs": [{"name": name, "value": value}]})


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
