"""The stack configuration model: ``fleetform:*`` config keys -> a validated :class:`FleetSpec`.

Two layers, so that every problem in a stack file is reported at once and under its config key:

1. **Structure** (pydantic): types, required keys, allowed values, formats (names of cloud resources, durations,
   CIDRs, URLs, labels). Each list item is validated on its own, so one broken cluster does not hide the others.
2. **DOMAIN rules** (the ``_check_*`` functions): the preview-time static rules of DOMAIN.md §3 that relate several
   inputs or several entities (V1-V3, V7 for idc, V14, V16, V18, V25 warnings, V33, V34, V38, V39, V43, references).
   They run over whatever parsed, each problem carrying its Pulumi key path, e.g. ``fleetform:clusters[3].region``.

Use :func:`spec_from_config`, :func:`spec_from_pulumi_config` or :func:`load_stack_file`; validating
``FleetSpec`` directly checks the structure only.
"""

import ipaddress
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from urllib.parse import urlsplit

import pulumi
import pulumi.runtime.config as pulumi_config
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    SecretStr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

NAMESPACE = "fleetform"
TOP_LEVEL_KEYS = ("sandbox", "hub", "clusters", "fleets", "federations", "permissions")
KINDS = ("ctyun", "idc", "eks", "gke", "aks", "ack", "tke")

NAME_PATTERN = re.compile(r"[a-z][a-z0-9-]{2,38}[a-z0-9]")  # N1
RESERVED_NAMES = frozenset({"default", "global"})
RESERVED_NAME_PREFIXES = ("fleetform-", "karmada-", "open-cluster-management", "kube-")
CLUSTERSET_LABEL = "cluster.open-cluster-management.io/clusterset"

# §6.3: the provisioner the engine uses when the stack names none; all of them create zonal block disks (V33).
DEFAULT_PROVISIONER = {
    "eks": "ebs.csi.aws.com",
    "gke": "pd.csi.storage.gke.io",
    "aks": "disk.csi.azure.com",
    "ack": "diskplugin.csi.alibabacloud.com",
    "tke": "com.tencent.cloud.csi.cbs",
    "ctyun": "diskplugin.csi.ctyun.com",
}
ZONAL_PROVISIONERS = frozenset(DEFAULT_PROVISIONER.values())

PERMISSION_VERBS = ("get", "list", "watch", "create", "update", "patch", "delete")
RFC1918 = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


# ---------------------------------------------------------------------------------------------------------------
# Problems and the error that carries them
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or worth a warning) in a stack: where, what, and what would be right."""

    path: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" + (f" ({self.hint})" if self.hint else "")


class StackConfigError(pulumi.RunError):
    """The stack configuration is invalid; ``problems`` lists every problem found, not just the first."""

    def __init__(self, source: str, problems: Sequence[Problem]):
        self.source = source
        self.problems = list(problems)
        super().__init__("\n".join(f"{source}: {problem}" for problem in self.problems))


_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def config_path(loc: Sequence[str | int]) -> str:
    """Render a key path (a pydantic ``loc``) in Pulumi's form, e.g. ``fleetform:clusters[3].region``.

    pydantic inserts keys the user never wrote: the tag of the discriminated cluster union
    (``("clusters", 3, "eks", "region")``) and ``[key]`` for a bad mapping key. Both are dropped.
    """
    text = NAMESPACE
    for position, part in enumerate(_user_keys(loc)):
        if isinstance(part, int):
            text += f"[{part}]"
        elif position == 0:
            text += f":{part}"
        elif _PLAIN_KEY.fullmatch(part):
            text += f".{part}"
        else:
            text += f'["{part}"]'
    return text


def _user_keys(loc: Sequence[str | int]) -> list[str | int]:
    parts = list(loc)
    return [part for i, part in enumerate(parts) if part != "[key]" and not _is_kind_tag(parts, i)]


def _is_kind_tag(parts: list[str | int], i: int) -> bool:
    return i >= 2 and parts[i - 2] == "clusters" and isinstance(parts[i - 1], int) and parts[i] in KINDS


def _invalid(message: str, hint: str = "") -> PydanticCustomError:
    """A pydantic error whose message is already user-facing; the hint travels in the error context."""
    return PydanticCustomError("fleetform", message, {"hint": hint})


# ---------------------------------------------------------------------------------------------------------------
# Scalar types
# ---------------------------------------------------------------------------------------------------------------

_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_DURATION_HINT = 'whole hours, minutes and/or seconds, e.g. "30m", "24h" or "1h30m"'


def parse_duration(text: str) -> timedelta:
    """Parse ``1h30m``-style durations (units h, m, s, in that order)."""
    match = _DURATION.fullmatch(text)
    if not text or match is None:
        raise ValueError(f"'{text}' is not a duration")
    hours, minutes, seconds = (int(group or 0) for group in match.groups())
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The inverse of :func:`parse_duration`: ``timedelta(hours=1, minutes=30)`` -> ``"1h30m"``."""
    hours, rest = divmod(int(value.total_seconds()), 3600)
    minutes, seconds = divmod(rest, 60)
    units = ((hours, "h"), (minutes, "m"), (seconds, "s"))
    return "".join(f"{amount}{unit}" for amount, unit in units if amount) or "0s"


def _duration(minimum: str = "1s", maximum: str | None = None) -> Any:
    """A duration written as a string, kept as a ``timedelta``, range-checked, dumped back as a string."""
    low = parse_duration(minimum)
    high = parse_duration(maximum) if maximum else None
    allowed = f"allowed: {minimum} to {maximum}" if maximum else f"allowed: at least {minimum}"

    def check(value: object) -> timedelta:
        if isinstance(value, timedelta):
            parsed = value
        elif isinstance(value, str) and _DURATION.fullmatch(value) and value:
            parsed = parse_duration(value)
        else:
            raise _invalid(f"{value!r} is not a duration", _DURATION_HINT)
        if parsed < low or (high is not None and parsed > high):
            raise _invalid(f"duration {format_duration(parsed)} is out of range", allowed)
        return parsed

    return Annotated[timedelta, PlainValidator(check), PlainSerializer(format_duration, return_type=str)]


def _matching(pattern: str, what: str, example: str, echo: bool = True) -> Any:
    """A string that must match ``pattern``; ``what`` and ``example`` explain the format to the user.

    ``echo=False`` keeps the value out of the message, for keys where a pasted secret is a likely mistake.
    """
    regex = re.compile(pattern)

    def check(value: str) -> str:
        if not regex.fullmatch(value):
            shown = f"'{value}'" if echo else "the value"
            raise _invalid(f"{shown} is not a valid {what}", f'e.g. "{example}"')
        return value

    return Annotated[str, AfterValidator(check), Field(description=f'{what}, e.g. "{example}"')]


def _identifier(kind: str, key: str, pattern: str, expected: str) -> Any:
    """A per-kind identifying input of §2.3; malformed values are V7 problems."""
    regex = re.compile(pattern)

    def check(value: str) -> str:
        if not regex.fullmatch(value):
            raise _invalid(f"FF-KIND-002 kind {kind} requires a well-formed {key}; got '{value}'",
                           f"expected {expected}")
        return value

    return Annotated[str, AfterValidator(check), Field(description=expected)]


def _check_cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise _invalid(f"FF-NET-002 '{value}' is not a valid CIDR", _cidr_hint(value)) from None
    if "/" not in value:
        raise _invalid(f"FF-NET-002 '{value}' is not a valid CIDR", "add the prefix length, e.g. /16")
    return value


def _cidr_hint(value: str) -> str:
    try:
        return f'did you mean "{ipaddress.ip_network(value, strict=False)}"?'
    except ValueError:
        return 'e.g. "10.0.0.0/16"'


