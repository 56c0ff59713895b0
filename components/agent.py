"""The klusterlet agent's objects in a member (DOMAIN §5.3), from one source.

:func:`agent_objects` feeds both the resources fleetform applies itself (``agent_install: engine``)
and the ``agent_manifest`` YAML a user applies by hand (``agent_install: manual``), so the two can
never drift apart. The bootstrap kubeconfig may be a ``pulumi.Output`` (for the resources) or plain
text (for the manifest).
"""

from __future__ import annotations

import functools
from typing import Any

import yaml

from .ocm import OCM_RELEASE
from .rbac import service_account_binding

AGENT_NAMESPACE = "open-cluster-management-agent"
AGENT_SERVICE_ACCOUNT = "klusterlet"
AGENT_DEPLOYMENT = "klusterlet-agent"
AGENT_BINDING = "fleetform-klusterlet"
BOOTSTRAP_SECRET = "bootstrap-hub-kubeconfig"
AGENT_IMAGE = f"quay.io/open-cluster-management/registration:v{OCM_RELEASE}"


def agent_objects(
    cluster: str, bootstrap_kubeconfig: Any, labels: dict[str, str], node_selector: dict[str, str] | None = None
) -> dict[str, dict]:
    """Namespace, ServiceAccount, ClusterRoleBinding, bootstrap Secret and Deployment, in apply
    order, each under the stable suffix of its resource name (see :func:`components.delivery.deliver`).
    ``node_selector`` (the cluster's ``agent_node_selector``) pins the agent's pod to matching nodes."""

    def meta(name: str, namespace: str | None = None) -> dict:
        return {"name": name, **({"namespace": namespace} if namespace else {}), "labels": dict(labels)}

    return {
        "agent-ns": {"apiVersion": "v1", "kind": "Namespace", "metadata": meta(AGENT_NAMESPACE)},
        "agent-sa": {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": meta(AGENT_SERVICE_ACCOUNT, AGENT_NAMESPACE),
        },
        "agent-binding": service_account_binding(
            meta(AGENT_BINDING), "cluster-admin", AGENT_SERVICE_ACCOUNT, AGENT_NAMESPACE
        ),
        "agent-bootstrap": {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": meta(BOOTSTRAP_SECRET, AGENT_NAMESPACE),
            "stringData": {"kubeconfig": bootstrap_kubeconfig},
        },
        "agent": {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta(AGENT_DEPLOYMENT, AGENT_NAMESPACE),
            "spec": _deployment_spec(cluster, node_selector or {}),
        },
    }


def agent_manifest(
    cluster: str, bootstrap_kubeconfig: str, labels: dict[str, str], node_selector: dict[str, str] | None = None
) -> str:
    """The ``agent_manifest`` text. Rendering YAML in pure Python costs tens of milliseconds a cluster, and
    the program asks for it on every run of every agent cluster, with inputs that seldom change: it is
    rendered once per distinct input in this process (kept in memory only, as the output it becomes)."""
    return _rendered(cluster, bootstrap_kubeconfig, tuple(labels.items()), tuple((node_selector or {}).items()))


@functools.cache
def _rendered(
    cluster: str, bootstrap_kubeconfig: str, labels: tuple[tuple[str, str], ...], node_selector: tuple
) -> str:
    return render_manifest(
        list(agent_objects(cluster, bootstrap_kubeconfig, dict(labels), dict(node_selector)).values())
    )


def render_manifest(objects: list[dict]) -> str:
    """Objects as one multi-document YAML, in the order given (the order ``kubectl apply -f`` needs)."""
    return yaml.safe_dump_all(objects, sort_keys=False)


def _deployment_spec(cluster: str, node_selector: dict[str, str]) -> dict:
    selector = {"app": AGENT_DEPLOYMENT}
    return {
        "replicas": 1,
        "selector": {"matchLabels": selector},
        "template": {
            "metadata": {"labels": selector},
            "spec": {
                "serviceAccountName": AGENT_SERVICE_ACCOUNT,
                **({"nodeSelector": dict(node_selector)} if node_selector else {}),
                "containers": [
                    {
                        "name": "agent",
                        "image": AGENT_IMAGE,
                        "args": [
                            "agent",
                            f"--cluster-name={cluster}",
                            "--bootstrap-kubeconfig=/spoke/bootstrap/kubeconfig",
                        ],
                        "volumeMounts": [{"name": "bootstrap", "mountPath": "/spoke/bootstrap", "readOnly": True}],
                    }
                ],
                "volumes": [{"name": "bootstrap", "secret": {"secretName": BOOTSTRAP_SECRET}}],
            },
        },
    }
