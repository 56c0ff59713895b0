"""Tencent TKE control-plane emulator: API 3.0 over loopback HTTP, clusters backed by virtual clusters.

Every request is ``POST /`` with a JSON body; the action is in ``X-TC-Action``, the version in
``X-TC-Version`` (2018-05-25), the region in ``X-TC-Region``. The TC3-HMAC-SHA256 ``Authorization``
header is verified with the emulator's own key pair (:meth:`TkeEmulator.environment` hands it to
the SDK's credential chain). Answers are always HTTP 200 ``{"Response": {..., "RequestId"}}``,
errors ``{"Response": {"Error": {"Code", "Message"}, "RequestId"}}``.

Emulated actions: DescribeClusters (ClusterIds, Offset, Limit), DescribeClusterEndpoints,
DescribeClusterEndpointStatus, DescribeClusterKubeconfig, DescribeEncryptionStatus,
EnableEncryptionProtection, DisableEncryptionProtection. Kubeconfigs carry a client certificate
(group ``system:masters``) of the backing virtual cluster ``tke-<cluster id>``; when the requested
endpoint is not enabled the server is the unreachable default domain, as TKE does.

Encryption: EnableEncryptionProtection turns the status ``Opening``, and ``Opened`` once
``encryption_delay`` seconds have passed and DescribeEncryptionStatus has answered ``Opening``
``encryption_polls`` times; DisableEncryptionProtection goes ``Closing`` then ``Closed`` the same
way. Either call while the status is ``Opening`` or ``Closing`` is refused (``FailedOperation``),
as is Enable on a cluster added with ``kms_authorized=False`` (KMS not enabled or not authorised
for TKE, V40). :meth:`TkeEmulator.fail_next_encryption` makes the next Enable end ``Closed`` with an
``ErrorMsg``. As on TKE, DescribeEncryptionStatus reports the status but never the key: only
:meth:`TkeEmulator.encryption` shows it. :meth:`TkeEmulator.set_encryption` changes it as someone
else would (the console); :attr:`TkeEmulator.calls` counts the calls by action. An Enable while
``Opened`` re-keys (what TKE does then is not documented [unverified]).

Not emulated: filters other than ClusterIds, the ClusterType filter, X-TC-Token (temporary
credentials are accepted unchecked), CAM policies (use :meth:`deny_next`), KMS itself (any key id
is usable), and every other action (``InvalidAction``).
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
import secrets
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from sandbox.kubeapi import KubeApiEmulator, VirtualCluster

from .emulator import CloudEmulator, backing_name
from .loopback import Request, Response

VERSION = "2018-05-25"
SERVICE = "tke"
ACCOUNT_UIN = "100000000001"  # the sub-account the kubeconfigs are issued to
MAX_SKEW = 300  # seconds; TKE refuses older signatures with AuthFailure.SignatureExpire
_AUTHORIZATION = re.compile(
    r"TC3-HMAC-SHA256 Credential=(?P<id>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>[^/]+)"
    r"/tc3_request, SignedHeaders=(?P<headers>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})"
)


class TkeApiError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class TkeEmulator(CloudEmulator):
    """TKE API on ``127.0.0.1``; clusters live in :attr:`kube` as ``tke-<cluster id>``.

    With ``data_dir`` the key pair, port and cluster records are kept in ``<data_dir>/tke.json``, so
    a new emulator on the same directory answers as before.
    """

    kind = "tke"
    name_field = "cluster_id"
    methods = ("POST",)
    keep_alive = True

    def __init__(self, kube: KubeApiEmulator, data_dir: Path | None = None):
        super().__init__(kube, data_dir)
        self.encryption_delay = 0.5  # seconds from EnableEncryptionProtection to Opened (and Disable... to Closed)
        self.encryption_polls = 0  # DescribeEncryptionStatus answers showing Opening/Closing before the change ends
        self.calls: Counter[str] = Counter()  # authenticated calls answered, by action
        self._failing_encryptions: list[str] = []
        saved = self._load()
        self.secret_id = saved.get("secret_id") or f"AKID{secrets.token_hex(16)}"
        self.secret_key = saved.get("secret_key") or secrets.token_hex(16)
        self._clusters: dict[tuple[str, str], dict] = {}
        for record in saved.get("clusters", []):
            self._clusters[(record["region"], record["cluster_id"])] = record
            self._backing(record)

    def environment(self) -> dict[str, str]:
        """What the SDK's default credential chain reads."""
        return {"TENCENTCLOUD_SECRET_ID": self.secret_id, "TENCENTCLOUD_SECRET_KEY": self.secret_key}

    # --- clusters -------------------------------------------------------------------------------

    def add_cluster(
        self,
        region: str,
        cluster_id: str,
        *,
        version: str = "1.29.4",
        state: str = "Running",
        name: str | None = None,
        cluster_type: str = "MANAGED_CLUSTER",
        cluster_level: str = "L5",
        public_endpoint: bool = False,
        private_endpoint: bool = True,
        kms_authorized: bool = True,
    ) -> dict:
        """Add a cluster (``state`` is a ClusterStatus word). An existing one is returned unchanged.
        Cluster ids name the backing virtual cluster, so keep them unique across regions."""
        with self._lock:
            key = (region, cluster_id)
            if key not in self._clusters:
                record = {
                    "region": region,
                    "cluster_id": cluster_id,
                    "name": name or cluster_id,
                    "version": version,
                    "state": state,
                    "cluster_type": cluster_type,
                    "cluster_level": cluster_level,
                    "public_endpoint": public_endpoint,
                    "private_endpoint": private_endpoint,
                    "kms_authorized": kms_authorized,
                    "created": _now_iso(),
                    "encryption": {"status": "Closed", "key_id": "", "kms_region": "", "ready_at": 0.0},
                }
                self._backing(record)
                self._clusters[key] = record
                self._save()
            return copy.deepcopy(self._clusters[key])

    def remove_cluster(self, region: str, cluster_id: str) -> None:
        """The cluster disappears from the API and its backing virtual cluster is removed."""
        with self._lock:
            del self._clusters[(region, cluster_id)]
            self._save()
        self._remove_backing(cluster_id)

    def encryption(self, region: str, cluster_id: str) -> dict:
        """The cluster's encryption as recorded: ``{"status", "key_id", "kms_region", ...}``."""
        with self._lock:
            return copy.deepcopy(self._encryption(self._clusters[(region, cluster_id)]))

    def set_encryption(self, region: str, cluster_id: str, key_id: str | None, kms_region: str | None = None) -> None:
        """Encrypt with ``key_id`` (None: turn encryption off) at once, as someone using the console
        would (drift for fleetform to find; only the on/off part is visible through the API)."""
        with self._lock:
            record = self._clusters[(region, cluster_id)]
            if key_id is None:
                record["encryption"].update(status="Closed", key_id="", kms_region="", ready_at=0.0, error="")
            else:
                record["encryption"].update(
                    status="Opened", key_id=key_id, kms_region=kms_region or region, ready_at=0.0, error=""
                )
            self._save()

    def fail_next_encryption(self, message: str = "KMS key is disabled") -> None:
        """The next EnableEncryptionProtection is accepted, then ends ``Closed`` with this ``ErrorMsg``."""
        with self._lock:
            self._failing_encryptions.append(message)

    # --- fault knobs: each queued fault answers one authenticated request ------------------------

    def throttle_next(self, count: int = 1) -> None:
        self._faults.add(count, TkeApiError("RequestLimitExceeded", "request rate limit exceeded (emulated)"))

    def fail_next(self, count: int = 1, code: str = "InternalError") -> None:
        self._faults.add(count, TkeApiError(code, "emulated failure"))

    def deny_next(self, count: int = 1) -> None:
        self._faults.add(
            count, TkeApiError("UnauthorizedOperation.CamNoAuth", "the CAM policy denies this action (emulated)")
        )

    # --- request handling -----------------------------------------------------------------------

    def _handle(self, request: Request) -> Response:
        # TKE answers errors with HTTP 200 too; the SDK checks the content type exactly before parsing them.
        return Response.json(200, {"Response": self._answer(request)})

    def _answer(self, request: Request) -> dict:
        """The ``Response`` object for one request."""
        request_id = str(uuid.uuid4())
        try:
            self._authenticate(request.method, request.target, request.headers, request.body)
            if fault := self._faults.take():
                raise fault
            result = self._dispatch(request.headers, request.body)
        except TkeApiError as exc:
            return {"Error": {"Code": exc.code, "Message": exc.message}, "RequestId": request_id}
        except Exception as exc:  # a bug here must still look like an API answer to the SDK
            return {
                "Error": {"Code": "InternalError", "Message": f"{type(exc).__name__}: {exc}"},
                "RequestId": request_id,
            }
        return {**result, "RequestId": request_id}

    def _dispatch(self, headers, body: bytes) -> dict:
        if headers.get("X-TC-Version") != VERSION:
            raise TkeApiError("NoSuchVersion", f"version {headers.get('X-TC-Version')!r} is not {VERSION}")
        action = headers.get("X-TC-Action", "")
        handler = getattr(self, f"_action_{action}", None)
        if handler is None:
            raise TkeApiError("InvalidAction", f"action {action!r} is not emulated")
        try:
            params = json.loads(body or b"{}")
        except ValueError as exc:
            raise TkeApiError("InvalidParameter", f"the body is not JSON ({exc})") from exc
        with self._lock:
            self.calls[action] += 1
            return handler(headers.get("X-TC-Region", ""), params)

    def _authenticate(self, method: str, path: str, headers, body: bytes) -> None:
        match = _AUTHORIZATION.fullmatch(headers.get("Authorization", ""))
        if not match:
            raise TkeApiError("AuthFailure.InvalidAuthorization", "the Authorization header is not TC3-HMAC-SHA256")
        if match["id"] != self.secret_id:
            raise TkeApiError("AuthFailure.SecretIdNotFound", "the SecretId does not exist")
        timestamp = int(headers.get("X-TC-Timestamp") or 0)
        if abs(time.time() - timestamp) > MAX_SKEW:
            raise TkeApiError("AuthFailure.SignatureExpire", "the signature is older than 5 minutes or from the future")
        if match["date"] != datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d"):
            raise TkeApiError("AuthFailure.SignatureFailure", "the credential scope date does not match X-TC-Timestamp")
        expected = tc3_signature(
            self.secret_key, match["service"], timestamp, method, path, match["headers"].split(";"), headers, body
        )
        if not hmac.compare_digest(expected, match["signature"]):
            raise TkeApiError("AuthFailure.SignatureFailure", "the request signature does not match")

    # --- actions --------------------------------------------------------------------------------

    def _action_DescribeClusters(self, region: str, params: dict) -> dict:
        wanted = params.get("ClusterIds")
        records = [
            r for (reg, cid), r in sorted(self._clusters.items()) if reg == region and (not wanted or cid in wanted)
        ]
        offset, limit = int(params.get("Offset") or 0), min(int(params.get("Limit") or 20), 100)
        return {"TotalCount": len(records), "Clusters": [_cluster_shape(r) for r in records[offset : offset + limit]]}

    def _action_DescribeClusterEndpoints(self, region: str, params: dict) -> dict:
        record = self._record(region, params)
        address = f"127.0.0.1:{self._virtual(record).port}"
        return {
            "CertificationAuthority": self._virtual(record).ca_pem,
            "ClusterExternalEndpoint": address if record["public_endpoint"] else "",
            "ClusterIntranetEndpoint": address if record["private_endpoint"] else "",
            "ClusterDomain": _default_domain(record),
            "ClusterExternalDomain": "",
            "ClusterIntranetDomain": "",
            "ClusterExternalACL": [],
            "SecurityGroup": "",
        }

    def _action_DescribeClusterEndpointStatus(self, region: str, params: dict) -> dict:
        record = self._record(region, params)
        enabled = record["public_endpoint"] if params.get("IsExtranet") else record["private_endpoint"]
        return {"Status": "Created" if enabled else "NotFound", "ErrorMsg": ""}

    def _action_DescribeClusterKubeconfig(self, region: str, params: dict) -> dict:
        record = self._record(region, params)
        cluster = self._virtual(record)
        config = cluster.kubeconfig_dict(
            ACCOUNT_UIN, client_certificate=cluster.client_certificate(ACCOUNT_UIN, ("system:masters",))
        )
        enabled = record["public_endpoint"] if params.get("IsExtranet") else record["private_endpoint"]
        if not enabled:
            config["clusters"][0]["cluster"]["server"] = f"https://{_default_domain(record)}"
        return {"Kubeconfig": yaml.safe_dump(config, sort_keys=False)}

    def _action_DescribeEncryptionStatus(self, region: str, params: dict) -> dict:
        encryption = self._encryption(self._record(region, params))
        if encryption["status"] in ("Opening", "Closing"):
            encryption["polls"] = encryption.get("polls", 0) + 1
        return {"Status": encryption["status"], "ErrorMsg": encryption.get("error", "")}

    def _action_EnableEncryptionProtection(self, region: str, params: dict) -> dict:
        record = self._record(region, params)
        encryption = self._encryption(record)
        if not record["kms_authorized"]:
            raise TkeApiError("FailedOperation", "KMS is not enabled or TKE is not authorised to use it")
        if encryption["status"] in ("Opening", "Closing"):
            raise TkeApiError("FailedOperation", f"an encryption change is in progress ({encryption['status']})")
        kms = params.get("KMSConfiguration") or {}
        encryption.update(
            status="Opening",
            key_id=kms.get("KeyId") or "TKE-KMS",
            kms_region=kms.get("KmsRegion") or region,
            ready_at=time.time() + self.encryption_delay,
            polls=0,
            error="",
            fails_with=self._failing_encryptions.pop(0) if self._failing_encryptions else "",
        )
        self._save()
        return {}

    def _action_DisableEncryptionProtection(self, region: str, params: dict) -> dict:
        record = self._record(region, params)
        encryption = self._encryption(record)
        if encryption["status"] in ("Opening", "Closing"):
            raise TkeApiError("FailedOperation", f"an encryption change is in progress ({encryption['status']})")
        if encryption["status"] == "Opened":
            encryption.update(status="Closing", ready_at=time.time() + self.encryption_delay, polls=0, error="")
            self._save()
        return {}

    # --- helpers --------------------------------------------------------------------------------

    def _record(self, region: str, params: dict) -> dict:
        cluster_id = params.get("ClusterId")
        if not cluster_id:
            raise TkeApiError("MissingParameter", "ClusterId is required")
        record = self._clusters.get((region, cluster_id))
        if record is None:
            raise TkeApiError("InvalidParameter.ClusterNotFound", f"cluster {cluster_id} does not exist in {region}")
        return record

    def _encryption(self, record: dict) -> dict:
        """The record's encryption, with a change that is due finished (the status advances when observed)."""
        encryption = record["encryption"]
        due = time.time() >= encryption["ready_at"] and encryption.get("polls", 0) >= self.encryption_polls
        if encryption["status"] == "Opening" and due:
            if encryption.get("fails_with"):
                encryption.update(status="Closed", key_id="", kms_region="", error=encryption["fails_with"])
            else:
                encryption["status"] = "Opened"
            encryption["fails_with"] = ""
            self._save()
        elif encryption["status"] == "Closing" and due:
            encryption.update(status="Closed", key_id="", kms_region="")
            self._save()
        return encryption

    def _backing(self, record: dict) -> VirtualCluster:
        return self._backing_cluster(record["cluster_id"], record["version"], {"region": record["region"]})

    def _virtual(self, record: dict) -> VirtualCluster:
        return self.kube.cluster(backing_name(self.kind, record["cluster_id"]))

    def _snapshot(self) -> dict:
        return {
            "format": 1,
            "secret_id": self.secret_id,
            "secret_key": self.secret_key,
            "clusters": list(self._clusters.values()),
        }


