"""Kind ``tke``: Tencent Kubernetes Engine through the official SDK (``TkeClient``, API 2018-05-25).

Credentials come from the SDK's default chain: ``TENCENTCLOUD_SECRET_ID`` / ``TENCENTCLOUD_SECRET_KEY``,
then ``~/.tencentcloud/credentials``, a CVM role, TKE OIDC. ``endpoint`` (``host:port`` or a URL;
``http://`` for a loopback emulator) replaces ``tke.tencentcloudapi.com``.

Identity (DOMAIN §2.3): ``region``, ``cluster_id``, and ``public`` (bool, default False) for
``endpoint_preference=public``, which becomes ``IsExtranet``. The SDK's own retryer stays off:
throttling and transient faults are retried by :func:`with_retries`, then mapped to CloudError.

A client per region and endpoint is shared by the process (:mod:`.sdk_clients`), for the Tencent
Cloud environment it was made in; the chain's temporary credentials (CVM role, OIDC) renew themselves.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.tke.v20180525 import models, tke_client

from providers.clouds import sdk_clients
from providers.clouds.base import (
    CloudError,
    ClusterDescription,
    no_public_endpoint,
    not_found,
    split_endpoint,
    with_retries,
)
from providers.errors import ErrorCode, Problem

KIND = "tke"
ATTEMPTS = 5
TIMEOUT = 30
RUNNING = "Running"
ENDPOINT_CREATED = "Created"
ENCRYPTION_OPENED = "Opened"
TRANSIENT_CODES = ("ClientNetworkError", "ServerNetworkError", "InternalError")
CREDENTIAL_HINT = (
    "set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY (or ~/.tencentcloud/credentials) "
    "to a valid, enabled API key pair"
)
# What the default chain reads: the API key, TKE's OIDC settings, ~/.tencentcloud/credentials.
_ENVIRONMENT = ("TENCENTCLOUD_", "TKE_", "HOME")


def source(identity: dict, endpoint: str | None = None) -> TkeSource:
    return TkeSource(
        region=identity["region"],
        cluster_id=identity["cluster_id"],
        public=bool(identity.get("public", False)),
        endpoint=endpoint,
    )


@dataclass(frozen=True)
class TkeSource:
    """One TKE cluster. Holds identifiers only (picklable); its client is shared through :mod:`.sdk_clients`."""

    region: str
    cluster_id: str
    public: bool = False
    endpoint: str | None = None

    def describe(self) -> ClusterDescription:
        client = self._client()
        found = self._call(client, "DescribeClusters", ClusterIds=[self.cluster_id])
        # An unknown id is believed to give an empty list rather than an error (CLOUD-APIS §12 #3).
        cluster = next((c for c in found.Clusters or [] if c.ClusterId == self.cluster_id), None)
        if cluster is None:
            raise self._not_found()
        endpoints = self._call(client, "DescribeClusterEndpoints", ClusterId=self.cluster_id)
        external, intranet = endpoints.ClusterExternalEndpoint or "", endpoints.ClusterIntranetEndpoint or ""
        return ClusterDescription(
            kind=KIND,
            native_id=self.cluster_id,
            region=self.region,
            state=cluster.ClusterStatus or "",
            running=cluster.ClusterStatus == RUNNING,
            kubernetes_version=cluster.ClusterVersion or "",
            endpoint=_url(external if self.public else intranet),
            ca_data=_ca_data(endpoints.CertificationAuthority or ""),
            flags={
                "cluster_name": cluster.ClusterName or "",
                "cluster_type": cluster.ClusterType or "",
                "cluster_level": cluster.ClusterLevel or "",
                "public_endpoint": bool(external),
                "private_endpoint": bool(intranet),
                "endpoint_preference": "public" if self.public else "private",
            },
        )

    def credentials(self) -> str:
        """The kubeconfig for the preferred endpoint. TKE hands out a kubeconfig pointing at an
        unreachable default domain when that endpoint is not enabled, so its status is checked first."""
        client = self._client()
        status = self._call(client, "DescribeClusterEndpointStatus", ClusterId=self.cluster_id, IsExtranet=self.public)
        if status.Status != ENDPOINT_CREATED:
            missing = _endpoint_missing(self.cluster_id, self.public)
            raise CloudError("invalid", missing.message, missing.code)
        answer = self._call(client, "DescribeClusterKubeconfig", ClusterId=self.cluster_id, IsExtranet=self.public)
        return answer.Kubeconfig

    def encryption_status(self) -> dict:
        """``{"enabled", "state", "error"}``; state is Opening, Opened, Closing or Closed. TKE does not
        report the key id here."""
        answer = self._call(self._client(), "DescribeEncryptionStatus", ClusterId=self.cluster_id)
        return {
            "enabled": answer.Status == ENCRYPTION_OPENED,
            "state": answer.Status or "",
            "error": answer.ErrorMsg or "",
        }

    def enable_encryption(self, key: dict) -> dict:
        """Submit EnableEncryptionProtection (``key``: optional ``kms_key_id`` (the stack's name; also
        ``key_id``), ``kms_region``; without a key id TKE creates its default key). Poll
        :meth:`encryption_status` until ``Opened``. Retried only when throttled (20 requests/s)."""
        kms = {"KmsRegion": key.get("kms_region") or self.region}
        key_id = key.get("kms_key_id") or key.get("key_id")
        if key_id:
            kms["KeyId"] = key_id
        action = "EnableEncryptionProtection"
        try:
            answer = self._send(
                self._client(), action, {"ClusterId": self.cluster_id, "KMSConfiguration": kms}, _throttled
            )
        except TencentCloudSDKException as exc:
            error = self._error(action, exc)
            if error.reason in ("invalid", "forbidden"):  # V40: KMS not enabled or not authorised for TKE
                error = CloudError(
                    error.reason,
                    f"TKE refused {action}: {exc.get_code()}: {exc.get_message()}",
                    ErrorCode.ENC_TKE_REFUSED,
                )
            raise error from exc
        return {"submitted": True, "request_id": answer.RequestId, "operation": answer.RequestId}

    def disable_encryption(self) -> dict:
        """Submit DisableEncryptionProtection; poll :meth:`encryption_status` until ``Closed``."""
        action = "DisableEncryptionProtection"
        try:
            answer = self._send(self._client(), action, {"ClusterId": self.cluster_id}, _throttled)
        except TencentCloudSDKException as exc:
            raise self._error(action, exc) from exc
        return {"submitted": True, "request_id": answer.RequestId, "operation": answer.RequestId}

    def encryption_state(self, operation: str | None = None) -> dict:
        """Secret encryption in the shape every cloud kind answers (``providers.dynamic.cloud_encryption``),
        from DescribeEncryptionStatus: Opening/Opened/Closing/Closed, ``failed`` when ``ErrorMsg``
        is set and it is not Opened. TKE never reports which key encrypts (``key`` None)."""
        answer = self._call(self._client(), "DescribeEncryptionStatus", ClusterId=self.cluster_id)
        status, error = answer.Status or "", answer.ErrorMsg or ""
        state = _ENCRYPTION_STATES.get(status)
        if error and status != ENCRYPTION_OPENED:
            state = "failed"
        reason = f"encryption status {status or 'unknown'}" + (f": {error}" if error else "")
        return {
            "state": state,
            "key": None,
            "key_reported": False,
            "busy": status in ("Opening", "Closing"),
            "operation": operation,
            "reason": reason,
        }

    # --- calls ------------------------------------------------------------------------------------

    def _client(self) -> tke_client.TkeClient:
        """The shared client for this region and endpoint."""
        return sdk_clients.client(KIND, (self.region, self.endpoint), _ENVIRONMENT, self._new_client)

    def _new_client(self) -> tke_client.TkeClient:
        try:
            chain = credential.DefaultCredentialProvider().get_credentials()
        except Exception as exc:  # the chain raises SDK errors or OSError when nothing is configured
            raise CloudError("unauthorized", f"no Tencent Cloud credentials found ({exc}); {CREDENTIAL_HINT}") from exc
        profile = ClientProfile(httpProfile=_http_profile(self.endpoint), language="en-US")
        client = tke_client.TkeClient(chain, self.region, profile)
        # The SDK's only pool setting pre-opens connections from a thread of its own; the session it
        # sends through gets the larger pool of sdk_clients.widen_pool instead.
        sdk_clients.widen_pool(client.request.conn._session)
        return client

    def _call(self, client: tke_client.TkeClient, action: str, **params):
        try:
            return self._send(client, action, params)
        except TencentCloudSDKException as exc:
            raise self._error(action, exc) from exc

    @staticmethod
    def _send(client: tke_client.TkeClient, action: str, params: dict, retryable=None):
        request = getattr(models, f"{action}Request")()
        request.from_json_string(json.dumps(params))
        return with_retries(
            lambda: getattr(client, action)(request), retryable=retryable or _transient, attempts=ATTEMPTS
        )

    # --- error mapping ----------------------------------------------------------------------------

    def _not_found(self) -> CloudError:
        return not_found(KIND, self.cluster_id, self.region)

    def _error(self, action: str, exc: TencentCloudSDKException) -> CloudError:
        """Map by code family (CLOUD-APIS §6.5): suffix ``ClusterNotFound``, prefixes ``AuthFailure``,
        ``UnauthorizedOperation``, ``RequestLimitExceeded``."""
        code = exc.get_code() or ""
        detail = f"{code}: {exc.get_message()}"
        if code.endswith("ClusterNotFound") or code == "ResourceNotFound":
            return self._not_found()
        if code.startswith("RequestLimitExceeded"):
            return CloudError("throttled", f"TKE throttled {action} ({detail}); retry later or lower --parallel")
        if code in ("AuthFailure.SignatureExpire", "AuthFailure.TokenFailure"):
            return CloudError(
                "expired",
                f"TKE rejected the request as expired ({detail}); check this host's clock "
                "and refresh temporary credentials",
            )
        if code.startswith(("UnauthorizedOperation", "AuthFailure.UnauthorizedOperation")):
            return CloudError(
                "forbidden",
                f"the Tencent Cloud identity may not call tke:{action} on cluster "
                f"{self.cluster_id} ({detail}); grant it a CAM policy that allows it",
            )
        if code.startswith("AuthFailure"):
            return CloudError("unauthorized", f"Tencent Cloud rejected the API key ({detail}); {CREDENTIAL_HINT}")
        if code in TRANSIENT_CODES:
            where = self.endpoint or "tke.tencentcloudapi.com"
            return CloudError(
                "unavailable",
                f"the TKE API at {where} is unavailable ({detail}); retry later, or check the network and the endpoint",
            )
        return CloudError("invalid", f"TKE refused {action} for cluster {self.cluster_id} in {self.region} ({detail})")


_ENCRYPTION_STATES = {"Opening": "enabling", "Opened": "enabled", "Closing": "disabling", "Closed": "disabled"}


def _throttled(exc: Exception) -> bool:
    """The request was refused for its rate (20/s for the encryption calls): it did nothing, so try again."""
    return isinstance(exc, TencentCloudSDKException) and (exc.get_code() or "").startswith("RequestLimitExceeded")


def _transient(exc: Exception) -> bool:
    if not isinstance(exc, TencentCloudSDKException):
        return False
    code = exc.get_code() or ""
    return code.startswith("RequestLimitExceeded") or code in TRANSIENT_CODES


def _http_profile(endpoint: str | None) -> HttpProfile:
    if not endpoint:
        return HttpProfile(reqTimeout=TIMEOUT)
    scheme, host = split_endpoint(endpoint)
    return HttpProfile(endpoint=host, protocol=scheme or "https", reqTimeout=TIMEOUT)


def _url(address: str) -> str:
    """TKE reports endpoints as an address (IP or domain, perhaps with a port); make it a URL."""
    if not address or "://" in address:
        return address
    return f"https://{address}"


def _ca_data(certificate_authority: str) -> str:
    """Base64 PEM as in a kubeconfig; TKE's ``CertificationAuthority`` is believed to be plain PEM."""
    if certificate_authority.lstrip().startswith("-----BEGIN"):
        return base64.b64encode(certificate_authority.encode()).decode()
    return certificate_authority


def _endpoint_missing(name: str, public: bool) -> Problem:
    if public:
        return no_public_endpoint(name)
    return Problem(
        None,
        f"cluster '{name}' has no private API endpoint; enable intranet access on the TKE cluster first or use public",
    )


# --- preview rules -------------------------------------------------------------------------------------


def check(description: ClusterDescription, name: str) -> list[Problem]:
    """TKE's own registration rule (V15, and its intranet twin): the preferred endpoint is enabled.
    (The rules every kind shares, V8 running and V9 version, are the lookup's.)"""
    public = description.flags.get("endpoint_preference") == "public"
    if not description.flags.get("public_endpoint" if public else "private_endpoint"):
        return [_endpoint_missing(name, public)]
    return []
