"""Pulumi dynamic providers: thin adapters from CRUD onto the cluster lookup and Kubernetes helpers.

Each provider lives in this importable module so that dill pickles it by reference (the SDK embeds
the pickle in every resource's ``__provider`` input) and builds its clients inside each call.
"""

from __future__ import annotations

import base64
import time
from datetime import datetime, timezone
import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from . import kube
from .clouds import kind_problems, source_for
from .clouds.base import ClusterDescription, CloudError
from .credential_exec import exec_kubeconfig
from .kube import ClusterAccessError

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _changed(olds: dict, news: dict, keys: tuple[str, ...]) -> list[str]:
    return [k for k in keys if olds.get(k) != news.get(k)]


class ClusterLookupProvider(ResourceProvider):
    """Looks a cluster up through its cloud API (or, for idc, its kubeconfig) and checks that it
    exists, is running, runs a supported version and passes its kind's own rules.

    The check runs at preview as well as at apply (a read-only lookup, DOMAIN's P*), so a missing,
    stopped, too-old or unsupported cluster fails the preview of that cluster alone. Outputs include
    ``bootstrap_kubeconfig``: the user's kubeconfig for idc; for cloud kinds a kubeconfig whose
    credential comes from the cloud at each use (:mod:`providers.credential_exec`), so no
    short-lived cloud token is ever kept in state.
    """

    _INPUTS = ("cluster", "kind", "identity", "kubeconfig", "context", "cloud_endpoint", "min_version", "hub_kubeconfig")

    @staticmethod
    def _source(props: dict):
        identity = dict(props.get("identity") or {})
        if props["kind"] == "idc":
            identity.update(cluster=props["cluster"], kubeconfig=props["kubeconfig"], context=props.get("context"))
        return source_for(props["kind"], identity, props.get("cloud_endpoint") or None)

    def _describe(self, props: dict) -> ClusterDescription:
        description = self._source(props).describe()
        name, kind = props["cluster"], props["kind"]
        problems = []
        if not description.running:
            problems.append(
                f"FF-REG-004 {kind} cluster {description.native_id} is in state '{description.state}'; it must be running"
            )
        minimum = tuple(int(p) for p in str(props.get("min_version", "1.19")).split("."))
        try:
            kube.check_version(description.kubernetes_version, name, minimum)  # type: ignore[arg-type]
        except ClusterAccessError as exc:
            problems.append(str(exc))
        problems += [
            p for p in kind_problems(kind, description, name)
            # V12: a supplied bootstrap_kubeconfig is the fix FF-KIND-011 asks for
            if not (props.get("kubeconfig") and p.startswith("FF-KIND-011"))
        ]
        if problems:
            raise ClusterAccessError("; ".join(problems))
        return description

    def _bootstrap_kubeconfig(self, props: dict, description: ClusterDescription) -> str:
        if props.get("kubeconfig"):  # idc, or a cloud cluster given an explicit bootstrap_kubeconfig
            return props["kubeconfig"]
        return exec_kubeconfig(f"fleetform-{props['cluster']}", props["kind"], props.get("identity") or {},
                               props.get("cloud_endpoint") or None, description.endpoint, description.ca_data)

    @staticmethod
    def _registration_conflicts(props: dict, cluster_uid: str) -> list[str]:
        """V5 (the hub is not its own member) and V4 (one physical cluster, one registration),
        told apart by the kube-system namespace UID, which the ManagedCluster records."""
        if not props.get("hub_kubeconfig") or not cluster_uid:
            return []
        name = props["cluster"]
        hub = kube.probe(props["hub_kubeconfig"], f"hub of {name}")
        if hub.kube_system_uid == cluster_uid:
            return [f"FF-REG-002 cluster '{name}' is the hub cluster itself and cannot be registered"]
        client = kube.api_client(props["hub_kubeconfig"], f"hub of {name}")
        status, listing = kube.request_json(client, "GET", "/apis/cluster.open-cluster-management.io/v1/managedclusters")
        others = [
            item["metadata"]["name"]
            for item in ((listing or {}).get("items") or [] if status == 200 else [])
            if (item["metadata"].get("annotations") or {}).get("fleetform.io/cluster-uid") == cluster_uid
            and item["metadata"]["name"] != name
        ]
        return [f"FF-REG-001 cluster uid {cluster_uid} is already registered as '{other}' on the hub" for other in others]

    def _outputs(self, props: dict, check_registration: bool = True) -> dict:
        description = self._describe(props)
        bootstrap = self._bootstrap_kubeconfig(props, description)
        if props["kind"] == "idc":  # describe() already probed the cluster through this very kubeconfig
            version, cluster_uid = description.kubernetes_version, description.flags["cluster_uid"]
        else:  # prove the cloud-issued (or given) credential opens the cluster
            info = kube.probe(bootstrap, props["cluster"], context=props.get("context") or None)
            version, cluster_uid = info.git_version, info.kube_system_uid
        conflicts = self._registration_conflicts(props, cluster_uid) if check_registration else []
        if conflicts:
            raise ClusterAccessError("; ".join(conflicts))
        return {
            **props,
            "kubernetes_version": version,
            "cluster_uid": cluster_uid,
            "endpoint": description.endpoint,
            "ca_bundle": description.ca_data,
            "native_id": description.native_id,
            "region": description.region,
            "cloud_state": description.state,
            "bootstrap_kubeconfig": bootstrap,
            "reachable": True,
        }

    def check(self, olds: dict, news: dict) -> CheckResult:
        if any(news.get(k) == UNKNOWN for k in ("kubeconfig", "cluster", "identity", "hub_kubeconfig")):
            return CheckResult(news, [])
        try:
            description = self._describe(news)
            # idc clusters are looked up through the member itself, so the UID is known at preview
            conflicts = self._registration_conflicts(news, description.flags.get("cluster_uid", ""))
            if conflicts:
                raise ClusterAccessError("; ".join(conflicts))
        except (ClusterAccessError, CloudError) as exc:
            return CheckResult(news, [CheckFailure("identity" if news["kind"] != "idc" else "kubeconfig", str(exc))])
        return CheckResult(news, [])

    def diff(self, _id: str, olds: dict, news: dict) -> DiffResult:
        changed = _changed(olds, news, self._INPUTS)
        return DiffResult(changes=bool(changed), replaces=[k for k in changed if k in ("cluster", "kind")])

    def create(self, props: dict) -> CreateResult:
        outputs = self._outputs(props)
        return CreateResult(id_=outputs["cluster_uid"] or props["cluster"], outs=outputs)

    def update(self, _id: str, _olds: dict, news: dict) -> UpdateResult:
        return UpdateResult(outs=self._outputs(news))

    def read(self, id_: str, props: dict) -> ReadResult:
        """A cluster gone from its cloud reads as deleted (drift); one that stopped answering, as unreachable."""
        try:
            return ReadResult(id_, self._outputs(props, check_registration=False))
        except CloudError as exc:
            if exc.reason == "not-found":
                return ReadResult(None, {})
            return ReadResult(id_, {**props, "reachable": False})
        except ClusterAccessError:
            return ReadResult(id_, {**props, "reachable": False})

    def delete(self, _id: str, _props: dict) -> None:
        """A lookup owns nothing: fleetform never deletes a cluster."""


