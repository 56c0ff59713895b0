"""ServiceAccountCredential: a kubeconfig (secret) for a ServiceAccount, from its token Secret or
the TokenRequest API."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider

from kubeclient import render_token_kubeconfig

from .. import kube
from ..errors import ClusterAccessError, ErrorCode
from ._props import Props


@dataclass(frozen=True)
class ServiceAccountCredentialInputs(Props):
    cluster: str
    kubeconfig: str  # a credential that may read the token Secret / create TokenRequests
    namespace: str
    service_account: str
    server: str  # the API server URL and CA the new kubeconfig names
    ca_bundle: str
    secret_name: str = ""
    source: str = "secret"  # or "token-request"
    ttl_seconds: int = 0
    generation: int = 1  # bump to mint a new credential

    @property
    def token_request(self) -> bool:
        return self.source == "token-request"


@dataclass(frozen=True)
class ServiceAccountCredentialOutputs(Props):
    kubeconfig_out: str
    token: str
    token_expires_at: str | None


class ServiceAccountCredentialProvider(ResourceProvider):
    """``source: secret`` waits (up to 60 s) for the token controller to fill a
    ``kubernetes.io/service-account-token`` Secret, refuses tokens with an expiry (V13) and proves
    the token by reading ``/version`` with it. ``source: token-request`` asks the TokenRequest API
    for a token valid ``ttl_seconds`` (bootstrap credentials). Any input change replaces it.
    """

    repeatable_create = True  # it observes or converges and makes nothing a second create would duplicate

    TOKEN_WAIT_SECONDS = 60.0

    def diff(self, _id: str, olds: dict, news: dict) -> DiffResult:
        changed = ServiceAccountCredentialInputs.from_props(news).changed(
            ServiceAccountCredentialInputs.from_props(olds)
        )
        return DiffResult(changes=bool(changed), replaces=changed)

    def create(self, props: dict) -> CreateResult:
        inputs = ServiceAccountCredentialInputs.from_props(props)
        client = kube.api_client(inputs.kubeconfig, inputs.cluster)
        token, expires = (
            self._request_token(client, inputs) if inputs.token_request else self._secret_token(client, inputs)
        )
        config = render_token_kubeconfig(f"fleetform-{inputs.cluster}", inputs.server, inputs.ca_bundle, token)
        if not inputs.token_request:
            kube.probe(config, inputs.cluster)  # the new credential really opens the cluster
        outputs = ServiceAccountCredentialOutputs(kubeconfig_out=config, token=token, token_expires_at=expires)
        return CreateResult(
            id_=f"{inputs.cluster}/{inputs.namespace}/{inputs.service_account}",
            outs={**inputs.to_props(), **outputs.to_props()},
        )

    def _secret_token(self, client, inputs: ServiceAccountCredentialInputs) -> tuple[str, str | None]:
        path = f"/api/v1/namespaces/{inputs.namespace}/secrets/{inputs.secret_name}"

        def token() -> str | None:
            status, secret = kube.request_json(client, "GET", path)
            data = (secret or {}).get("data") or {} if status == 200 else {}
            return base64.b64decode(data["token"]).decode() if data.get("token") and data.get("ca.crt") else None

        try:
            value = kube.wait_for(token, self.TOKEN_WAIT_SECONDS, what=f"token of Secret {inputs.secret_name}")
        except TimeoutError as exc:
            raise ClusterAccessError(
                None,
                f"cluster '{inputs.cluster}': Secret {inputs.namespace}/{inputs.secret_name} got no token "
                f"within {self.TOKEN_WAIT_SECONDS:.0f}s; is the token controller running?",
            ) from exc
        expiry = kube.jwt_expiry(value)
        if expiry is not None:
            when = datetime.fromtimestamp(expiry, UTC).isoformat()
            raise ClusterAccessError(
                ErrorCode.CRED_EXPIRING_TOKEN,
                f"the token for '{inputs.cluster}' expires at {when}; fleetform needs a non-expiring ServiceAccount token",
            )
        return value, None

    @staticmethod
    def _request_token(client, inputs: ServiceAccountCredentialInputs) -> tuple[str, str | None]:
        path = f"/api/v1/namespaces/{inputs.namespace}/serviceaccounts/{inputs.service_account}/token"
        body = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": int(inputs.ttl_seconds or 86400)},
        }
        status, response = kube.request_json(client, "POST", path, body)
        if status not in (200, 201):
            raise ClusterAccessError(
                None, f"cluster '{inputs.cluster}': TokenRequest failed (HTTP {status}: {response})"
            )
        return response["status"]["token"], response["status"].get("expirationTimestamp")

    def read(self, id_: str, props: dict) -> ReadResult:
        inputs = ServiceAccountCredentialInputs.from_props(props)
        if inputs.token_request:
            return ReadResult(id_, props)
        client = kube.api_client(inputs.kubeconfig, inputs.cluster)
        status, _ = kube.request_json(
            client, "GET", f"/api/v1/namespaces/{inputs.namespace}/secrets/{inputs.secret_name}"
        )
        return ReadResult(id_ if status == 200 else None, props if status == 200 else {})

    def delete(self, _id: str, _props: dict) -> None:
        """The token lives in a Secret (or is short-lived); deleting that Secret or ServiceAccount revokes it."""


class ServiceAccountCredential(Resource, module="fleetform", name="ServiceAccountCredential"):
    """A kubeconfig (secret) for a ServiceAccount, from its token Secret or the TokenRequest API."""

    kubeconfig_out: pulumi.Output[str]
    token: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        cluster: str,
        kubeconfig: pulumi.Input[str],
        namespace: str,
        service_account: str,
        server: pulumi.Input[str],
        ca_bundle: pulumi.Input[str],
        secret_name: str = "",
        source: str = "secret",
        ttl_seconds: int = 0,
        generation: int = 1,
        opts: pulumi.ResourceOptions | None = None,
    ):
        props = {
            "cluster": cluster,
            "kubeconfig": pulumi.Output.secret(kubeconfig),
            "namespace": namespace,
            "service_account": service_account,
            "secret_name": secret_name,
            "server": server,
            "ca_bundle": ca_bundle,
            "source": source,
            "ttl_seconds": ttl_seconds,
            "generation": generation,
            **ServiceAccountCredentialOutputs.placeholders(),
        }
        secret_outputs = pulumi.ResourceOptions(additional_secret_outputs=["kubeconfig_out", "token"])
        super().__init__(
            ServiceAccountCredentialProvider(), name, props, pulumi.ResourceOptions.merge(opts, secret_outputs)
        )
