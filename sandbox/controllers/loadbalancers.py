"""Load balancers: each cloud's service controller gives ``LoadBalancer`` Services an address.

The cloud of a cluster is read from its Nodes' ``spec.providerID``, as written by the cloud's
cloud-controller-manager (the cloud emulators seed them: :mod:`sandbox.clouds.cluster_addons`):
``aws://`` (EKS), ``gce://`` (GKE), ``azure://`` (AKS), ``qcloud://`` (TKE), ``ctyun://`` (CTyun,
the sandbox's own format) and ``<region>.i-<id>`` (ACK). Each pass recomputes, for every Service of
type ``LoadBalancer``, the address the cloud would give it, from the cluster, namespace and name
(so the same Service gets the same address in every run) and the annotations, and writes
``status.loadBalancer.ingress`` when it differs; changing the annotations from internal to public
(or back) changes the address, as a real cloud re-provisions. A Service whose type is no longer
``LoadBalancer`` loses its address. Services of other types are otherwise left alone.

Per cloud (annotation prefixes shortened: ``aws-…`` is ``service.beta.kubernetes.io/aws-…``):

* EKS answers a hostname, never an IP. ``aws-load-balancer-type: external`` (or ``nlb-ip``, or
  ``spec.loadBalancerClass: service.k8s.aws/nlb``) is the AWS Load Balancer Controller's: an NLB
  named ``k8s-<ns>-<name>-<10 hex>``, hostname ``<name>-<16 hex>.elb.<region>.amazonaws.com``,
  scheme from ``aws-load-balancer-scheme`` (``internal``/``internet-facing``), else from the
  deprecated ``aws-load-balancer-internal`` (a Go bool), else **internal** (the controller's
  default since v2.2); ``aws-load-balancer-nlb-target-type`` is ``ip`` or ``instance``. Any other
  value of these fails (Event reason ``FailedBuildModel``, as that controller records it). Every
  other Service is the legacy AWS cloud provider's: ``type: nlb`` gives an NLB
  ``a<31 hex>-<16 hex>.elb.<region>.amazonaws.com``; no type, **or any other value**, a Classic
  ELB ``a<31 hex>-<10 digits>.<region>.elb.amazonaws.com`` (cloud-provider-aws only tests for
  ``nlb``). It makes them internal when ``aws-load-balancer-internal`` is set to anything but
  ``"false"``, ignores ``aws-load-balancer-scheme``, and never fails. Internal Classic ELBs'
  hostnames start with ``internal-``; NLBs' never do (real NLB DNS names have no such prefix).
* GKE: ``networking.gke.io/load-balancer-type`` (or the deprecated
  ``cloud.google.com/load-balancer-type``) ``Internal`` or ``internal`` gives a private 10.x
  address; absent **or any other value** a public one: the GCP provider treats every other value as
  external, without an error.
* AKS: ``azure-load-balancer-internal`` equal to ``true`` in any case gives a private 10.224.x
  address; absent **or any other value** a public one (cloud-provider-azure compares with
  ``strings.EqualFold``, without an error).
* ACK: ``alibaba-cloud-loadbalancer-address-type`` ``intranet`` gives a private 172.16.x address,
  ``internet`` or absent a public 47.x one; any other value fails (the SLB API rejects the
  AddressType).
* TKE: ``service.kubernetes.io/qcloud-loadbalancer-internal-subnetid`` of the form
  ``subnet-<8 of [0-9a-z]>`` gives a private 10.x address, absent a public one; another form fails.
* CTyun: ``ctyun-loadbalancer-address-type`` ``intranet`` or absent (CTyun's default) gives a
  private 192.168.x address, ``internet`` a public one; any other value (case-sensitive) fails.

A failure leaves the status as it is (a new Service stays without an address; an existing load
balancer keeps its address, as the real controllers do when an update fails) and records one
core/v1 ``Event`` per Service and problem: type ``Warning``, reason ``SyncLoadBalancerFailed``
(``FailedBuildModel`` for the AWS Load Balancer Controller), ``involvedObject`` the Service, a
message naming the annotation and its value. It is created once (``count`` 1), not on every pass.
The messages' wording after the real prefixes (``Error syncing load balancer: failed to ensure
load balancer:``, ``Failed build model due to``) is the sandbox's. Fixing the annotation assigns
the address on the next pass.

Clusters without a recognised providerID (``idc`` clusters, the hub, Karmada control planes) have
no cloud load balancer, as on bare metal: their ``LoadBalancer`` Services get no address and no
Event. The one exception is the sandbox's stand-in for MetalLB: a Service that names its address
(``metallb.io/loadBalancerIPs``, ``metallb.universe.tf/loadBalancerIPs``, or
``spec.loadBalancerIP``) gets the first one. (Before, every ``LoadBalancer`` Service everywhere got
``127.0.0.1``; nothing in the sandbox or the product relied on it.)

Not modelled: the load balancers themselves (nothing listens on the addresses), ports, health
checks, ``externalTrafficPolicy``, other annotations (subnets, specs, reuse of an existing LB by
id, EIPs), address exhaustion, provisioning delay, ``ipMode``, and the AWS Load Balancer
Controller's service webhook (which, when enabled, hands it every new ``LoadBalancer`` Service).
Services with another ``spec.loadBalancerClass`` are left to whatever implements that class.

"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import re
from dataclasses import dataclass

from ..kubeapi import ApiError, VirtualCluster
from .conditions import now

log = logging.getLogger("sandbox.controllers.loadbalancers")

AWS_TYPE = "service.beta.kubernetes.io/aws-load-balancer-type"
AWS_INTERNAL = "service.beta.kubernetes.io/aws-load-balancer-internal"
AWS_SCHEME = "service.beta.kubernetes.io/aws-load-balancer-scheme"
AWS_TARGET_TYPE = "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"
AWS_LBC_CLASS = "service.k8s.aws/nlb"
GKE_TYPE = "networking.gke.io/load-balancer-type"
GKE_TYPE_DEPRECATED = "cloud.google.com/load-balancer-type"
AZURE_INTERNAL = "service.beta.kubernetes.io/azure-load-balancer-internal"
ALIBABA_ADDRESS_TYPE = "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type"
TENCENT_SUBNET = "service.kubernetes.io/qcloud-loadbalancer-internal-subnetid"
CTYUN_ADDRESS_TYPE = "service.beta.kubernetes.io/ctyun-loadbalancer-address-type"
METALLB_IPS = ("metallb.io/loadBalancerIPs", "metallb.universe.tf/loadBalancerIPs")

SYNC_FAILED = "SyncLoadBalancerFailed"
BUILD_MODEL_FAILED = "FailedBuildModel"
_SYNC_PREFIX = "Error syncing load balancer: failed to ensure load balancer: "
_REGION_LABEL = "topology.kubernetes.io/region"
_ALIBABA_PROVIDER_ID = re.compile(r"^[a-z]+(?:-[a-z0-9]+)+\.i-[0-9a-z]+$")
_TENCENT_SUBNET = re.compile(r"^subnet-[0-9a-z]{8}$")
_GO_TRUE = ("1", "t", "T", "TRUE", "true", "True")  # what Go's strconv.ParseBool accepts
_GO_FALSE = ("0", "f", "F", "FALSE", "false", "False")

# cloud -> (first octets of its private addresses, first octets of its public ones)
_RANGES = {
    "gce": ((10, 132), (34,)),
    "azure": ((10, 224), (20,)),
    "alibaba": ((172, 16), (47,)),
    "tencent": ((10, 0), (129, 204)),
    "ctyun": ((192, 168), (36,)),
}


@dataclass(frozen=True)
class Cloud:
    """The cloud a cluster runs in: ``aws``, ``gce``, ``azure``, ``alibaba``, ``tencent`` or ``ctyun``."""

    name: str
    region: str


@dataclass(frozen=True)
class Failure:
    """Why the cloud's controller cannot provision a Service's load balancer."""

    reason: str
    message: str
    component: str = "service-controller"


def provider_cloud(provider_id: str) -> str | None:
    """The cloud a Node's ``spec.providerID`` names, or None."""
    for prefix, cloud in (
        ("aws://", "aws"),
        ("gce://", "gce"),
        ("azure://", "azure"),
        ("qcloud://", "tencent"),
        ("ctyun://", "ctyun"),
    ):
        if provider_id.startswith(prefix):
            return cloud
    return "alibaba" if _ALIBABA_PROVIDER_ID.match(provider_id) else None


