"""Kind ``ctyun``: CTyun CCSE (容器云服务引擎) clusters, through a small client of its OpenAPI.

There is no CCSE SDK, so :class:`CcseClient` signs GET requests itself (EOP AK/SK, see
:mod:`providers.clouds.ctyun_signing`) and unwraps the ``{statusCode, message, error, returnObj}``
envelope. Credentials come from the environment: ``CTYUN_AK`` and ``CTYUN_SK``, the names CTyun's
own Terraform provider reads. The resource pool goes in the unsigned ``regionId`` header.

Identity (DOMAIN §2.3): ``region_id`` (resource-pool id), ``cluster_id``, and ``public`` (bool,
default False) for ``endpoint_preference=public``. CCSE has no encryption API (V34).

A client per resource pool and endpoint is shared by the process (:mod:`.sdk_clients`), for the
AccessKey pair it was made with.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import quote

from providers.clouds import base, sdk_clients
from providers.clouds.base import (
    CloudError,
    ClusterDescription,
    kubeconfig_context,
    no_public_endpoint,
    not_found,
    with_retries,
)
from providers.clouds.ctyun_signing import canonical_query, signed_headers
from providers.errors import ErrorCode, Problem

KIND = "ctyun"
BASE_URL = "https://ccse-global.ctapi.ctyun.cn"
ENV_ACCESS_KEY = "CTYUN_AK"
ENV_SECRET_KEY = "CTYUN_SK"
_ENVIRONMENT = (ENV_ACCESS_KEY, ENV_SECRET_KEY)
ATTEMPTS = 5
TIMEOUT = 30.0

SUCCESS = "800"
RUNNING = 1
GONE = (4, 18)  # unsubscribed, unsubscribing: the Terraform provider treats both as deleted
BIZ_STATES = {
    1: "running",
    2: "stopped",
    3: "deregistered",
    4: "unsubscribed",
    5: "scaling out",
    6: "provisioning",
    7: "cancelled",
    9: "restarting",
    10: "resetting nodes",
    11: "upgrading",
    13: "scaling in",
    14: "expired or frozen",
    15: "changing node flavour",
    17: "create failed",
    18: "unsubscribing",
    19: "resizing control plane",
    20: "hibernating",
    21: "waking",
    22: "changing billing mode",
}
SERIES_BY_TYPE = {0: "cce.standard", 2: "cce.managed", 4: "cce.icce"}
RETRYABLE_STATUS = (0, *base.RETRYABLE_STATUS)  # 0: no HTTP answer at all

ENCRYPTION_UNSUPPORTED = (
    "etcd/Secret encryption is not supported for kind ctyun: CTyun CCE offers no KMS or "
    "secret-encryption API and its control-plane hosts are not reachable. Remove EtcdEncryption '{resource}' "
    "or set enabled=false"
)


class CcseApiError(Exception):
    """A CCSE call failed: HTTP ``status`` (0 when no answer arrived), envelope ``code`` and ``message``."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class CcseClient:
    """Signed GET requests to the CCSE OpenAPI; returns the envelope's ``returnObj``."""

    def __init__(self, base_url: str, access_key: str, secret_key: str, region_id: str, timeout: float = TIMEOUT):
        self.base_url = base_url.rstrip("/")
        self.access_key = access_key
        self.secret_key = secret_key
        self.region_id = region_id
        self.timeout = timeout

    def get(self, path: str, params: dict | None = None) -> dict:
        query = canonical_query(params)
        headers = signed_headers(self.access_key, self.secret_key, query)
        headers["regionId"] = self.region_id
        url = self.base_url + path + (f"?{query}" if query else "")
        request = urllib.request.Request(url, headers=headers, method="GET")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return _unwrap(response.status, response.read())
        except urllib.error.HTTPError as exc:  # CCSE answers its errors with HTTP 400 and an envelope
            return _unwrap(exc.code, exc.read())
        except OSError as exc:  # URLError, refused connections, timeouts
            raise CcseApiError(0, "NetworkError", str(getattr(exc, "reason", exc))) from exc


def _unwrap(status: int, raw: bytes) -> dict:
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise CcseApiError(status, f"HTTP{status}", raw[:200].decode(errors="replace"))
    if status < 300 and str(body.get("statusCode")) == SUCCESS:
        return body.get("returnObj") or {}
    raise CcseApiError(status, str(body.get("error") or body.get("statusCode")), str(body.get("message") or ""))


