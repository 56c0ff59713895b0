"""AWS EKS (kind ``eks``): DescribeCluster for the lookup, the bearer token ``aws eks get-token``
makes for credentials, AssociateEncryptionConfig with ListUpdates/DescribeUpdate for Secret
encryption (CLOUD-APIS §2).

Identity: ``region``, ``cluster_name``, optional ``assume_role_arn`` (assumed through STS, and again
when its keys have 5 minutes left). Credentials come from botocore's standard chain only
(environment, shared profile, SSO, container or instance role). ``endpoint`` replaces the EKS
endpoint only. STS calls (AssumeRole) go where botocore's configuration sends them
(``AWS_ENDPOINT_URL_STS`` included).

Tokens are presigned for the regional STS host of the cluster's region (``sts.<region>.amazonaws.com``,
``.amazonaws.com.cn`` in China), as ``aws eks get-token`` does: a cluster's authenticator accepts
GetCallerIdentity URLs of STS hosts only, so neither the EKS endpoint override nor a configured
STS endpoint (a VPC endpoint, say) may end up in a token. ``FLEETFORM_STS_ENDPOINT`` names another
STS host when the cluster's authenticator is set up for it.

Sessions and clients are shared by the process (:mod:`.sdk_clients`): a session per region, an
assumed-role session per region and role, an EKS client per region, endpoint and role, each for the
``AWS_*`` environment they were made in.
"""

from __future__ import annotations

import base64
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TypeVar

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)

from kubeclient import render_token_kubeconfig

from ..errors import ErrorCode, Problem
from ..kube import parse_version
from . import sdk_clients
from .base import CloudError, ClusterDescription, api_error, not_found, with_retries

KIND = "eks"
TOKEN_PREFIX = "k8s-aws-v1."
TOKEN_URL_EXPIRY = 60  # seconds, as aws eks get-token presigns; STS accepts the URL for 15 minutes
CLUSTER_ID_HEADER = "x-k8s-aws-id"
PROVIDER_DEFAULT_ENCRYPTION = (1, 28)  # from 1.28 EKS encrypts all API data with an AWS-owned key (V35)
STS_ENDPOINT_VARIABLE = "FLEETFORM_STS_ENDPOINT"
# botocore's own retries are off: with_retries is the one retry loop, so attempts and backoff are ours.
_CONFIG = Config(
    retries={"total_max_attempts": 1, "mode": "standard"},
    connect_timeout=10,
    read_timeout=30,
    max_pool_connections=sdk_clients.POOL_CONNECTIONS,
)
# Presigning resolves the partition's regional STS host, whatever endpoint the environment configures.
_PRESIGN_CONFIG = _CONFIG.merge(Config(ignore_configured_endpoint_urls=True))
_THROTTLED = {
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
}
_UNAUTHORIZED = {
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "MissingAuthenticationToken",
    "AuthFailure",
}
_EXPIRED = {"ExpiredTokenException", "ExpiredToken", "RequestExpired"}
_FORBIDDEN = {"AccessDeniedException", "AccessDenied"}
_NOT_FOUND = {"ResourceNotFoundException", "NotFoundException"}
_NETWORK = (EndpointConnectionError, ConnectionClosedError, ConnectTimeoutError, ReadTimeoutError)
_CREDENTIALS_HINT = "set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, to a valid identity"
_ENVIRONMENT = ("AWS_", "HOME")  # what botocore's credential chain and configuration read
# boto3 sessions are not thread-safe (their clients are): clients of the shared sessions are made under it.
_SESSION_LOCK = threading.Lock()

T = TypeVar("T")


def source(identity: dict, endpoint: str | None = None) -> EksSource:
    return EksSource(identity["region"], identity["cluster_name"], identity.get("assume_role_arn") or None, endpoint)


def check(description: ClusterDescription, name: str) -> list[Problem]:
    """EKS has no preview rule of its own beyond the generic ones (exists, running, version)."""
    return []


