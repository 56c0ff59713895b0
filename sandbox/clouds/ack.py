"""Alibaba Cloud ACK (Container Service, API 2015-12-15, ROA style) on loopback HTTP.

Serves the calls ``alibabacloud_cs20151215`` 7.2.3 makes for fleetform, at the SDK's paths:

* ``GET /clusters/{ClusterId}`` (DescribeClusterDetail): a bare snake_case JSON object; ``master_url``
  is a JSON-encoded string with ``api_server_endpoint`` and ``intranet_api_server_endpoint``.
* ``GET /k8s/{ClusterId}/user_config`` (DescribeClusterUserKubeconfig): ``{"config", "expiration"}``;
  ``TemporaryDurationMinutes`` must lie in 15-4320 (default validity: three years).
* ``PUT /clusters/{ClusterId}/kms`` (UpdateKMSEncryption): answered with no body; the cluster is
  ``updating`` for ``update_seconds`` and until DescribeClusterDetail has shown it updating
  ``update_polls`` times (the state advances when observed), then ``running``. A cluster that is
  not running gets 400 ``ErrorClusterState``; a change within ``kms_cooldown`` seconds of the
  previous one gets 409 (code ``Conflict``, the emulator's choice: the real code is not documented).
  :attr:`AckEmulator.calls` counts the calls by action name.

Requests are authenticated as the API gateway does: the ``ACS3-HMAC-SHA256`` signature over the
canonical request (method, path, sorted query, signed headers, payload hash) is recomputed with the
emulator's AccessKey. An unknown key id gets 404 ``InvalidAccessKeyId.NotFound``, a wrong secret 400
``SignatureDoesNotMatch``. Errors carry ``{"code", "message", "requestId"}`` and the HTTP status.
Clients use ``endpoint`` (``http://127.0.0.1:<port>``: the SDK takes host:port and protocol ``HTTP``)
and the AccessKey pair from :meth:`AckEmulator.environment`.

Every cluster is backed by a virtual cluster ``ack-<cluster id>`` of the Kubernetes emulator (see
:func:`~sandbox.clouds.emulator.backing_name`; ids are case-insensitive), running
``v<version>-aliyun.1``. The user kubeconfig carries a client certificate (CN = the emulator's RAM
user id, O = ``system:masters``) from that cluster's CA, so it really opens it.

Not emulated: regions (one endpoint serves every region, and ROA calls carry no region), cluster
lists and the v2 user_config path, ``PrivateIpAddress`` (both endpoints are the same URL), expiry of
temporary kubeconfigs (reported, not enforced), STS tokens, RAM policies and cluster RBAC
(``ForbiddenUpdateKMSState``), refusal of KMS on non-Pro clusters, KMS itself (any key id is
usable), and reading KMS state back: ACK documents no field for it, so only :meth:`AckEmulator.kms`
shows what was set, and a change made outside fleetform (:meth:`AckEmulator.set_kms`) is invisible
through the API, as it is on ACK.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import yaml

from ..kubeapi import KubeApiEmulator, VirtualCluster
from .emulator import CloudEmulator, backing_name
from .faults import status_error_code
from .loopback import Request, Response

_DETAIL = re.compile(r"^/clusters/(?P<id>[^/]+)$")
_KMS = re.compile(r"^/clusters/(?P<id>[^/]+)/kms$")
_USER_CONFIG = re.compile(r"^/k8s/(?P<id>[^/]+)/user_config$")
_AUTHORIZATION = re.compile(
    r"^ACS3-HMAC-SHA256 Credential=(?P<key>[^,]+),SignedHeaders=(?P<signed>[^,]*),"
    r"Signature=(?P<signature>[0-9a-f]+)$"
)
_DEFAULT_KUBECONFIG_MINUTES = 3 * 365 * 24 * 60
_CONTENT_TYPE = "application/json;charset=utf-8"


def _error(status: int, code: str, message: str) -> Response:
    request_id = str(uuid.uuid4()).upper()
    return Response.json(
        status,
        {"code": code, "message": message, "requestId": request_id},
        {"x-acs-request-id": request_id},
        content_type=_CONTENT_TYPE,
    )


def _rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def signature(request: Request, signed_headers: list[str], secret: str) -> str:
    """The ACS3-HMAC-SHA256 signature of ``request`` over ``signed_headers``, as the gateway
    computes it: HMAC-SHA256(secret, algorithm + hex SHA-256 of the canonical request)."""
    query = "&".join(f"{k}={quote(v, safe='~')}" for k, v in sorted(request.query.items()))
    headers = "".join(
        f"{name}:{','.join(sorted(v.strip() for v in request.headers.get_all(name, [])))}\n" for name in signed_headers
    )
    canonical = "\n".join(
        [
            request.method,
            request.raw_path or "/",
            query,
            headers,
            ";".join(signed_headers),
            request.header("x-acs-content-sha256"),
        ]
    )
    to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
    return hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()


def aliyun_version(version: str) -> str:
    """ACK's spelling of a Kubernetes version: ``1.29.4`` -> ``1.29.4-aliyun.1``."""
    return version.lstrip("v") if "-" in version else f"{version.lstrip('v')}-aliyun.1"


