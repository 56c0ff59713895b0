"""AWS EKS control-plane emulator: moto's server for the EKS and STS APIs, behind a thin proxy on
loopback HTTP that adds what moto lacks (CLOUD-APIS §8).

Point ``boto3.client("eks", endpoint_url=emulator.endpoint)`` (and the ``sts`` client) at it, with the
dummy keys from :meth:`EksEmulator.environment`. Every cluster is backed by the virtual cluster
``eks-<cluster name>`` of the Kubernetes emulator (see :func:`~sandbox.clouds.emulator.backing_name`).

Why a proxy rather than seeding moto's backend: moto's model classes are internal, while its HTTP
API is the public contract. The emulator keeps its own records (state, version, encryption,
updates), creates each cluster in moto through the API, and the proxy

* overlays DescribeCluster answers with what moto cannot know: ``endpoint`` and
  ``certificateAuthority.data`` of the backing virtual cluster (moto's are random strings),
  ``status``, ``version`` (major.minor, as EKS reports it) and ``encryptionConfig``;
* serves AssociateEncryptionConfig, DescribeUpdate and ListUpdates, which moto lacks: an update is
  ``InProgress`` (cluster ``UPDATING``) for :attr:`EksEmulator.update_seconds` and until
  DescribeUpdate has shown it in progress :attr:`EksEmulator.update_polls` times, then
  ``Successful`` with ``encryptionConfig`` written to the cluster (or ``Failed`` with ``errors``
  and no key, after :meth:`EksEmulator.fail_next_update`); a second association while one runs is
  409 ResourceInUseException, one on an encrypted cluster 400 InvalidRequestException (the key
  can be neither changed nor removed: there is no disassociate call), a repeated
  ``clientRequestToken`` returns the same update; :attr:`EksEmulator.calls` counts the calls by
  operation name (DescribeCluster, AssociateEncryptionConfig, DescribeUpdate, ListUpdates);
* pins every request to this emulator's own moto account (header ``x-moto-account-id``), so that
  emulators sharing a process (moto's state is global) do not see each other's clusters;
* remembers the temporary keys moto's STS AssumeRole hands out, so tokens signed with them verify;
* injects the faults queued with :meth:`throttle_next`, :meth:`fail_next`, :meth:`deny_next`
  (EKS calls only; STS calls are never faulted).

Bearer tokens: each backing cluster has a token checker that accepts ``k8s-aws-v1.`` tokens the
way the EKS authenticator does with STS: the token is a presigned GetCallerIdentity URL of an STS
host (``sts.amazonaws.com``, or the regional ``sts.<region>.amazonaws.com[.cn]`` of the region it
was signed for; a URL of any other host, this emulator's included, is refused), at most 15 minutes old, whose SigV4 signature verifies with ``x-k8s-aws-id`` = the
cluster's name and the secret of a key this emulator knows. The caller becomes a member of
``system:masters`` (the cluster creator's admin access entry).

Not emulated: access entries and aws-auth (every valid caller is cluster-admin), IAM policies (use
:meth:`deny_next`), other update types, KMS itself (any ``arn:aws:kms:`` ARN is accepted; a key
disabled or deleted later is not reflected in ``health``), DeleteCluster through the API (moto
forgets the cluster but the records and the backing cluster stay; use :meth:`remove_cluster`),
Outposts clusters (token bound to the cluster id), faults on STS. Clusters created through the API
are moto's alone: no backing cluster, moto's random endpoint and CA.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import logging
import re
import secrets
import time
import uuid
import weakref
import xml.etree.ElementTree as ElementTree
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Self
from urllib.parse import parse_qsl, quote, urlsplit

import boto3
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from sandbox.kubeapi import KubeApiEmulator, UserInfo, VirtualCluster
from sandbox.kubeapi.users import AUTHENTICATED, MASTERS

from .emulator import CloudEmulator
from .loopback import Request, Response

log = logging.getLogger("sandbox.clouds.eks")

CLUSTER_STATES = ("CREATING", "ACTIVE", "DELETING", "FAILED", "UPDATING", "PENDING")
TOKEN_PREFIX = "k8s-aws-v1."
TOKEN_WINDOW = 15 * 60  # seconds a presigned GetCallerIdentity URL is accepted, as STS does
DEFAULT_REGION = "us-east-1"
_ERROR_STATUS = {
    "InvalidParameterException": 400,
    "InvalidRequestException": 400,
    "ClientException": 400,
    "AccessDeniedException": 403,
    "UnrecognizedClientException": 403,
    "ExpiredTokenException": 403,
    "ResourceNotFoundException": 404,
    "ResourceInUseException": 409,
    "ThrottlingException": 429,
    "ServerException": 500,
    "ServiceUnavailableException": 503,
}
_CLUSTER = re.compile(r"^/clusters/(?P<name>[^/]+)$")
_ASSOCIATE = re.compile(r"^/clusters/(?P<name>[^/]+)/encryption-config/associate$")
_UPDATES = re.compile(r"^/clusters/(?P<name>[^/]+)/updates(?:/(?P<update>[^/]+))?$")
_SCOPE_REGION = re.compile(r"Credential=[^/]+/\d{8}/(?P<region>[^/]+)/")
_NOT_FORWARDED = {"host", "connection", "content-length", "transfer-encoding", "keep-alive", "server", "date"}


class EksApiError(Exception):
    """An error answer as EKS sends it: status, ``x-amzn-ErrorType`` header and ``message``."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    def response(self) -> Response:
        return Response.json(_ERROR_STATUS[self.code], {"message": self.message}, {"x-amzn-ErrorType": self.code})


