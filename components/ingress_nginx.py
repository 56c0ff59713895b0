"""The ingress-nginx controller as plain Kubernetes object dicts (DOMAIN §6.1-6.2); no Pulumi resources are made here.

Facts (image digest, args, env, ports, probes, security context, RBAC rules, labels, webhook) are taken from upstream
kubernetes/ingress-nginx at tag ``controller-v1.15.1``: ``deploy/static/provider/cloud/deploy.yaml`` for the
LoadBalancer/NodePort shape and ``deploy/static/provider/baremetal/deploy.yaml`` for dropping ``--publish-service``
where no load balancer exists; and at tag ``helm-chart-4.15.1``: ``charts/ingress-nginx/values.yaml`` and the
templates ``controller-daemonset.yaml`` (DaemonSet, ``hostPort``), ``controller-ingressclass.yaml`` and
``admission-webhooks/validating-webhook.yaml``.

Upstream's certgen Jobs (``ingress-nginx-admission-create``/``-patch``) and the ServiceAccount, Role, ClusterRole and
bindings they run under are left out: the caller supplies a pre-generated certificate. It goes into the Opaque Secret
the create Job would have written (keys ``ca``, ``cert``, ``key``, as ``images/kube-webhook-certgen`` names them) and,
base64-encoded, into the webhook's ``caBundle`` that the patch Job would have set.

With ``service_type="HostPort"`` (CTyun Calico profile, DOMAIN §6.2) the controller is a DaemonSet on worker nodes
with host ports :data:`HOST_PORTS`, the controller Service is ClusterIP, and ``--publish-service`` is omitted, so the
controller reports the addresses of its nodes on Ingress status instead of an unreachable cluster IP.
"""

from __future__ import annotations

import base64

import pulumi

from .spec.bootstrap import INGRESS_NGINX_CHART_VERSION

CHART_VERSION = INGRESS_NGINX_CHART_VERSION
CONTROLLER_VERSION = "1.15.1"
CONTROLLER_VALUE = "k8s.io/ingress-nginx"
NAMESPACE = "ingress-nginx"
SERVICE_NAME = "ingress-nginx-controller"
DEPLOYMENT_NAME = "ingress-nginx-controller"  # also the DaemonSet's name under HostPort
IMAGE = (
    f"registry.k8s.io/ingress-nginx/controller:v{CONTROLLER_VERSION}"
    "@sha256:594ceea76b01c592858f803f9ff4d2cb40542cae2060410b2c95f75907d659e1"
)
HOST_PORTS = {"http": 10080, "https": 10443}
SERVICE_TYPES = ("LoadBalancer", "NodePort", "HostPort")

_NAME = "ingress-nginx"  # the controller's ServiceAccount, Role, ClusterRole and bindings
_CONFIGMAP = "ingress-nginx-controller"
_ADMISSION = "ingress-nginx-admission"  # the certificate Secret and the ValidatingWebhookConfiguration
_ADMISSION_SERVICE = "ingress-nginx-controller-admission"
_ELECTION_ID = "ingress-nginx-leader"
_CERT_DIR = "/usr/local/certificates/"
_WEBHOOK_PORT = 8443
_HEALTH_PORT = 10254
_TRAFFIC_PORTS = {"http": 80, "https": 443}
_INSTANCE = {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/instance": "ingress-nginx"}
_SELECTOR = {**_INSTANCE, "app.kubernetes.io/component": "controller"}
_CORE, _NETWORKING, _COORDINATION, _DISCOVERY = "", "networking.k8s.io", "coordination.k8s.io", "discovery.k8s.io"
_READ = ("get", "list", "watch")
# (apiGroup, resources, verbs[, resourceNames]) in upstream's order
_ROLE_RULES = (
    (_CORE, ("namespaces",), ("get",)),
    (_CORE, ("configmaps", "pods", "secrets", "endpoints"), _READ),
    (_CORE, ("services",), _READ),
    (_NETWORKING, ("ingresses",), _READ),
    (_NETWORKING, ("ingresses/status",), ("update",)),
    (_NETWORKING, ("ingressclasses",), _READ),
    (_COORDINATION, ("leases",), ("get", "update"), (_ELECTION_ID,)),
    (_COORDINATION, ("leases",), ("create",)),
    (_CORE, ("events",), ("create", "patch")),
    (_DISCOVERY, ("endpointslices",), ("list", "watch", "get")),
)
_CLUSTER_ROLE_RULES = (
    (_CORE, ("configmaps", "endpoints", "nodes", "pods", "secrets", "namespaces"), ("list", "watch")),
    (_COORDINATION, ("leases",), ("list", "watch")),
    (_CORE, ("nodes",), ("get",)),
    (_CORE, ("services",), _READ),
    (_NETWORKING, ("ingresses",), _READ),
    (_CORE, ("events",), ("create", "patch")),
    (_NETWORKING, ("ingresses/status",), ("update",)),
    (_NETWORKING, ("ingressclasses",), _READ),
    (_DISCOVERY, ("endpointslices",), ("list", "watch", "get")),
)


def ca_bundle(ca: pulumi.Input[str]) -> pulumi.Input[str]:
    """The webhook's ``caBundle``: base64 of the PEM. A plain str gives a plain str, anything else an Output
    (empty while the certificate is not issued, e.g. under the SDK's mocks)."""

    def encode(pem: str | None) -> str:
        return base64.b64encode(pem.encode()).decode() if pem else ""

    return encode(ca) if isinstance(ca, str) else pulumi.Output.from_input(ca).apply(encode)


def _labels(extra: dict[str, str], component: str | None) -> dict[str, str]:
    """Upstream's labels over the caller's: a caller label never changes what the selectors match."""
    upstream = {
        **_INSTANCE,
        "app.kubernetes.io/part-of": "ingress-nginx",
        "app.kubernetes.io/version": CONTROLLER_VERSION,
    }
    if component:
        upstream["app.kubernetes.io/component"] = component
    return {**extra, **upstream}


def _object(
    api_version: str,
    kind: str,
    name: str,
    labels: dict[str, str],
    *,
    namespaced: bool = True,
    annotations: dict[str, str] | None = None,
    **body,
) -> dict:
    metadata = {"name": name, "labels": dict(labels)}
    if namespaced:
        metadata["namespace"] = NAMESPACE
    if annotations is not None:
        metadata["annotations"] = dict(annotations)
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **body}