def _check_https_url(value: str) -> str:
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        parts = parts._replace(scheme="")
    if parts.scheme != "https" or not parts.hostname:
        raise _invalid(f"'{value}' is not an https URL", 'e.g. "https://hub.example.com:6443"')
    return value


_IN_CLUSTER_HOSTS = ("kubernetes", "kubernetes.default")
_IN_CLUSTER_SUFFIXES = (".svc", ".svc.cluster.local", ".cluster.local")


def _check_agent_endpoint(value: str) -> str:
    host = (urlsplit(value).hostname or "").lower()
    if host in _IN_CLUSTER_HOSTS or host.endswith(_IN_CLUSTER_SUFFIXES):
        raise _invalid(
            f"agent_endpoint '{value}' is an in-cluster address that members cannot reach",
            'use the hub API URL reachable from the member clusters, e.g. "https://hub.example.com:6443"',
        )
    return value


_DNS_LABEL = r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?"
_DNS_SUBDOMAIN = rf"(?=.{{1,253}}$){_DNS_LABEL}(?:\.{_DNS_LABEL})*"
_LABEL_NAME = r"[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_LABEL_KEY = re.compile(rf"(?:{_DNS_LABEL}(?:\.{_DNS_LABEL})*/)?{_LABEL_NAME}")
_LABEL_VALUE = re.compile(rf"(?:{_LABEL_NAME})?")


def _check_label_key(key: str) -> str:
    if not _LABEL_KEY.fullmatch(key) or len(key.rpartition("/")[0]) > 253:
        raise _invalid(
            f"label key '{key}' is invalid",
            "use [prefix/]name: a DNS subdomain prefix, and a name of up to 63 of A-Z a-z 0-9 - _ . "
            "that starts and ends alphanumeric",
        )
    if key.startswith(f"{NAMESPACE}.io/") or key == CLUSTERSET_LABEL:
        raise _invalid(f"label '{key}' is reserved", f"fleetform sets {NAMESPACE}.io/* and {CLUSTERSET_LABEL} itself")
    return key


def _check_label_value(value: str) -> str:
    if not _LABEL_VALUE.fullmatch(value):
        raise _invalid(f"label value '{value}' is invalid",
                       "up to 63 of A-Z a-z 0-9 - _ . starting and ending alphanumeric")
    return value


EntityName = Annotated[str, Field(description='4-40 characters of a-z, 0-9 and "-", e.g. "edge-sh-01"')]
LabelValue = Annotated[str, AfterValidator(_check_label_value)]
Labels = dict[Annotated[str, AfterValidator(_check_label_key)], LabelValue]
Cidr = Annotated[str, AfterValidator(_check_cidr), Field(description='a CIDR, e.g. "10.0.0.0/16"')]
HttpsUrl = Annotated[str, AfterValidator(_check_https_url), Field(description='e.g. "https://hub.example.com:6443"')]
AgentEndpoint = Annotated[HttpsUrl, AfterValidator(_check_agent_endpoint)]
DnsLabel = _matching(_DNS_LABEL, "DNS label", "ingress-nginx")
DnsSubdomain = _matching(_DNS_SUBDOMAIN, "DNS subdomain", "fleetform-disk")
SemVer = _matching(r"v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?", "semantic version", "1.14.1")
EnvVarName = _matching(r"[A-Za-z_][A-Za-z0-9_]*", "environment variable name", "HUB_KUBECONFIG", echo=False)
Quantity = _matching(r"\d+(?:\.\d+)?(?:Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?", "Kubernetes quantity", "3Gi")


# ---------------------------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _KubeconfigSource(_Strict):
    """A kubeconfig given inline (a secret), as a file path, or as the name of an environment variable.

    Files and variables keep secrets out of stack files. They are read only when the program needs the
    credential (:meth:`read_kubeconfig`), so a stack validates on machines that do not hold them.
    """

    kubeconfig: SecretStr | None = None
    kubeconfig_file: str | None = Field(None, description='a path, e.g. "~/.kube/hub-prod.yaml"')
    kubeconfig_env: EnvVarName | None = None

    def kubeconfig_sources(self) -> list[str]:
        """The kubeconfig keys that are set."""
        return [key for key in ("kubeconfig", "kubeconfig_file", "kubeconfig_env") if getattr(self, key) is not None]

    def read_kubeconfig(self) -> SecretStr | None:
        """The kubeconfig text from whichever source is set; ``None`` when none is (sandbox, manual agent)."""
        if self.kubeconfig is not None:
            return self.kubeconfig
        if self.kubeconfig_file is not None:
            return SecretStr(Path(self.kubeconfig_file).expanduser().read_text(encoding="utf-8"))
        if self.kubeconfig_env is not None:
            if self.kubeconfig_env not in os.environ:
                raise LookupError(f"environment variable {self.kubeconfig_env} (kubeconfig_env) is not set")
            return SecretStr(os.environ[self.kubeconfig_env])
        return None


class Hub(_KubeconfigSource):
    """DOMAIN §2.2. ``kubeconfig`` (or a file/env source) is required unless the stack is a sandbox."""

    name: EntityName
    ocm: Literal["install", "existing"] = "existing"
    ocm_version: SemVer | None = None
    agent_endpoint: AgentEndpoint | None = None
    bootstrap_token_ttl: _duration("1h", "72h") = timedelta(hours=24)
    default_access_timeout: _duration("5m", "72h") = timedelta(minutes=30)
    region: LabelValue | None = None
    deletion_protection: bool = True
    labels: Labels = {}


class Network(_Strict):
    vpc_cidr: Cidr | None = None
    pod_cidr: Cidr | None = None
    service_cidr: Cidr | None = None


class IngressSettings(_Strict):
    """DOMAIN §2.6 / §6.1-6.2. ``service_type`` None means the per-kind default of §6.2."""

    enabled: bool = True
    provider: Literal["nginx", "gateway-api", "ctyun-plugin", "cloud-native", "none"] = "nginx"
    exposure: Literal["internal", "public"] = "internal"
    service_type: Literal["LoadBalancer", "NodePort", "HostPort"] | None = None
    class_name: DnsLabel = "nginx"
    gateway_class: str | None = Field(None, description='the GatewayClass to use, e.g. "gke-l7-rilb"')
    lb_subnet_id: str | None = Field(None, description='the subnet of the internal CLB, e.g. "subnet-8x3k2p1q"')
    make_default: bool = True
    chart_version: SemVer = "4.15.1"
    extra_annotations: dict[str, str] = {}
    lb_timeout: _duration() = timedelta(minutes=10)


class StorageSettings(_Strict):
    """DOMAIN §2.6 / §6.3. ``class_name``/``provisioner``/``parameters`` None mean the per-kind defaults."""

    enabled: bool = True
    class_name: DnsSubdomain | None = None
    provisioner: str | None = Field(None, description='a CSI driver name, e.g. "nfs.csi.k8s.io"')
    parameters: dict[str, str] | None = Field(None, description='StorageClass parameters, e.g. {"type": "SSD"}')
    reclaim_policy: Literal["Delete", "Retain"] = "Delete"
    volume_binding_mode: Literal["WaitForFirstConsumer", "Immediate"] = "WaitForFirstConsumer"
    allow_volume_expansion: bool = True
    make_default: bool = True


