"""Karmada facts fleetform writes from (DOMAIN §2.5, §5.7; CLOUD-APIS §11), as plain objects.

Upstream ships the karmada-operator and the karmada-agent as YAML; fleetform writes the same objects
in code from upstream's facts at :data:`KARMADA_VERSION` (``operator/config/deploy/*.yaml``,
``operator/pkg/constants/constants.go``, ``operator/pkg/tasks/init/upload.go``,
``pkg/karmadactl/register/register.go``). Nothing here touches a cluster: the components turn these
dicts into typed ``pulumi_kubernetes`` resources.
"""

from __future__ import annotations

from typing import Any

from .rbac import RBAC_API, service_account_binding

KARMADA_VERSION = "v1.18.2"  # the default karmada_version: operator image and component image tags
REGISTRY = "docker.io/karmada"

# -- the karmada-operator on the host cluster -------------------------------------------------------
OPERATOR_NAMESPACE = "karmada-system"
OPERATOR_NAME = "karmada-operator"
OPERATOR_GROUP = "operator.karmada.io"
OPERATOR_API = f"{OPERATOR_GROUP}/v1alpha1"
KARMADA_CRD = f"karmadas.{OPERATOR_GROUP}"
ADMIN_CONFIG_KEY = "karmada.config"  # data key of the admin kubeconfig Secret named in status.secretRef

# -- the Karmada API ---------------------------------------------------------------------------------
CLUSTER_API = "cluster.karmada.io/v1alpha1"
POLICY_API = "policy.karmada.io/v1alpha1"
WORK_API = "work.karmada.io/v1alpha2"
REQUIRED_GROUPS = (CLUSTER_API, POLICY_API)  # V28: what an adopted Karmada must serve
CLUSTER_NAMESPACE = "karmada-cluster"  # member credentials (Push) by upstream convention
EXECUTION_NAMESPACE_PREFIX = "karmada-es-"
TAINT_NOT_READY = "cluster.karmada.io/not-ready"
TAINT_UNREACHABLE = "cluster.karmada.io/unreachable"

# -- the karmada-agent in a Pull member (what `karmadactl register` installs) ------------------------
AGENT_NAMESPACE = "karmada-system"
AGENT_NAME = "karmada-agent"
AGENT_SERVICE_ACCOUNT = "karmada-agent-sa"
AGENT_KUBECONFIG_SECRET = "karmada-kubeconfig"  # the Secret and its data key: the agent's Karmada kubeconfig
AGENT_KUBECONFIG_DIR = "/etc/kubeconfig"


def operator_image(version: str) -> str:
    return f"{REGISTRY}/karmada-operator:{version}"


def agent_image(version: str) -> str:
    return f"{REGISTRY}/karmada-agent:{version}"


def admin_secret_name(karmada: str) -> str:
    """The operator's naming, for tests and emulators only: fleetform reads ``status.secretRef``."""
    return f"{karmada}-admin-config" if "karmada" in karmada else f"{karmada}-karmada-admin-config"


def operator_objects(version: str, labels: dict[str, str]) -> dict[str, dict]:
    """Namespace, ServiceAccount, ClusterRole, ClusterRoleBinding and Deployment of the operator,
    keyed by resource-name suffix. The rules are upstream's; the image is pinned to ``version``."""
    app = {"app.kubernetes.io/name": OPERATOR_NAME}

    def meta(name: str, namespaced: bool = True) -> dict:
        return {"name": name, **({"namespace": OPERATOR_NAMESPACE} if namespaced else {}), "labels": {**labels, **app}}

    return {
        "namespace": {"apiVersion": "v1", "kind": "Namespace", "metadata": meta(OPERATOR_NAMESPACE, False)},
        "sa": {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(OPERATOR_NAME)},
        "role": {
            "apiVersion": RBAC_API,
            "kind": "ClusterRole",
            "metadata": meta(OPERATOR_NAME, False),
            "rules": OPERATOR_RULES,
        },
        "binding": service_account_binding(
            meta(OPERATOR_NAME, False), OPERATOR_NAME, OPERATOR_NAME, OPERATOR_NAMESPACE
        ),
        "deployment": {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta(OPERATOR_NAME),
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": app},
                "template": {
                    "metadata": {"labels": app},
                    "spec": {
                        "serviceAccountName": OPERATOR_NAME,
                        "containers": [
                            {
                                "name": OPERATOR_NAME,
                                "image": operator_image(version),
                                "imagePullPolicy": "IfNotPresent",
                                "command": [
                                    "/bin/karmada-operator",
                                    f"--leader-elect-resource-namespace={OPERATOR_NAMESPACE}",
                                    "--logging-format=json",
                                    "--v=2",
                                ],
                                "ports": [{"containerPort": 8080, "name": "metrics", "protocol": "TCP"}],
                            }
                        ],
                    },
                },
            },
        },
    }


