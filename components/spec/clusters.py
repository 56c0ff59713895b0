"""The seven cluster kinds (DOMAIN §2.3, D0.4), each model the one home of its kind's facts, and the registry of
kinds: :data:`CLUSTER_MODELS` (and :data:`KINDS`, derived from it) is the only list of kinds in fleetform."""

from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import Field, model_validator

from .bootstrap import IngressSupport, StorageDefaults
from .cluster_base import ClusterBase, identifier
from .common import Issue
from .encryption import (
    AckEncryption,
    AksEncryption,
    CtyunEncryption,
    EksEncryption,
    EncryptionSupport,
    GkeEncryption,
    IdcEncryption,
    TkeEncryption,
)
from .kubeconfig import KubeconfigSource
from .scalars import HttpsUrl, LabelValue


class CtyunCluster(ClusterBase):
    CLOUD: ClassVar[str] = "ctyun"
    IDENTITY_FIELDS: ClassVar[tuple[str, ...]] = ("region_id", "cluster_id")
    REGION_FIELD: ClassVar[str | None] = "region_id"
    # The only CTyun CSI name in the seeds; its parameters are the user's (DOMAIN §9 #14).
    STORAGE: ClassVar[StorageDefaults] = StorageDefaults("diskplugin.csi.ctyun.com", None, adopt=("*",))
    # ELB address type: case-sensitive values; CTyun's own default is intranet (003 §6.4.3).
    INGRESS: ClassVar[IngressSupport] = IngressSupport(
        vendor_providers=frozenset({"ctyun-plugin"}),
        internal={"service.beta.kubernetes.io/ctyun-loadbalancer-address-type": "intranet"},
        public={"service.beta.kubernetes.io/ctyun-loadbalancer-address-type": "internet"},
    )
    ENCRYPTION: ClassVar[EncryptionSupport] = EncryptionSupport(
        unsupported_reason="CTyun CCE offers no KMS or secret-encryption API and its control-plane hosts are not "
        "reachable",
        key_required=False,
    )

    kind: Literal["ctyun"]
    region_id: identifier(
        "ctyun",
        "region_id",
        r"[0-9a-z][0-9a-z-]{2,63}",
        'a CTyun resource-pool ID, e.g. "bb9fdb42056f11eda1610242ac110002"',
    )
    cluster_id: identifier(
        "ctyun",
        "cluster_id",
        r"[0-9A-Za-z][0-9A-Za-z-]{3,63}",
        'a CCSE cluster ID, e.g. "4f2b9c1de0a84b7f9e3c5a6d7b8c9d0e"',
    )
    encryption: CtyunEncryption | None = None

    def lookup_options(self) -> dict[str, Any]:
        """The kubeconfig API's ``isPublic`` follows ``endpoint_preference`` (§5.4)."""
        return {"public": self.endpoint_preference == "public"}


class IdcCluster(KubeconfigSource, ClusterBase):
    """A self-managed cluster. ``agent_install`` None is resolved by :class:`FleetSpec` (§2.3 default)."""

    CLOUD: ClassVar[str] = "idc"
    REGION_FIELD: ClassVar[str | None] = "region"
    STORAGE: ClassVar[StorageDefaults] = StorageDefaults(None, None, adopt_default=True)  # adopt the existing default
    INGRESS: ClassVar[IngressSupport] = IngressSupport(default_service_type="NodePort")  # no cloud load balancer
    ENCRYPTION: ClassVar[EncryptionSupport] = EncryptionSupport(key_required=False)  # the engine makes the keys

    kind: Literal["idc"]
    connection_mode: Literal["direct", "agent"] = "agent"
    agent_install: Literal["engine", "manual"] | None = None
    context: str | None = None
    api_endpoint: HttpsUrl | None = None
    region: LabelValue | None = None  # free text for the fleetform.io/region label ("idc" when absent)
    encryption: IdcEncryption | None = None

    def region_label(self) -> str:
        return self.region or "idc"

    def encryption_issues(self) -> list[Issue]:
        return self.encryption.settings_issues() if self.encryption else []


def idc_agent_install(cluster: IdcCluster, sandbox: bool) -> Literal["engine", "manual"]:
    """§2.3: ``engine`` when a member credential is resolvable (given, or supplied by the sandbox), else ``manual``."""
    if cluster.agent_install is not None:
        return cluster.agent_install
    return "engine" if sandbox or cluster.kubeconfig_sources() else "manual"