class Bootstrap(_Strict):
    """ClusterBootstrap (§2.6): ingress and default StorageClass of one cluster."""

    ingress: IngressSettings = Field(default_factory=IngressSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    adopt_existing: bool = True


class _EncryptionBase(_Strict):
    """EtcdEncryption (§2.7) inputs shared by every kind; the key shape is per kind."""

    enabled: bool = True
    reencrypt_existing: bool = True
    allow_irreversible: bool = False


class CtyunEncryption(_EncryptionBase):
    """Accepted so that V34 can explain why CTyun encryption is impossible, instead of an unknown-key error."""


class EksKey(_Strict):
    key_arn: str = Field(description='a KMS key ARN, e.g. "arn:aws:kms:eu-west-1:111122223333:key/<key-id>"')


class EksEncryption(_EncryptionBase):
    key: EksKey | None = None  # None on EKS >= 1.28: the AWS-owned default key (V35)


class GkeKey(_Strict):
    key_name: str = Field(description='e.g. "projects/<p>/locations/<region>/keyRings/<ring>/cryptoKeys/<key>"')


class GkeEncryption(_EncryptionBase):
    key: GkeKey | None = Field(None, description="key: {key_name: projects/<p>/locations/<region>/...}")


class AksKey(_Strict):
    key_id: str = Field(description='e.g. "https://<vault>.vault.azure.net/keys/<name>/<version>"')
    key_vault_network_access: Literal["Public", "Private"] = "Public"
    key_vault_resource_id: str | None = Field(
        None, description='e.g. "/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.KeyVault/vaults/<vault>"'
    )


class AksEncryption(_EncryptionBase):
    key: AksKey | None = Field(None, description="key: {key_id: https://<vault>.vault.azure.net/keys/<name>/<version>}")


class AckKey(_Strict):
    kms_key_id: str = Field(min_length=1, description='a KMS key id, e.g. "key-hzz62f1cb66fa42qo1234"')


class AckEncryption(_EncryptionBase):
    key: AckKey | None = Field(None, description="key: {kms_key_id: key-...}")


class TkeKey(_Strict):
    kms_key_id: str = Field(min_length=1, description='a KMS key id, e.g. "23e80852-1e38-11e9-b129-5cb9019b4b01"')
    kms_region: str | None = None  # None: the cluster's region


class TkeEncryption(_EncryptionBase):
    key: TkeKey | None = Field(None, description="key: {kms_key_id: <id>, kms_region: <region>}")


class KmsPlugin(_Strict):
    name: DnsLabel
    endpoint: str = Field(description='a unix socket, e.g. "unix:///var/run/kmsplugin/socket.sock"')
    timeout: _duration() = timedelta(seconds=3)


class SshAccess(_Strict):
    hosts: list[str] = Field(min_length=1, description='control-plane hosts, e.g. ["10.0.0.11", "10.0.0.12"]')
    user: str
    private_key: SecretStr


class IdcEncryptionSettings(_Strict):
    """§2.7 ``idc.*`` and §7.2: the EncryptionConfiguration the engine writes on kubeadm control planes."""

    provider: Literal["aesgcm", "secretbox", "aescbc", "kms"] = "aesgcm"
    resources: list[str] = Field(["secrets"], min_length=1)
    rotation_interval: _duration("24h") = timedelta(hours=168)
    kms: KmsPlugin | None = None
    node_access: Literal["privileged-pod", "ssh"] = "privileged-pod"
    ssh: SshAccess | None = None
    etcd_backup: Literal["engine", "confirmed"] = "engine"


class IdcEncryption(_EncryptionBase):
    idc: IdcEncryptionSettings = Field(default_factory=IdcEncryptionSettings)


class _ClusterBase(_Strict):
    """RegisteredCluster common inputs (§2.3). ``access_timeout`` None means the hub's default."""

    name: EntityName
    connection_mode: Literal["direct", "agent"] = "direct"
    agent_install: Literal["engine", "manual"] = "engine"
    endpoint_preference: Literal["private", "public"] = "private"
    access_timeout: _duration("5m", "72h") | None = None
    labels: Labels = {}
    network: Network | None = None
    deletion_protection: bool = True
    force_deregister: bool = False
    credential_generation: int = Field(1, ge=1)
    bootstrap_kubeconfig: SecretStr | None = None
    agent_node_selector: dict[str, str] = {}
    bootstrap: Bootstrap | None = None


# Per-kind identifying inputs (§2.3). The patterns follow each vendor's documented naming rules, loosely where a
# vendor documents none, so that a typo is caught at preview without second-guessing real identifiers.
_CTYUN_REGION_ID = _identifier("ctyun", "region_id", r"[0-9a-z][0-9a-z-]{2,63}",
                               'a CTyun resource-pool ID, e.g. "bb9fdb42056f11eda1610242ac110002"')
_CTYUN_CLUSTER_ID = _identifier("ctyun", "cluster_id", r"[0-9A-Za-z][0-9A-Za-z-]{3,63}",
                                'a CCSE cluster ID, e.g. "4f2b9c1de0a84b7f9e3c5a6d7b8c9d0e"')
_EKS_REGION = _identifier("eks", "region", r"[a-z]{2}(?:-[a-z]+)+-\d+", 'an AWS region, e.g. "eu-west-1"')
_EKS_CLUSTER_NAME = _identifier("eks", "cluster_name", r"[0-9A-Za-z][A-Za-z0-9_-]{0,99}",
                                'an EKS cluster name, e.g. "payments-prod"')
_EKS_ROLE_ARN = _identifier("eks", "assume_role_arn", r"arn:aws(?:-cn|-us-gov)?:iam::\d{12}:role/[\w+=,.@/-]{1,512}",
                            'an IAM role ARN, e.g. "arn:aws:iam::111122223333:role/fleetform"')
_GKE_PROJECT = _identifier("gke", "project", r"[a-z][a-z0-9-]{4,28}[a-z0-9]", 'a GCP project ID, e.g. "acme-platform"')
_GKE_LOCATION = _identifier("gke", "location", r"[a-z]+-[a-z]+\d+(?:-[a-z])?",
                            'a GCP region or zone, e.g. "europe-west1" or "europe-west1-b"')
_GKE_CLUSTER_NAME = _identifier("gke", "cluster_name", r"[a-z](?:[-a-z0-9]{0,38}[a-z0-9])?",
                                'a GKE cluster name, e.g. "web-eu"')
_AKS_SUBSCRIPTION_ID = _identifier("aks", "subscription_id", r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}",
                                   'an Azure subscription GUID, e.g. "00000000-0000-0000-0000-000000000000"')
_AKS_RESOURCE_GROUP = _identifier("aks", "resource_group", r"[-\w.()]{0,89}[-\w()]",
                                  'an Azure resource group, e.g. "rg-aks-prod"')
_AKS_CLUSTER_NAME = _identifier("aks", "cluster_name", r"[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?",
                                'an AKS cluster name, e.g. "aks-weu-01"')
_ACK_REGION_ID = _identifier("ack", "region_id", r"[a-z]{2}(?:-[a-z]+)+(?:-\d+)?",
                             'an Alibaba Cloud region, e.g. "cn-hangzhou"')
_ACK_CLUSTER_ID = _identifier("ack", "cluster_id", r"c[0-9a-z]{8,63}",
                              'an ACK cluster ID, e.g. "c82e6987e2961451182edacd74faf1234"')
_TKE_REGION = _identifier("tke", "region", r"[a-z]{2}(?:-[a-z]+)+(?:-\d+)?",
                          'a Tencent Cloud region, e.g. "ap-guangzhou"')
_TKE_CLUSTER_ID = _identifier("tke", "cluster_id", r"cls-[0-9a-z]{8,16}", 'a TKE cluster ID, e.g. "cls-7ph3twqe"')


class CtyunCluster(_ClusterBase):
    kind: Literal["ctyun"]
    region_id: _CTYUN_REGION_ID
    cluster_id: _CTYUN_CLUSTER_ID
    encryption: CtyunEncryption | None = None


