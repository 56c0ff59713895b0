"""CTyun CCSE control-plane emulator: the ``/v2/cce`` OpenAPI over loopback HTTP, EOP-signed.

Emulated: ``GET /v2/cce/clusters/{clusterId}`` (detail) and
``GET /v2/cce/clusters/{clusterId}/certificate/kubeconfig?isPublic=`` (the AK user's kubeconfig, a
client certificate of group ``system:masters`` on the backing virtual cluster
``ctyun-<cluster id>``), both scoped by the ``regionId`` header. Answers use the CCSE envelope
``{"statusCode": 800|900, "message", "error", "returnObj"}``; errors come as HTTP 400 plus the
envelope, as the Terraform provider expects.

Every request's EOP signature (CLOUD-APIS §7.6) is recomputed with the emulator's key pair
(:meth:`CtyunEmulator.environment`); ``Eop-date`` may be within 15 minutes of now read either as
UTC or as Beijing time, because its time zone is ambiguous.

Our own invention, because CTyun documents none of them (CLOUD-APIS §7.5): the ``error`` codes
``EOP_*`` and ``CCSE_*``, HTTP 401 for signature failures, 429 for throttling, the not-found message
``集群不存在`` (CCSE's wording for missing node pools), and the ``clusterSeries`` field (DOMAIN §5.4
names it; the Terraform detail has only ``clusterType`` and ``seriesType``). IAM denials use the
documented ``CTIAM_0005``.

Not emulated: listing, creating or deleting clusters, node pools, the temporary/sub-user kubeconfig
paths, the older ``/cse-apig`` endpoints and the Kubernetes proxy paths.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit

from sandbox.kubeapi import KubeApiEmulator, VirtualCluster

from .emulator import CloudEmulator, backing_name
from .loopback import Request, Response

SUCCESS, FAILURE = 800, 900
MAX_SKEW = timedelta(minutes=15)
BEIJING = timezone(timedelta(hours=8))
SIGNED_HEADERS = "ctyun-eop-request-id;eop-date"
CLUSTER_TYPE_BY_SERIES = {"cce.standard": 0, "cce.managed": 2, "cce.icce": 4}
_CLUSTER_PATH = re.compile(r"/v2/cce/clusters/(?P<id>[^/]+)(?P<rest>/certificate/kubeconfig)?")
_AUTHORIZATION = re.compile(r"(?P<ak>\S+) Headers=(?P<headers>\S+) Signature=(?P<signature>\S+)")


class CcseApiError(Exception):
    def __init__(self, http_status: int, code: str, message: str):
        super().__init__(f"{http_status} {code}: {message}")
        self.http_status = http_status
        self.code = code
        self.message = message


class CtyunEmulator(CloudEmulator):
    """CCSE API on ``127.0.0.1``; clusters live in :attr:`kube` as ``ctyun-<cluster id>``.

    With ``data_dir`` the key pair, port and cluster records are kept in ``<data_dir>/ctyun.json``.
    """

    kind = "ctyun"
    name_field = "cluster_id"
    methods = ("GET",)
    keep_alive = True

    def __init__(self, kube: KubeApiEmulator, data_dir: Path | None = None):
        super().__init__(kube, data_dir)
        saved = self._load()
        self.access_key = saved.get("access_key") or secrets.token_hex(16)
        self.secret_key = saved.get("secret_key") or secrets.token_hex(16)
        self._clusters: dict[tuple[str, str], dict] = {}
        for record in saved.get("clusters", []):
            self._clusters[(record["region_id"], record["cluster_id"])] = record
            self._backing(record)

    def environment(self) -> dict[str, str]:
        """The AccessKey pair, under the names CTyun's Terraform provider (and fleetform) read."""
        return {"CTYUN_AK": self.access_key, "CTYUN_SK": self.secret_key}

    # --- clusters -------------------------------------------------------------------------------

    def add_cluster(
        self,
        region_id: str,
        cluster_id: str,
        *,
        version: str = "1.29.4",
        state: int = 1,
        name: str | None = None,
        cluster_series: str = "cce.standard",
        network_plugin: str = "calico",
        public_endpoint: bool = False,
    ) -> dict:
        """Add a cluster (``state`` is the bizState number, 1 = running; ``public_endpoint`` binds an
        EIP to the API server). An existing one is returned unchanged. Cluster ids name the backing
        virtual cluster, so keep them unique across resource pools."""
        with self._lock:
            key = (region_id, cluster_id)
            if key not in self._clusters:
                record = {
                    "region_id": region_id,
                    "cluster_id": cluster_id,
                    "name": name or cluster_id,
                    "version": version,
                    "state": state,
                    "cluster_series": cluster_series,
                    "network_plugin": network_plugin,
                    "public_endpoint": public_endpoint,
                    "created": datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
                }
                self._backing(record)
                self._clusters[key] = record
                self._save()
            return dict(self._clusters[key])

    def remove_cluster(self, region_id: str, cluster_id: str) -> None:
        """The cluster disappears from the API and its backing virtual cluster is removed."""
        with self._lock:
            del self._clusters[(region_id, cluster_id)]
            self._save()
        self._remove_backing(cluster_id)

    # --- fault knobs: each queued fault answers one correctly signed request ---------------------

    def throttle_next(self, count: int = 1) -> None:
        self._faults.add(count, CcseApiError(429, "EOP_RATE_LIMITED", "request rate limit exceeded (emulated)"))

    def fail_next(self, count: int = 1, code: int = 503) -> None:
        """Answer HTTP ``code`` (e.g. 500, 502, 503, 504) with a failure envelope."""
        self._faults.add(count, CcseApiError(code, "EOP_SERVICE_UNAVAILABLE", "emulated failure"))

    def deny_next(self, count: int = 1) -> None:
        self._faults.add(count, CcseApiError(400, "CTIAM_0005", "没有权限 (no permission, emulated)"))

    # --- request handling -----------------------------------------------------------------------

    def _handle(self, request: Request) -> Response:
        status, envelope = self._answer(request)
        return Response.json(status, envelope, content_type="application/json;charset=UTF-8")

    def _answer(self, request: Request) -> tuple[int, dict]:
        """``(HTTP status, envelope)`` for one GET."""
        try:
            url = urlsplit(request.target)
            self._authenticate(url.query, request.headers, request.body)
            if fault := self._faults.take():
                raise fault
            return 200, {"statusCode": SUCCESS, "message": "success", "returnObj": self._dispatch(url, request.headers)}
        except CcseApiError as exc:
            return exc.http_status, {"statusCode": FAILURE, "message": exc.message, "error": exc.code}
        except Exception as exc:  # a bug here must still answer with an envelope
            return 500, {"statusCode": FAILURE, "message": f"{type(exc).__name__}: {exc}", "error": "CCSE_INTERNAL"}

    def _dispatch(self, url, headers) -> dict:
        match = _CLUSTER_PATH.fullmatch(url.path)
        if not match:
            raise CcseApiError(404, "EOP_API_NOT_FOUND", f"no API at {url.path}")
        region_id = headers.get("regionId") or ""
        if not region_id:
            raise CcseApiError(400, "CCSE_PARAM_INVALID", "regionId 不能为空 (the regionId header is required)")
        with self._lock:
            record = self._clusters.get((region_id, match["id"]))
            if record is None:
                raise CcseApiError(400, "CCSE_CLUSTER_NOT_FOUND", f"集群不存在 (cluster {match['id']} does not exist)")
            if match["rest"]:
                return self._kubeconfig(record, dict(parse_qsl(url.query)).get("isPublic", "false"))
            return self._detail(record)

    def _authenticate(self, query: str, headers, body: bytes) -> None:
        match = _AUTHORIZATION.fullmatch(headers.get("Eop-Authorization") or "")
        if not match or match["headers"] != SIGNED_HEADERS:
            raise CcseApiError(401, "EOP_AUTH_INVALID", "Eop-Authorization is missing or malformed")
        if match["ak"] != self.access_key:
            raise CcseApiError(401, "EOP_AK_INVALID", "the access key does not exist")
        date = headers.get("Eop-date") or ""
        if not _fresh(date):
            raise CcseApiError(401, "EOP_DATE_EXPIRED", f"Eop-date {date!r} is too far from now")
        expected = eop_signature(
            self.access_key,
            self.secret_key,
            headers.get("ctyun-eop-request-id") or "",
            date,
            _canonical_query(query),
            body,
        )
        if not hmac.compare_digest(expected, match["signature"]):
            raise CcseApiError(401, "EOP_SIGNATURE_INVALID", "签名校验失败 (the signature does not match)")

    # --- answers --------------------------------------------------------------------------------

    def _detail(self, record: dict) -> dict:
        cluster = self._virtual(record)
        running = record["state"] == 1
        eip = "127.0.0.1" if record["public_endpoint"] else ""
        return {
            "clusterId": record["cluster_id"],
            "clusterName": record["name"],
            "clusterAlias": record["name"],
            "clusterDesc": "",
            "clusterType": CLUSTER_TYPE_BY_SERIES.get(record["cluster_series"], 2),
            "clusterSeries": record["cluster_series"],
            "clusterVersion": record["version"].lstrip("v"),
            "clusterStatus": "normal" if running else "suspend",
            "bizState": record["state"],
            "resPoolId": record["region_id"],
            "eip": eip,
            "masterExtraVip": eip,
            "masterIntraVip": "127.0.0.1",
            "masterSlbIp": "127.0.0.1",
            "securePort": cluster.port,
            "nonSecurePort": 0,
            "networkPlugin": record["network_plugin"],
            "kubeProxyPattern": "iptables",
            "containerRuntime": "containerd",
            "serviceCidr": "10.96.0.0/16",
            "podCidr": "172.16.0.0/16",
            "createdTime": record["created"],
        }

    def _kubeconfig(self, record: dict, is_public: str) -> dict:
        if is_public not in ("true", "false"):
            raise CcseApiError(400, "CCSE_PARAM_INVALID", f"isPublic must be true or false, not {is_public!r}")
        if is_public == "true" and not record["public_endpoint"]:
            raise CcseApiError(400, "CCSE_EIP_NOT_BOUND", "集群APIServer未绑定EIP (no EIP is bound to the API server)")
        cluster = self._virtual(record)
        user = f"ctyun-{self.access_key[:8]}"
        kubeconfig = cluster.kubeconfig(user, client_certificate=cluster.client_certificate(user, ("system:masters",)))
        expires = (datetime.now(BEIJING) + timedelta(days=365)).strftime("%Y-%m-%d %H:%M:%S")
        return {"kubeConfig": kubeconfig, "expireDate": expires}

    # --- helpers --------------------------------------------------------------------------------

    def _backing(self, record: dict) -> VirtualCluster:
        return self._backing_cluster(record["cluster_id"], record["version"], {"region_id": record["region_id"]})

    def _virtual(self, record: dict) -> VirtualCluster:
        return self.kube.cluster(backing_name(self.kind, record["cluster_id"]))

    def _snapshot(self) -> dict:
        return {
            "format": 1,
            "access_key": self.access_key,
            "secret_key": self.secret_key,
            "clusters": list(self._clusters.values()),
        }