# --- the cluster source -----------------------------------------------------------------------------


def source(identity: dict, endpoint: str | None = None) -> CtyunSource:
    return CtyunSource(
        region_id=identity["region_id"],
        cluster_id=identity["cluster_id"],
        public=bool(identity.get("public", False)),
        endpoint=endpoint,
    )


@dataclass(frozen=True)
class CtyunSource:
    """One CCSE cluster. Holds identifiers only (picklable); its client is shared through :mod:`.sdk_clients`."""

    region_id: str
    cluster_id: str
    public: bool = False
    endpoint: str | None = None

    def describe(self) -> ClusterDescription:
        client = self._client()
        detail = self._detail(client)
        biz_state = int(detail.get("bizState") or 0)
        host = _public_host(detail) if self.public else _private_host(detail)
        # The detail carries no CA; it arrives with the kubeconfig, fetched only when one can be issued.
        ca_data = (
            kubeconfig_context(self._kubeconfig(client), "CTyun kubeconfig").ca_data
            if biz_state == RUNNING and host
            else ""
        )
        return ClusterDescription(
            kind=KIND,
            native_id=self.cluster_id,
            region=self.region_id,
            state=BIZ_STATES.get(biz_state, f"bizState {biz_state}"),
            running=biz_state == RUNNING,
            kubernetes_version=str(detail.get("clusterVersion") or ""),
            endpoint=_url(host, detail.get("securePort")),
            ca_data=ca_data,
            flags=_flags(detail, self.public),
        )

    def credentials(self) -> str:
        client = self._client()
        detail = self._detail(client)
        if self.public and not _public_host(detail):
            raise CloudError("invalid", no_public_endpoint(self.cluster_id))
        return self._kubeconfig(client)

    def encryption_status(self) -> dict:
        """Always refused (V34); the message names the cluster id where the EtcdEncryption name belongs."""
        problem = encryption_unsupported(self.cluster_id)
        raise CloudError("invalid", problem.message, problem.code)

    def enable_encryption(self, key: dict) -> dict:
        """Always refused (V34). ``key["resource"]``, when given, names the EtcdEncryption in the message."""
        problem = encryption_unsupported(key.get("resource") or self.cluster_id)
        raise CloudError("invalid", problem.message, problem.code)

    # --- calls ------------------------------------------------------------------------------------

    def _client(self) -> CcseClient:
        """The shared client for this resource pool and endpoint."""
        return sdk_clients.client(KIND, (self.region_id, self.endpoint), _ENVIRONMENT, self._new_client)

    def _new_client(self) -> CcseClient:
        access_key, secret_key = os.environ.get(ENV_ACCESS_KEY, ""), os.environ.get(ENV_SECRET_KEY, "")
        if not access_key or not secret_key:
            raise CloudError(
                "unauthorized",
                f"no CTyun credentials: set {ENV_ACCESS_KEY} and {ENV_SECRET_KEY} to an "
                f"AccessKey pair of the account that owns cluster {self.cluster_id}",
            )
        return CcseClient(self.endpoint or BASE_URL, access_key, secret_key, self.region_id)

    def _detail(self, client: CcseClient) -> dict:
        detail = self._call(lambda: client.get(f"/v2/cce/clusters/{quote(self.cluster_id, safe='')}"))
        if int(detail.get("bizState") or 0) in GONE:
            raise self._not_found()
        return detail

    def _kubeconfig(self, client: CcseClient) -> str:
        path = f"/v2/cce/clusters/{quote(self.cluster_id, safe='')}/certificate/kubeconfig"
        answer = self._call(lambda: client.get(path, {"isPublic": self.public}))
        if not answer.get("kubeConfig"):
            raise CloudError("unavailable", f"CTyun returned no kubeconfig for cluster {self.cluster_id}; retry later")
        return answer["kubeConfig"]

    def _call(self, request):
        try:
            return with_retries(
                request,
                attempts=ATTEMPTS,
                retryable=lambda exc: isinstance(exc, CcseApiError) and exc.status in RETRYABLE_STATUS,
            )
        except CcseApiError as exc:
            raise self._error(exc) from exc

    # --- error mapping ----------------------------------------------------------------------------

    def _not_found(self) -> CloudError:
        return not_found(KIND, self.cluster_id, self.region_id)

    def _error(self, exc: CcseApiError) -> CloudError:
        """CCSE has no documented error codes beyond IAM ``CTIAM_*``: map by HTTP status first, then
        by the code family, and detect not-found by the message (as the Terraform provider does)."""
        detail = f"{exc.code}: {exc.message}"
        api = self.endpoint or BASE_URL
        if exc.status == 401:
            return CloudError(
                "unauthorized",
                f"CTyun rejected the request signature ({detail}); set {ENV_ACCESS_KEY} "
                f"and {ENV_SECRET_KEY} to a valid AccessKey pair and check this host's clock",
            )
        if exc.status == 403 or exc.code.upper().startswith("CTIAM"):
            return CloudError(
                "forbidden",
                f"the CTyun user may not read CCSE cluster {self.cluster_id} ({detail}); "
                "grant it CCSE read access (cluster detail and kubeconfig) in IAM",
            )
        if exc.status == 429:
            return CloudError("throttled", f"CTyun throttled the requests ({detail}); retry later or lower --parallel")
        if exc.status in RETRYABLE_STATUS:
            return CloudError(
                "unavailable",
                f"the CTyun CCSE API at {api} is unavailable ({detail}); "
                "retry later, or check the network and the endpoint",
            )
        if _says_not_found(exc):
            return self._not_found()
        return CloudError(
            "invalid", f"CTyun CCSE refused the request for cluster {self.cluster_id} in {self.region_id} ({detail})"
        )