class IdcCluster(_KubeconfigSource, _ClusterBase):
    """A self-managed cluster. ``agent_install`` None is resolved by :class:`FleetSpec` (§2.3 default)."""

    kind: Literal["idc"]
    connection_mode: Literal["direct", "agent"] = "agent"
    agent_install: Literal["engine", "manual"] | None = None
    context: str | None = None
    api_endpoint: HttpsUrl | None = None
    region: LabelValue | None = None  # free text for the fleetform.io/region label ("idc" when absent)
    encryption: IdcEncryption | None = None


class EksCluster(_ClusterBase):
    kind: Literal["eks"]
    region: _EKS_REGION
    cluster_name: _EKS_CLUSTER_NAME
    assume_role_arn: _EKS_ROLE_ARN | None = None
    encryption: EksEncryption | None = None


class GkeCluster(_ClusterBase):
    kind: Literal["gke"]
    project: _GKE_PROJECT
    location: _GKE_LOCATION
    cluster_name: _GKE_CLUSTER_NAME
    encryption: GkeEncryption | None = None


class AksCluster(_ClusterBase):
    kind: Literal["aks"]
    subscription_id: _AKS_SUBSCRIPTION_ID
    resource_group: _AKS_RESOURCE_GROUP
    cluster_name: _AKS_CLUSTER_NAME
    encryption: AksEncryption | None = None


class AckCluster(_ClusterBase):
    kind: Literal["ack"]
    region_id: _ACK_REGION_ID
    cluster_id: _ACK_CLUSTER_ID
    encryption: AckEncryption | None = None


class TkeCluster(_ClusterBase):
    kind: Literal["tke"]
    region: _TKE_REGION
    cluster_id: _TKE_CLUSTER_ID
    encryption: TkeEncryption | None = None

    @model_validator(mode="after")
    def _kms_region_defaults_to_cluster_region(self) -> "TkeCluster":
        if self.encryption and self.encryption.key and self.encryption.key.kms_region is None:
            self.encryption.key.kms_region = self.region
        return self


ClusterSpec = Annotated[
    Union[CtyunCluster, IdcCluster, EksCluster, GkeCluster, AksCluster, AckCluster, TkeCluster],
    Field(discriminator="kind"),
]
CLUSTER_MODELS: dict[str, type[_ClusterBase]] = {
    model.model_fields["kind"].annotation.__args__[0]: model  # type: ignore[union-attr]
    for model in get_args(get_args(ClusterSpec)[0])
}


class Fleet(_Strict):
    """DOMAIN §2.4. ``members`` and ``federation`` name clusters and federations of the same stack."""

    name: EntityName
    description: str = Field("", max_length=256)
    members: list[str] = []
    federation: str | None = None
    deletion_protection: bool = False
    labels: Labels = {}


class LocalEtcdStorage(_Strict):
    pvc_size: Quantity = "3Gi"
    storage_class: DnsSubdomain | None = None


class LocalEtcd(_Strict):
    replicas: Literal[1, 3] = 3
    storage: LocalEtcdStorage = Field(default_factory=LocalEtcdStorage)


class ExternalEtcd(_Strict):
    endpoints: list[HttpsUrl] = Field(min_length=1)
    secret_ref: DnsSubdomain = Field(description='the Secret with the etcd client certificate, e.g. "etcd-client"')


class FederationEtcd(_Strict):
    """Either ``local`` (default: 3 replicas, 3Gi) or ``external``."""

    local: LocalEtcd | None = None
    external: ExternalEtcd | None = None

    @model_validator(mode="after")
    def _local_by_default(self) -> "FederationEtcd":
        if self.local is None and self.external is None:
            self.local = LocalEtcd()
        return self


class Federation(_Strict):
    """DOMAIN §2.5. ``host_kubeconfig`` None means the hub; ``namespace`` defaults to ``fleetform-fed-<name>``."""

    name: EntityName
    mode: Literal["operator", "existing"] = "operator"
    host_kubeconfig: SecretStr | None = None
    namespace: DnsLabel | None = None
    karmada_version: SemVer | None = None
    api_server_service_type: Literal["LoadBalancer", "NodePort", "ClusterIP"] = "LoadBalancer"
    api_server_exposure: Literal["internal", "public"] = "internal"
    api_server_external_url: HttpsUrl | None = None
    etcd: FederationEtcd = Field(default_factory=FederationEtcd)
    feature_gates: dict[str, bool] = {}
    failover: bool = False
    member_network_type: Literal["private", "public"] | None = None  # None: private when the member has one
    existing_kubeconfig: SecretStr | None = None
    join_timeout: _duration() = timedelta(minutes=10)
    drain_workloads: bool = False
    deletion_protection: bool = True

    @model_validator(mode="after")
    def _default_namespace(self) -> "Federation":
        if self.namespace is None:
            self.namespace = f"fleetform-fed-{self.name}"
        return self


ROLES = ("admin", "operator", "developer", "restricted", "custom")


class Subject(_Strict):
    kind: Literal["User", "Group", "ServiceAccount"]
    name: str = Field(min_length=1)
    namespace: str | None = None


class ResourceRef(_Strict):
    api_group: str = ""  # "" is the core group
    resource: str = Field(min_length=1)


class PermissionRule(_Strict):
    verbs: list[str] = Field(min_length=1)
    resources: list[ResourceRef] = Field(min_length=1)

    @field_validator("resources", mode="before")
    @classmethod
    def _star_means_everything(cls, value: object) -> object:
        """``"*"`` is shorthand for every resource of every API group (RBAC's own ``*``)."""
        return [{"api_group": "*", "resource": "*"}] if value == "*" else value


class FleetPermission(_Strict):
    """DOMAIN §2.8. ``namespaces`` ``["*"]`` (or ``"*"``) means cluster-wide."""

    name: EntityName
    fleet: str | None = None
    cluster: str | None = None
    subjects: list[Subject] = []
    role: Literal["admin", "operator", "developer", "restricted", "custom"]
    rules: list[PermissionRule] = []
    extra_verbs: list[str] = []
    namespaces: list[str] = ["*"]
    create_missing_namespaces: bool = False

    @field_validator("role", mode="wrap")
    @classmethod
    def _known_role(cls, value: Any, handler: Any, info: ValidationInfo) -> Any:
        try:
            return handler(value)
        except ValidationError:
            name = info.data.get("name", "?")
            raise _invalid(f"FF-PERM-001 permission '{name}': unknown role {value!r}",
                           f"allowed: {', '.join(ROLES)}") from None

    @field_validator("namespaces", mode="before")
    @classmethod
    def _star_is_cluster_wide(cls, value: object) -> object:
        return ["*"] if value == "*" else value


class FleetSpec(_Strict):
    """A whole stack: the ``fleetform:*`` config keys, validated, with the defaults of DOMAIN resolved."""

    sandbox: bool = False
    hub: Hub
    clusters: list[ClusterSpec] = []
    fleets: list[Fleet] = []
    federations: list[Federation] = []
    permissions: list[FleetPermission] = []
    warnings: list[Problem] = Field(default_factory=list, exclude=True)

    @model_validator(mode="after")
    def _resolve_stack_defaults(self) -> "FleetSpec":
        """Defaults that depend on other entities: the hub's access timeout, idc agent_install."""
        for cluster in self.clusters:
            if cluster.access_timeout is None:
                cluster.access_timeout = self.hub.default_access_timeout
            if isinstance(cluster, IdcCluster) and cluster.agent_install is None:
                cluster.agent_install = idc_agent_install(cluster, self.sandbox)
        return self


def idc_agent_install(cluster: IdcCluster, sandbox: bool) -> Literal["engine", "manual"]:
    """§2.3: ``engine`` when a member credential is resolvable (given, or supplied by the sandbox), else ``manual``."""
    if cluster.agent_install is not None:
        return cluster.agent_install
    return "engine" if sandbox or cluster.kubeconfig_sources() else "manual"


