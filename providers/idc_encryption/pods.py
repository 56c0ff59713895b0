"""Control-plane nodes reached through a short-lived privileged pod per node (DOMAIN §7.2
``node_access: privileged-pod``), over the cluster's own API with the member's kubeconfig.

For each node labelled ``node-role.kubernetes.io/control-plane`` one pod is created in :data:`NAMESPACE`, pinned
to it (``nodeName``), tolerating the control-plane taints, privileged, with the host's ``/`` mounted at
``/host`` and the host's network (``etcdctl`` reaches etcd on the node's loopback), ``restartPolicy: Never``.
Once every pod runs, each operation is one command through the exec API (:mod:`.podexec`):

* files with the image's busybox on ``/host/<path>``: ``cat``, ``test -e``, ``mkdir -p``, ``rm -f``, and
  :data:`WRITE`, the one shell script, which takes the content on stdin (exactly its length, ``head -c``),
  checks the length, sets the mode and renames it over the target;
* host commands (``hostname``, ``etcdctl``) as ``chroot /host sh -c <command>``, with the host's own tools.

The pods are deleted when the run ends, failed or not. A run killed before that leaves them behind: they stop by
themselves after :data:`LIFETIME_SECONDS` (the container sleeps that long, and ``activeDeadlineSeconds``), and
the next run deletes every pod carrying :data:`ROLE_LABEL` for the cluster before it creates its own.

The namespace is fleetform's own, created with Pod Security level ``privileged`` (a namespace apart from
``fleetform-system``, whose workloads need no such level), and deleted with the encryption resource. The image is pinned by digest: busybox 1.37.0 (musl)
as Docker Official Images publish it (the multi-platform index, docker-library/repo-info
``repos/busybox/remote/1.37.0-musl.md``).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import quote

from kubeclient import KubeClientError

from .. import kube
from ..errors import ClusterAccessError, ErrorCode
from . import podexec
from .errors import IdcEncryptionError
from .transport import CONFIG_DIR, KUBEADM_MANIFEST

log = logging.getLogger("fleetform.idc_encryption")

NAMESPACE = "fleetform-node-access"
IMAGE = "docker.io/library/busybox:1.37.0-musl@sha256:1256f55742579badea94e3e2f574fc90021120f6c1aa01c87182566dfb950c39"
CONTAINER = "node-access"
HOST_MOUNT = "/host"
CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"
ROLE_LABEL = "fleetform.io/role"
ROLE = "encryption-node-access"
CLUSTER_LABEL = "fleetform.io/cluster"
LIFETIME_SECONDS = 7200
START_SECONDS = 180.0  # the image is pulled on first use
POLL_SECONDS = 0.2
CALL_SECONDS = 300.0  # an etcd snapshot of a large cluster takes a while
TOLERATIONS = [
    {"key": CONTROL_PLANE_LABEL, "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node-role.kubernetes.io/master", "operator": "Exists", "effect": "NoSchedule"},  # before 1.24
]
# $1 length, $2 temporary file, $3 target, $4 mode (octal); the content on stdin
WRITE = (
    'umask 077 && mkdir -p "${3%/*}" && head -c "$1" > "$2" && [ "$(wc -c < "$2")" -eq "$1" ] '
    '&& chmod "$4" "$2" && mv -f "$2" "$3" || { rm -f "$2"; exit 1; }'
)


@dataclass(frozen=True)
class PodAccess:
    kubeconfig: str = field(repr=False)  # the member's admin kubeconfig
    manifest_path: str = KUBEADM_MANIFEST
    config_dir: str = CONFIG_DIR
    image: str = IMAGE

    def connect(self, cluster: str) -> Pods:
        return Pods(self, cluster)

    def remove_namespace(self, cluster: str) -> None:
        """Delete :data:`NAMESPACE` (encryption is gone from the cluster: nothing will run there again)."""
        Pods(self, cluster)._call("DELETE", f"/api/v1/namespaces/{NAMESPACE}", ok=(200, 202, 404), what="delete")


def pod_manifest(cluster: str, node: str, image: str) -> dict:
    suffix = f"{hashlib.sha256(node.encode()).hexdigest()[:10]}-{secrets.token_hex(3)}"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"fleetform-node-access-{suffix}",
            "namespace": NAMESPACE,
            "labels": {"app.kubernetes.io/managed-by": "fleetform", ROLE_LABEL: ROLE, CLUSTER_LABEL: cluster},
            "annotations": {"fleetform.io/node": node},
        },
        "spec": {
            "nodeName": node,
            "hostNetwork": True,
            "restartPolicy": "Never",
            "activeDeadlineSeconds": LIFETIME_SECONDS,
            "terminationGracePeriodSeconds": 1,
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "tolerations": TOLERATIONS,
            "containers": [
                {
                    "name": CONTAINER,
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["sleep", str(LIFETIME_SECONDS)],
                    "securityContext": {"privileged": True},
                    "volumeMounts": [{"name": "host", "mountPath": HOST_MOUNT}],
                }
            ],
            "volumes": [{"name": "host", "hostPath": {"path": "/", "type": "Directory"}}],
        },
    }


class PodNode:
    """One control-plane node through its pod (a :class:`~.node.Node`)."""

    def __init__(self, node: str, pod: str, client, cluster: str):
        self.address, self.pod, self._client, self._cluster = node, pod, client, cluster

    def _exec(self, argv: list[str], stdin: bytes = b"") -> podexec.ExecResult:
        try:
            return podexec.run(self._client, NAMESPACE, self.pod, CONTAINER, argv, stdin, CALL_SECONDS)
        except podexec.ExecFailed as exc:
            code = ErrorCode.ENC_NODE_ACCESS_UNAVAILABLE if exc.status == 403 else ErrorCode.ENC_NODE_UNREACHABLE
            raise IdcEncryptionError(
                code,
                f"control-plane node '{self.address}' of '{self._cluster}': exec into pod {NAMESPACE}/{self.pod} "
                f"failed ({exc})" + (_RBAC_HINT if exc.status == 403 else ""),
            ) from None

    def _checked(self, argv: list[str], stdin: bytes = b"", shown: str = "") -> bytes:
        result = self._exec(argv, stdin)
        if result.status != 0:
            error = result.stderr.decode(errors="replace").strip()[:500]
            raise IdcEncryptionError(
                ErrorCode.ENC_PHASE_FAILED,
                f"{self.address}: `{shown or ' '.join(argv)}` exited {result.status}: {error}",
            )
        return result.stdout

    def read(self, path: str) -> bytes | None:
        result = self._exec(["cat", _on_host(path)])
        if result.status == 0:
            return result.stdout
        if self._exec(["test", "-e", _on_host(path)]).status == 1:
            return None
        error = result.stderr.decode(errors="replace").strip()[:500]
        raise IdcEncryptionError(ErrorCode.ENC_PHASE_FAILED, f"{self.address}: cannot read {path}: {error}")

    def write(self, path: str, data: bytes, mode: int = 0o600) -> None:
        target = PurePosixPath(_on_host(path))
        temporary = str(target.with_name(f".{target.name}.fleetform-{secrets.token_hex(4)}"))
        argv = ["sh", "-c", WRITE, "fleetform-write", str(len(data)), temporary, str(target), f"{mode:o}"]
        self._checked(argv, data, shown=f"write {path} ({len(data)} bytes, mode {mode:o})")

    def makedirs(self, path: str, mode: int = 0o700) -> None:
        self._checked(["mkdir", "-p", "-m", f"{mode:o}", _on_host(path)])

    def remove(self, path: str) -> None:
        self._checked(["rm", "-f", _on_host(path)])

    def run(self, command: str) -> bytes:
        return self._checked(["chroot", HOST_MOUNT, "sh", "-c", command], shown=command)


_RBAC_HINT = (
    f"; the kubeconfig's user needs create, get, list and delete on pods and create and get on pods/exec in namespace "
    f"{NAMESPACE}, and the namespace must admit privileged pods (pod-security.kubernetes.io/enforce: privileged); "
    "or set node_access: ssh"
)


def _on_host(path: str) -> str:
    if not path.startswith("/") or ".." in PurePosixPath(path).parts:
        raise ValueError(f"{path!r} is not an absolute host path")
    return HOST_MOUNT + path


class Pods:
    """One privileged pod per control-plane node while inside ``with``; deleted on the way out, whatever happened."""

    def __init__(self, access: PodAccess, cluster: str):
        self.access, self.cluster = access, cluster
        self.client = kube.api_client(access.kubeconfig, cluster)
        self.created: list[str] = []

    def __enter__(self) -> list[PodNode]:
        nodes = self._control_plane_nodes()
        self._ensure_namespace()
        self._remove_leftovers()
        try:
            pods = {}
            for node in nodes:
                manifest = pod_manifest(self.cluster, node, self.access.image)
                self._call("POST", f"/api/v1/namespaces/{NAMESPACE}/pods", manifest, ok=(201,), what="create a pod")
                self.created.append(manifest["metadata"]["name"])
                pods[node] = manifest["metadata"]["name"]
            for node, pod in pods.items():
                self._await_running(node, pod)
        except BaseException:
            self.__exit__()
            raise
        return [PodNode(node, pod, self.client, self.cluster) for node, pod in pods.items()]

    def __exit__(self, *exc) -> None:
        left = []
        for pod in self.created:
            try:
                self._call("DELETE", f"/api/v1/namespaces/{NAMESPACE}/pods/{pod}", ok=(200, 202, 404), what="delete")
            except ClusterAccessError as error:
                left.append(f"{pod} ({error})")
        self.created = []
        if left:  # the next run removes them; until then they stop by themselves after LIFETIME_SECONDS
            log.error("%s: privileged pods left in %s: %s", self.cluster, NAMESPACE, "; ".join(left))

    def _call(self, method: str, path: str, body=None, ok=(200,), query=None, what: str = "") -> tuple[int, dict]:
        try:
            status, data = self.client.request(method, path, query=query, body=body, timeout=30.0, attempts=3)
        except KubeClientError as exc:
            raise ClusterAccessError(None, str(exc)) from exc
        if status in ok:
            return status, data if isinstance(data, dict) else {}
        message = data.get("message") if isinstance(data, dict) else data
        if status == 403:
            raise IdcEncryptionError(
                ErrorCode.ENC_NODE_ACCESS_UNAVAILABLE,
                f"cluster '{self.cluster}': may not {what or method} ({method} {path}: {message})" + _RBAC_HINT,
            )
        raise IdcEncryptionError(
            ErrorCode.ENC_PHASE_FAILED, f"{self.cluster}: {method} {path} answered HTTP {status}: {message}"
        )

    def _control_plane_nodes(self) -> list[str]:
        _, found = self._call("GET", "/api/v1/nodes", query={"labelSelector": CONTROL_PLANE_LABEL}, what="list nodes")
        nodes = sorted(item["metadata"]["name"] for item in found.get("items") or [])
        if not nodes:
            raise IdcEncryptionError(
                ErrorCode.ENC_NOT_KUBEADM,
                f"cannot manage encryption on '{self.cluster}': no node is labelled {CONTROL_PLANE_LABEL} (kubeadm "
                "labels its control-plane nodes so); label them, or set node_access: ssh with the hosts",
            )
        return nodes

    def _ensure_namespace(self) -> None:
        namespace = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": NAMESPACE,
                "labels": {
                    "app.kubernetes.io/managed-by": "fleetform",
                    "pod-security.kubernetes.io/enforce": "privileged",
                },
            },
        }
        self._call("POST", "/api/v1/namespaces", namespace, ok=(201, 409), what="create a namespace")  # 409: exists

    def _remove_leftovers(self) -> None:
        """Pods of this cluster's earlier runs that were killed before they could delete them."""
        selector = f"{ROLE_LABEL}={ROLE},{CLUSTER_LABEL}={self.cluster}"
        _, found = self._call(
            "GET", f"/api/v1/namespaces/{NAMESPACE}/pods", query={"labelSelector": selector}, what="list pods"
        )
        for item in found.get("items") or []:
            name = item["metadata"]["name"]
            log.warning("%s: removing privileged pod %s/%s left by an interrupted run", self.cluster, NAMESPACE, name)
            self._call(
                "DELETE", f"/api/v1/namespaces/{NAMESPACE}/pods/{quote(name)}", ok=(200, 202, 404), what="delete"
            )

    def _await_running(self, node: str, pod: str) -> None:
        seen = {"reason": "not created yet"}

        def running() -> bool:
            _, found = self._call("GET", f"/api/v1/namespaces/{NAMESPACE}/pods/{pod}", ok=(200,), what="read a pod")
            status = found.get("status") or {}
            phase = status.get("phase") or "Pending"
            if phase in ("Failed", "Succeeded"):
                raise self._unreachable(node, f"pod {pod} ended ({phase}: {status.get('reason') or _waiting(status)})")
            seen["reason"] = f"{phase}: {_waiting(status)}"
            containers = status.get("containerStatuses") or []
            return phase == "Running" and any(c.get("name") == CONTAINER and c.get("ready") for c in containers)

        try:
            kube.wait_for(running, START_SECONDS, POLL_SECONDS, f"pod {pod} on {node}")
        except TimeoutError:
            raise self._unreachable(
                node, f"pod {pod} not running within {START_SECONDS:.0f}s ({seen['reason']})"
            ) from None

    def _unreachable(self, node: str, cause: str) -> IdcEncryptionError:
        return IdcEncryptionError(
            ErrorCode.ENC_NODE_UNREACHABLE,
            f"control-plane node '{node}' of '{self.cluster}' unreachable through a privileged pod ({cause}); all "
            "API servers must share one config",
        )


def _waiting(status: dict) -> str:
    """Why the pod is not running yet: a container's waiting reason, else the scheduling condition's message."""
    for container in status.get("containerStatuses") or []:
        waiting = (container.get("state") or {}).get("waiting")
        if waiting:
            return f"{waiting.get('reason', '')} {waiting.get('message', '')}".strip()
    for condition in status.get("conditions") or []:
        if condition.get("status") != "True" and condition.get("message"):
            return condition["message"]
    return "no container status yet"