class ServiceAccountCredentialProvider(ResourceProvider):
    """Turns a ServiceAccount into a kubeconfig (a secret output).

    ``source: secret`` waits (up to 60 s) for the token controller to fill a
    ``kubernetes.io/service-account-token`` Secret, refuses tokens with an expiry (V13) and proves
    the token by reading ``/version`` with it. ``source: token-request`` asks the TokenRequest API
    for a token valid ``ttl_seconds`` (bootstrap credentials).
    """

    _INPUTS = ("cluster", "kubeconfig", "namespace", "service_account", "secret_name", "server", "ca_bundle",
               "source", "ttl_seconds", "generation")
    TOKEN_WAIT_SECONDS = 60.0

    def diff(self, _id: str, olds: dict, news: dict) -> DiffResult:
        changed = _changed(olds, news, self._INPUTS)
        return DiffResult(changes=bool(changed), replaces=changed)

    def create(self, props: dict) -> CreateResult:
        client = kube.api_client(props["kubeconfig"], props["cluster"])
        if props.get("source") == "token-request":
            token, expires = self._request_token(client, props)
        else:
            token, expires = self._secret_token(client, props)
        config = kube.render_kubeconfig(
            f"fleetform-{props['cluster']}", props["server"], props["ca_bundle"], token
        )
        if props.get("source") != "token-request":
            kube.probe(config, props["cluster"])  # the new credential really opens the cluster
        outs = {**props, "kubeconfig_out": config, "token": token, "token_expires_at": expires}
        return CreateResult(id_=f"{props['cluster']}/{props['namespace']}/{props['service_account']}", outs=outs)

    def _secret_token(self, client, props: dict) -> tuple[str, str | None]:
        path = f"/api/v1/namespaces/{props['namespace']}/secrets/{props['secret_name']}"

        def token() -> str | None:
            status, secret = kube.request_json(client, "GET", path)
            data = (secret or {}).get("data") or {} if status == 200 else {}
            return base64.b64decode(data["token"]).decode() if data.get("token") and data.get("ca.crt") else None

        try:
            value = kube.wait_for(token, self.TOKEN_WAIT_SECONDS, what=f"token of Secret {props['secret_name']}")
        except TimeoutError as exc:
            raise ClusterAccessError(
                f"cluster '{props['cluster']}': Secret {props['namespace']}/{props['secret_name']} got no token "
                f"within {self.TOKEN_WAIT_SECONDS:.0f}s; is the token controller running?"
            ) from exc
        expiry = kube.jwt_expiry(value)
        if expiry is not None:
            when = datetime.fromtimestamp(expiry, timezone.utc).isoformat()
            raise ClusterAccessError(
                f"FF-CRED-001 the token for '{props['cluster']}' expires at {when}; fleetform needs a non-expiring "
                f"ServiceAccount token"
            )
        return value, None

    def _request_token(self, client, props: dict) -> tuple[str, str | None]:
        path = f"/api/v1/namespaces/{props['namespace']}/serviceaccounts/{props['service_account']}/token"
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                "spec": {"expirationSeconds": int(props.get("ttl_seconds") or 86400)}}
        status, response = kube.request_json(client, "POST", path, body)
        if status != 201 and status != 200:
            raise ClusterAccessError(f"cluster '{props['cluster']}': TokenRequest failed (HTTP {status}: {response})")
        return response["status"]["token"], response["status"].get("expirationTimestamp")

    def read(self, id_: str, props: dict) -> ReadResult:
        if props.get("source") == "token-request":
            return ReadResult(id_, props)
        client = kube.api_client(props["kubeconfig"], props["cluster"])
        status, _ = kube.request_json(client, "GET", f"/api/v1/namespaces/{props['namespace']}/secrets/{props['secret_name']}")
        return ReadResult(id_ if status == 200 else None, props if status == 200 else {})

    def delete(self, _id: str, _props: dict) -> None:
        """The token lives in a Secret (or is short-lived); deleting that Secret or ServiceAccount revokes it."""