# ---------------------------------------------------------------------------------------------------------------
# pydantic errors -> problems
# ---------------------------------------------------------------------------------------------------------------


def _problems_from(exc: ValidationError, prefix: tuple[str | int, ...]) -> list[Problem]:
    """Translate the errors of one validated item, whose key path is ``prefix``."""
    errors = exc.errors(include_url=False)
    missing_identifiers = [
        error["loc"][-1] for error in errors if error["type"] == "missing" and _is_identifier_loc(prefix + error["loc"])
    ]
    return [_problem_from(error, prefix + error["loc"], missing_identifiers) for error in errors]


def _is_identifier_loc(loc: tuple[str | int, ...]) -> bool:
    """Whether ``loc`` is ``("clusters", i, <kind>, <identifying input of that kind>)``."""
    return len(loc) == 4 and _is_kind_tag(list(loc), 2) and loc[3] in _identifying_inputs(str(loc[2]))


def _identifying_inputs(kind: str) -> list[str]:
    """The per-kind required inputs of §2.3 (idc's kubeconfig is conditional: see _check_clusters)."""
    model = CLUSTER_MODELS[kind]
    return [key for key, info in model.model_fields.items() if info.is_required() and key not in ("name", "kind")]


def _problem_from(error: Any, loc: tuple[str | int, ...], missing_identifiers: list[str]) -> Problem:
    kind, path = error["type"], config_path(loc)
    if kind == "union_tag_invalid":
        tag = error["ctx"]["tag"]
        message = f"FF-KIND-001 unknown cluster kind '{tag}' (expected {', '.join(KINDS)})"
        return Problem(config_path(loc + ("kind",)), message)
    if kind == "union_tag_not_found":
        return Problem(config_path(loc + ("kind",)), "field required", f"one of {', '.join(KINDS)}")
    if kind == "missing" and _is_identifier_loc(loc):
        cluster_kind = str(loc[2])
        message = (f"FF-KIND-002 kind {cluster_kind} requires {', '.join(_identifying_inputs(cluster_kind))}; "
                   f"missing: {', '.join(missing_identifiers)}")
        return Problem(path, message, _field_hint(loc))
    if kind == "missing":
        return Problem(path, "field required", _field_hint(loc))
    if kind == "extra_forbidden":
        owner, _ = _declaring_model(loc)
        valid = ", ".join(owner.model_fields) if owner else ""
        return Problem(path, f"unknown key '{loc[-1]}'", f"valid keys: {valid}" if valid else "")
    if kind == "literal_error":
        return Problem(path, f"invalid value {_shown(error['input'])}", f"allowed: {error['ctx']['expected']}")
    if kind == "fleetform":
        return Problem(path, error["msg"], error["ctx"]["hint"])
    return Problem(path, error["msg"][:1].lower() + error["msg"][1:], _field_hint(loc))


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _field_hint(loc: tuple[str | int, ...]) -> str:
    owner, key = _declaring_model(loc)
    info = owner.model_fields.get(key) if owner and isinstance(key, str) else None
    return (info.description or "") if info else ""


def _declaring_model(loc: tuple[str | int, ...]) -> tuple[type[BaseModel] | None, str | int | None]:
    """Follow ``loc`` from :class:`FleetSpec`: the model declaring its last key, and that key."""
    current: Any = FleetSpec
    owner: type[BaseModel] | None = None
    key: str | int | None = None
    for part in loc:
        current = _strip_optional(current)
        if _is_union(current):  # the discriminated cluster union: this part is the kind tag
            current = CLUSTER_MODELS.get(str(part))
        elif isinstance(current, type) and issubclass(current, BaseModel):
            owner, key = current, part
            info = current.model_fields.get(part) if isinstance(part, str) else None
            current = info.annotation if info else None
        elif get_origin(current) in (list, dict):
            current = get_args(current)[-1]
        else:
            current = None
        if current is None:
            break
    return owner, key


def _strip_optional(annotation: Any) -> Any:
    while True:
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
        elif _is_union(annotation) and type(None) in get_args(annotation):
            members = [member for member in get_args(annotation) if member is not type(None)]
            annotation = members[0] if len(members) == 1 else Union[tuple(members)]
        else:
            return annotation


def _is_union(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, UnionType)


# ---------------------------------------------------------------------------------------------------------------
# Parsing the sections
# ---------------------------------------------------------------------------------------------------------------

_HUB_ADAPTER = TypeAdapter(Hub)
_LIST_SECTIONS: dict[str, TypeAdapter[Any]] = {
    "clusters": TypeAdapter(ClusterSpec),
    "fleets": TypeAdapter(Fleet),
    "federations": TypeAdapter(Federation),
    "permissions": TypeAdapter(FleetPermission),
}


@dataclass
class _Report:
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def error(self, loc: tuple[str | int, ...], message: str, hint: str = "") -> None:
        self.errors.append(Problem(config_path(loc), message, hint))

    def warn(self, loc: tuple[str | int, ...], message: str, hint: str = "") -> None:
        self.warnings.append(Problem(config_path(loc), message, hint))


@dataclass
class _Stack:
    """What parsed. Items keep their list index, so rules report the right key even when neighbours failed."""

    sandbox: bool
    hub: Hub | None
    hub_name: str | None
    items: dict[str, list[tuple[int, Any]]]
    names: dict[str, list[tuple[int, str]]]  # the names written in each list, whether or not the item parsed

    def declared(self, section: str) -> list[str]:
        """Names a reference may use: an item that failed to parse still counts, to avoid follow-on errors."""
        return [name for _, name in self.names[section]]


def _parse_stack(values: Mapping[str, Any], report: _Report) -> _Stack:
    sandbox = _parse_sandbox(values.get("sandbox"), report)
    raw_hub = values.get("hub")
    if raw_hub is None:
        report.error(("hub",), "field required", "every stack declares its hub, e.g. {name: hub-prod, "
                     "kubeconfig_env: HUB_KUBECONFIG}")
    hub = None if raw_hub is None else _parse_item(_HUB_ADAPTER, raw_hub, ("hub",), report)
    items, names = {}, {}
    for section, adapter in _LIST_SECTIONS.items():
        raw_items = _section_list(values.get(section), section, report)
        parsed = [(i, _parse_item(adapter, raw, (section, i), report)) for i, raw in enumerate(raw_items)]
        items[section] = [(i, item) for i, item in parsed if item is not None]
        names[section] = [(i, name) for i, raw in enumerate(raw_items) if (name := _raw_name(raw)) is not None]
    return _Stack(sandbox, hub, _raw_name(raw_hub), items, names)


def _raw_name(raw: object) -> str | None:
    name = raw.get("name") if isinstance(raw, dict) else None
    return name if isinstance(name, str) else None


def _parse_sandbox(value: object, report: _Report) -> bool:
    if value is None:
        return False
    try:
        return TypeAdapter(bool).validate_python(value)
    except ValidationError:
        report.error(("sandbox",), f"invalid value {_shown(value)}", "allowed: true, false")
        return False


def _section_list(value: object, section: str, report: _Report) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        report.error((section,), "expected a list", f"write {NAMESPACE}:{section} as a YAML list of mappings")
        return []
    return value


def _parse_item(adapter: TypeAdapter[Any], raw: object, loc: tuple[str | int, ...], report: _Report) -> Any:
    try:
        return adapter.validate_python(raw)
    except ValidationError as exc:
        report.errors.extend(_problems_from(exc, loc))
        return None


# ---------------------------------------------------------------------------------------------------------------
# DOMAIN §3 rules that need no network
# ---------------------------------------------------------------------------------------------------------------

_ENTITY_LABELS = {"clusters": "cluster", "fleets": "fleet", "federations": "federation", "permissions": "permission"}