def cloud_of(cluster: VirtualCluster) -> Cloud | None:
    """The cloud of the first Node (by name) with a recognised providerID; None without one."""
    for node in sorted(cluster.objects.list("v1", "Node"), key=lambda n: n["metadata"]["name"]):
        provider_id = (node.get("spec") or {}).get("providerID") or ""
        name = provider_cloud(provider_id)
        if name is None:
            continue
        region = (node["metadata"].get("labels") or {}).get(_REGION_LABEL) or _region_from(name, provider_id)
        return Cloud(name, region)
    return None


def _region_from(cloud: str, provider_id: str) -> str:
    if cloud == "aws":  # aws:///<zone>/i-...: the zone is the region and a letter
        return provider_id.removeprefix("aws:///").split("/")[0][:-1]
    if cloud == "alibaba":
        return provider_id.split(".")[0]
    return ""


def assign_addresses(cluster: VirtualCluster) -> None:
    """One pass of the cluster's load-balancer controller (see the module docstring)."""
    cloud = cloud_of(cluster)
    for service in cluster.objects.list("v1", "Service"):
        spec = service.get("spec") or {}
        current = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        if spec.get("type") != "LoadBalancer":
            wanted: list[dict] | Failure | None = []
        elif cloud is None:
            wanted = _metallb(service)
        else:
            wanted = wanted_ingress(cloud, cluster.name, service)
        try:
            if isinstance(wanted, Failure):
                _record_failure(cluster, service, wanted)
            elif wanted is not None and wanted != current:
                _write(cluster, service, wanted)
        except ApiError as err:  # the Service went away or changed under us: the next pass sees it
            log.debug("%s: service %s: %s", cluster.name, service["metadata"]["name"], err)


