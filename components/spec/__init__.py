"""The stack configuration model: ``fleetform:*`` config keys -> a validated :class:`FleetSpec`.

One module per entity (hub, clusters, bootstrap, encryption, fleets, federations, permissions), the whole stack
(stack.py), the rules across entities (rules.py, cluster_checks.py) and loading (loading.py). Each cluster kind's
model is the one home of that kind's facts (identity, region and cloud labels, storage defaults, ingress and
encryption support); :data:`CLUSTER_MODELS` is the registry of kinds.

Use :func:`spec_from_config`, :func:`spec_from_pulumi_config` or :func:`load_stack_file`; validating
``FleetSpec`` directly checks the structure only.
"""

from ..labels import CLUSTERSET_LABEL
from .bootstrap import Bootstrap, IngressSettings, IngressSupport, StorageDefaults, StorageSettings
from .cluster_base import ClusterBase, Network
from .cluster_checks import RFC1918
from .clusters import (
    CLUSTER_MODELS,
    DEFAULT_PROVISIONER,
    KINDS,
    ZONAL_PROVISIONERS,
    AckCluster,
    AksCluster,
    ClusterSpec,
    CtyunCluster,
    EksCluster,
    GkeCluster,
    IdcCluster,
    TkeCluster,
    idc_agent_install,
)
from .common import (
    DEFAULT_CLUSTERSET,
    FEDERATION_MIN_KUBERNETES_VERSION,
    MIN_KUBERNETES_VERSION,
    NAME_PATTERN,
    NAMESPACE,
    RESERVED_NAME_PREFIXES,
    RESERVED_NAMES,
    TOP_LEVEL_KEYS,
    Issue,
    Problem,
    StackConfigError,
)
from .encryption import (
    AckEncryption,
    AckKey,
    AksEncryption,
    AksKey,
    CtyunEncryption,
    EksEncryption,
    EksKey,
    EncryptionSupport,
    GkeEncryption,
    GkeKey,
    IdcEncryption,
    IdcEncryptionSettings,
    KmsPlugin,
    SshAccess,
    TkeEncryption,
    TkeKey,
)
from .federations import ExternalEtcd, Federation, FederationEtcd, LocalEtcd, LocalEtcdStorage
from .fleets import Fleet
from .hub import Hub
from .kubeconfig import KubeconfigSource
from .loading import load_stack_file, spec_from_config, spec_from_pulumi_config
from .permissions import PERMISSION_VERBS, ROLES, FleetPermission, PermissionRule, ResourceRef, Subject
from .policies import (
    DividedReplicas,
    FederationPolicies,
    OverridePolicy,
    OverrideRule,
    PropagationPolicy,
    ResourceSelector,
)
from .report import config_path
from .scalars import (
    AgentEndpoint,
    Cidr,
    DnsLabel,
    DnsSubdomain,
    EntityName,
    EnvVarName,
    HttpsUrl,
    Labels,
    LabelValue,
    Quantity,
    SemVer,
    format_duration,
    parse_duration,
)
from .stack import FleetSpec

__all__ = [
    "ResourceSelector",
    "PropagationPolicy",
    "OverrideRule",
    "OverridePolicy",
    "FederationPolicies",
    "DividedReplicas",
    "CLUSTERSET_LABEL",
    "CLUSTER_MODELS",
    "DEFAULT_CLUSTERSET",
    "DEFAULT_PROVISIONER",
    "FEDERATION_MIN_KUBERNETES_VERSION",
    "KINDS",
    "MIN_KUBERNETES_VERSION",
    "NAMESPACE",
    "NAME_PATTERN",
    "PERMISSION_VERBS",
    "RESERVED_NAMES",
    "RESERVED_NAME_PREFIXES",
    "RFC1918",
    "ROLES",
    "TOP_LEVEL_KEYS",
    "ZONAL_PROVISIONERS",
    "AckCluster",
    "AckEncryption",
    "AckKey",
    "AgentEndpoint",
    "AksCluster",
    "AksEncryption",
    "AksKey",
    "Bootstrap",
    "Cidr",
    "ClusterBase",
    "ClusterSpec",
    "CtyunCluster",
    "CtyunEncryption",
    "DnsLabel",
    "DnsSubdomain",
    "EksCluster",
    "EksEncryption",
    "EksKey",
    "EncryptionSupport",
    "EntityName",
    "EnvVarName",
    "ExternalEtcd",
    "Federation",
    "FederationEtcd",
    "Fleet",
    "FleetPermission",
    "FleetSpec",
    "GkeCluster",
    "GkeEncryption",
    "GkeKey",
    "HttpsUrl",
    "Hub",
    "IdcCluster",
    "IdcEncryption",
    "IdcEncryptionSettings",
    "IngressSettings",
    "IngressSupport",
    "Issue",
    "KmsPlugin",
    "KubeconfigSource",
    "LabelValue",
    "Labels",
    "LocalEtcd",
    "LocalEtcdStorage",
    "Network",
    "PermissionRule",
    "Problem",
    "Quantity",
    "ResourceRef",
    "SemVer",
    "SshAccess",
    "StackConfigError",
    "StorageDefaults",
    "StorageSettings",
    "Subject",
    "TkeCluster",
    "TkeEncryption",
    "TkeKey",
    "config_path",
    "format_duration",
    "idc_agent_install",
    "load_stack_file",
    "parse_duration",
    "spec_from_config",
    "spec_from_pulumi_config",
]