class EksCluster(ClusterBase):
    CLOUD: ClassVar[str] = "aws"
    IDENTITY_FIELDS: ClassVar[tuple[str, ...]] = ("region", "cluster_name")
    REGION_FIELD: ClassVar[str | None] = "region"
    STORAGE: ClassVar[StorageDefaults] = StorageDefaults(
        "ebs.csi.aws.com", {"type": "gp3", "csi.storage.k8s.io/fstype": "ext4", "encrypted": "true"}, "ebs-sc"
    )
    # An NLB through the in-tree controller; with the AWS Load Balancer Controller add extra_annotations
    # (aws-load-balancer-type: external, -nlb-target-type: ip, -scheme). Without a type AWS makes a Classic LB.
    INGRESS: ClassVar[IngressSupport] = IngressSupport(
        vendor_providers=frozenset({"cloud-native"}),
        always={"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"},
        internal={"service.beta.kubernetes.io/aws-load-balancer-internal": "true"},
        cloud_native_class="alb",
    )
    # V35/V36: >= 1.28 is encrypted with an AWS-owned key already; a customer key can never be removed.
    ENCRYPTION: ClassVar[EncryptionSupport] = EncryptionSupport(reversible=False, key_required=False)

    kind: Literal["eks"]
    region: identifier("eks", "region", r"[a-z]{2}(?:-[a-z]+)+-\d+", 'an AWS region, e.g. "eu-west-1"')
    cluster_name: identifier(
        "eks", "cluster_name", r"[0-9A-Za-z][A-Za-z0-9_-]{0,99}", 'an EKS cluster name, e.g. "payments-prod"'
    )
    assume_role_arn: (
        identifier(
            "eks",
            "assume_role_arn",
            r"arn:aws(?:-cn|-us-gov)?:iam::\d{12}:role/[\w+=,.@/-]{1,512}",
            'an IAM role ARN, e.g. "arn:aws:iam::111122223333:role/fleetform"',
        )
        | None
    ) = None
    encryption: EksEncryption | None = None

    def lookup_options(self) -> dict[str, Any]:
        return {"assume_role_arn": self.assume_role_arn} if self.assume_role_arn else {}

    def encryption_issues(self) -> list[Issue]:
        return self.encryption.key_issues(self.region) if self.encryption else []


class GkeCluster(ClusterBase):
    CLOUD: ClassVar[str] = "gcp"
    IDENTITY_FIELDS: ClassVar[tuple[str, ...]] = ("project", "location", "cluster_name")
    REGION_FIELD: ClassVar[str | None] = "location"
    STORAGE: ClassVar[StorageDefaults] = StorageDefaults(
        "pd.csi.storage.gke.io", {"type": "pd-balanced"}, "standard-rwo", adopt=("standard-rwo",)
    )
    INGRESS: ClassVar[IngressSupport] = IngressSupport(
        vendor_providers=frozenset({"cloud-native"}),
        internal={"networking.gke.io/load-balancer-type": "Internal"},
        cloud_native_class="gce",
    )
    ENCRYPTION: ClassVar[EncryptionSupport] = EncryptionSupport()

    kind: Literal["gke"]
    project: identifier("gke", "project", r"[a-z][a-z0-9-]{4,28}[a-z0-9]", 'a GCP project ID, e.g. "acme-platform"')
    location: identifier(
        "gke",
        "location",
        r"[a-z]+-[a-z]+\d+(?:-[a-z])?",
        'a GCP region or zone, e.g. "europe-west1" or "europe-west1-b"',
    )
    cluster_name: identifier(
        "gke", "cluster_name", r"[a-z](?:[-a-z0-9]{0,38}[a-z0-9])?", 'a GKE cluster name, e.g. "web-eu"'
    )
    encryption: GkeEncryption | None = None

    def encryption_issues(self) -> list[Issue]:
        return self.encryption.key_issues(self.project, self.location) if self.encryption else []