class EksEmulator(CloudEmulator):
    """EKS (and STS) API on ``127.0.0.1``; clusters live in :attr:`kube` as ``eks-<cluster name>``.

    With ``data_dir`` the account, keys, port and cluster records (with their updates) are kept in
    ``<data_dir>/eks.json``; moto starts empty in every process and is given the clusters again.
    """

    kind = "eks"
    update_seconds = 0.5  # how long an AssociateEncryptionConfig update runs
    update_polls = 0  # how many DescribeUpdate answers show it InProgress before it can finish

    def __init__(self, kube: KubeApiEmulator, data_dir: Path | None = None):
        super().__init__(kube, data_dir)
        self._temporary_keys: dict[str, tuple[str, str]] = {}  # access key -> (secret, caller ARN)
        self._checked: weakref.WeakSet[VirtualCluster] = weakref.WeakSet()
        self._moto: ThreadedMotoServer | None = None
        self._moto_clients: dict[str, object] = {}
        self._failing_updates: list[dict] = []  # errors the next associations end with (fail_next_update)
        self.calls: Counter[str] = Counter()  # EKS calls answered, by operation name
        saved = self._load()
        self.account_id = saved.get("account_id") or "".join(secrets.choice("0123456789") for _ in range(12))
        self.access_key = saved.get("access_key") or "AKIA" + secrets.token_hex(8).upper()
        self.secret_key = saved.get("secret_key") or secrets.token_urlsafe(30)
        self._clusters: dict[tuple[str, str], dict] = {}
        for record in saved.get("clusters", []):
            self._clusters[_key(record)] = record
            self._backing(record)

    # --- lifecycle: moto runs behind the proxy ---------------------------------------------------

    def start(self) -> Self:
        if self._moto is not None:
            return self
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's server logs every request at INFO
        self._moto = ThreadedMotoServer("127.0.0.1", 0, verbose=False)
        self._moto.start()
        super().start()
        with self._lock:
            for record in self._clusters.values():
                self._create_in_moto(record)
        return self

    def stop(self) -> None:
        super().stop()
        if self._moto is not None:
            self._moto.stop()
            self._moto, self._moto_clients = None, {}

    def environment(self) -> dict[str, str]:
        """What botocore's credential chain needs to use this emulator (no instance-metadata probe)."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": DEFAULT_REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ENDPOINT_URL_STS": self.endpoint,  # AssumeRole reaches the emulated STS
        }

    # --- clusters -------------------------------------------------------------------------------

    def add_cluster(
        self,
        region: str,
        cluster_name: str,
        *,
        version: str = "1.29.4",
        state: str = "ACTIVE",
        encryption_key_arn: str | None = None,
    ) -> dict:
        """Create a cluster (or set the state and encryption of an existing one, which keeps its
        version); returns the fields DescribeCluster shows for it. ``encryption_key_arn`` makes it
        created with a customer-managed key for Secrets."""
        if state not in CLUSTER_STATES:
            raise ValueError(f"state must be one of {CLUSTER_STATES}")
        with self._lock:
            record = self._clusters.get((region, cluster_name)) or {
                "region": region,
                "cluster_name": cluster_name,
                "version": version,
                "updates": [],
            }
            record.update(
                state=state, encryptionConfig=_encryption_config(encryption_key_arn) if encryption_key_arn else []
            )
            self._clusters[_key(record)] = record
            self._backing(record)
            if self._moto is not None:
                self._create_in_moto(record)
            self._save()
            return {"name": cluster_name, "arn": self._arn(record), **self._overlay_fields(record)}

    def remove_cluster(self, region: str, cluster_name: str) -> None:
        """The cluster is deleted in the cloud: the API forgets it and its API server goes away."""
        with self._lock:
            record = self._clusters.pop((region, cluster_name), None)
            self._save()
        if record is None:
            return
        if self._moto is not None:
            try:
                self._moto_client(region).delete_cluster(name=cluster_name)
            except ClientError as exc:
                log.debug("eks emulator: moto did not delete %s: %s", cluster_name, exc)
        self._remove_backing(cluster_name)

    # --- fault knobs ----------------------------------------------------------------------------

    def throttle_next(self, count: int = 1) -> None:
        """The next ``count`` EKS calls answer 429 ThrottlingException."""
        self._faults.add(count, EksApiError("ThrottlingException", "Rate exceeded"))

    def fail_next(self, count: int = 1, code: str = "ServiceUnavailableException") -> None:
        """The next ``count`` EKS calls fail with the exception ``code`` (e.g. ``ServerException``)."""
        if code not in _ERROR_STATUS:
            raise ValueError(f"code must be one of {sorted(_ERROR_STATUS)}")
        self._faults.add(count, EksApiError(code, "Injected failure (sandbox fault)."))

    def deny_next(self, count: int = 1) -> None:
        """The next ``count`` EKS calls answer 403 UnrecognizedClientException (unknown credentials)."""
        self._faults.add(
            count, EksApiError("UnrecognizedClientException", "The security token included in the request is invalid.")
        )

    def fail_next_update(self, code: str = "AccessDenied", message: str = "The KMS key is not usable.") -> None:
        """The next AssociateEncryptionConfig is accepted but its update ends ``Failed`` with this
        ``errors[]`` entry (e.g. the cluster role may not use the key); the cluster keeps no key."""
        with self._lock:
            self._failing_updates.append({"errorCode": code, "errorMessage": message, "resourceIds": []})

    # --- proxy ----------------------------------------------------------------------------------

    def _handle(self, request: Request) -> Response:
        path = request.raw_path
        region = _request_region(request.headers.get("Authorization", ""))
        if path.startswith("/clusters"):
            try:
                with self._lock:  # one EKS call at a time against the records
                    if fault := self._faults.take():
                        raise fault
                    self._progress()
                    if request.method == "GET" and _CLUSTER.match(path):
                        self.calls["DescribeCluster"] += 1
                    answer = self._missing_route(request.method, path, region, request.body)
            except EksApiError as exc:
                return exc.response()
            if answer is not None:
                return Response.json(200, answer)
        response = self._forward(request)
        if response.status == 200 and request.method == "GET" and (match := _CLUSTER.match(path)):
            response.body = self._overlay(region, match["name"], response.body)
        elif response.status == 200 and b"AssumeRoleResult" in response.body:
            self._note_temporary_keys(response.body)
        return response

    def _missing_route(self, method: str, path: str, region: str, body: bytes) -> dict | None:
        """The answer of an operation moto lacks, or None to forward the request to moto."""
        if method == "POST" and (match := _ASSOCIATE.match(path)):
            self.calls["AssociateEncryptionConfig"] += 1
            return {"update": self._associate(self._record(region, match["name"]), _json(body))}
        if method == "GET" and (match := _UPDATES.match(path)):
            record = self._record(region, match["name"])
            if match["update"] is None:
                self.calls["ListUpdates"] += 1
                return {"updateIds": [update["id"] for update in record["updates"]]}
            self.calls["DescribeUpdate"] += 1
            return {"update": self._describe_update(record, match["update"])}
        return None

    def _forward(self, request: Request) -> Response:
        host, port = self._moto.get_host_and_port()
        connection = http.client.HTTPConnection(host, port, timeout=30)
        try:
            forwarded = {k: v for k, v in request.headers.items() if k.lower() not in _NOT_FORWARDED}
            forwarded["x-moto-account-id"] = self.account_id
            connection.request(request.method, request.target, body=request.body or None, headers=forwarded)
            response = connection.getresponse()
            kept = {k: v for k, v in response.getheaders() if k.lower() not in _NOT_FORWARDED}
            return Response(response.status, response.read(), kept)
        finally:
            connection.close()

    def _overlay(self, region: str, name: str, payload: bytes) -> bytes:
        with self._lock:
            record = self._clusters.get((region, name))
            if record is None:  # created through the API: moto's answer as it is
                return payload
            document = json.loads(payload)
            document["cluster"].update(self._overlay_fields(record))
            if not record["encryptionConfig"]:
                document["cluster"].pop("encryptionConfig", None)
            return json.dumps(document).encode()

    def _overlay_fields(self, record: dict) -> dict:
        backing = self._backing(record)
        updating = record["state"] == "ACTIVE" and any(u["status"] == "InProgress" for u in record["updates"])
        fields = {
            "status": "UPDATING" if updating else record["state"],
            "version": _major_minor(record["version"]),
            "endpoint": backing.url,
            "certificateAuthority": {"data": base64.b64encode(backing.ca_pem.encode()).decode()},
            "accessConfig": {"authenticationMode": "API_AND_CONFIG_MAP"},
        }
        if record["encryptionConfig"]:
            fields["encryptionConfig"] = record["encryptionConfig"]
        return fields

    def _record(self, region: str, name: str) -> dict:
        record = self._clusters.get((region, name))
        if record is None:
            raise EksApiError("ResourceNotFoundException", f"No cluster found for name: {name}.")
        return record

    # --- encryption updates ---------------------------------------------------------------------

    def _associate(self, record: dict, body: dict) -> dict:
        config = body.get("encryptionConfig") or []
        token = body.get("clientRequestToken")
        for update in record["updates"]:
            if token and update.get("clientRequestToken") == token:
                return _public(update)
        if any(update["status"] == "InProgress" for update in record["updates"]):
            raise EksApiError("ResourceInUseException", "Cluster has an update in progress.")
        if record["encryptionConfig"]:
            raise EksApiError("InvalidRequestException", "Encryption is already enabled on the cluster.")
        _validate_encryption_config(config)
        update = {
            "id": str(uuid.uuid4()),
            "status": "InProgress",
            "type": "AssociateEncryptionConfig",
            "params": [{"type": "EncryptionConfig", "value": json.dumps(config)}],
            "createdAt": time.time(),
            "errors": [],
            "clientRequestToken": token,
            "config": config,
            "polls": 0,
            "fails_with": self._failing_updates.pop(0) if self._failing_updates else None,
        }
        record["updates"].append(update)
        self._save()
        return _public(update)

    def _describe_update(self, record: dict, update_id: str) -> dict:
        update = next((u for u in record["updates"] if u["id"] == update_id), None)
        if update is None:
            raise EksApiError("ResourceNotFoundException", f"No update found for ID: {update_id}.")
        if update["status"] == "InProgress":
            update["polls"] = update.get("polls", 0) + 1
        return _public(update)

    def _progress(self) -> None:
        """Finish the updates that have run for :attr:`update_seconds` and been polled
        :attr:`update_polls` times: ``Successful`` (the key is the cluster's) or ``Failed``."""
        changed = False
        for record in self._clusters.values():
            for update in record["updates"]:
                if (
                    update["status"] == "InProgress"
                    and time.time() - update["createdAt"] >= self.update_seconds
                    and update.get("polls", 0) >= self.update_polls
                ):
                    if update.get("fails_with"):
                        update.update(status="Failed", errors=[update["fails_with"]])
                    else:
                        update["status"] = "Successful"
                        record["encryptionConfig"] = update["config"]
                    changed = True
        if changed:
            self._save()

    # --- moto -----------------------------------------------------------------------------------

    def _create_in_moto(self, record: dict) -> None:
        try:
            self._moto_client(record["region"]).create_cluster(
                name=record["cluster_name"],
                version=_major_minor(record["version"]),
                roleArn=f"arn:aws:iam::{self.account_id}:role/eks-cluster-role",
                resourcesVpcConfig={"subnetIds": ["subnet-0sandbox"]},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceInUseException":  # already there: fine
                raise

    def _moto_client(self, region: str):
        """An EKS client straight to moto (no faults), pinned to this emulator's account."""
        if region not in self._moto_clients:
            host, port = self._moto.get_host_and_port()
            client = boto3.client(
                "eks",
                region_name=region,
                endpoint_url=f"http://{host}:{port}",
                aws_access_key_id=self.access_key,
                aws_secret_access_key=self.secret_key,
            )
            client.meta.events.register("before-send.eks.*", self._pin_account)
            self._moto_clients[region] = client
        return self._moto_clients[region]

    def _pin_account(self, request, **_) -> None:
        request.headers["x-moto-account-id"] = self.account_id

    def _arn(self, record: dict) -> str:
        return f"arn:aws:eks:{record['region']}:{self.account_id}:cluster/{record['cluster_name']}"

    # --- bearer tokens --------------------------------------------------------------------------

    def _backing(self, record: dict) -> VirtualCluster:
        cluster = self._backing_cluster(record["cluster_name"], record["version"], {"region": record["region"]})
        if cluster not in self._checked:
            name = record["cluster_name"]
            cluster.add_token_checker(lambda token: self._kube_user(token, name))
            self._checked.add(cluster)
        return cluster

    def _kube_user(self, token: str, cluster_name: str) -> UserInfo | None:
        caller = self.token_caller(token, cluster_name)
        return UserInfo(caller, (MASTERS, AUTHENTICATED)) if caller else None

    def token_caller(self, token: str, cluster_name: str) -> str | None:
        """The caller ARN behind a valid EKS bearer token for ``cluster_name``, or None."""
        if not token.startswith(TOKEN_PREFIX) or self._server is None:
            return None
        try:
            url = _unb64(token[len(TOKEN_PREFIX) :]).decode()
        except ValueError:
            return None
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if (
            parts.scheme != "https"
            or parts.netloc not in _sts_hosts(query.get("X-Amz-Credential", ""))
            or parts.path not in ("", "/")
            or query.get("Action") != "GetCallerIdentity"
            or "x-k8s-aws-id" not in query.get("X-Amz-SignedHeaders", "").split(";")
            or not _fresh(query.get("X-Amz-Date", ""))
        ):
            return None
        known = self._secret_for(query.get("X-Amz-Credential", "").split("/")[0])
        if known is None:
            return None
        secret, caller = known
        expected = presigned_signature(
            secret, "GET", parts.path or "/", query, {"host": parts.netloc, "x-k8s-aws-id": cluster_name}
        )
        return caller if hmac.compare_digest(expected, query.get("X-Amz-Signature", "")) else None

    def _secret_for(self, access_key: str) -> tuple[str, str] | None:
        if access_key == self.access_key:
            return self.secret_key, f"arn:aws:iam::{self.account_id}:user/fleetform-sandbox"
        with self._lock:
            return self._temporary_keys.get(access_key)

    def _note_temporary_keys(self, payload: bytes) -> None:
        """Remember the keys in an STS AssumeRole answer (XML), with the assumed-role ARN."""
        fields = {element.tag.rsplit("}", 1)[-1]: element.text for element in ElementTree.fromstring(payload).iter()}
        if fields.get("AccessKeyId") and fields.get("SecretAccessKey"):
            with self._lock:
                self._temporary_keys[fields["AccessKeyId"]] = (fields["SecretAccessKey"], fields.get("Arn", ""))

    def _snapshot(self) -> dict:
        return {
            "account_id": self.account_id,
            "access_key": self.access_key,
            "secret_key": self.secret_key,
            "clusters": list(self._clusters.values()),
        }


def presigned_signature(secret_key: str, method: str, path: str, query: dict[str, str], headers: dict[str, str]) -> str:
    """The AWS SigV4 signature of a presigned (query-string) request, for the headers it signed."""
    credential = query["X-Amz-Credential"].split("/")
    date, region, service = credential[1], credential[2], credential[3]
    canonical_query = "&".join(f"{_uri(k)}={_uri(v)}" for k, v in sorted(query.items()) if k != "X-Amz-Signature")
    signed = query["X-Amz-SignedHeaders"].split(";")
    canonical_headers = "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in signed)
    canonical_request = "\n".join(
        [method, path, canonical_query, canonical_headers, ";".join(signed), hashlib.sha256(b"").hexdigest()]
    )
    scope = f"{date}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", query["X-Amz-Date"], scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    key = f"AWS4{secret_key}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def _sts_hosts(credential: str) -> set[str]:
    """The STS hosts a token signed with this credential scope (``KEY/DATE/REGION/sts/aws4_request``) may
    name: the regional host of its region, and the global ``sts.amazonaws.com``, which signs for us-east-1."""
    scope = credential.split("/")
    if len(scope) != 5 or scope[3] != "sts":
        return set()
    region = scope[2]
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return {f"sts.{region}.{suffix}"} | ({"sts.amazonaws.com"} if region == "us-east-1" else set())


def _key(record: dict) -> tuple[str, str]:
    return record["region"], record["cluster_name"]


def _major_minor(version: str) -> str:
    """EKS reports ``1.29`` for a cluster whose API server says ``v1.29.4-eks-...``."""
    return ".".join(version.lstrip("v").split("-")[0].split(".")[:2])


def _encryption_config(key_arn: str) -> list[dict]:
    return [{"resources": ["secrets"], "provider": {"keyArn": key_arn}}]


def _validate_encryption_config(config: list) -> None:
    if (
        len(config) != 1
        or config[0].get("resources") != ["secrets"]
        or not str((config[0].get("provider") or {}).get("keyArn", "")).startswith("arn:aws:kms:")
    ):
        raise EksApiError(
            "InvalidParameterException",
            "encryptionConfig must hold one item with resources ['secrets'] and provider.keyArn set to a KMS key ARN.",
        )


def _public(update: dict) -> dict:
    """An update as the API shows it (without the emulator's bookkeeping)."""
    return {k: update[k] for k in ("id", "status", "type", "params", "createdAt", "errors")}


def _json(body: bytes) -> dict:
    try:
        value = json.loads(body or b"{}")
    except ValueError as exc:
        raise EksApiError("InvalidRequestException", f"The request body is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise EksApiError("InvalidRequestException", "The request body must be a JSON object.")
    return value


def _request_region(authorization: str) -> str:
    """The region a SigV4-signed request is for (from its credential scope)."""
    match = _SCOPE_REGION.search(authorization)
    return match["region"] if match else DEFAULT_REGION


def _fresh(amz_date: str) -> bool:
    try:
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return False
    return -60 <= time.time() - signed_at <= TOKEN_WINDOW


def _uri(text: str) -> str:
    return quote(text, safe="-_.~")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