# --- the emulator -------------------------------------------------------------------------------


class AckEmulator(CloudEmulator):
    """ACK's ROA API over HTTP on 127.0.0.1 (see the module docstring).

    ``data_dir`` keeps the port, AccessKey and clusters in ``ack.json``, so a new emulator on the
    same directory answers at the same endpoint with the same credentials.
    """

    kind = "ack"
    name_field = "cluster_id"
    methods = ("GET", "POST", "PUT", "DELETE")
    keep_alive = True

    def __init__(
        self,
        kube: KubeApiEmulator,
        data_dir: Path | None = None,
        *,
        update_seconds: float = 0.2,
        update_polls: int = 0,
        kms_cooldown: float = 300.0,
    ):
        super().__init__(kube, data_dir)
        self.update_seconds = update_seconds
        self.update_polls = update_polls  # DescribeClusterDetail answers showing "updating" before it can end
        self.kms_cooldown = kms_cooldown
        self.calls: Counter[str] = Counter()  # API calls answered, by action (DescribeClusterDetail, ...)
        self._state = self._load() or self._new_state()
        self._save()

    def environment(self) -> dict[str, str]:
        """The AccessKey pair, as the Alibaba Cloud credential chain reads it from the environment."""
        return {
            "ALIBABA_CLOUD_ACCESS_KEY_ID": self._state["access_key_id"],
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": self._state["access_key_secret"],
        }

    # --- clusters -------------------------------------------------------------------------------

    def add_cluster(
        self,
        region_id: str,
        cluster_id: str,
        *,
        version: str = "1.29.4",
        state: str = "running",
        name: str | None = None,
        cluster_type: str = "ManagedKubernetes",
        cluster_spec: str = "ack.pro.small",
        profile: str = "Default",
    ) -> dict:
        """Add (or replace) a cluster and its backing virtual cluster; returns the detail as
        DescribeClusterDetail does. Dedicated clusters: ``cluster_type="Kubernetes", cluster_spec=""``.
        Clusters are keyed by id alone (ROA calls carry no region)."""
        record = {
            "cluster_id": cluster_id,
            "region_id": region_id,
            "name": name or cluster_id,
            "state": state,
            "version": aliyun_version(version),
            "cluster_type": cluster_type,
            "cluster_spec": cluster_spec,
            "profile": profile,
            "created": _rfc3339(datetime.now(UTC)),
            "kms": None,
            "kms_updated_at": None,
            "update_done_at": None,
        }
        self._backing(record)
        with self._lock:
            self._state["clusters"][cluster_id] = record
            self._save()
            return self._detail(record)

    def remove_cluster(self, region_id: str, cluster_id: str) -> None:
        """The cluster is deleted in the cloud: the API forgets it and its API server goes away.
        KeyError when there is no such cluster in ``region_id``."""
        with self._lock:
            if self._state["clusters"][cluster_id]["region_id"] != region_id:
                raise KeyError(f"cluster {cluster_id} is not in {region_id}")
            del self._state["clusters"][cluster_id]
            self._save()
        self._remove_backing(cluster_id.lower())

    def cluster(self, cluster_id: str) -> dict:
        """The detail as DescribeClusterDetail returns it (KeyError when absent)."""
        with self._lock:
            record = self._state["clusters"][cluster_id]
            self._settle(record)
            return self._detail(record)

    def kms(self, cluster_id: str) -> dict | None:
        """What UpdateKMSEncryption last set: ``{"kms_key_id", "disable_encryption"}``, or None."""
        with self._lock:
            return self._state["clusters"][cluster_id]["kms"]

    def set_kms(self, cluster_id: str, kms_key_id: str | None) -> None:
        """Change the Secret encryption key (None: disable) at once, as someone using the console
        would. Nothing the API answers shows it (see the module docstring)."""
        with self._lock:
            record = self._state["clusters"][cluster_id]
            record["kms"] = {"kms_key_id": kms_key_id, "disable_encryption": kms_key_id is None}
            self._save()

    # --- fault knobs ----------------------------------------------------------------------------

    def throttle_next(self, count: int = 1) -> None:
        """The next ``count`` API requests get 429 ``Throttling.User``."""
        self._faults.add(count, ("throttle", 429))

    def fail_next(self, count: int = 1, code: int = 500) -> None:
        """The next ``count`` API requests fail with HTTP status ``code``."""
        self._faults.add(count, ("fail", code))

    def deny_next(self, count: int = 1) -> None:
        """The next ``count`` API requests are refused as if the AccessKey were unknown."""
        self._faults.add(count, ("deny", 404))

    # --- state ----------------------------------------------------------------------------------

    def _new_state(self) -> dict:
        return {
            "format": 1,
            "access_key_id": "LTAI" + secrets.token_hex(10),
            "access_key_secret": secrets.token_urlsafe(22),
            "ram_user_id": str(secrets.randbelow(10**16)),
            "clusters": {},
        }

    def _snapshot(self) -> dict:
        return self._state

    # --- request handling -----------------------------------------------------------------------

    def _handle(self, request: Request) -> Response:
        if fault := self._faults.take():
            return _fault(*fault)
        if refused := self._authenticate(request):
            return refused
        routes = (
            ("GET", _DETAIL, self._describe, "DescribeClusterDetail"),
            ("GET", _USER_CONFIG, self._user_config, "DescribeClusterUserKubeconfig"),
            ("PUT", _KMS, self._update_kms, "UpdateKMSEncryption"),
        )
        with self._lock:
            for method, pattern, handler, action in routes:
                if request.method == method and (match := pattern.match(request.path)):
                    self.calls[action] += 1
                    record = self._state["clusters"].get(match["id"])
                    if record is None:
                        return _error(404, "ErrorClusterNotFound", f"cluster {match['id']} not found")
                    self._settle(record)
                    return handler(request, record)
        return _error(404, "InvalidAction.NotFound", f"the ACK emulator does not serve {request.method} {request.path}")

    def _authenticate(self, request: Request) -> Response | None:
        match = _AUTHORIZATION.match(request.header("authorization"))
        if match is None:
            return _error(400, "IncompleteSignature", "The request carries no ACS3-HMAC-SHA256 Authorization header.")
        if match["key"] != self._state["access_key_id"]:
            return _error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        if request.header("x-acs-content-sha256") != hashlib.sha256(request.body).hexdigest():
            return _error(400, "SignatureDoesNotMatch", "x-acs-content-sha256 does not match the request body.")
        expected = signature(request, match["signed"].split(";"), self._state["access_key_secret"])
        if not hmac.compare_digest(expected, match["signature"]):
            return _error(400, "SignatureDoesNotMatch", "Specified signature does not match our calculation.")
        return None

    def _settle(self, record: dict) -> None:
        """Finish a KMS update once its time is up and it was seen enough times (the state advances
        when observed)."""
        if (
            record["state"] == "updating"
            and record["update_done_at"]
            and time.time() >= record["update_done_at"]
            and record.get("update_polls", 0) >= self.update_polls
        ):
            record.update(state="running", update_done_at=None, update_polls=0)
            self._save()

    def _describe(self, _request: Request, record: dict) -> Response:
        if record["state"] == "updating" and record["update_done_at"]:
            record["update_polls"] = record.get("update_polls", 0) + 1
        return Response.json(200, self._detail(record), content_type=_CONTENT_TYPE)

    def _detail(self, record: dict) -> dict:
        url = self._backing(record).url
        return {
            "cluster_id": record["cluster_id"],
            "name": record["name"],
            "region_id": record["region_id"],
            "state": record["state"],
            "cluster_type": record["cluster_type"],
            "cluster_spec": record["cluster_spec"],
            "profile": record["profile"],
            "current_version": record["version"],
            "init_version": record["version"],
            "next_version": "",
            "created": record["created"],
            "updated": record["created"],
            "master_url": json.dumps({"api_server_endpoint": url, "intranet_api_server_endpoint": url}),
            "deletion_protection": False,
            "network_mode": "vpc",
            "resource_group_id": "",
            "vpc_id": "vpc-" + hashlib.sha256(record["cluster_id"].encode()).hexdigest()[:20],
            "meta_data": json.dumps({"KubernetesVersion": record["version"].split("-")[0]}),
            "tags": [],
        }

    def backing_of(self, identity: Mapping[str, str]) -> str:
        return backing_name(self.kind, identity["cluster_id"].lower())  # ids are case-insensitive

    def _backing(self, record: dict) -> VirtualCluster:
        return self._backing_cluster(
            record["cluster_id"].lower(), f"v{record['version']}", {"region_id": record["region_id"]}
        )

    def _user_config(self, request: Request, record: dict) -> Response:
        minutes = request.query.get("TemporaryDurationMinutes")
        if minutes is not None and not (minutes.isdigit() and 15 <= int(minutes) <= 4320):
            return _error(400, "InvalidParameter", "TemporaryDurationMinutes must be between 15 and 4320.")
        cluster = self._backing(record)
        cert, key = cluster.client_certificate(self._state["ram_user_id"], ("system:masters",))
        config = cluster.kubeconfig_dict(self._state["ram_user_id"], client_certificate=(cert, key))
        expiration = datetime.now(UTC) + timedelta(minutes=int(minutes or _DEFAULT_KUBECONFIG_MINUTES))
        return Response.json(
            200,
            {"config": yaml.safe_dump(config, sort_keys=False), "expiration": _rfc3339(expiration)},
            content_type=_CONTENT_TYPE,
        )

    def _update_kms(self, request: Request, record: dict) -> Response:
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return _error(400, "InvalidParameter", "The request body is not valid JSON.")
        disable = bool(body.get("disable_encryption"))
        if not disable and not body.get("kms_key_id"):
            return _error(400, "InvalidParameter", "kms_key_id is required unless disable_encryption is true.")
        if record["state"] != "running":
            return _error(400, "ErrorClusterState", f"cluster {record['cluster_id']} is {record['state']}, not running")
        if record["kms_updated_at"] and time.time() - record["kms_updated_at"] < self.kms_cooldown:
            return _error(
                409, "Conflict", "the KMS encryption settings of this cluster changed less than 5 minutes ago"
            )
        now = time.time()
        record.update(
            kms={"kms_key_id": body.get("kms_key_id"), "disable_encryption": disable},
            kms_updated_at=now,
            state="updating",
            update_done_at=now + self.update_seconds,
            update_polls=0,
        )
        self._save()
        return Response(200)


def _fault(kind: str, status: int) -> Response:
    if kind == "throttle":
        return _error(429, "Throttling.User", "Request was denied due to user flow control.")
    if kind == "deny":
        return _error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
    return _error(status, status_error_code(status), f"Injected fault: HTTP {status}.")