def eop_signature(access_key: str, secret_key: str, request_id: str, date: str, query: str, body: bytes) -> str:
    """The EOP signature the gateway expects (CLOUD-APIS §7.6): HMAC chain SK -> date -> AK -> day,
    then Base64 of HMAC(kDate, request-id line, date line, empty line, query line, body SHA-256)."""
    key = secret_key.encode()
    for part in (date, access_key, date[:8]):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    to_sign = f"ctyun-eop-request-id:{request_id}\neop-date:{date}\n\n{query}\n{hashlib.sha256(body).hexdigest()}"
    return base64.b64encode(hmac.new(key, to_sign.encode(), hashlib.sha256).digest()).decode()


def _canonical_query(raw: str) -> str:
    """The received query re-encoded the way clients must sign it: sorted by key, ``%20`` for spaces."""
    pairs = sorted(parse_qsl(raw, keep_blank_values=True))
    return "&".join(f"{quote(key, safe='')}={quote(value, safe='')}" for key, value in pairs)


def _fresh(date: str) -> bool:
    try:
        stamp = datetime.strptime(date, "%Y%m%dT%H%M%SZ")
    except ValueError:
        return False
    now = datetime.now(UTC)
    wall_clocks = (now.replace(tzinfo=None), now.astimezone(BEIJING).replace(tzinfo=None))
    return any(abs(stamp - clock) <= MAX_SKEW for clock in wall_clocks)