def bearer_token(session: boto3.session.Session, region: str, cluster_name: str) -> str:
    """``k8s-aws-v1.`` + unpadded base64url of a presigned STS GetCallerIdentity URL (regional STS host,
    or ``FLEETFORM_STS_ENDPOINT``) that signs the header ``x-k8s-aws-id: <cluster name>``, so the token
    opens this cluster only. Local: no call. The STS client is this token's own (it carries the
    cluster's name in a handler); ``session`` may be shared."""
    endpoint = os.environ.get(STS_ENDPOINT_VARIABLE) or None
    sts = _client(session, "sts", region_name=region, endpoint_url=endpoint, config=_PRESIGN_CONFIG)
    sts.meta.events.register("before-sign.sts.GetCallerIdentity", partial(_bind_to_cluster, cluster_name))
    url = sts.generate_presigned_url("get_caller_identity", Params={}, ExpiresIn=TOKEN_URL_EXPIRY, HttpMethod="GET")
    return TOKEN_PREFIX + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def _bind_to_cluster(cluster_name: str, request, **_) -> None:
    request.headers[CLUSTER_ID_HEADER] = cluster_name


@dataclass(frozen=True)
class EksSource:
    region: str
    cluster_name: str
    assume_role_arn: str | None = None
    endpoint: str | None = None

    def describe(self) -> ClusterDescription:
        cluster = self._describe_cluster()
        key_arn = _key_arn(cluster)
        return ClusterDescription(
            kind=KIND,
            native_id=cluster["arn"],
            region=self.region,
            state=cluster["status"],
            running=cluster["status"] == "ACTIVE",
            kubernetes_version=cluster["version"],
            endpoint=cluster["endpoint"],
            ca_data=cluster["certificateAuthority"]["data"],
            flags={"encryption_config": key_arn is not None, "encryption_key_arn": key_arn},
        )

    def credentials(self) -> str:
        """A token kubeconfig: the cluster's endpoint and CA, a fresh STS token (valid 15 minutes)."""
        description = self.describe()
        token = self._call(lambda: bearer_token(self._session(), self.region, self.cluster_name))
        return render_token_kubeconfig(f"eks-{self.cluster_name}", description.endpoint, description.ca_data, token)

    def encryption_status(self) -> dict:
        """Whether a customer-managed key encrypts Secrets, and the latest association update."""
        key_arn = _key_arn(self._describe_cluster())
        return {"enabled": key_arn is not None, "key": key_arn, "operation": self._latest_association()}

    def encryption_state(self, operation: str | None = None) -> dict:
        """Secret encryption in the shape every cloud kind answers (``providers.dynamic.cloud_encryption``):
        ``enabled`` once ``encryptionConfig`` names a key; else the association update ``operation``
        (DescribeUpdate), or without one the newest association (ListUpdates), tells ``enabling``
        (InProgress) or ``failed`` (Failed/Cancelled, with its ``errors[]``)."""
        # The update first: read after it, the cluster shows whatever a Successful update wrote (read before,
        # it could predate an update that finishes in between and look like a success that wrote nothing).
        update = self._describe_association(operation) if operation else self._latest_association()
        key_arn = _key_arn(self._describe_cluster())
        status = (update or {}).get("status")
        reason = f"update {update['id']} {status}" if update else "no association update"
        if update and update["errors"]:
            reason += ": " + "; ".join(update["errors"])
        if key_arn:
            state = "enabled"
        elif status == "InProgress":
            state = "enabling"
        elif status in ("Failed", "Cancelled"):
            state = "failed"
        else:
            state, reason = "disabled", "no customer-managed key in encryptionConfig"
        return {
            "state": state,
            "key": {"key_arn": key_arn} if key_arn else None,
            "key_reported": True,
            "busy": status == "InProgress",
            "operation": (update or {}).get("id"),
            "reason": reason,
        }

    def disable_encryption(self) -> dict:
        """Impossible: EKS has no call that removes or replaces an associated key (V36)."""
        raise CloudError(
            "invalid",
            f"EKS secrets encryption on '{self.cluster_name}' cannot be disabled or re-keyed once associated",
            ErrorCode.ENC_IRREVERSIBLE,
        )

    def enable_encryption(self, key: dict) -> dict:
        """Associate ``key["key_arn"]`` (a KMS key ARN) for Secrets. EKS cannot undo or re-key this
        (V36), so another key already set is refused and the same key is a no-op. Without a key,
        1.28+ is already encrypted by AWS (nothing to call) and older versions are refused (V35).
        Returns the update; :meth:`encryption_status` shows when it has finished."""
        key_arn = key.get("key_arn")
        description = self.describe()
        if not key_arn:
            if parse_version(description.kubernetes_version) >= PROVIDER_DEFAULT_ENCRYPTION:
                return {"operation": None, "status": "provider-default", "key": None}
            raise CloudError(
                "invalid",
                f"EKS {description.kubernetes_version} needs key_arn to enable secrets encryption",
                ErrorCode.ENC_KEY_REQUIRED,
            )
        current = description.flags["encryption_key_arn"]
        if current == key_arn:
            return {"operation": None, "status": "Successful", "key": key_arn}
        if current:
            raise CloudError(
                "invalid",
                f"EKS secrets encryption on '{self.cluster_name}' cannot be disabled or re-keyed once associated",
                ErrorCode.ENC_IRREVERSIBLE,
            )
        request_token = str(uuid.uuid4())  # one per intent, so that a retried call cannot start a second update
        update = self._call(
            lambda: self._eks().associate_encryption_config(
                clusterName=self.cluster_name,
                clientRequestToken=request_token,
                encryptionConfig=[{"resources": ["secrets"], "provider": {"keyArn": key_arn}}],
            )
        )["update"]
        return {"operation": update["id"], "status": update["status"], "key": key_arn}

    # --- SDK plumbing ---------------------------------------------------------------------------

    def _describe_cluster(self) -> dict:
        return self._call(lambda: self._eks().describe_cluster(name=self.cluster_name))["cluster"]

    def _describe_association(self, update_id: str) -> dict:
        """One update (DescribeUpdate) as ``{"id", "status", "errors"}``; a vanished one reads as failed."""
        try:
            update = with_retries(
                lambda: self._eks().describe_update(name=self.cluster_name, updateId=update_id)["update"],
                retryable=_transient,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _NOT_FOUND:
                return {"id": update_id, "status": "Failed", "errors": [f"update {update_id} not found"]}
            raise self._error(exc) from exc
        except BotoCoreError as exc:
            raise self._error(exc) from exc
        return _update_summary(update)

    def _latest_association(self) -> dict | None:
        """The newest AssociateEncryptionConfig update (ListUpdates + DescribeUpdate), or None."""

        def call() -> dict | None:
            eks = self._eks()
            pages = eks.get_paginator("list_updates").paginate(name=self.cluster_name)
            updates = [
                eks.describe_update(name=self.cluster_name, updateId=update_id)["update"]
                for page in pages
                for update_id in page.get("updateIds", [])
            ]
            associations = [u for u in updates if u.get("type") == "AssociateEncryptionConfig"]
            return max(associations, key=lambda u: u["createdAt"], default=None)

        latest = self._call(call)
        return None if latest is None else _update_summary(latest)

    def _session(self) -> boto3.session.Session:
        """The shared session on the standard credential chain, or on the role assumed through it."""
        session = sdk_clients.client(
            KIND, ("session", self.region), _ENVIRONMENT, lambda: boto3.session.Session(region_name=self.region)
        )
        if not self.assume_role_arn:
            return session
        assumed = sdk_clients.client(
            KIND,
            ("assumed role", self.region, self.assume_role_arn),
            _ENVIRONMENT,
            lambda: _assume_role(session, self.assume_role_arn, self.region),
            fresh=lambda kept: sdk_clients.lasts(kept.expiration),
        )
        return assumed.session

    def _eks(self):
        """The shared EKS client of the current session (a renewed role session gets a new one)."""
        session = self._session()
        kept = sdk_clients.client(
            KIND,
            ("eks", self.region, self.endpoint, self.assume_role_arn),
            _ENVIRONMENT,
            lambda: _SessionClient(session, _client(session, "eks", endpoint_url=self.endpoint, config=_CONFIG)),
            fresh=lambda kept: kept.session is session,
        )
        return kept.client

    def _call(self, call: Callable[[], T]) -> T:
        try:
            return with_retries(call, retryable=_transient)
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc) from exc

    def _error(self, exc: Exception) -> CloudError:
        """The CloudError for an SDK error, with what the user should do about it."""
        if isinstance(exc, (NoCredentialsError, PartialCredentialsError, ProfileNotFound)):
            return api_error("unauthorized", f"eks: no usable AWS credentials ({exc}): {_CREDENTIALS_HINT}")
        if not isinstance(exc, ClientError):
            return api_error(
                "unavailable",
                f"eks: AWS could not be reached in {self.region} ({exc}); "
                "check the network, proxy and endpoint, then retry",
            )
        error, operation = exc.response.get("Error", {}), exc.operation_name
        code, status = error.get("Code", ""), exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        failed = f"eks API call {operation} failed: {code} ({error.get('Message', '')})"
        action = f"{'sts' if operation in ('AssumeRole', 'GetCallerIdentity') else 'eks'}:{operation}"
        if code in _NOT_FOUND and operation != "DescribeUpdate":
            return not_found(KIND, self.cluster_name, self.region)
        if code in _THROTTLED or status == 429:
            return api_error("throttled", f"{failed}. Still throttled after retries: retry later or lower --parallel")
        if code in _UNAUTHORIZED:
            return api_error("unauthorized", f"{failed}. AWS rejected the credentials: {_CREDENTIALS_HINT}")
        if code in _EXPIRED:
            return api_error(
                "expired",
                f"{failed}. The AWS credentials have expired: renew them "
                "(aws sso login, or fresh AWS_SESSION_TOKEN keys)",
            )
        if code in _FORBIDDEN or status == 403:
            return api_error("forbidden", f"{failed}. The caller may not do this: allow {action} in its IAM policy")
        if status >= 500:
            return api_error("unavailable", f"{failed}. AWS failed repeatedly; retry later")
        return api_error("invalid", failed)


