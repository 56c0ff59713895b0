"""DOMAIN §3 rules on one cluster item, read off the facts its kind's model declares: credentials (V7 for idc),
agent endpoint (V14), networks (V25), bootstrap (§6, V33) and encryption (V34-V39)."""

import ipaddress

from .bootstrap import INGRESS_NGINX_CHART_VERSION, IngressSettings, StorageSettings
from .cluster_base import ClusterBase, Network
from .clusters import CLUSTER_MODELS, ZONAL_PROVISIONERS, IdcCluster, idc_agent_install
from .report import Loc, ParsedStack, Report

RFC1918 = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


def check_cluster(stack: ParsedStack, i: int, cluster: ClusterBase, report: Report) -> None:
    loc: Loc = ("clusters", i)
    if isinstance(cluster, IdcCluster):
        manual_agent = cluster.connection_mode == "agent" and idc_agent_install(cluster, stack.sandbox) == "manual"
        report.issues(loc, cluster.source_issues(required=not (stack.sandbox or manual_agent), kind="idc"))
    _check_agent_endpoint_present(stack, cluster, report)
    _check_network(cluster, loc, report)
    _check_bootstrap(cluster, loc + ("bootstrap",), report)
    _check_encryption(cluster, loc + ("encryption",), report)


def _check_agent_endpoint_present(stack: ParsedStack, cluster: ClusterBase, report: Report) -> None:
    """V14, first half. In a sandbox the program fills in the endpoint of the emulated hub."""
    if (
        cluster.connection_mode == "agent"
        and stack.hub is not None
        and stack.hub.agent_endpoint is None
        and not stack.sandbox
    ):
        report.error(
            ("hub", "agent_endpoint"),
            f"FF-CONN-001 cluster '{cluster.name}' uses agent mode but hub '{stack.hub.name}' has no agent_endpoint",
            'set it to the hub API URL reachable from members, e.g. "https://hub.example.com:6443"',
        )


def _check_network(cluster: ClusterBase, loc: Loc, report: Report) -> None:
    """V25, second half: syntax is checked by the Cidr type."""
    for key in Network.model_fields:
        value = getattr(cluster.network, key, None)
        if value is None:
            continue
        network = ipaddress.ip_network(value)
        if not any(network.version == private.version and network.subnet_of(private) for private in RFC1918):
            report.warn(loc + ("network", key), f"FF-NET-W01 {value} is not an RFC 1918 range")


def _check_bootstrap(cluster: ClusterBase, loc: Loc, report: Report) -> None:
    bootstrap = cluster.bootstrap
    if bootstrap is None:
        return
    if bootstrap.ingress.enabled:
        _check_ingress(cluster, bootstrap.ingress, loc + ("ingress",), report)
    if bootstrap.storage.enabled:
        _check_storage(cluster, bootstrap.storage, bootstrap.adopt_existing, loc + ("storage",), report)


def _check_ingress(cluster: ClusterBase, ingress: IngressSettings, loc: Loc, report: Report) -> None:
    kind = cluster.kind
    if not cluster.INGRESS.offers(ingress.provider):
        offering = [other for other, model in CLUSTER_MODELS.items() if model.INGRESS.offers(ingress.provider)]
        report.error(
            loc + ("provider",),
            f"ingress provider {ingress.provider} is not available for kind {kind}",
            f"it exists for {', '.join(offering)}; use nginx or gateway-api",
        )
    if ingress.provider == "ctyun-plugin":
        report.error(
            loc + ("provider",),
            "FF-ING-005 installing through the CCSE plugin API is not supported yet",
            "use provider nginx: the CCSE plugin installs the same controller",
        )
    if ingress.provider == "nginx" and ingress.chart_version != INGRESS_NGINX_CHART_VERSION:
        report.error(
            loc + ("chart_version",),
            f"fleetform renders ingress-nginx {INGRESS_NGINX_CHART_VERSION} (its last release) as typed resources",
            f"remove chart_version or set it to {INGRESS_NGINX_CHART_VERSION}",
        )
    if ingress.provider == "gateway-api" and ingress.gateway_class is None:
        report.error(
            loc + ("gateway_class",),
            "field required",
            'provider gateway-api needs the GatewayClass, e.g. "gke-l7-rilb"',
        )
    elif ingress.provider != "gateway-api" and ingress.gateway_class is not None:
        report.error(loc + ("gateway_class",), "gateway_class is only used with provider gateway-api")
    if (
        cluster.INGRESS.internal_lb_needs_subnet
        and ingress.exposure == "internal"
        and ingress.provider in ("nginx", "gateway-api")
        and ingress.lb_subnet_id is None
    ):
        report.error(
            loc + ("lb_subnet_id",),
            "field required",
            f'an internal {kind.upper()} load balancer needs its subnet, e.g. "subnet-8x3k2p1q"',
        )


def _check_storage(cluster: ClusterBase, storage: StorageSettings, adopt: bool, loc: Loc, report: Report) -> None:
    kind, defaults = cluster.kind, cluster.STORAGE
    provisioner = storage.provisioner or defaults.provisioner
    if provisioner in ZONAL_PROVISIONERS and storage.volume_binding_mode != "WaitForFirstConsumer":
        report.error(
            loc + ("volume_binding_mode",),
            f"FF-STOR-004 provisioner '{provisioner}' creates zonal disks; "
            "volume_binding_mode must be WaitForFirstConsumer",
        )
    if adopt or defaults.parameters is not None:
        return
    if defaults.provisioner is None and storage.provisioner is None:
        report.error(
            loc + ("provisioner",),
            "field required",
            f"with adopt_existing false an {kind} cluster needs "
            'the provisioner and parameters of the class to create, e.g. "nfs.csi.k8s.io"',
        )
    if storage.parameters is None:
        report.error(
            loc + ("parameters",),
            "field required",
            f"with adopt_existing false kind {kind} creates a "
            "StorageClass only from explicit parameters, e.g. {type: SSD}",
        )


def _check_encryption(cluster: ClusterBase, loc: Loc, report: Report) -> None:
    """What the kind's ENCRYPTION declares (V34, a key, V36), then the kind's own checks of the key."""
    encryption, support = cluster.encryption, cluster.ENCRYPTION
    if encryption is None or not encryption.enabled:
        return
    if not support.supported:  # V34: never skipped silently
        report.error(
            loc,
            f"FF-ENC-001 etcd/Secret encryption is not supported for kind {cluster.kind}: "
            f"{support.unsupported_reason}. Remove EtcdEncryption '{cluster.name}' or set enabled=false",
        )
        return
    if support.key_required and encryption.key is None:
        report.error(loc + ("key",), "field required", type(encryption).model_fields["key"].description or "")
        return
    report.issues(loc, cluster.encryption_issues())
    if not support.reversible and getattr(encryption, "key", None) is not None and not encryption.allow_irreversible:
        report.error(
            loc + ("allow_irreversible",),
            f"FF-ENC-014 {cluster.kind.upper()} secrets encryption is "
            "irreversible; set allow_irreversible=true to proceed",
        )
