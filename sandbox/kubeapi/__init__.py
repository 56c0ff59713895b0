"""Kubernetes API emulator: many virtual clusters, each served over HTTPS on its own loopback port.

Typical use::

    with KubeApiEmulator(data_dir=None) as server:
        cluster = server.add_cluster("member-1", version="1.29.4")
        config = yaml.safe_load(cluster.kubeconfig())     # admin token + embedded CA
        api = kubernetes.config.new_client_from_config_dict(config)
        cluster.objects.create({"apiVersion": "v1", "kind": "ConfigMap", ...})   # in-process
        cluster.set_faults(latency=0.2, error_rate=0.1)

Not emulated: pods actually running (Deployments get ReplicaSets and Pods that are ready at once,
DaemonSets just report ready), scheduling, admission webhooks, aggregated ClusterRoles and RBAC escalation
checks, CEL/``anyOf`` schema rules, CRD conversion webhooks, protobuf responses (requests: only the
kinds kubectl's typed commands send), ``x-kubernetes-patch-merge-key`` in the OpenAPI documents, ``selectableFields`` of CRDs (1.30+),
field selectors of ``events.k8s.io`` (their core names work on ``v1`` events), JSON-patch field validation, and the consistent-snapshot semantics of paginated
lists. Each module's docstring states its shortcuts.

Module map: ``emulator`` (many clusters, persistence), ``cluster`` (one cluster), ``rest`` (HTTP
routing and verbs), ``operations`` (API semantics), ``rules``/``crd``/``schema`` (per-kind
behaviour), ``patch``/``managedfields`` (patch types, server-side apply), ``store`` (versions and
events), ``controlplane`` (background controllers; ``background``: the few threads they run on), ``auth``/``satokens``/``users`` (credentials,
RBAC), ``impersonation``, ``reviews`` (whoami, can-i, token reviews), ``discovery``, ``openapi``/
``typeschemas`` (OpenAPI documents, built-in fields), ``fieldvalidation`` (unknown fields),
``defaults``, ``fieldlabels``/``selectors``, ``tables`` (server-side printing), ``scale``,
``protobody`` (protobuf requests), ``workloads`` (Deployment -> ReplicaSet -> Pod), ``faults``, ``pki``, ``httpserver``, ``objectapi`` (in-process access).
"""

from .cluster import VirtualCluster
from .emulator import KubeApiEmulator
from .errors import ApiError
from .faults import FaultSettings
from .objectapi import Event, EventStream, ObjectApi, Subscription
from .store import Change
from .users import UserInfo

__all__ = [
    "KubeApiEmulator",
    "VirtualCluster",
    "ObjectApi",
    "Event",
    "EventStream",
    "Subscription",
    "ApiError",
    "Change",
    "FaultSettings",
    "UserInfo",
]