def wanted_ingress(cloud: Cloud, cluster: str, service: dict) -> list[dict] | Failure | None:
    """What ``cloud``'s controller makes of a ``LoadBalancer`` Service: its ingress list, a
    failure, or None when the Service is not that controller's (another loadBalancerClass)."""
    annotations = service["metadata"].get("annotations") or {}
    key = (cluster, service["metadata"].get("namespace", ""), service["metadata"]["name"])
    lb_class = (service.get("spec") or {}).get("loadBalancerClass")
    if cloud.name == "aws":
        return _aws(cloud.region, key, annotations, lb_class)
    if lb_class is not None:
        return None
    if cloud.name == "gce":
        value = next((annotations[k] for k in (GKE_TYPE, GKE_TYPE_DEPRECATED) if k in annotations), "")
        return _ip(cloud.name, value in ("Internal", "internal"), key)
    if cloud.name == "azure":
        return _ip(cloud.name, annotations.get(AZURE_INTERNAL, "").lower() == "true", key)
    if cloud.name == "alibaba":
        value = annotations.get(ALIBABA_ADDRESS_TYPE, "internet")
        if value not in ("intranet", "internet"):
            return _sync_failure(ALIBABA_ADDRESS_TYPE, value, "intranet or internet")
        return _ip(cloud.name, value == "intranet", key)
    if cloud.name == "tencent":
        subnet = annotations.get(TENCENT_SUBNET)
        if subnet is not None and not _TENCENT_SUBNET.match(subnet):
            return _sync_failure(TENCENT_SUBNET, subnet, "a subnet id like subnet-1a2b3c4d")
        return _ip(cloud.name, subnet is not None, key)
    if cloud.name == "ctyun":
        value = annotations.get(CTYUN_ADDRESS_TYPE, "intranet")
        if value not in ("intranet", "internet"):
            return _sync_failure(CTYUN_ADDRESS_TYPE, value, "intranet or internet")
        return _ip(cloud.name, value == "intranet", key)
    return None


# --- per cloud ----------------------------------------------------------------------------------


def _aws(
    region: str, key: tuple[str, str, str], annotations: dict, lb_class: str | None
) -> list[dict] | Failure | None:
    lb_type = annotations.get(AWS_TYPE, "")
    if lb_class == AWS_LBC_CLASS or (lb_class is None and lb_type in ("external", "nlb-ip")):
        return _aws_load_balancer_controller(region, key, annotations, lb_type)
    if lb_class is not None:
        return None
    internal = annotations.get(AWS_INTERNAL, "") not in ("", "false")
    scheme = "internal" if internal else "internet-facing"
    name = "a" + _hex(*key)[:31]  # the legacy provider names the LB after the Service (its UID, really)
    if lb_type == "nlb":
        return [{"hostname": f"{name}-{_hex(*key, scheme)[:16]}.elb.{region}.amazonaws.com"}]
    number = 1_000_000_000 + int(_hex(*key, scheme)[:12], 16) % 9_000_000_000
    prefix = "internal-" if internal else ""
    return [{"hostname": f"{prefix}{name}-{number}.{region}.elb.amazonaws.com"}]