def _rule(groups: list[str], resources: list[str], verbs: list[str], names: list[str] | None = None) -> dict:
    rule: dict[str, Any] = {"apiGroups": groups, "resources": resources, "verbs": verbs}
    if names:
        rule["resourceNames"] = names
    return rule


OPERATOR_RULES = [
    _rule(["coordination.k8s.io"], ["leases"], ["get", "create", "update"]),
    _rule([OPERATOR_GROUP], ["karmadas"], ["get", "list", "watch", "update"]),
    _rule([OPERATOR_GROUP], ["karmadas/status"], ["update"]),
    _rule([""], ["events"], ["create"]),
    _rule([""], ["nodes", "pods"], ["list"]),
    _rule([""], ["namespaces"], ["get"]),
    _rule([""], ["secrets", "services"], ["get", "create", "update", "delete"]),
    _rule(["apps"], ["statefulsets", "deployments"], ["get", "create", "update", "delete"]),
    _rule(["policy"], ["poddisruptionbudgets"], ["get", "create", "update", "delete"]),
    {"nonResourceURLs": ["/healthz"], "verbs": ["get"]},
]


def karmada_crd_spec() -> dict:
    """``karmadas.operator.karmada.io``: namespaced, v1alpha1, status subresource. The schema is open
    (unknown fields kept) with the fields fleetform writes and reads typed; upstream's full schema
    is the operator's to enforce."""
    obj, preserve = {"type": "object"}, {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    ref = {"type": "object", "properties": {"namespace": {"type": "string"}, "name": {"type": "string"}}}
    spec = {
        **preserve,
        "properties": {
            "components": {
                **preserve,
                "properties": {
                    "etcd": preserve,
                    "karmadaAPIServer": {
                        **preserve,
                        "properties": {
                            "serviceType": {"type": "string", "enum": ["ClusterIP", "NodePort", "LoadBalancer"]}
                        },
                    },
                },
            },
            "featureGates": {**obj, "additionalProperties": {"type": "boolean"}},
            "hostCluster": preserve,
        },
    }
    status = {
        **preserve,
        "properties": {
            "observedGeneration": {"type": "integer", "format": "int64"},
            "secretRef": ref,
            "karmadaVersion": {"type": "string"},
            "kubernetesVersion": {"type": "string"},
            "conditions": {"type": "array", "items": preserve},
            "apiServerService": preserve,
        },
    }
    return {
        "group": OPERATOR_GROUP,
        "names": {
            "plural": "karmadas",
            "singular": "karmada",
            "kind": "Karmada",
            "listKind": "KarmadaList",
            "categories": ["karmada-io"],
        },
        "scope": "Namespaced",
        "versions": [
            {
                "name": "v1alpha1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [
                    {"name": "READY", "type": "string", "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
                    {"name": "AGE", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                ],
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "apiVersion": {"type": "string"},
                            "kind": {"type": "string"},
                            "metadata": {"type": "object"},
                            "spec": spec,
                            "status": status,
                        },
                    }
                },
            }
        ],
    }


KARMADA_COMPONENTS = ("karmadaAggregatedAPIServer", "karmadaControllerManager", "karmadaScheduler", "karmadaWebhook")


def karmada_spec(
    *,
    version: str,
    service_type: str,
    etcd: dict,
    feature_gates: dict[str, bool],
    cert_sans: list[str] = (),
) -> dict:
    """The ``Karmada`` CR's spec. Karmada's own components get ``version`` as image tag so that a
    version change is an in-place upgrade the operator rolls out (by default it would use its own)."""
    api_server: dict[str, Any] = {"serviceType": service_type}
    if cert_sans:
        api_server["certSANs"] = list(cert_sans)
    components: dict[str, Any] = {"etcd": etcd, "karmadaAPIServer": api_server}
    for component in KARMADA_COMPONENTS:
        components[component] = {"imageTag": version}
    spec: dict[str, Any] = {"components": components}
    if feature_gates:
        spec["featureGates"] = dict(feature_gates)
    return spec


def local_etcd(replicas: int, pvc_size: str, storage_class: str | None) -> dict:
    claim: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": pvc_size}}}
    if storage_class:
        claim["storageClassName"] = storage_class
    return {
        "local": {
            "replicas": replicas,
            "volumeData": {"volumeClaim": {"metadata": {"name": "etcd-data"}, "spec": claim}},
        }
    }


def external_etcd(endpoints: list[str], namespace: str, secret: str) -> dict:
    return {"external": {"endpoints": list(endpoints), "secretRef": {"namespace": namespace, "name": secret}}}


# -- Pull mode: the agent's rights on the Karmada API and its objects in the member --------------------