def _check_names(stack: _Stack, report: _Report) -> None:
    """V1 (N1), V3 (reserved) for every entity; V2 (unique per entity type, cluster name != hub name).

    Runs on the names as written, so that an item with other problems still gets its name checked.
    """
    if stack.hub_name is not None:
        _check_name("hub", stack.hub_name, ("hub", "name"), report)
    for section, entity in _ENTITY_LABELS.items():
        first_use: dict[str, tuple[str | int, ...]] = {}
        for i, name in stack.names[section]:
            loc = (section, i, "name")
            _check_name(entity, name, loc, report)
            if name in first_use:
                report.error(loc, f"FF-NAME-002 name '{name}' is already used by {entity} '{name}' on hub "
                             f"'{stack.hub_name or '?'}'", f"first used at {config_path(first_use[name])}; rename one")
            elif section == "clusters" and name == stack.hub_name:
                report.error(loc, f"FF-NAME-002 name '{name}' is already used by hub '{name}' on hub "
                             f"'{stack.hub_name}'", "a cluster name must differ from the hub name")
            first_use.setdefault(name, loc)


def _check_name(entity: str, name: str, loc: tuple[str | int, ...], report: _Report) -> None:
    if not NAME_PATTERN.fullmatch(name):
        report.error(loc, f"FF-NAME-001 {entity} name '{name}' is invalid: use 4-40 characters, start with a lowercase "
                     "letter, use only a-z, 0-9 and '-', end with a letter or digit", 'e.g. "edge-sh-01"')
    if name in RESERVED_NAMES or name.startswith(RESERVED_NAME_PREFIXES):
        report.error(loc, f"FF-NAME-003 name '{name}' is reserved", "default, global and names starting with "
                     f"{', '.join(RESERVED_NAME_PREFIXES)} are reserved")


def _check_hub(stack: _Stack, report: _Report) -> None:
    if stack.hub is not None:
        _check_kubeconfig_sources(stack.hub, ("hub",), required=not stack.sandbox, report=report, kind=None)


def _check_kubeconfig_sources(source: _KubeconfigSource, loc: tuple[str | int, ...], required: bool,
                              report: _Report, kind: str | None) -> None:
    """At most one of kubeconfig / kubeconfig_file / kubeconfig_env; exactly one when ``required``."""
    given = source.kubeconfig_sources()
    if len(given) > 1:
        report.error(loc + (given[1],), f"{', '.join(given)} are set together", "give exactly one kubeconfig source")
    elif not given and required:
        hint = 'or kubeconfig_file / kubeconfig_env, e.g. kubeconfig_env: "HUB_KUBECONFIG"'
        message = f"FF-KIND-002 kind {kind} requires kubeconfig; missing: kubeconfig" if kind else "field required"
        report.error(loc + ("kubeconfig",), message, hint)


def _check_clusters(stack: _Stack, report: _Report) -> None:
    for i, cluster in stack.items["clusters"]:
        loc: tuple[str | int, ...] = ("clusters", i)
        if isinstance(cluster, IdcCluster):
            manual_agent = cluster.connection_mode == "agent" and idc_agent_install(cluster, stack.sandbox) == "manual"
            _check_kubeconfig_sources(cluster, loc, not (stack.sandbox or manual_agent), report, kind="idc")
        _check_agent_endpoint_present(stack, cluster, report)
        _check_network(cluster, loc, report)
        _check_bootstrap(cluster, loc + ("bootstrap",), report)
        _check_encryption(cluster, loc + ("encryption",), report)


def _check_agent_endpoint_present(stack: _Stack, cluster: Any, report: _Report) -> None:
    """V14, first half. In a sandbox the program fills in the endpoint of the emulated hub."""
    if cluster.connection_mode == "agent" and stack.hub is not None and stack.hub.agent_endpoint is None \
            and not stack.sandbox:
        report.error(("hub", "agent_endpoint"), f"FF-CONN-001 cluster '{cluster.name}' uses agent mode but hub "
                     f"'{stack.hub.name}' has no agent_endpoint",
                     'set it to the hub API URL reachable from members, e.g. "https://hub.example.com:6443"')


def _check_network(cluster: Any, loc: tuple[str | int, ...], report: _Report) -> None:
    """V25, second half: syntax is checked by the Cidr type."""
    for key in Network.model_fields:
        value = getattr(cluster.network, key, None)
        if value is None:
            continue
        network = ipaddress.ip_network(value)
        if not any(network.version == private.version and network.subnet_of(private) for private in RFC1918):
            report.warn(loc + ("network", key), f"FF-NET-W01 {value} is not an RFC 1918 range")


def _check_bootstrap(cluster: Any, loc: tuple[str | int, ...], report: _Report) -> None:
    bootstrap: Bootstrap | None = cluster.bootstrap
    if bootstrap is None:
        return
    if bootstrap.ingress.enabled:
        _check_ingress(cluster.kind, bootstrap.ingress, loc + ("ingress",), report)
    if bootstrap.storage.enabled:
        _check_storage(cluster.kind, bootstrap.storage, bootstrap.adopt_existing, loc + ("storage",), report)


_INGRESS_PROVIDER_KINDS = {"cloud-native": ("eks", "gke", "aks"), "ctyun-plugin": ("ctyun",)}


def _check_ingress(kind: str, ingress: IngressSettings, loc: tuple[str | int, ...], report: _Report) -> None:
    allowed_kinds = _INGRESS_PROVIDER_KINDS.get(ingress.provider, KINDS)
    if kind not in allowed_kinds:
        report.error(loc + ("provider",), f"ingress provider {ingress.provider} is not available for kind {kind}",
                     f"it exists for {', '.join(allowed_kinds)}; use nginx or gateway-api")
    if ingress.provider == "gateway-api" and ingress.gateway_class is None:
        report.error(loc + ("gateway_class",), "field required", "provider gateway-api needs the GatewayClass, e.g. "
                     '"gke-l7-rilb"')
    elif ingress.provider != "gateway-api" and ingress.gateway_class is not None:
        report.error(loc + ("gateway_class",), "gateway_class is only used with provider gateway-api")
    if kind == "tke" and ingress.exposure == "internal" and ingress.provider in ("nginx", "gateway-api") \
            and ingress.lb_subnet_id is None:
        report.error(loc + ("lb_subnet_id",), "field required", 'an internal TKE load balancer needs its subnet, '
                     'e.g. "subnet-8x3k2p1q"')


def _check_storage(kind: str, storage: StorageSettings, adopt: bool, loc: tuple[str | int, ...],
                   report: _Report) -> None:
    provisioner = storage.provisioner or DEFAULT_PROVISIONER.get(kind)
    if provisioner in ZONAL_PROVISIONERS and storage.volume_binding_mode != "WaitForFirstConsumer":
        report.error(loc + ("volume_binding_mode",), f"FF-STOR-004 provisioner '{provisioner}' creates zonal disks; "
                     "volume_binding_mode must be WaitForFirstConsumer")
    if adopt or kind not in ("ctyun", "idc"):
        return
    if kind == "idc" and storage.provisioner is None:
        report.error(loc + ("provisioner",), "field required", "with adopt_existing false an idc cluster needs the "
                     'provisioner and parameters of the class to create, e.g. "nfs.csi.k8s.io"')
    if storage.parameters is None:
        report.error(loc + ("parameters",), "field required", f"with adopt_existing false kind {kind} creates a "
                     "StorageClass only from explicit parameters, e.g. {type: SSD}")


def _check_encryption(cluster: Any, loc: tuple[str | int, ...], report: _Report) -> None:
    encryption = cluster.encryption
    if encryption is None or not encryption.enabled:
        return
    _ENCRYPTION_CHECKS[cluster.kind](cluster, encryption, loc, report)