class RegistrationStatusProvider(ResourceProvider):
    """Reads a registration's state from the hub (agent) or by probing the member (direct).

    Create and update wait, up to ``timeout_seconds``, for ``running``; a cluster that does not get
    there fails with FF-CONN-005 (agent) or FF-CONN-002 (direct). Refresh reads the state once, so
    that a cluster that stopped answering shows up as drift to ``disconnected``.
    """

    _INPUTS = ("cluster", "mode", "hub_kubeconfig", "member_kubeconfig", "timeout_seconds", "wait", "generation")

    def diff(self, _id: str, olds: dict, news: dict) -> DiffResult:
        changed = _changed(olds, news, self._INPUTS)
        return DiffResult(changes=bool(changed))

    def observe(self, props: dict) -> tuple[str, str]:
        """(state, reason) right now."""
        hub = kube.api_client(props["hub_kubeconfig"], f"hub of {props['cluster']}")
        status, managed = kube.request_json(
            hub, "GET", f"/apis/cluster.open-cluster-management.io/v1/managedclusters/{props['cluster']}"
        )
        if status == 404:
            return "pending-access", "ManagedCluster is missing on the hub"
        if status != 200:
            return "pending-access", f"hub answered HTTP {status}"
        if props["mode"] == "direct":
            try:
                kube.probe(props["member_kubeconfig"], props["cluster"], attempts=1)
            except ClusterAccessError as exc:
                return "disconnected", str(exc)
            return "running", "the member answers /readyz and /version with the hub's token"
        conditions = {c.get("type"): c for c in (managed.get("status") or {}).get("conditions") or []}
        joined = conditions.get("ManagedClusterJoined", {}).get("status") == "True"
        available = conditions.get("ManagedClusterConditionAvailable", {}).get("status")
        if not joined:
            return "pending-access", "the agent has not joined yet"
        if available == "True":
            return "running", "joined and available"
        return "disconnected", f"ManagedClusterConditionAvailable is {available or 'missing'}"

    def _wait(self, props: dict) -> dict:
        timeout = float(props.get("timeout_seconds") or 1800)
        deadline = time.monotonic() + timeout
        while True:
            state, reason = self.observe(props)
            if state == "running" or not props.get("wait", True):
                return {**props, "state": state, "state_reason": reason, "observed_at": _now()}
            if time.monotonic() >= deadline:
                if props["mode"] == "direct":
                    raise ClusterAccessError(f"cluster '{props['cluster']}' is {state}: {reason}")
                raise ClusterAccessError(
                    f"FF-CONN-005 cluster '{props['cluster']}' did not connect within {timeout:.0f}s "
                    f"(state access-timeout: {reason}); re-run to issue a new agent manifest"
                )
            time.sleep(min(1.0, max(0.05, deadline - time.monotonic())))

    def create(self, props: dict) -> CreateResult:
        return CreateResult(id_=props["cluster"], outs=self._wait(props))

    def update(self, _id: str, _olds: dict, news: dict) -> UpdateResult:
        return UpdateResult(outs=self._wait(news))

    def read(self, id_: str, props: dict) -> ReadResult:
        state, reason = self.observe(props)
        return ReadResult(id_, {**props, "state": state, "state_reason": reason})

    def delete(self, _id: str, _props: dict) -> None:
        """Observing owns nothing."""