def _rules(table: tuple) -> list[dict]:
    rules = []
    for group, resources, verbs, *names in table:
        rule = {"apiGroups": [group], "resources": list(resources), "verbs": list(verbs)}
        if names:
            rule["resourceNames"] = list(names[0])
        rules.append(rule)
    return rules


def _binding(kind: str, labels: dict[str, str]) -> dict:
    """A RoleBinding or ClusterRoleBinding of the role ``ingress-nginx`` to the controller's ServiceAccount."""
    role_kind = kind.removesuffix("Binding")
    return _object(
        "rbac.authorization.k8s.io/v1",
        kind,
        _NAME,
        labels,
        namespaced=role_kind == "Role",
        roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": _NAME},
        subjects=[{"kind": "ServiceAccount", "name": _NAME, "namespace": NAMESPACE}],
    )


def _probe(failure_threshold: int) -> dict:
    return {
        "httpGet": {"path": "/healthz", "port": _HEALTH_PORT, "scheme": "HTTP"},
        "initialDelaySeconds": 10,
        "periodSeconds": 10,
        "timeoutSeconds": 1,
        "successThreshold": 1,
        "failureThreshold": failure_threshold,
    }


def _container(class_name: str, host_ports: bool) -> dict:
    publish = [] if host_ports else [f"--publish-service=$(POD_NAMESPACE)/{SERVICE_NAME}"]
    ports = [{"name": name, "containerPort": port, "protocol": "TCP"} for name, port in _TRAFFIC_PORTS.items()]
    if host_ports:
        for port in ports:
            port["hostPort"] = HOST_PORTS[port["name"]]
    return {
        "name": "controller",
        "image": IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "args": [
            "/nginx-ingress-controller",
            *publish,
            f"--election-id={_ELECTION_ID}",
            f"--controller-class={CONTROLLER_VALUE}",
            f"--ingress-class={class_name}",
            f"--configmap=$(POD_NAMESPACE)/{_CONFIGMAP}",
            f"--validating-webhook=:{_WEBHOOK_PORT}",
            f"--validating-webhook-certificate={_CERT_DIR}cert",
            f"--validating-webhook-key={_CERT_DIR}key",
        ],
        "env": [
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "LD_PRELOAD", "value": "/usr/local/lib/libmimalloc.so"},
        ],
        "lifecycle": {"preStop": {"exec": {"command": ["/wait-shutdown"]}}},
        "livenessProbe": _probe(5),
        "readinessProbe": _probe(3),
        "ports": [*ports, {"name": "webhook", "containerPort": _WEBHOOK_PORT, "protocol": "TCP"}],
        "resources": {"requests": {"cpu": "100m", "memory": "90Mi"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]},
            "readOnlyRootFilesystem": False,
            "runAsGroup": 82,
            "runAsNonRoot": True,
            "runAsUser": 101,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [{"name": "webhook-cert", "mountPath": _CERT_DIR, "readOnly": True}],
    }