def _check_ctyun_encryption(cluster: CtyunCluster, _: Any, loc: tuple[str | int, ...], report: _Report) -> None:
    """V34: never skipped silently."""
    report.error(loc, "FF-ENC-001 etcd/Secret encryption is not supported for kind ctyun: CTyun CCE offers no KMS or "
                 "secret-encryption API and its control-plane hosts are not reachable. Remove EtcdEncryption "
                 f"'{cluster.name}' or set enabled=false")


_KMS_ARN = re.compile(r"arn:aws(?:-cn|-us-gov)?:kms:([a-z0-9-]+):\d{12}:(?:key|alias)/[A-Za-z0-9/_-]+")


def _check_eks_encryption(cluster: EksCluster, encryption: EksEncryption, loc: tuple[str | int, ...],
                          report: _Report) -> None:
    if encryption.key is None:  # V35 (provider default vs. too old) needs the cluster version: preview-with-lookup
        return
    match = _KMS_ARN.fullmatch(encryption.key.key_arn)
    if match is None or match.group(1) != cluster.region:
        report.error(loc + ("key", "key_arn"), f"key_arn '{encryption.key.key_arn}' is not a KMS key ARN in the "
                     f"cluster's region {cluster.region}", f'e.g. "arn:aws:kms:{cluster.region}:111122223333:key/<id>"')
    if not encryption.allow_irreversible:
        report.error(loc + ("allow_irreversible",), "FF-ENC-014 EKS secrets encryption is irreversible; set "
                     "allow_irreversible=true to proceed")


_GKE_KEY = re.compile(r"projects/[^/]+/locations/([^/]+)/keyRings/[^/]+/cryptoKeys/[^/]+")


def _check_gke_encryption(cluster: GkeCluster, encryption: GkeEncryption, loc: tuple[str | int, ...],
                          report: _Report) -> None:
    """V38: the key must live in the cluster's region (a zonal cluster's region is its zone minus the suffix)."""
    if not _key_given(encryption, loc, report):
        return
    region = re.sub(r"-[a-z]$", "", cluster.location)
    match = _GKE_KEY.fullmatch(encryption.key.key_name)
    if match is None or match.group(1) != region:
        report.error(loc + ("key", "key_name"), f"FF-ENC-005 GKE key '{encryption.key.key_name}' must be a Cloud KMS "
                     f"key in location {region}", f'e.g. "projects/{cluster.project}/locations/{region}/keyRings/'
                     '<ring>/cryptoKeys/<key>"')


_VAULT_KEY = re.compile(r"https://[A-Za-z0-9-]+\.vault\.[a-z.]+/keys/[A-Za-z0-9-]+/[A-Za-z0-9]+")
_VAULT_ID = re.compile(r"/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+/providers/Microsoft\.KeyVault/vaults/"
                       r"[^/]+", re.IGNORECASE)


def _check_aks_encryption(cluster: AksCluster, encryption: AksEncryption, loc: tuple[str | int, ...],
                          report: _Report) -> None:
    """V39."""
    if not _key_given(encryption, loc, report):
        return
    key, loc = encryption.key, loc + ("key",)
    if not _VAULT_KEY.fullmatch(key.key_id):
        report.error(loc + ("key_id",), f"FF-ENC-006 AKS KMS settings invalid: key_id '{key.key_id}' is not a "
                     "versioned Key Vault key URI", 'e.g. "https://<vault>.vault.azure.net/keys/<name>/<version>"')
    if key.key_vault_network_access == "Private" and key.key_vault_resource_id is None:
        report.error(loc + ("key_vault_resource_id",), "FF-ENC-006 AKS KMS settings invalid: key_vault_network_access "
                     "Private needs key_vault_resource_id", AksKey.model_fields["key_vault_resource_id"].description)
    elif key.key_vault_resource_id is not None and not _VAULT_ID.fullmatch(key.key_vault_resource_id):
        report.error(loc + ("key_vault_resource_id",), "FF-ENC-006 AKS KMS settings invalid: key_vault_resource_id "
                     f"'{key.key_vault_resource_id}' is not a Key Vault resource ID",
                     AksKey.model_fields["key_vault_resource_id"].description)


def _check_cloud_key(cluster: Any, encryption: Any, loc: tuple[str | int, ...], report: _Report) -> None:
    """ACK and TKE: a key is needed; V37 and V40 need the cloud API."""
    _key_given(encryption, loc, report)


def _key_given(encryption: Any, loc: tuple[str | int, ...], report: _Report) -> bool:
    if encryption.key is None:
        report.error(loc + ("key",), "field required", type(encryption).model_fields["key"].description)
    return encryption.key is not None


def _check_idc_encryption(cluster: IdcCluster, encryption: IdcEncryption, loc: tuple[str | int, ...],
                          report: _Report) -> None:
    settings, loc = encryption.idc, loc + ("idc",)
    if settings.provider == "kms" and settings.kms is None:
        report.error(loc + ("kms",), "field required", "provider kms needs {name, endpoint: unix:///...sock}")
    elif settings.provider != "kms" and settings.kms is not None:
        report.error(loc + ("kms",), "kms is only used with provider kms")
    if settings.kms is not None and not settings.kms.endpoint.startswith("unix:///"):
        report.error(loc + ("kms", "endpoint"), f"'{settings.kms.endpoint}' is not a unix socket",
                     KmsPlugin.model_fields["endpoint"].description)
    if settings.node_access == "ssh" and settings.ssh is None:
        report.error(loc + ("ssh",), "field required", "node_access ssh needs {hosts, user, private_key}")
    elif settings.node_access != "ssh" and settings.ssh is not None:
        report.error(loc + ("ssh",), "ssh is only used with node_access ssh")
    if settings.provider == "aescbc":
        report.warn(loc + ("provider",), "aescbc is the weakest local provider", "prefer aesgcm or secretbox")


_ENCRYPTION_CHECKS = {
    "ctyun": _check_ctyun_encryption,
    "idc": _check_idc_encryption,
    "eks": _check_eks_encryption,
    "gke": _check_gke_encryption,
    "aks": _check_aks_encryption,
    "ack": _check_cloud_key,
    "tke": _check_cloud_key,
}


def _check_fleets(stack: _Stack, report: _Report) -> None:
    """Members and federations resolve; V16 (one fleet per cluster); V18 (one fleet per federation)."""
    fleet_of_cluster: dict[str, str] = {}
    fleet_of_federation: dict[str, str] = {}
    for j, fleet in stack.items["fleets"]:
        for k, member in enumerate(fleet.members):
            loc = ("fleets", j, "members", k)
            if member not in stack.declared("clusters"):
                _report_unresolved(report, loc, "cluster", member, stack.declared("clusters"))
            elif fleet_of_cluster.get(member) == fleet.name:
                report.error(loc, f"cluster '{member}' is listed twice in fleet '{fleet.name}'")
            elif member in fleet_of_cluster:
                report.error(loc, f"FF-FLEET-001 cluster '{member}' already belongs to fleet "
                             f"'{fleet_of_cluster[member]}'; remove it from that fleet first")
            else:
                fleet_of_cluster[member] = fleet.name
        if fleet.federation is None:
            continue
        loc = ("fleets", j, "federation")
        if fleet.federation not in stack.declared("federations"):
            _report_unresolved(report, loc, "federation", fleet.federation, stack.declared("federations"))
        elif fleet.federation in fleet_of_federation:
            report.error(loc, f"FF-FED-001 federation '{fleet.federation}' is already bound to fleet "
                         f"'{fleet_of_federation[fleet.federation]}'; a federation serves one fleet")
        else:
            fleet_of_federation[fleet.federation] = fleet.name


def _report_unresolved(report: _Report, loc: tuple[str | int, ...], entity: str, name: str,
                       declared: list[str]) -> None:
    section = f"{NAMESPACE}:{entity}s"
    hint = f"declared: {', '.join(declared)}" if declared else f"declare it in {section}"
    report.error(loc, f"{entity} '{name}' is not declared in {section}", hint)


