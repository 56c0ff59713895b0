"""KarmadaControlPlane: the Karmada API a federation runs on, and the admin credential for it
(DOMAIN §2.5).

``operator`` mode: the ``Karmada`` CR is a Kubernetes resource of the component; this resource waits
(up to ``timeout_seconds``) for its ``Ready`` condition and for ``status.karmadaVersion`` to be the
wanted version, then reads the admin kubeconfig from the Secret the operator names in
``status.secretRef`` (never a derived name). A new ``karmada_version`` is an update that waits again
(``upgrading`` until Ready). ``existing`` mode adopts a Karmada from its kubeconfig: ``/readyz`` and
the ``cluster.karmada.io`` and ``policy.karmada.io`` APIs must answer (V28).

The kubeconfig output is a secret. ``api_server_url`` is the server fleetform and Pull agents use:
``external_url`` when given, else the one in the admin kubeconfig.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pulumi
import yaml
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from kubeclient import Unreachable

from .. import kube
from ..errors import ClusterAccessError, ErrorCode
from ._props import Props, now
from ._waiting import poll

OPERATOR_API = "/apis/operator.karmada.io/v1alpha1"
ADMIN_CONFIG_KEY = "karmada.config"  # operator/pkg/tasks/init/upload.go
REQUIRED_GROUP_VERSIONS = ("cluster.karmada.io/v1alpha1", "policy.karmada.io/v1alpha1")
POLL_SECONDS = 1.0


@dataclass(frozen=True)
class KarmadaControlPlaneInputs(Props):
    federation: str
    mode: str  # operator | existing
    karmada_version: str
    timeout_seconds: int
    host_kubeconfig: str = ""  # operator: the cluster the Karmada CR is on
    namespace: str = ""  # operator: the CR's namespace (its name is the federation's)
    spec_hash: str = ""  # operator: of the CR's spec; a change waits for Ready again
    existing_kubeconfig: str = ""  # existing: the adopted Karmada API
    external_url: str = ""


@dataclass(frozen=True)
class KarmadaControlPlaneOutputs(Props):
    kubeconfig: str
    api_server_url: str
    ca_bundle: str
    observed_version: str
    kubernetes_version: str
    state: str  # creating | running | upgrading | failed
    state_reason: str
    observed_at: str


@dataclass(frozen=True)
class _Seen:
    state: str
    reason: str
    secret_ref: dict | None = None
    karmada_version: str = ""
    kubernetes_version: str = ""


def observe_operator(inputs: KarmadaControlPlaneInputs) -> _Seen:
    """The Karmada CR right now: ``running`` when Ready=True at the wanted version, ``failed`` when
    Ready=False with a reason that is not progress, else ``creating`` or ``upgrading``."""
    host = kube.api_client(inputs.host_kubeconfig, f"host of federation '{inputs.federation}'")
    path = f"{OPERATOR_API}/namespaces/{inputs.namespace}/karmadas/{inputs.federation}"
    status, cr = kube.request_json(host, "GET", path)
    if status == 404:
        return _Seen("creating", f"Karmada {inputs.namespace}/{inputs.federation} is not on the host cluster")
    if status != 200:
        return _Seen("creating", f"the host cluster answered HTTP {status} for the Karmada CR")
    st = cr.get("status") or {}
    ready = next((c for c in st.get("conditions") or [] if c.get("type") == "Ready"), None)
    version = st.get("karmadaVersion", "")
    seen = {
        "secret_ref": st.get("secretRef"),
        "karmada_version": version,
        "kubernetes_version": st.get("kubernetesVersion", ""),
    }
    generation = (cr.get("metadata") or {}).get("generation", 0)
    current = st.get("observedGeneration", generation) >= generation
    at_version = not version or version == inputs.karmada_version
    if ready and ready.get("status") == "True" and current and at_version and st.get("secretRef"):
        return _Seen("running", "Ready=True", **seen)
    progressing = "upgrading" if version and version != inputs.karmada_version else "creating"
    if ready is None:
        return _Seen(progressing, "the operator has not reported Ready yet", **seen)
    detail = f"Ready={ready.get('status')} ({ready.get('reason', '')}: {ready.get('message', '')})".strip()
    if ready.get("status") == "False" and "fail" in (ready.get("reason") or "").lower():
        return _Seen("failed", detail, **seen)
    return _Seen(progressing, detail, **seen)


def read_admin_kubeconfig(inputs: KarmadaControlPlaneInputs, secret_ref: dict) -> str:
    host = kube.api_client(inputs.host_kubeconfig, f"host of federation '{inputs.federation}'")
    namespace, name = secret_ref.get("namespace") or inputs.namespace, secret_ref.get("name", "")
    status, secret = kube.request_json(host, "GET", f"/api/v1/namespaces/{namespace}/secrets/{name}")
    data = (secret or {}).get("data") or {} if status == 200 else {}
    if ADMIN_CONFIG_KEY not in data:
        raise ClusterAccessError(
            ErrorCode.FED_CONTROL_PLANE_FAILED,
            f"federation '{inputs.federation}': the Secret {namespace}/{name} named in the Karmada status "
            f"has no '{ADMIN_CONFIG_KEY}' (HTTP {status}); check the karmada-operator's logs",
        )
    return base64.b64decode(data[ADMIN_CONFIG_KEY]).decode()


def with_server(kubeconfig: str, server: str) -> str:
    """The kubeconfig with every cluster entry pointing at ``server`` (an external URL)."""
    document = yaml.safe_load(kubeconfig)
    for entry in document.get("clusters") or []:
        entry.setdefault("cluster", {})["server"] = server
    return yaml.safe_dump(document, sort_keys=False)


def check_karmada_api(kubeconfig: str, federation: str) -> str:
    """V28: ``/readyz`` answers and the Karmada API groups are served; returns the Kubernetes version."""
    client = kube.api_client(kubeconfig, f"Karmada API of federation '{federation}'")
    try:
        status, _ = client.request("GET", "/readyz", timeout=10.0, attempts=3)
    except Unreachable as exc:
        raise ClusterAccessError(
            ErrorCode.FED_API_UNREACHABLE,
            f"federation '{federation}' API server is unreachable at {client.server} ({exc})",
        ) from exc
    if status != 200:
        raise ClusterAccessError(
            ErrorCode.FED_API_UNREACHABLE,
            f"federation '{federation}' API server at {client.server} is not ready (/readyz answered HTTP {status})",
        )
    for group_version in REQUIRED_GROUP_VERSIONS:
        code, _ = kube.request_json(client, "GET", f"/apis/{group_version}")
        if code != 200:
            raise ClusterAccessError(
                ErrorCode.FED_NOT_KARMADA,
                f"'{client.server}' is not a Karmada API server (missing {group_version})",
            )
    _, version = kube.request_json(client, "GET", "/version")
    return (version or {}).get("gitVersion", "")


class KarmadaControlPlaneProvider(ResourceProvider):
    """Waits for the control plane and hands out its admin kubeconfig; owns nothing (the Karmada CR
    is a Kubernetes resource of the component). A timeout or a failed CR is FF-FED-002."""

    repeatable_create = True  # it observes or converges and makes nothing a second create would duplicate

    def diff(self, _id: str, olds: dict, news: dict) -> DiffResult:
        old, new = KarmadaControlPlaneInputs.from_props(olds), KarmadaControlPlaneInputs.from_props(news)
        changed = new.changed(old)
        replaces = [name for name in ("federation", "mode", "namespace") if name in changed]
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=bool(replaces))

    def _settle(self, inputs: KarmadaControlPlaneInputs) -> dict:
        if inputs.mode == "existing":
            k8s_version = check_karmada_api(inputs.existing_kubeconfig, inputs.federation)
            kubeconfig = inputs.existing_kubeconfig
            return self._outputs(inputs, kubeconfig, _Seen("running", "/readyz OK; Karmada APIs served"), k8s_version)
        seen, _ = poll(
            lambda: observe_operator(inputs),
            lambda s: s.state in ("running", "failed"),
            float(inputs.timeout_seconds),
            POLL_SECONDS,
        )
        if seen.state != "running":
            raise ClusterAccessError(
                ErrorCode.FED_CONTROL_PLANE_FAILED,
                f"federation '{inputs.federation}': Karmada {inputs.namespace}/{inputs.federation} is not Ready "
                f"at {inputs.karmada_version} within {inputs.timeout_seconds}s (state {seen.state}: {seen.reason}); "
                "check the karmada-operator in karmada-system and the Karmada CR's conditions",
            )
        kubeconfig = read_admin_kubeconfig(inputs, seen.secret_ref or {})
        if inputs.external_url:
            kubeconfig = with_server(kubeconfig, inputs.external_url)
        return self._outputs(inputs, kubeconfig, seen, seen.kubernetes_version)

    @staticmethod
    def _outputs(inputs: KarmadaControlPlaneInputs, kubeconfig: str, seen: _Seen, k8s_version: str) -> dict:
        context = kube.kubeconfig(kubeconfig, f"Karmada API of federation '{inputs.federation}'").context()
        outputs = KarmadaControlPlaneOutputs(
            kubeconfig=kubeconfig,
            api_server_url=inputs.external_url or context.server,
            ca_bundle=context.ca_data,
            observed_version=seen.karmada_version or inputs.karmada_version,
            kubernetes_version=k8s_version,
            state=seen.state,
            state_reason=seen.reason,
            observed_at=now(),
        )
        return {**inputs.to_props(), **outputs.to_props()}

    def create(self, props: dict) -> CreateResult:
        inputs = KarmadaControlPlaneInputs.from_props(props)
        return CreateResult(id_=f"{inputs.namespace or 'existing'}/{inputs.federation}", outs=self._settle(inputs))

    def update(self, _id: str, _olds: dict, news: dict) -> UpdateResult:
        return UpdateResult(outs=self._settle(KarmadaControlPlaneInputs.from_props(news)))

    def read(self, id_: str, props: dict) -> ReadResult:
        """Refresh: the state as seen now; the credential is kept unless the operator re-issued it."""
        inputs = KarmadaControlPlaneInputs.from_props(props)
        if inputs.mode == "existing":
            try:
                check_karmada_api(inputs.existing_kubeconfig, inputs.federation)
                state, reason = "running", "/readyz OK; Karmada APIs served"
            except ClusterAccessError as exc:
                state, reason = "failed", str(exc)
            return ReadResult(id_, {**props, "state": state, "state_reason": reason, "observed_at": now()})
        seen = observe_operator(inputs)
        return ReadResult(id_, {**props, "state": seen.state, "state_reason": seen.reason, "observed_at": now()})

    def delete(self, _id: str, _props: dict) -> None:
        """Observing owns nothing."""


class KarmadaControlPlane(Resource, module="fleetform", name="KarmadaControlPlane"):
    """The running Karmada API of federation ``federation`` and its admin ``kubeconfig`` (secret)."""

    kubeconfig: pulumi.Output[str]
    api_server_url: pulumi.Output[str]
    ca_bundle: pulumi.Output[str]
    observed_version: pulumi.Output[str]
    kubernetes_version: pulumi.Output[str]
    state: pulumi.Output[str]
    state_reason: pulumi.Output[str]
    observed_at: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        federation: str,
        mode: str,
        karmada_version: str,
        timeout_seconds: int,
        host_kubeconfig: pulumi.Input[str] | None = None,
        namespace: str = "",
        spec_hash: pulumi.Input[str] = "",
        existing_kubeconfig: pulumi.Input[str] | None = None,
        external_url: str = "",
        opts: pulumi.ResourceOptions | None = None,
    ):
        props = {
            "federation": federation,
            "mode": mode,
            "karmada_version": karmada_version,
            "timeout_seconds": timeout_seconds,
            "host_kubeconfig": pulumi.Output.secret(host_kubeconfig or ""),
            "namespace": namespace,
            "spec_hash": spec_hash,
            "existing_kubeconfig": pulumi.Output.secret(existing_kubeconfig or ""),
            "external_url": external_url,
            **KarmadaControlPlaneOutputs.placeholders(),
        }
        secret_outputs = pulumi.ResourceOptions(additional_secret_outputs=["kubeconfig"])
        super().__init__(KarmadaControlPlaneProvider(), name, props, pulumi.ResourceOptions.merge(opts, secret_outputs))