@dataclass(frozen=True)
class _AssumedRole:
    session: boto3.session.Session
    expiration: datetime


@dataclass(frozen=True)
class _SessionClient:
    session: boto3.session.Session
    client: BaseClient


def _client(session: boto3.session.Session, service: str, **options) -> BaseClient:
    """A client of ``session``, which other threads may share."""
    with _SESSION_LOCK:
        return session.client(service, **options)


def _assume_role(session: boto3.session.Session, role_arn: str, region: str) -> _AssumedRole:
    """A session on the keys of ``role_arn``, assumed through ``session``, and when they expire."""
    sts = _client(session, "sts", config=_CONFIG)
    keys = sts.assume_role(RoleArn=role_arn, RoleSessionName="fleetform")["Credentials"]
    assumed = boto3.session.Session(
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        aws_session_token=keys["SessionToken"],
        region_name=region,
    )
    return _AssumedRole(assumed, keys["Expiration"])


def _update_summary(update: dict) -> dict:
    return {
        "id": update["id"],
        "status": update["status"],
        "errors": [f"{e.get('errorCode')}: {e.get('errorMessage')}" for e in update.get("errors", [])],
    }


def _key_arn(cluster: dict) -> str | None:
    for item in cluster.get("encryptionConfig") or []:
        if "secrets" in item.get("resources", []):
            return (item.get("provider") or {}).get("keyArn")
    return None


def _transient(exc: Exception) -> bool:
    """Throttling, server-side faults and network errors are worth another try."""
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return exc.response.get("Error", {}).get("Code") in _THROTTLED or status == 429 or status >= 500
    return isinstance(exc, _NETWORK)