def agent_control_plane_rules(cluster: str) -> list[dict]:
    """What `karmadactl register` grants the agent of ``cluster`` cluster-wide on the Karmada API:
    its own Cluster object and status, reading interpreter configuration, leases, events."""
    return [
        _rule(["cluster.karmada.io"], ["clusters"], ["get", "delete"], [cluster]),
        _rule(["cluster.karmada.io"], ["clusters"], ["create", "list", "watch"]),
        _rule(["cluster.karmada.io"], ["clusters/status"], ["update"], [cluster]),
        _rule(
            ["config.karmada.io"],
            ["resourceinterpreterwebhookconfigurations", "resourceinterpretercustomizations"],
            ["get", "list", "watch"],
        ),
        _rule([""], ["namespaces"], ["get"]),
        _rule(["coordination.k8s.io"], ["leases"], ["get", "create", "update"]),
        _rule([""], ["services"], ["list", "watch"]),
        _rule([""], ["events"], ["patch", "create", "update"]),
    ]


def agent_secret_rules(cluster: str) -> list[dict]:
    """In ``karmada-cluster``: the agent's own credential Secrets (upstream names them after the cluster)."""
    return [
        _rule([""], ["secrets"], ["get", "patch"], [cluster, f"{cluster}-impersonator"]),
        _rule([""], ["secrets"], ["create"]),
    ]


def agent_work_rules() -> list[dict]:
    """In ``karmada-es-<cluster>``: the Works the agent applies in its member."""
    return [
        _rule(["work.karmada.io"], ["works"], ["get", "create", "list", "watch", "update", "delete"]),
        _rule(["work.karmada.io"], ["works/status"], ["patch", "update"]),
    ]


def agent_objects(
    cluster: str,
    *,
    version: str,
    karmada_kubeconfig: Any,
    endpoint: Any,
    provider: str,
    region: Any,
    labels: dict,
    node_selector: dict[str, str] | None = None,
) -> dict[str, dict]:
    """Namespace, ServiceAccount, ClusterRole(Binding), kubeconfig Secret and Deployment of the agent
    in the member, keyed by resource-name suffix; ``karmada_kubeconfig`` may be a ``pulumi.Output``;
    ``node_selector`` (the member's ``agent_node_selector``) pins the agent's pod to matching nodes."""
    app = {"app": AGENT_NAME}

    def meta(name: str, namespaced: bool = True) -> dict:
        return {"name": name, **({"namespace": AGENT_NAMESPACE} if namespaced else {}), "labels": {**labels, **app}}

    command = [
        "/bin/karmada-agent",
        f"--karmada-kubeconfig={AGENT_KUBECONFIG_DIR}/{AGENT_KUBECONFIG_SECRET}",
        f"--cluster-name={cluster}",
        f"--cluster-provider={provider}",
        f"--leader-elect-resource-namespace={AGENT_NAMESPACE}",
        f"--cluster-namespace={CLUSTER_NAMESPACE}",
        "--controllers=*",
        "--cluster-status-update-frequency=10s",
        "--metrics-bind-address=:8080",
        "--health-probe-bind-address=0.0.0.0:10357",
        "--v=2",
    ]
    command.insert(3, _flag("cluster-api-endpoint", endpoint))
    command.insert(5, _flag("cluster-region", region))
    return {
        "karmada-agent-ns": {"apiVersion": "v1", "kind": "Namespace", "metadata": meta(AGENT_NAMESPACE, False)},
        "karmada-agent-sa": {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(AGENT_SERVICE_ACCOUNT)},
        "karmada-agent-role": {
            "apiVersion": RBAC_API,
            "kind": "ClusterRole",
            "metadata": meta(AGENT_NAME, False),
            "rules": [
                {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                {"nonResourceURLs": ["*"], "verbs": ["get"]},
            ],
        },
        "karmada-agent-binding": service_account_binding(
            meta(AGENT_NAME, False), AGENT_NAME, AGENT_SERVICE_ACCOUNT, AGENT_NAMESPACE
        ),
        "karmada-agent-kubeconfig": {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": meta(AGENT_KUBECONFIG_SECRET),
            "stringData": {AGENT_KUBECONFIG_SECRET: karmada_kubeconfig},
        },
        "karmada-agent": {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta(AGENT_NAME),
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": app},
                "template": {
                    "metadata": {"labels": app},
                    "spec": {
                        "serviceAccountName": AGENT_SERVICE_ACCOUNT,
                        **({"nodeSelector": dict(node_selector)} if node_selector else {}),
                        "tolerations": [{"key": "node-role.kubernetes.io/master", "operator": "Exists"}],
                        "containers": [
                            {
                                "name": AGENT_NAME,
                                "image": agent_image(version),
                                "command": command,
                                "ports": [{"name": "metrics", "containerPort": 8080, "protocol": "TCP"}],
                                "volumeMounts": [{"name": "kubeconfig", "mountPath": AGENT_KUBECONFIG_DIR}],
                            }
                        ],
                        "volumes": [{"name": "kubeconfig", "secret": {"secretName": AGENT_KUBECONFIG_SECRET}}],
                    },
                },
            },
        },
    }


def _flag(name: str, value: Any) -> Any:
    """``--name=value`` for a plain value or a ``pulumi.Output``."""
    apply = getattr(value, "apply", None)
    return apply(lambda v: f"--{name}={v}") if apply else f"--{name}={value}"