def tc3_signature(
    secret_key: str,
    service: str,
    timestamp: int,
    method: str,
    path: str,
    signed_headers: list[str],
    headers,
    body: bytes,
) -> str:
    """TC3-HMAC-SHA256 over the request as received: canonical request (method, path, query, the
    signed headers lower-cased, their names, the body's SHA-256), then the string to sign (algorithm,
    timestamp, scope, hash of the canonical request), signed with a key derived from ``"TC3" + key``
    through the date, the service and ``tc3_request``."""
    url = urlsplit(path)
    canonical_headers = "".join(f"{name}:{(headers.get(name) or '').strip().lower()}\n" for name in signed_headers)
    canonical_request = "\n".join(
        [
            method,
            url.path or "/",
            url.query,
            canonical_headers,
            ";".join(signed_headers),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    to_sign = "\n".join(
        [
            "TC3-HMAC-SHA256",
            str(timestamp),
            f"{date}/{service}/tc3_request",
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = ("TC3" + secret_key).encode()
    for part in (date, service, "tc3_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def _cluster_shape(record: dict) -> dict:
    return {
        "ClusterId": record["cluster_id"],
        "ClusterName": record["name"],
        "ClusterDescription": "",
        "ClusterVersion": record["version"].lstrip("v"),
        "ClusterOs": "tlinux3.1x86_64",
        "ClusterType": record["cluster_type"],
        "ClusterStatus": record["state"],
        "ClusterLevel": record["cluster_level"],
        "ClusterCategory": "tke",
        "ContainerRuntime": "containerd",
        "RuntimeVersion": "1.6.9",
        "ClusterNodeNum": 1,
        "ClusterMaterNodeNum": 0,
        "DeletionProtection": False,
        "ProjectId": 0,
        "Property": json.dumps({"NodeNameType": "lan-ip"}),
        "CreatedTime": record["created"],
    }


def _default_domain(record: dict) -> str:
    return f"{record['cluster_id']}.ccs.tencent-cloud.com"


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