def _says_not_found(exc: CcseApiError) -> bool:
    """An HTTP 404 means a wrong API path or base URL, not a missing cluster."""
    text = f"{exc.code} {exc.message}".lower()
    return exc.status != 404 and any(word in text for word in ("不存在", "not found", "notfound", "not_found"))


# --- detail fields -------------------------------------------------------------------------------------


def _public_host(detail: dict) -> str:
    """The APIServer EIP; a public kubeconfig exists only when one is bound."""
    return str(detail.get("eip") or detail.get("masterExtraVip") or "")


def _private_host(detail: dict) -> str:
    return str(detail.get("masterSlbIp") or detail.get("masterIntraVip") or "")


def _url(host: str, port) -> str:
    if not host:
        return ""
    return f"https://{host}:{port}" if port else f"https://{host}"


def _series(detail: dict) -> str:
    """``clusterSeries`` when the detail has it [unverified], else derived from ``clusterType``."""
    return str(detail.get("clusterSeries") or SERIES_BY_TYPE.get(detail.get("clusterType"), ""))


def _flags(detail: dict, public: bool) -> dict:
    series = _series(detail)
    return {
        "cluster_name": detail.get("clusterName", ""),
        "cluster_series": series,
        "serverless": "sce" in series.lower(),  # Serverless 容器引擎 SCE; the exact series value is unverified
        "network_plugin": detail.get("networkPlugin", ""),
        "cluster_type": detail.get("clusterType"),
        "public_endpoint": bool(_public_host(detail)),
        "endpoint_preference": "public" if public else "private",
    }


# --- preview rules -------------------------------------------------------------------------------------


def check(description: ClusterDescription, name: str) -> list[Problem]:
    """CTyun's own registration rule, V15: a public preference needs an EIP on the API server. (The
    rules every kind shares, V8 running and V9 version, are the lookup's.)"""
    if description.flags.get("endpoint_preference") == "public" and not description.flags.get("public_endpoint"):
        return [no_public_endpoint(name)]
    return []


def bootstrap_checks(
    description: ClusterDescription, name: str, ingress_service_type: str | None = None
) -> list[Problem]:
    """Rules for ingress/storage bootstrap on CTyun: V49 (no bootstrap on SCE) and V29 (calico has no
    LoadBalancer Services)."""
    problems = []
    if description.flags.get("serverless"):
        problems.append(
            Problem(ErrorCode.BOOT_UNSUPPORTED, "ingress/storage bootstrap is not supported on CTyun SCE clusters")
        )
    if ingress_service_type == "LoadBalancer" and description.flags.get("network_plugin") == "calico":
        problems.append(
            Problem(
                ErrorCode.ING_NO_LOAD_BALANCER,
                f"CTyun cluster '{name}' uses calico, which has no LoadBalancer Services; "
                "set ingress.service_type=HostPort",
            )
        )
    return problems


def encryption_unsupported(resource: str) -> Problem:
    """The V34 preview error for an EtcdEncryption resource on a ctyun cluster."""
    return Problem(ErrorCode.ENC_UNSUPPORTED_KIND, ENCRYPTION_UNSUPPORTED.format(resource=resource))
