"""ClusterBootstrap (DOMAIN §2.6): ingress and default StorageClass of one cluster, and the per-kind facts
(§6.1-6.3) that the cluster models carry about them."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType
from typing import Literal

from pydantic import Field

from .common import StrictModel
from .scalars import DnsLabel, DnsSubdomain, SemVer, duration

# Ingress providers that need nothing of the cloud (§6.1); the others are vendor-specific.
PORTABLE_INGRESS_PROVIDERS = frozenset({"nginx", "gateway-api", "none"})
# The ingress-nginx release fleetform renders (components/ingress_nginx.py): its last, before retirement.
INGRESS_NGINX_CHART_VERSION = "4.15.1"


@dataclass(frozen=True)
class IngressSupport:
    """What a kind offers for ingress (§6.1) and how its load balancer is asked for (§6.2)."""

    vendor_providers: frozenset[str] = frozenset()  # beyond the portable ones: cloud-native, ctyun-plugin
    # An internal load balancer must be told its subnet (TKE CLB): this annotation carries lb_subnet_id.
    subnet_annotation: str | None = None
    default_service_type: Literal["LoadBalancer", "NodePort", "HostPort"] = "LoadBalancer"
    internal: Mapping[str, str] = field(default_factory=dict)  # Service annotations for an internal load balancer
    public: Mapping[str, str] = field(default_factory=dict)  # ... and for a public one
    always: Mapping[str, str] = field(default_factory=dict)  # ... and for both
    cloud_native_class: str | None = None  # the IngressClass of the cloud's own controller (provider cloud-native)

    @property
    def internal_lb_needs_subnet(self) -> bool:
        return self.subnet_annotation is not None

    def offers(self, provider: str) -> bool:
        return provider in PORTABLE_INGRESS_PROVIDERS or provider in self.vendor_providers

    def service_annotations(self, ingress: "IngressSettings") -> dict[str, str]:
        """The load-balancer annotations of §6.2 for the settings' exposure, with extra_annotations over them
        (only extra_annotations for a Service that gets no cloud load balancer: NodePort, HostPort)."""
        if self.service_type(ingress) != "LoadBalancer":
            return dict(ingress.extra_annotations)
        chosen = dict(self.always)
        chosen.update(self.internal if ingress.exposure == "internal" else self.public)
        if ingress.exposure == "internal" and self.subnet_annotation and ingress.lb_subnet_id:
            chosen[self.subnet_annotation] = ingress.lb_subnet_id
        chosen.update(ingress.extra_annotations)
        return chosen

    def service_type(self, ingress: "IngressSettings") -> str:
        return ingress.service_type or self.default_service_type


@dataclass(frozen=True)
class StorageDefaults:
    """The StorageClass a kind gets when the stack names none (§6.3).

    ``provisioner`` None: none is assumed (idc). ``parameters`` None: only the user knows them (ctyun, idc), so
    the engine creates a class only from explicit parameters and otherwise adopts an existing one.
    ``adopt``: the existing classes to adopt, best first (``*`` at the end of a name matches a prefix); an
    empty tuple means "create ``class_name``". ``adopt_default``: an existing default class of the provisioner
    is adopted too (idc: any existing default).
    """

    provisioner: str | None
    parameters: Mapping[str, str] | None
    class_name: str = "fleetform-disk"
    adopt: tuple[str, ...] = ()
    adopt_default: bool = False

    def __post_init__(self) -> None:
        if self.parameters is not None:
            object.__setattr__(self, "parameters", MappingProxyType(dict(self.parameters)))


class IngressSettings(StrictModel):
    """DOMAIN §2.6 / §6.1-6.2. ``service_type`` None means the per-kind default of §6.2."""

    enabled: bool = True
    provider: Literal["nginx", "gateway-api", "ctyun-plugin", "cloud-native", "none"] = "nginx"
    exposure: Literal["internal", "public"] = "internal"
    service_type: Literal["LoadBalancer", "NodePort", "HostPort"] | None = None
    class_name: DnsLabel = "nginx"
    gateway_class: str | None = Field(None, description='the GatewayClass to use, e.g. "gke-l7-rilb"')
    lb_subnet_id: str | None = Field(None, description='the subnet of the internal CLB, e.g. "subnet-8x3k2p1q"')
    make_default: bool = True
    chart_version: SemVer = INGRESS_NGINX_CHART_VERSION
    extra_annotations: dict[str, str] = {}
    lb_timeout: duration() = timedelta(minutes=10)


class StorageSettings(StrictModel):
    """DOMAIN §2.6 / §6.3. ``class_name``/``provisioner``/``parameters`` None mean the per-kind defaults."""

    enabled: bool = True
    class_name: DnsSubdomain | None = None
    provisioner: str | None = Field(None, description='a CSI driver name, e.g. "nfs.csi.k8s.io"')
    parameters: dict[str, str] | None = Field(None, description='StorageClass parameters, e.g. {"type": "SSD"}')
    reclaim_policy: Literal["Delete", "Retain"] = "Delete"
    volume_binding_mode: Literal["WaitForFirstConsumer", "Immediate"] = "WaitForFirstConsumer"
    allow_volume_expansion: bool = True
    make_default: bool = True


class Bootstrap(StrictModel):
    """ClusterBootstrap (§2.6): ingress and default StorageClass of one cluster."""

    ingress: IngressSettings = Field(default_factory=IngressSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    adopt_existing: bool = True