def _check_federations(stack: _Stack, report: _Report) -> None:
    for i, federation in stack.items["federations"]:
        loc: tuple[str | int, ...] = ("federations", i)
        if federation.mode == "existing" and federation.existing_kubeconfig is None:
            report.error(loc + ("existing_kubeconfig",), "field required", "mode existing adopts the Karmada API "
                         "server this kubeconfig opens")
        elif federation.mode == "operator" and federation.existing_kubeconfig is not None:
            report.error(loc + ("existing_kubeconfig",), "existing_kubeconfig is only used with mode existing")
        if federation.api_server_service_type == "ClusterIP" and federation.api_server_external_url is None:
            report.error(loc + ("api_server_external_url",), "field required", "api_server_service_type ClusterIP "
                         'needs the URL that reaches the API server from outside, e.g. "https://karmada.example.com"')
        if federation.etcd.local is not None and federation.etcd.external is not None:
            report.error(loc + ("etcd",), "etcd.local and etcd.external are both set", "give exactly one of them")


_EXTRA_VERB = re.compile(r"[a-z][a-z0-9]*")


def _check_permissions(stack: _Stack, report: _Report) -> None:
    """V43 and target references."""
    for i, permission in stack.items["permissions"]:
        loc: tuple[str | int, ...] = ("permissions", i)

        def fail(suffix: tuple[str | int, ...], detail: str, hint: str = "") -> None:
            report.error(loc + suffix, f"FF-PERM-001 permission '{permission.name}': {detail}", hint)

        _check_permission_target(stack, permission, loc, fail, report)
        _check_permission_subjects(permission, fail)
        _check_permission_rules(permission, fail)
        _check_permission_namespaces(permission, fail)


def _check_permission_target(stack: _Stack, permission: FleetPermission, loc: tuple[str | int, ...], fail: Any,
                             report: _Report) -> None:
    targets = [key for key in ("fleet", "cluster") if getattr(permission, key) is not None]
    if len(targets) != 1:
        fail((), f"set exactly one target, fleet or cluster (got {' and '.join(targets) or 'none'})")
        return
    entity = targets[0]
    name = getattr(permission, entity)
    if name not in stack.declared(f"{entity}s"):
        _report_unresolved(report, loc + (entity,), entity, name, stack.declared(f"{entity}s"))


def _check_permission_subjects(permission: FleetPermission, fail: Any) -> None:
    if not permission.subjects:
        fail(("subjects",), "needs at least one subject", "e.g. [{kind: Group, name: platform-team}]")
    for k, subject in enumerate(permission.subjects):
        if subject.kind == "ServiceAccount" and subject.namespace is None:
            fail(("subjects", k, "namespace"), f"ServiceAccount subject '{subject.name}' needs a namespace")
        elif subject.kind != "ServiceAccount" and subject.namespace is not None:
            fail(("subjects", k, "namespace"), f"{subject.kind} subject '{subject.name}' has no namespace")


def _check_permission_rules(permission: FleetPermission, fail: Any) -> None:
    if permission.role == "custom" and not permission.rules:
        fail(("rules",), "role custom needs rules", "e.g. [{verbs: [get, list], resources: [{resource: pods}]}]")
    elif permission.role != "custom" and permission.rules:
        fail(("rules",), f"rules are only used with role custom, not {permission.role}")
    for k, verb in enumerate(permission.extra_verbs):
        if not _EXTRA_VERB.fullmatch(verb):
            fail(("extra_verbs", k), f"extra verb '{verb}' is not a lowercase identifier", 'e.g. "escalate"')
    allowed = (*PERMISSION_VERBS, *permission.extra_verbs)
    for r, rule in enumerate(permission.rules):
        for v, verb in enumerate(rule.verbs):
            if verb not in allowed:
                fail(("rules", r, "verbs", v), f"verb '{verb}' is not allowed",
                     f"allowed: {', '.join(allowed)}; add others to extra_verbs")


def _check_permission_namespaces(permission: FleetPermission, fail: Any) -> None:
    if "*" in permission.namespaces and len(permission.namespaces) > 1:
        fail(("namespaces",), '"*" (all namespaces) cannot be combined with namespace names')
        return
    for k, namespace in enumerate(permission.namespaces):
        if namespace != "*" and not re.fullmatch(_DNS_LABEL, namespace):
            fail(("namespaces", k), f"namespace '{namespace}' is not a valid namespace name", 'e.g. "payments"')


_RULES = (_check_names, _check_hub, _check_clusters, _check_fleets, _check_federations, _check_permissions)


# ---------------------------------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------------------------------


def spec_from_config(config: Mapping[str, Any], source: str) -> FleetSpec:
    """Validate decoded config values keyed ``"fleetform:<key>"``; other namespaces are ignored.

    Raises :class:`StackConfigError` listing every problem, each prefixed with ``source`` (the stack file).
    """
    report = _Report()
    values = _fleetform_values(config, report)
    stack = _parse_stack(values, report)
    for rule in _RULES:
        rule(stack, report)
    if report.errors:
        raise StackConfigError(source, report.errors)
    return FleetSpec(
        sandbox=stack.sandbox,
        hub=stack.hub,
        **{section: [item for _, item in stack.items[section]] for section in _LIST_SECTIONS},
        warnings=report.warnings,
    )


def _fleetform_values(config: Mapping[str, Any], report: _Report) -> dict[str, Any]:
    values = {}
    for key, value in config.items():
        namespace, _, name = key.partition(":")
        if namespace != NAMESPACE:
            continue
        if name in TOP_LEVEL_KEYS:
            values[name] = value
        else:
            report.errors.append(Problem(key, f"unknown key '{key}'", "valid keys: " + ", ".join(
                f"{NAMESPACE}:{known}" for known in TOP_LEVEL_KEYS)))
    return values


def spec_from_pulumi_config() -> FleetSpec:
    """The spec of the running Pulumi program's stack (object values arrive JSON-encoded)."""
    config = {}
    for key in _configured_keys():
        value = pulumi_config.get_config(key)
        if value is not None:
            config[key] = _json_or_text(value)
    return spec_from_config(config, f"stacks/Pulumi.{pulumi.get_stack()}.yaml")


def _configured_keys() -> list[str]:
    """The known keys plus every other ``fleetform:`` key that is set, so that misspelt keys are reported."""
    present = [*pulumi_config.CONFIG.get(), *pulumi_config.get_config_env()]
    known = [f"{NAMESPACE}:{key}" for key in TOP_LEVEL_KEYS]
    return known + sorted({key for key in present if key.startswith(f"{NAMESPACE}:") and key not in known})


def _json_or_text(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def load_stack_file(path: str | os.PathLike[str]) -> FleetSpec:
    """Validate a Pulumi stack file (``config:`` mapping). Keys without a namespace belong to the project."""
    source = str(path)
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise StackConfigError(source, [_yaml_problem(exc)]) from None
    config = document.get("config") if isinstance(document, dict) else None
    if not isinstance(config, dict):
        raise StackConfigError(source, [Problem("config", "expected a mapping of config keys",
                                                f"e.g. config: {{{NAMESPACE}:hub: {{name: hub-dev}}}}")])
    return spec_from_config({_namespaced(str(key)): value for key, value in config.items()}, source)


def _namespaced(key: str) -> str:
    return key if ":" in key else f"{NAMESPACE}:{key}"


def _yaml_problem(exc: yaml.YAMLError) -> Problem:
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
    problem = getattr(exc, "problem", None) or str(exc)
    return Problem(where, f"invalid YAML: {problem}", getattr(exc, "context", None) or "")
