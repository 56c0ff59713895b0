"""The control-plane hosts of one virtual cluster, reachable over SSH as the engine reaches an idc cluster's.

Host ``n`` of a cluster is a node root (``<data_dir>/<node>/root``) behind its own SSH server on loopback
address ``127.0.0.<n>``; all hosts share one port, as real hosts share port 22, kept in ``<data_dir>/port`` so
that the access handed out (and recorded in a stack's state) stays the same from run to run. Host keys and the
client key are generated once and kept in ``<data_dir>``. Each root is bound to the cluster's API servers
(``VirtualCluster.at_rest``), which restart when its manifest changes and answer its ``etcdctl``.
"""

from __future__ import annotations

from pathlib import Path

import asyncssh

from ..ports import ATTEMPTS, PortClaims
from .root import NodeRoot
from .sshd import NodeSshServer

USER = "root"


def _key(path: Path) -> asyncssh.SSHKey:
    """The ed25519 key kept at ``path``, generated (mode 0600) the first time."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = asyncssh.generate_private_key("ssh-ed25519")
        path.touch(mode=0o600)
        path.write_bytes(key.export_private_key())
    return asyncssh.read_private_key(str(path))


CONTROL_PLANE = "node-role.kubernetes.io/control-plane"


def control_plane_nodes(cluster, count: int = 1) -> list[str]:
    """The first ``count`` nodes of ``cluster``, by name: those whose hosts the sandbox serves."""
    names = sorted(node["metadata"]["name"] for node in cluster.objects.list("v1", "Node"))
    if len(names) < count:
        raise ValueError(f"cluster {cluster.name} has {len(names)} nodes; {count} control-plane hosts asked for")
    return names[:count]


def host_control_planes(cluster, data_dir: Path, nodes: list[str]) -> dict[str, NodeRoot]:
    """Give each of ``nodes`` a host: its root under ``<data_dir>/<node>/root`` seeded as kubeadm leaves it, bound
    to the cluster's API servers (they run from it), and the Node labelled and tainted as kubeadm does a
    control-plane node. Reached over SSH (:class:`ControlPlaneHosts`) or through pods on the node
    (``sandbox.kubeapi.kubelet``); either way the same root."""
    roots = {node: NodeRoot(Path(data_dir) / node / "root") for node in nodes}
    for node, root in roots.items():
        root.seed(node, cluster.version)
        cluster.at_rest.bind(node, root.directory)
        found = cluster.objects.get("v1", "Node", node)
        spec, metadata = found.get("spec") or {}, found["metadata"]
        others = [taint for taint in spec.get("taints") or [] if taint.get("key") != CONTROL_PLANE]
        taints = [*others, {"key": CONTROL_PLANE, "effect": "NoSchedule"}]
        labels = {**(metadata.get("labels") or {}), CONTROL_PLANE: ""}
        if labels != metadata.get("labels") or taints != spec.get("taints"):
            cluster.objects.update(
                {**found, "metadata": {**metadata, "labels": labels}, "spec": {**spec, "taints": taints}}
            )
    return roots


class ControlPlaneHosts:
    def __init__(self, cluster, data_dir: Path, count: int = 1, claims: PortClaims | None = None):
        self.cluster, self.data_dir, self.claims = cluster, Path(data_dir), claims
        self.nodes = control_plane_nodes(cluster, count)
        self.roots = {node: NodeRoot(self.data_dir / node / "root") for node in self.nodes}
        self.client_key = _key(self.data_dir / "client_ed25519")
        self._client_key_text = (self.data_dir / "client_ed25519").read_text()  # exports differ (random checkint)
        self.servers = [
            NodeSshServer(
                self.roots[node],
                cluster.at_rest,
                _key(self.data_dir / node / "ssh_host_ed25519_key"),
                USER,
                self.client_key,
                address=f"127.0.0.{index + 1}",
            )
            for index, node in enumerate(self.nodes)
        ]

    def start(self) -> None:
        host_control_planes(self.cluster, self.data_dir, self.nodes)
        port_file = self.data_dir / "port"
        kept = int(port_file.read_text()) if port_file.exists() else 0
        for _ in range(ATTEMPTS):
            if kept and (self.claims is None or self.claims.claim(kept)) and self._start_all(kept):
                break
            kept = 0
            if self._start_all(0):
                break
        else:
            raise OSError(f"no loopback port free on all of {[s.address for s in self.servers]}")
        port_file.write_text(str(self.port))

    def _start_all(self, port: int) -> bool:
        """Start every host on ``port`` (0: the first takes a claimed new port); False when one cannot bind."""
        started = []
        try:
            port = self.servers[0].start(port, self.claims)
            started.append(self.servers[0])
            for server in self.servers[1:]:
                server.start(port)
                started.append(server)
        except OSError:
            for server in started:
                server.stop()
            return False
        return True

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    @property
    def port(self) -> int:
        return self.servers[0].port

    def access(self) -> dict:
        """What a stack passes to IdcEncryption's ``ssh``: hosts, port, user, private key and known_hosts text."""
        return {
            "hosts": [server.address for server in self.servers],
            "port": self.port,
            "user": USER,
            "private_key": self._client_key_text,
            "known_hosts": "".join(f"{server.known_hosts_line()}\n" for server in self.servers),
        }