# -- resources the components declare ------------------------------------------------------------


class ClusterLookup(Resource, module="fleetform", name="ClusterLookup"):
    """A cluster found through its cloud API or kubeconfig; outputs its version, kube-system UID,
    endpoint, CA, native id and ``bootstrap_kubeconfig`` (secret)."""

    kubernetes_version: pulumi.Output[str]
    cluster_uid: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    ca_bundle: pulumi.Output[str]
    native_id: pulumi.Output[str]
    region: pulumi.Output[str]
    bootstrap_kubeconfig: pulumi.Output[str]

    def __init__(self, name: str, *, cluster: str, kind: str, identity: dict | None = None,
                 kubeconfig: pulumi.Input[str] | None = None, context: str | None = None,
                 cloud_endpoint: str | None = None, min_version: str = "1.19",
                 hub_kubeconfig: pulumi.Input[str] | None = None, opts: pulumi.ResourceOptions | None = None):
        props = {
            "cluster": cluster,
            "kind": kind,
            "identity": identity or {},
            "kubeconfig": pulumi.Output.secret(kubeconfig) if kubeconfig is not None else "",
            "context": context or "",
            "cloud_endpoint": cloud_endpoint or "",
            "min_version": min_version,
            "hub_kubeconfig": pulumi.Output.secret(hub_kubeconfig) if hub_kubeconfig is not None else "",
            **dict.fromkeys(("kubernetes_version", "cluster_uid", "endpoint", "ca_bundle", "native_id", "region",
                             "cloud_state", "bootstrap_kubeconfig", "reachable")),
        }
        secret_outputs = pulumi.ResourceOptions(additional_secret_outputs=["bootstrap_kubeconfig"])
        super().__init__(ClusterLookupProvider(), name, props, pulumi.ResourceOptions.merge(opts, secret_outputs))


class ServiceAccountCredential(Resource, module="fleetform", name="ServiceAccountCredential"):
    """A kubeconfig (secret) for a ServiceAccount, from its token Secret or the TokenRequest API."""

    kubeconfig_out: pulumi.Output[str]
    token: pulumi.Output[str]

    def __init__(self, name: str, *, cluster: str, kubeconfig: pulumi.Input[str], namespace: str,
                 service_account: str, server: pulumi.Input[str], ca_bundle: pulumi.Input[str],
                 secret_name: str = "", source: str = "secret", ttl_seconds: int = 0, generation: int = 1,
                 opts: pulumi.ResourceOptions | None = None):
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
            "kubeconfig_out": None,
            "token": None,
            "token_expires_at": None,
        }
        secret_outputs = pulumi.ResourceOptions(additional_secret_outputs=["kubeconfig_out", "token"])
        super().__init__(ServiceAccountCredentialProvider(), name, props, pulumi.ResourceOptions.merge(opts, secret_outputs))


class RegistrationStatus(Resource, module="fleetform", name="RegistrationStatus"):
    """The state of a registration (pending-access, running, disconnected), waited for on apply."""

    state: pulumi.Output[str]
    state_reason: pulumi.Output[str]

    def __init__(self, name: str, *, cluster: str, mode: str, hub_kubeconfig: pulumi.Input[str],
                 member_kubeconfig: pulumi.Input[str] | None, timeout_seconds: int, wait: bool = True,
                 generation: int = 1, opts: pulumi.ResourceOptions | None = None):
        props = {
            "cluster": cluster,
            "mode": mode,
            "hub_kubeconfig": pulumi.Output.secret(hub_kubeconfig),
            "member_kubeconfig": pulumi.Output.secret(member_kubeconfig) if member_kubeconfig is not None else "",
            "timeout_seconds": timeout_seconds,
            "wait": wait,
            "generation": generation,
            "state": None,
            "state_reason": None,
            "observed_at": None,
        }
        super().__init__(RegistrationStatusProvider(), name, props, opts)