def _aws_load_balancer_controller(
    region: str, key: tuple[str, str, str], annotations: dict, lb_type: str
) -> list[dict] | Failure:
    target = annotations.get(AWS_TARGET_TYPE, "ip" if lb_type == "nlb-ip" else "instance")
    if target not in ("ip", "instance"):
        return _build_failure(AWS_TARGET_TYPE, target, "ip or instance")
    if AWS_SCHEME in annotations:
        scheme = annotations[AWS_SCHEME]
        if scheme not in ("internal", "internet-facing"):
            return _build_failure(AWS_SCHEME, scheme, "internal or internet-facing")
    elif AWS_INTERNAL in annotations:
        value = annotations[AWS_INTERNAL]
        if value not in _GO_TRUE + _GO_FALSE:
            return _build_failure(AWS_INTERNAL, value, "true or false")
        scheme = "internal" if value in _GO_TRUE else "internet-facing"
    else:
        scheme = "internal"
    _, namespace, service = key
    name = f"k8s-{_alnum(namespace)[:8]}-{_alnum(service)[:8]}-{_hex(*key, scheme)[:10]}"
    return [{"hostname": f"{name}-{_hex(*key, scheme, 'dns')[:16]}.elb.{region}.amazonaws.com"}]


def _metallb(service: dict) -> list[dict] | None:
    """The sandbox's stand-in for MetalLB in clusters without a cloud: only a Service that names its
    address gets it."""
    if (service.get("spec") or {}).get("loadBalancerClass") is not None:
        return None
    annotations = service["metadata"].get("annotations") or {}
    named = next((annotations[k] for k in METALLB_IPS if annotations.get(k)), None)
    named = named or (service.get("spec") or {}).get("loadBalancerIP")
    if not named:
        return None
    first = named.split(",")[0].strip()
    try:
        ipaddress.ip_address(first)
    except ValueError:
        return None
    return [{"ip": first}]


def _ip(cloud: str, internal: bool, key: tuple[str, str, str]) -> list[dict]:
    prefix = _RANGES[cloud][0 if internal else 1]
    digest = bytes.fromhex(_hex(*key, "internal" if internal else "public"))
    octets = list(prefix) + [digest[i] for i in range(4 - len(prefix) - 1)] + [2 + digest[3] % 252]
    return [{"ip": ".".join(map(str, octets))}]


def _sync_failure(annotation: str, value: str, want: str) -> Failure:
    return Failure(SYNC_FAILED, f'{_SYNC_PREFIX}invalid value "{value}" for annotation {annotation} (want {want})')


def _build_failure(annotation: str, value: str, want: str) -> Failure:
    message = f'Failed build model due to invalid value "{value}" for annotation {annotation} (want {want})'
    return Failure(BUILD_MODEL_FAILED, message, component="service")


def _hex(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _alnum(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", text)


# --- writes -------------------------------------------------------------------------------------


def _write(cluster: VirtualCluster, service: dict, ingress: list[dict]) -> None:
    meta = service["metadata"]
    cluster.objects.patch(
        "v1",
        "Service",
        meta["name"],
        {"status": {"loadBalancer": {"ingress": ingress or None}}},
        meta["namespace"],
        subresource="status",
    )


def _record_failure(cluster: VirtualCluster, service: dict, failure: Failure) -> None:
    """One Warning Event per Service (by UID) and problem; an existing one is left as it is."""
    meta = service["metadata"]
    namespace, uid = meta["namespace"], meta.get("uid", "")
    name = f"{meta['name']}.{_hex(uid, failure.reason, failure.message)[:16]}"
    try:
        cluster.objects.get("v1", "Event", name, namespace)
        return
    except ApiError as err:
        if err.code != 404:
            raise
    stamp = now()
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": namespace},
        "involvedObject": {
            "apiVersion": "v1",
            "kind": "Service",
            "namespace": namespace,
            "name": meta["name"],
            "uid": uid,
            "resourceVersion": meta.get("resourceVersion", ""),
        },
        "reason": failure.reason,
        "message": failure.message,
        "type": "Warning",
        "source": {"component": failure.component},
        "reportingComponent": failure.component,
        "reportingInstance": "",
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }
    try:
        cluster.objects.create(event)
    except ApiError as err:
        if err.code != 409:
            raise
