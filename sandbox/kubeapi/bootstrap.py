"""The objects a freshly installed cluster already has.

System namespaces (``kube-system`` has the stable UID clients use as the cluster's identity),
the default RBAC roles and bindings (``cluster-admin`` bound to ``system:masters``, discovery and
health paths open to every authenticated user; ``admin``/``edit``/``view`` with simplified
rules), the ``kubernetes`` Service and Endpoints, and Ready nodes reporting the cluster version.
"""

from __future__ import annotations

from . import discovery

MANAGER = "kube-apiserver"
_RBAC = "rbac.authorization.k8s.io/v1"
_APP_GROUPS = ["", "apps", "batch", "autoscaling", "policy", "networking.k8s.io", "coordination.k8s.io"]
_READ = ["get", "list", "watch"]
_WRITE = ["create", "delete", "deletecollection", "patch", "update"]
_DEFAULTS_LABELS = {"kubernetes.io/bootstrapping": "rbac-defaults"}
_ANNOTATIONS = {"rbac.authorization.kubernetes.io/autoupdate": "true"}


def _role(name: str, rules: list[dict]) -> dict:
    return {
        "apiVersion": _RBAC,
        "kind": "ClusterRole",
        "metadata": {"name": name, "labels": _DEFAULTS_LABELS, "annotations": _ANNOTATIONS},
        "rules": rules,
    }


def _binding(name: str, role: str, groups: list[str]) -> dict:
    return {
        "apiVersion": _RBAC,
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name, "labels": _DEFAULTS_LABELS, "annotations": _ANNOTATIONS},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": g} for g in groups],
    }


def default_objects(cluster_name: str, version: str, port: int, nodes: int) -> list[dict]:
    view_resources = [
        "configmaps",
        "endpoints",
        "events",
        "pods",
        "pods/log",
        "services",
        "serviceaccounts",
        "namespaces",
        "deployments",
        "daemonsets",
        "replicasets",
        "statefulsets",
        "jobs",
        "cronjobs",
        "ingresses",
        "leases",
    ]
    objects = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}}
        for n in ("default", "kube-system", "kube-public", "kube-node-lease")
    ]
    objects += [
        _role(
            "cluster-admin",
            [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, {"nonResourceURLs": ["*"], "verbs": ["*"]}],
        ),
        _role(
            "admin",
            [{"apiGroups": _APP_GROUPS + ["rbac.authorization.k8s.io"], "resources": ["*"], "verbs": _READ + _WRITE}],
        ),
        _role("edit", [{"apiGroups": _APP_GROUPS, "resources": ["*"], "verbs": _READ + _WRITE}]),
        _role("view", [{"apiGroups": _APP_GROUPS, "resources": view_resources, "verbs": _READ}]),
        _role(
            "system:discovery",
            [
                {
                    "nonResourceURLs": [
                        "/api",
                        "/api/*",
                        "/apis",
                        "/apis/*",
                        "/healthz",
                        "/livez",
                        "/readyz",
                        "/openapi",
                        "/openapi/*",
                        "/version",
                        "/version/",
                    ],
                    "verbs": ["get"],
                }
            ],
        ),
        _role(
            "system:public-info-viewer",
            [{"nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"], "verbs": ["get"]}],
        ),
        _role(
            "system:basic-user",
            [
                {
                    "apiGroups": ["authorization.k8s.io"],
                    "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                    "verbs": ["create"],
                },
                {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"], "verbs": ["create"]},
            ],
        ),
        _binding("cluster-admin", "cluster-admin", ["system:masters"]),
        _binding("system:discovery", "system:discovery", ["system:authenticated"]),
        _binding(
            "system:public-info-viewer", "system:public-info-viewer", ["system:authenticated", "system:unauthenticated"]
        ),
        _binding("system:basic-user", "system:basic-user", ["system:authenticated"]),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "kubernetes",
                "namespace": "default",
                "labels": {"component": "apiserver", "provider": "kubernetes"},
            },
            "spec": {
                "clusterIP": "10.96.0.1",
                "type": "ClusterIP",
                "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}],
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": "kubernetes", "namespace": "default"},
            "subsets": [
                {"addresses": [{"ip": "127.0.0.1"}], "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}
            ],
        },
    ]
    git_version = discovery.version_info(version)["gitVersion"]
    for n in range(1, nodes + 1):
        name = f"{cluster_name}-node-{n}"
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": name,
                    "labels": {
                        "kubernetes.io/hostname": name,
                        "kubernetes.io/os": "linux",
                        "kubernetes.io/arch": "amd64",
                    },
                },
                "spec": {},
                "status": _node_status(git_version),
            }
        )
    return objects


def _node_status(git_version: str) -> dict:
    return {
        "conditions": [
            {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"}
        ],
        "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
        "allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110"},
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
        "nodeInfo": {
            "kubeletVersion": git_version,
            "kubeProxyVersion": git_version,
            "operatingSystem": "linux",
            "architecture": "amd64",
            "containerRuntimeVersion": "containerd://1.7.13",
            "osImage": "Ubuntu 22.04.4 LTS",
            "kernelVersion": "5.15.0",
        },
    }
