"""IngressStatus: whether a cluster's ingress controller serves, and at which address (DOMAIN §2.6).

Create and update wait up to ``timeout_seconds`` (the stack's ``lb_timeout``) for:

* the controller workload to have its pods available and the IngressClass to exist;
* for a ``LoadBalancer`` Service, the cloud to give it an address (a hostname on AWS, an IP elsewhere).
  A ``NodePort`` Service is reached on the nodes' addresses and its node port, a ``HostPort`` controller
  on the nodes' addresses and the host port.

States: ``ready``; ``degraded`` (FF-ING-003: no address in time, with the cloud controller's last
warning event for the Service, e.g. an annotation it refused; or the controller is not available);
``installing`` (objects delivered through a ManifestWork not yet available); ``ready`` through a
ManifestWork once the work is available (the address cannot be read from the hub). Refresh observes
again without waiting. It owns nothing.

The Service's annotations are an input, so that a change of exposure (which makes the cloud replace
the load balancer) waits for the new address in the same ``up``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from .. import kube
from ..errors import ErrorCode
from ._props import Props, now
from ._waiting import poll

RESETTLE_SECONDS = 60
DEFAULT_CLASS = "ingressclass.kubernetes.io/is-default-class"
GATEWAY_API = "/apis/gateway.networking.k8s.io/v1"


@dataclass(frozen=True)
class IngressStatusInputs(Props):
    cluster: str
    kubeconfig: str  # "" when the member is reached only through a ManifestWork
    namespace: str
    service: str
    workload: str  # "Deployment/<name>" or "DaemonSet/<name>"
    class_name: str
    service_type: str  # LoadBalancer | NodePort | HostPort
    annotations: dict = field(default_factory=dict)
    host_port: int = 0  # HostPort: the controller's http port on each node
    make_default: bool = False  # the class is to be the cluster's only default IngressClass
    gateway: str = ""  # provider gateway-api: the Gateway to watch instead of a controller and its Service
    timeout_seconds: int = 600
    delivery_state: str = ""  # the ManifestWork's state when there is no kubeconfig


@dataclass(frozen=True)
class IngressStatusOutputs(Props):
    state: str  # ready | degraded | installing
    state_reason: str
    address: str  # hostname or IP of the load balancer; node addresses with ports otherwise
    observed_at: str


@dataclass(frozen=True)
class _Seen:
    available: bool
    class_exists: bool
    address: str
    service_uid: str
    other_defaults: tuple[str, ...]  # default IngressClasses besides this one


class _Member:
    def __init__(self, inputs: IngressStatusInputs):
        self.inputs = inputs
        self.client = kube.api_client(inputs.kubeconfig, inputs.cluster)

    def _get(self, path: str) -> dict | None:
        return kube.expect(self.client, self.inputs.cluster, "GET", path, ok=(200, 404))

    def observe(self) -> _Seen:
        return self._observe_gateway() if self.inputs.gateway else self._observe_controller()

    def _observe_gateway(self) -> _Seen:
        """A Gateway: Programmed by its implementation, its GatewayClass present, the addresses it reports."""
        i = self.inputs
        gateway = self._get(f"{GATEWAY_API}/namespaces/{i.namespace}/gateways/{i.gateway}") or {}
        status = gateway.get("status") or {}
        programmed = any(
            c.get("type") == "Programmed" and c.get("status") == "True" for c in status.get("conditions") or []
        )
        address = ",".join(a.get("value", "") for a in status.get("addresses") or [])
        gateway_class = self._get(f"{GATEWAY_API}/gatewayclasses/{i.class_name}")
        return _Seen(programmed, gateway_class is not None, address, "", ())

    def _observe_controller(self) -> _Seen:
        i = self.inputs
        kind, _, name = i.workload.partition("/")
        workload = self._get(f"/apis/apps/v1/namespaces/{i.namespace}/{kind.lower()}s/{name}")
        classes = (self._get("/apis/networking.k8s.io/v1/ingressclasses") or {}).get("items") or []
        names = {c["metadata"]["name"] for c in classes}
        other_defaults = tuple(
            sorted(
                c["metadata"]["name"]
                for c in classes
                if c["metadata"]["name"] != i.class_name
                and (c["metadata"].get("annotations") or {}).get(DEFAULT_CLASS) == "true"
            )
        )
        service = self._get(f"/api/v1/namespaces/{i.namespace}/services/{i.service}") or {}
        uid = (service.get("metadata") or {}).get("uid", "")
        return _Seen(_available(workload), i.class_name in names, self._address(service), uid, other_defaults)

    def _address(self, service: dict) -> str:
        i = self.inputs
        if i.service_type == "LoadBalancer":
            found = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
            return ",".join(entry.get("hostname") or entry.get("ip", "") for entry in found)
        if i.service_type == "NodePort":
            ports = [
                p.get("nodePort") for p in (service.get("spec") or {}).get("ports") or [] if p.get("name") == "http"
            ]
            port = ports[0] if ports else None
        else:
            port = i.host_port
        if not port:
            return ""
        return ",".join(f"{ip}:{port}" for ip in self._node_addresses())

    def _node_addresses(self) -> list[str]:
        nodes = (self._get("/api/v1/nodes") or {}).get("items") or []
        return sorted(
            a["address"]
            for node in nodes
            for a in (node.get("status") or {}).get("addresses") or []
            if a.get("type") == "InternalIP"
        )

    def warning(self, service_uid: str) -> str:
        """The newest Warning event about the Service (a cloud controller's complaint), or ""."""
        if not service_uid:
            return ""
        events = (self._get(f"/api/v1/namespaces/{self.inputs.namespace}/events") or {}).get("items") or []
        events = [
            e
            for e in events
            if (e.get("involvedObject") or {}).get("uid") == service_uid and e.get("type") == "Warning"
        ]
        if not events:
            return ""
        newest = max(events, key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")
        return f"{newest.get('reason', '')}: {newest.get('message', '')}"


def _available(workload: dict | None) -> bool:
    if workload is None:
        return False
    status = workload.get("status") or {}
    if workload.get("kind") == "DaemonSet":
        return status.get("numberAvailable", 0) >= max(1, status.get("desiredNumberScheduled", 0))
    return any(c.get("type") == "Available" and c.get("status") == "True" for c in status.get("conditions") or [])


def _served(seen: _Seen) -> bool:
    return seen.available and seen.class_exists and bool(seen.address)


def observe(inputs: IngressStatusInputs, wait: bool) -> IngressStatusOutputs:
    if not inputs.kubeconfig:
        state = "ready" if inputs.delivery_state == "available" else "installing"
        reason = f"delivered through a ManifestWork ({inputs.delivery_state or 'pending'}); the address is not read"
        return IngressStatusOutputs(state, reason, "", now())
    member = _Member(inputs)
    seen, served = poll(member.observe, _served, inputs.timeout_seconds if wait else 0, interval=1.0)
    if served and inputs.make_default and seen.other_defaults:
        reason = (
            f"{ErrorCode.ING_TWO_DEFAULTS.value} cluster '{inputs.cluster}' has more than one default IngressClass "
            f"({', '.join((inputs.class_name, *seen.other_defaults))}); set ingress.make_default=false or remove "
            f"the {DEFAULT_CLASS} annotation from {', '.join(seen.other_defaults)}"
        )
        return IngressStatusOutputs("degraded", reason, seen.address, now())
    if served:
        return IngressStatusOutputs("ready", f"serving class '{inputs.class_name}'", seen.address, now())
    if inputs.gateway and not seen.class_exists:
        reason = f"GatewayClass '{inputs.class_name}' does not exist on '{inputs.cluster}' (install its implementation)"
    elif inputs.gateway and not seen.available:
        reason = f"Gateway '{inputs.gateway}' on '{inputs.cluster}' is not Programmed by its implementation"
    elif not seen.available:
        reason = f"the ingress controller {inputs.workload} on '{inputs.cluster}' is not available"
    elif not seen.class_exists:
        reason = f"IngressClass '{inputs.class_name}' does not exist on '{inputs.cluster}'"
    else:
        reason = (
            f"{ErrorCode.ING_NO_ADDRESS.value} ingress Service on '{inputs.cluster}' has no load-balancer address "
            f"after {inputs.timeout_seconds}s"
        )
        warning = member.warning(seen.service_uid)
        reason += f" ({warning})" if warning else " (the cloud's load-balancer controller reported nothing)"
    return IngressStatusOutputs("degraded", reason, seen.address, now())


def _await_new_address(inputs: IngressStatusInputs, old_address: str) -> None:
    """After the load balancer was asked for differently (exposure, annotations), give the cloud up to
    :data:`RESETTLE_SECONDS` to replace the old address, so the one reported is not the one being
    replaced. A cloud that keeps the address (an annotation it applies in place) costs that wait once."""
    if old_address:
        member = _Member(inputs)
        poll(member.observe, lambda seen: seen.address != old_address, min(inputs.timeout_seconds, RESETTLE_SECONDS))


class IngressStatusProvider(ResourceProvider):
    repeatable_create = True  # it observes or converges and makes nothing a second create would duplicate

    def diff(self, _id: str, olds: dict, news: dict) -> DiffResult:
        changed = IngressStatusInputs.from_props(news).changed(IngressStatusInputs.from_props(olds))
        return DiffResult(changes=bool(changed))

    def create(self, props: dict) -> CreateResult:
        inputs = IngressStatusInputs.from_props(props)
        outs = {**inputs.to_props(), **observe(inputs, wait=True).to_props()}
        return CreateResult(id_=f"{inputs.cluster}/{inputs.namespace}/{inputs.service}", outs=outs)

    def update(self, _id: str, olds: dict, news: dict) -> UpdateResult:
        inputs = IngressStatusInputs.from_props(news)
        before = IngressStatusInputs.from_props(olds)
        if inputs.kubeconfig and (before.annotations, before.service_type) != (inputs.annotations, inputs.service_type):
            _await_new_address(inputs, olds.get("address") or "")
        return UpdateResult(outs={**inputs.to_props(), **observe(inputs, wait=True).to_props()})

    def read(self, id_: str, props: dict) -> ReadResult:
        found = observe(IngressStatusInputs.from_props(props), wait=False).to_props()
        found.pop("observed_at")
        return ReadResult(id_, {**props, **found})

    def delete(self, _id: str, _props: dict) -> None:
        """Observing owns nothing."""


class IngressStatus(Resource, module="fleetform", name="IngressStatus"):
    """``state`` (ready | degraded | installing), ``state_reason``, ``address``."""

    state: pulumi.Output[str]
    state_reason: pulumi.Output[str]
    address: pulumi.Output[str]

    def __init__(self, name: str, *, kubeconfig: pulumi.Input[str] | None, opts=None, **inputs):
        props = {
            **inputs,
            "kubeconfig": pulumi.Output.secret(kubeconfig if kubeconfig is not None else ""),
            **IngressStatusOutputs.placeholders(),
        }
        super().__init__(IngressStatusProvider(), name, props, opts)