def _workload(class_name: str, host_ports: bool, labels: dict[str, str]) -> dict:
    """A Deployment of one replica, or under HostPort a DaemonSet on the worker nodes."""
    pod_spec = {
        "automountServiceAccountToken": True,
        "containers": [_container(class_name, host_ports)],
        "dnsPolicy": "ClusterFirst",
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "serviceAccountName": _NAME,
        "terminationGracePeriodSeconds": 300,
        "volumes": [{"name": "webhook-cert", "secret": {"secretName": _ADMISSION}}],
    }
    spec = {
        "selector": {"matchLabels": dict(_SELECTOR)},
        "minReadySeconds": 0,
        "revisionHistoryLimit": 10,
        "template": {"metadata": {"labels": _labels(labels, "controller")}, "spec": pod_spec},
    }
    if host_ports:
        no_control_plane = {"key": "node-role.kubernetes.io/control-plane", "operator": "DoesNotExist"}
        pod_spec["affinity"] = {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": [no_control_plane]}]
                }
            }
        }
        kind = "DaemonSet"
    else:
        spec |= {"replicas": 1, "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}}
        kind = "Deployment"
    return _object("apps/v1", kind, DEPLOYMENT_NAME, _labels(labels, "controller"), spec=spec)


def _controller_service(service_type: str, annotations: dict[str, str], labels: dict[str, str]) -> dict:
    """The traffic Service: LoadBalancer/NodePort keeping the client IP, or ClusterIP beside host ports."""
    spec = {
        "type": "ClusterIP" if service_type == "HostPort" else service_type,
        "ipFamilyPolicy": "SingleStack",
        "ipFamilies": ["IPv4"],
        "ports": [
            {"name": name, "appProtocol": name, "port": port, "protocol": "TCP", "targetPort": name}
            for name, port in _TRAFFIC_PORTS.items()
        ],
        "selector": dict(_SELECTOR),
    }
    if service_type != "HostPort":
        spec["externalTrafficPolicy"] = "Local"
    return _object("v1", "Service", SERVICE_NAME, _labels(labels, "controller"), annotations=annotations, spec=spec)


def render(
    *,
    class_name: str,
    make_default: bool,
    service_type: str,
    service_annotations: dict[str, str],
    labels: dict[str, str],
    webhook_ca: pulumi.Input[str],
    webhook_cert: pulumi.Input[str],
    webhook_key: pulumi.Input[str],
) -> dict[str, dict]:
    """suffix -> object. Suffixes are stable short names; the workload is ``"controller"`` whatever its kind."""
    if service_type not in SERVICE_TYPES:
        raise ValueError(f"service_type must be one of {', '.join(SERVICE_TYPES)}, not {service_type!r}")
    controller = _labels(labels, "controller")
    admission = _labels(labels, "admission-webhook")
    cluster = _labels(labels, None)  # upstream's ClusterRole and ClusterRoleBinding carry no component
    return {
        "namespace": _object("v1", "Namespace", NAMESPACE, {**labels, **_INSTANCE}, namespaced=False),
        "sa": _object("v1", "ServiceAccount", _NAME, controller, automountServiceAccountToken=True),
        "clusterrole": _object(
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            _NAME,
            cluster,
            namespaced=False,
            rules=_rules(_CLUSTER_ROLE_RULES),
        ),
        "clusterrolebinding": _binding("ClusterRoleBinding", cluster),
        "role": _object("rbac.authorization.k8s.io/v1", "Role", _NAME, controller, rules=_rules(_ROLE_RULES)),
        "rolebinding": _binding("RoleBinding", controller),
        "configmap": _object("v1", "ConfigMap", _CONFIGMAP, controller, data={}),
        "controller": _workload(class_name, service_type == "HostPort", labels),
        "service": _controller_service(service_type, service_annotations, labels),
        "admission-service": _object(
            "v1",
            "Service",
            _ADMISSION_SERVICE,
            controller,
            spec={
                "type": "ClusterIP",
                "ports": [{"name": "https-webhook", "appProtocol": "https", "port": 443, "targetPort": "webhook"}],
                "selector": dict(_SELECTOR),
            },
        ),
        "admission-secret": _object(
            "v1",
            "Secret",
            _ADMISSION,
            admission,
            type="Opaque",
            stringData={"ca": webhook_ca, "cert": webhook_cert, "key": webhook_key},
        ),
        "webhook": _object(
            "admissionregistration.k8s.io/v1",
            "ValidatingWebhookConfiguration",
            _ADMISSION,
            admission,
            namespaced=False,
            webhooks=[
                {
                    "name": "validate.nginx.ingress.kubernetes.io",
                    "matchPolicy": "Equivalent",
                    "rules": [
                        {
                            "apiGroups": ["networking.k8s.io"],
                            "apiVersions": ["v1"],
                            "operations": ["CREATE", "UPDATE"],
                            "resources": ["ingresses"],
                        }
                    ],
                    "failurePolicy": "Fail",
                    "sideEffects": "None",
                    "admissionReviewVersions": ["v1"],
                    "clientConfig": {
                        "service": {
                            "name": _ADMISSION_SERVICE,
                            "namespace": NAMESPACE,
                            "port": 443,
                            "path": "/networking/v1/ingresses",
                        },
                        "caBundle": ca_bundle(webhook_ca),
                    },
                }
            ],
        ),
        "ingressclass": _object(
            "networking.k8s.io/v1",
            "IngressClass",
            class_name,
            controller,
            namespaced=False,
            annotations={"ingressclass.kubernetes.io/is-default-class": "true" if make_default else "false"},
            spec={"controller": CONTROLLER_VALUE},
        ),
    }