class AksCluster(ClusterBase):
    CLOUD: ClassVar[str] = "azure"
    IDENTITY_FIELDS: ClassVar[tuple[str, ...]] = ("subscription_id", "resource_group", "cluster_name")
    STORAGE: ClassVar[StorageDefaults] = StorageDefaults(
        "disk.csi.azure.com", {"skuname": "StandardSSD_LRS"}, "managed-csi", adopt=("default", "managed-csi")
    )
    INGRESS: ClassVar[IngressSupport] = IngressSupport(
        vendor_providers=frozenset({"cloud-native"}),
        always={"service.beta.kubernetes.io/azure-load-balancer-health-probe-request-path": "/healthz"},
        internal={"service.beta.kubernetes.io/azure-load-balancer-internal": "true"},
        cloud_native_class="webapprouting.kubernetes.azure.com",
    )
    ENCRYPTION: ClassVar[EncryptionSupport] = EncryptionSupport()

    kind: Literal["aks"]
    subscription_id: identifier(
        "aks",
        "subscription_id",
        r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}",
        'an Azure subscription GUID, e.g. "00000000-0000-0000-0000-000000000000"',
    )
    resource_group: identifier(
        "aks", "resource_group", r"[-\w.()]{0,89}[-\w()]", 'an Azure resource group, e.g. "rg-aks-prod"'
    )
    cluster_name: identifier(
        "aks",
        "cluster_name",
        r"[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?",
        'an AKS cluster name, e.g. "aks-weu-01"',
    )
    encryption: AksEncryption | None = None

    def encryption_issues(self) -> list[Issue]:
        return self.encryption.key_issues() if self.encryption else []


class AckCluster(ClusterBase):
    CLOUD: ClassVar[str] = "alibaba"
    IDENTITY_FIELDS: ClassVar[tuple[str, ...]] = ("region_id", "cluster_id")
    REGION_FIELD: ClassVar[str | None] = "region_id"
    STORAGE: ClassVar[StorageDefaults] = StorageDefaults(
        "diskplugin.csi.alibabacloud.com", {"type": "cloud_essd"}, adopt=("alicloud-disk-*",)
    )
    INGRESS: ClassVar[IngressSupport] = IngressSupport(
        internal={"service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type": "intranet"},
        public={"service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type": "internet"},
    )
    ENCRYPTION: ClassVar[EncryptionSupport] = EncryptionSupport(required_tier="ack.pro.small")

    kind: Literal["ack"]
    region_id: identifier(
        "ack", "region_id", r"[a-z]{2}(?:-[a-z]+)+(?:-\d+)?", 'an Alibaba Cloud region, e.g. "cn-hangzhou"'
    )
    cluster_id: identifier(
        "ack", "cluster_id", r"c[0-9a-z]{8,63}", 'an ACK cluster ID, e.g. "c82e6987e2961451182edacd74faf1234"'
    )
    encryption: AckEncryption | None = None


class TkeCluster(ClusterBase):
    CLOUD: ClassVar[str] = "tencent"
    IDENTITY_FIELDS: ClassVar[tuple[str, ...]] = ("region", "cluster_id")
    REGION_FIELD: ClassVar[str | None] = "region"
    STORAGE: ClassVar[StorageDefaults] = StorageDefaults("com.tencent.cloud.csi.cbs", {}, "cbs", adopt=("cbs",))
    INGRESS: ClassVar[IngressSupport] = IngressSupport(
        subnet_annotation="service.kubernetes.io/qcloud-loadbalancer-internal-subnetid"
    )
    ENCRYPTION: ClassVar[EncryptionSupport] = EncryptionSupport()

    kind: Literal["tke"]
    region: identifier("tke", "region", r"[a-z]{2}(?:-[a-z]+)+(?:-\d+)?", 'a Tencent Cloud region, e.g. "ap-guangzhou"')
    cluster_id: identifier("tke", "cluster_id", r"cls-[0-9a-z]{8,16}", 'a TKE cluster ID, e.g. "cls-7ph3twqe"')
    encryption: TkeEncryption | None = None

    @model_validator(mode="after")
    def _kms_region_defaults_to_cluster_region(self) -> "TkeCluster":
        if self.encryption and self.encryption.key and self.encryption.key.kms_region is None:
            self.encryption.key.kms_region = self.region
        return self


ClusterSpec = Annotated[
    CtyunCluster | IdcCluster | EksCluster | GkeCluster | AksCluster | AckCluster | TkeCluster,
    Field(discriminator="kind"),
]
CLUSTER_MODELS: dict[str, type[ClusterBase]] = {
    model.model_fields["kind"].annotation.__args__[0]: model  # type: ignore[union-attr]
    for model in get_args(get_args(ClusterSpec)[0])
}
KINDS = tuple(CLUSTER_MODELS)

DEFAULT_PROVISIONER = {
    kind: model.STORAGE.provisioner for kind, model in CLUSTER_MODELS.items() if model.STORAGE.provisioner is not None
}
ZONAL_PROVISIONERS = frozenset(DEFAULT_PROVISIONER.values())  # every default of §6.3 creates zonal disks (V33)
