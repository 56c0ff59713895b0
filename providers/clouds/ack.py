"""Alibaba Cloud ACK (kind ``ack``): Container Service API 2015-12-15 through alibabacloud_cs20151215.

Identity: ``region_id``, ``cluster_id``. Credentials: ``ALIBABA_CLOUD_ACCESS_KEY_ID`` /
``ALIBABA_CLOUD_ACCESS_KEY_SECRET`` (and ``ALIBABA_CLOUD_SECURITY_TOKEN`` for STS) when set, read at
call time because the SDK's own environment provider snapshots them when it is first imported;
otherwise the rest of the Alibaba default chain (CLI profile, credentials file, OIDC, ECS RAM role).
``endpoint`` (``http://host:port``, ``https://host`` or bare ``host``) replaces the regional
endpoint ``cs.<region>.aliyuncs.com`` and, with a scheme, the protocol.

The SDK does not retry by default; throttling and transient faults are retried here by
:func:`base.with_retries`.

A client per region and endpoint is shared by the process (:mod:`.sdk_clients`), for the Alibaba
Cloud environment it was made in.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from alibabacloud_credentials.client import Client as CredentialClient
from alibabacloud_credentials.exceptions import CredentialException
from alibabacloud_cs20151215.client import Client
from alibabacloud_cs20151215.models import DescribeClusterUserKubeconfigRequest, UpdateKMSEncryptionRequest
from alibabacloud_tea_openapi.exceptions import ThrottlingException
from alibabacloud_tea_openapi.utils_models import Config
from Tea.exceptions import TeaException, UnretryableException

from ..errors import ErrorCode, Problem
from . import sdk_clients
from .base import (
    RETRYABLE_STATUS,
    CloudError,
    ClusterDescription,
    kubeconfig_context,
    not_found,
    split_endpoint,
    with_retries,
)

T = TypeVar("T")

KIND = "ack"
# Validity of the temporary kubeconfigs asked for: the bootstrap credential is used right after it
# is issued; describe() only reads the CA from one, so it asks for the shortest validity ACK allows.
BOOTSTRAP_MINUTES = 60
DESCRIBE_MINUTES = 15
_CREDENTIAL_HINT = (
    "set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET to a valid AccessKey pair "
    "(or configure an Alibaba Cloud profile or RAM role)"
)
# What the credentials read: the AccessKey variables, the rest of the chain's (ALIBABA_CLOUD_PROFILE,
# ALIBABA_CLOUD_ROLE_ARN, ...) and the CLI profile and credentials file under HOME.
_ENVIRONMENT = ("ALIBABA_CLOUD_", "HOME")


@dataclass(frozen=True)
class AckSource:
    region_id: str
    cluster_id: str
    endpoint: str | None = None

    # --- protocol -------------------------------------------------------------------------------

    def describe(self) -> ClusterDescription:
        """DescribeClusterDetail; the API server CA, which the detail lacks, comes from a
        short-lived user kubeconfig, fetched only for a running cluster."""
        detail = self._call("describe", lambda client: client.describe_cluster_detail(self.cluster_id)).body
        if detail.region_id and detail.region_id != self.region_id:
            raise self._not_found()
        endpoints = _endpoints(detail.master_url)
        running = detail.state == "running"
        ca_data = ""
        if running:
            ca_data = kubeconfig_context(self._kubeconfig(DESCRIBE_MINUTES), self.cluster_id).ca_data
        return ClusterDescription(
            kind=KIND,
            native_id=detail.cluster_id,
            region=detail.region_id or self.region_id,
            state=detail.state or "",
            running=running,
            kubernetes_version=detail.current_version or "",
            endpoint=endpoints["public"] or endpoints["private"],
            ca_data=ca_data,
            flags={
                "cluster_type": detail.cluster_type or "",
                "cluster_spec": detail.cluster_spec or "",
                "profile": detail.profile or "",
                "deletion_protection": bool(detail.deletion_protection),
                "endpoints": endpoints,
            },
        )

    def credentials(self) -> str:
        """A temporary user kubeconfig (DescribeClusterUserKubeconfig) for the calling RAM identity."""
        return self._kubeconfig(BOOTSTRAP_MINUTES)

    def encryption_status(self) -> dict:
        """ACK documents no field that reports Secret encryption, so ``enabled`` and ``key`` are
        unknown (None); ``state`` tells whether an update is still running (``updating``). The
        engine keeps what it set and treats ``running`` after the call as done (CLOUD-APIS §5.4)."""
        detail = self._call("describe", lambda client: client.describe_cluster_detail(self.cluster_id)).body
        return {"enabled": None, "key": None, "state": detail.state or ""}

    def enable_encryption(self, key: dict) -> dict:
        """UpdateKMSEncryption with ``key["kms_key_id"]``. ACK answers with a status code only; the
        cluster goes ``updating`` and back to ``running`` when done (poll :meth:`encryption_status`).
        Retried only when throttled: a call that reached ACK starts its 5-minute cool-down (409)."""
        request = UpdateKMSEncryptionRequest(kms_key_id=key["kms_key_id"], disable_encryption=False)
        response = self._call(
            "update KMS encryption of",
            lambda client: client.update_kmsencryption(self.cluster_id, request),
            retryable=_throttled,
        )
        return {"enabled": True, "key": key["kms_key_id"], "status_code": response.status_code}

    def disable_encryption(self) -> dict:
        """UpdateKMSEncryption with ``disable_encryption: true``; polled like :meth:`enable_encryption`."""
        request = UpdateKMSEncryptionRequest(disable_encryption=True)
        response = self._call(
            "update KMS encryption of",
            lambda client: client.update_kmsencryption(self.cluster_id, request),
            retryable=_throttled,
        )
        return {"enabled": False, "key": None, "status_code": response.status_code}

    def encryption_state(self, operation: str | None = None) -> dict:
        """Secret encryption in the shape every cloud kind answers (``providers.dynamic.cloud_encryption``).
        ACK documents no field for it, so ``state`` is None (not reported) and ``key`` None; the
        cluster ``state`` says whether an update still runs (``busy``) or the cluster ``failed``."""
        detail = self._call("describe", lambda client: client.describe_cluster_detail(self.cluster_id)).body
        cluster_state = detail.state or ""
        return {
            "state": "failed" if cluster_state in _FAILED_STATES else None,
            "key": None,
            "key_reported": False,
            "busy": cluster_state in _BUSY_STATES,
            "operation": operation,
            "reason": f"ACK reports no Secret encryption state; cluster state {cluster_state or 'unknown'}",
        }

    # --- SDK plumbing ---------------------------------------------------------------------------

    def _kubeconfig(self, minutes: int) -> str:
        request = DescribeClusterUserKubeconfigRequest(private_ip_address=False, temporary_duration_minutes=minutes)
        response = self._call(
            "get a kubeconfig for", lambda client: client.describe_cluster_user_kubeconfig(self.cluster_id, request)
        )
        return response.body.config

    def _client(self) -> Client:
        """The shared client for this region and endpoint."""
        return sdk_clients.client(KIND, (self.region_id, self.endpoint), _ENVIRONMENT, self._new_client)

    def _new_client(self) -> Client:
        config = Config(region_id=self.region_id, max_idle_conns=sdk_clients.POOL_CONNECTIONS, **_credential_options())
        if self.endpoint:
            scheme, config.endpoint = split_endpoint(self.endpoint)
            if scheme:
                config.protocol = scheme.upper()
        return Client(config)

    def _call(
        self, operation: str, call: Callable[[Client], T], retryable: Callable[[Exception], bool] | None = None
    ) -> T:
        try:
            return with_retries(lambda: call(self._client()), retryable=retryable or _retryable)
        except (TeaException, CredentialException) as exc:
            raise self._error(operation, exc) from exc

    def _not_found(self) -> CloudError:
        return not_found(KIND, self.cluster_id, self.region_id)

    def _error(self, operation: str, exc: Exception) -> CloudError:
        """Map by error code family first (Alibaba answers an unknown AccessKey with 404), then by
        HTTP status."""
        inner = getattr(exc, "inner_exception", None)
        if isinstance(exc, CredentialException) or isinstance(inner, CredentialException):
            return CloudError(
                "unauthorized", f"no Alibaba Cloud credentials found ({inner or exc}): {_CREDENTIAL_HINT}"
            )
        if isinstance(exc, UnretryableException):
            return CloudError(
                "unavailable",
                f"cannot reach the ACK API at {self.endpoint or 'its regional endpoint'} "
                f"to {operation} cluster {self.cluster_id} ({inner or exc}); retry later",
            )
        code = str(getattr(exc, "code", "") or "")
        status = getattr(exc, "status_code", None)
        detail = f"{code}: {getattr(exc, 'message', '')}"
        cluster = f"ACK cluster {self.cluster_id} in {self.region_id}"
        if code.startswith("InvalidAccessKeyId") or code == "InvalidCredentials":
            return CloudError(
                "unauthorized", f"Alibaba Cloud does not accept the AccessKey ID ({detail}): {_CREDENTIAL_HINT}"
            )
        if code.startswith("SignatureDoesNotMatch"):
            return CloudError(
                "unauthorized",
                f"Alibaba Cloud rejected the request signature ({detail}): check that "
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET belongs to ALIBABA_CLOUD_ACCESS_KEY_ID",
            )
        if "Expired" in code:
            return CloudError(
                "expired",
                f"the Alibaba Cloud credential has expired ({detail}): refresh "
                "ALIBABA_CLOUD_SECURITY_TOKEN or use a long-lived AccessKey",
            )
        if code == "ForbiddenUpdateKMSState":
            return CloudError(
                "forbidden",
                f"ForbiddenUpdateKMSState: caller lacks cluster admin/ops RBAC on '{self.cluster_id}'",
                ErrorCode.ENC_ACK_RBAC,
            )
        if code == "ErrorClusterNotFound" or status == 404:
            return self._not_found()
        if _throttled(exc):
            return CloudError(
                "throttled",
                f"Alibaba Cloud kept throttling the requests to {operation} {cluster} ({detail}); retry later",
            )
        if status == 403 or code.startswith("Forbidden") or code == "ErrorCheckAcl":
            return CloudError(
                "forbidden",
                f"the RAM identity may not {operation} {cluster} ({detail}): grant it "
                "AliyunCSFullAccess or a policy allowing cs:* on the cluster",
            )
        if status == 409:
            return CloudError(
                "unavailable",
                "ACK rejected the change (409): wait 5 minutes after the previous KMS update",
                ErrorCode.ENC_UPDATE_IN_PROGRESS,
            )
        if status is not None and 400 <= status < 500:
            return CloudError("invalid", f"ACK refused to {operation} {cluster}: {detail}")
        return CloudError("unavailable", f"ACK could not {operation} {cluster} ({detail}); retry later")


def _throttled(exc: Exception) -> bool:
    code = str(getattr(exc, "code", "") or "")
    return (
        isinstance(exc, ThrottlingException)
        or getattr(exc, "status_code", None) == 429
        or code.startswith("Throttling")
    )


_BUSY_STATES = ("updating", "upgrading", "scaling", "initial", "draining")  # an operation runs: wait
_FAILED_STATES = ("failed",)


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, UnretryableException):  # the SDK's wrapper for network failures
        return not isinstance(exc.inner_exception, CredentialException)
    return _throttled(exc) or getattr(exc, "status_code", None) in RETRYABLE_STATUS


def _credential_options() -> dict:
    access_key_id = os.environ.get("ALIBABA_CLOUD_ACCESS_KEY_ID")
    access_key_secret = os.environ.get("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
    if access_key_id and access_key_secret:
        return {
            "access_key_id": access_key_id,
            "access_key_secret": access_key_secret,
            "security_token": os.environ.get("ALIBABA_CLOUD_SECURITY_TOKEN") or None,
        }
    return {"credential": CredentialClient()}


def _endpoints(master_url: str | None) -> dict:
    """``master_url`` is a JSON-encoded string (an empty one when no endpoint is exposed)."""
    try:
        urls = json.loads(master_url or "{}")
    except ValueError:
        urls = {}
    return {"public": urls.get("api_server_endpoint") or "", "private": urls.get("intranet_api_server_endpoint") or ""}


# --- kind rules -----------------------------------------------------------------------------------


def check(description: ClusterDescription, name: str) -> list[Problem]:
    """No ACK-specific rule applies at registration (V37 is checked for EtcdEncryption)."""
    return []


def check_encryption(description: ClusterDescription, name: str) -> list[Problem]:
    """V37: Secret encryption with KMS needs ACK Pro."""
    spec = description.flags.get("cluster_spec") or ""
    if spec.startswith("ack.pro."):
        return []
    shown = spec or description.flags.get("cluster_type") or "not ACK Pro"
    return [
        Problem(
            ErrorCode.ENC_NEEDS_ACK_PRO,
            f"ACK cluster '{name}' is {shown}; Secret encryption needs ACK Pro (ack.pro.small)",
        )
    ]


def source(identity: dict, endpoint: str | None = None) -> AckSource:
    return AckSource(identity["region_id"], identity["cluster_id"], endpoint or None)
