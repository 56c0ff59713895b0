"""The sandbox estate: a hub and member clusters in the Kubernetes emulator, the cloud API
emulators in front of the cloud kinds' clusters, and the sandbox controllers.

One world per data directory and process: the program may run several times in one process
(preview, then up), and every run must see the same clusters, URLs and credentials. The data
directory keeps them across processes too, including which cloud clusters were seeded: a cluster
seeded once and later deleted in its emulated cloud stays deleted (that is drift to be seen).
"""

from __future__ import annotations

import importlib
import json
import os
import threading
from pathlib import Path

from .controllers import SandboxControllers
from .kubeapi import KubeApiEmulator, VirtualCluster
from .nodes import ControlPlaneHosts, control_plane_nodes, host_control_planes
from .ports import PortClaims

DEFAULT_VERSION = "1.29.4"

# kind -> (module, class) of the emulated cloud API
CLOUD_EMULATORS = {
    "eks": ("sandbox.clouds.eks", "EksEmulator"),
    "gke": ("sandbox.clouds.gke", "GkeEmulator"),
    "aks": ("sandbox.clouds.aks", "AksEmulator"),
    "ack": ("sandbox.clouds.ack", "AckEmulator"),
    "tke": ("sandbox.clouds.tke", "TkeEmulator"),
    "ctyun": ("sandbox.clouds.ctyun", "CtyunEmulator"),
}

_WORLDS: dict[Path, SandboxWorld] = {}
_LOCK = threading.Lock()


class SandboxWorld:
    def __init__(self, data_dir: Path, hub: str):
        self.data_dir = data_dir
        self.emulator = KubeApiEmulator(data_dir / "kubeapi")
        self.emulator.add_cluster(hub, DEFAULT_VERSION, exist_ok=True)
        self.hub = hub
        self.controllers = SandboxControllers(self.emulator, hub)
        self._clouds: dict[str, object] = {}
        self._control_planes: dict[str, ControlPlaneHosts] = {}  # idc clusters' hosts, served over SSH
        self._seeded_file = data_dir / "seeded.json"
        self._seeded: list[list] = json.loads(self._seeded_file.read_text()) if self._seeded_file.exists() else []
        self._identities_file = data_dir / "cloud-identities.json"  # [kind, identity] of each cloud cluster asked for
        self._identities: list[list] = (
            json.loads(self._identities_file.read_text()) if self._identities_file.exists() else []
        )
        self._lock = threading.Lock()

    def start(self) -> None:
        self.emulator.start()
        self.controllers.start()

    def stop(self) -> None:
        self.controllers.stop()
        for hosts in self._control_planes.values():
            hosts.stop()
        for cloud in self._clouds.values():
            cloud.stop()
        self.emulator.stop()

    def cloud(self, kind: str):
        """The emulator of ``kind``'s cloud API, started on first use; its credentials-chain
        environment is exported to this process (the SDKs read it from there)."""
        with self._lock:
            emulator = self._clouds.get(kind)
            if emulator is None:
                module, name = CLOUD_EMULATORS[kind]
                emulator = getattr(importlib.import_module(module), name)(self.emulator, self.data_dir / kind)
                emulator.start()
                os.environ.update(emulator.environment())
                self._clouds[kind] = emulator
            return emulator

    def serve_earlier_clusters(self) -> None:
        """Start the cloud emulators and control-plane hosts of every cluster this world served before, declared
        now or not: a cluster removed from the stack is still there until its resources are deleted, and those
        deletes need its cloud's credentials (exported by :meth:`cloud`) and its hosts."""
        for kind in sorted({record[0] for record in self._seeded}):
            self.cloud(kind)
        nodes = self.data_dir / "nodes"
        for directory in sorted(nodes.iterdir()) if nodes.is_dir() else []:
            if directory.name in self.emulator:  # a cluster removed from the emulator stays removed
                self.ssh_access(directory.name)

    def cloud_cluster(self, kind: str, identity: dict[str, str], version: str = DEFAULT_VERSION) -> str:
        """Seed the cloud cluster the first time it is declared; returns the cloud API endpoint.
        ``identity`` holds the fields that locate a cluster in that cloud (region, name, ...), named
        as the emulator's ``add_cluster`` takes them."""
        emulator = self.cloud(kind)
        record = [kind, *identity.values()]
        with self._lock:
            if record not in self._seeded:
                emulator.add_cluster(**identity, version=version)
                self._seeded.append(record)
                self._seeded_file.write_text(json.dumps(self._seeded))
            if [kind, identity] not in self._identities:
                self._identities.append([kind, dict(identity)])
                self._identities_file.write_text(json.dumps(self._identities))
        return emulator.endpoint

    def cloud_clusters(self) -> list[dict]:
        """Each cloud cluster asked for: ``kind``, ``identity``, its cloud API ``endpoint`` and the ``backing``
        virtual cluster (as its cloud emulator names it)."""
        with self._lock:
            entries = [(kind, identity) for kind, identity in self._identities]
        return [
            {
                "kind": kind,
                "identity": identity,
                "endpoint": self.cloud(kind).endpoint,
                "backing": self.cloud(kind).backing_of(identity),
            }
            for kind, identity in entries
        ]

    def cluster(self, name: str, version: str = DEFAULT_VERSION) -> VirtualCluster:
        """The cluster of that name, created with ``version`` the first time it is asked for."""
        return self.emulator.add_cluster(name, version, exist_ok=True)

    def kubeconfig(self, name: str) -> str:
        return self.cluster(name).kubeconfig("admin")

    def ssh_access(self, cluster_name: str) -> dict:
        """SSH access to the control-plane host of idc cluster ``cluster_name`` (started on first use, stopped with
        the world): ``{hosts, port, user, private_key, known_hosts}``, what IdcEncryption's ``ssh`` takes."""
        with self._lock:
            hosts = self._control_planes.get(cluster_name)
            if hosts is None:
                directory = self.data_dir / "nodes" / cluster_name
                hosts = ControlPlaneHosts(self.cluster(cluster_name), directory, claims=PortClaims(self.data_dir))
                hosts.start()
                self._control_planes[cluster_name] = hosts
            return hosts.access()

    def environment(self) -> dict[str, str]:
        """What the cloud SDKs need to use the cloud emulators started so far (what :meth:`cloud` exports)."""
        with self._lock:
            clouds = list(self._clouds.values())
        return {name: value for cloud in clouds for name, value in cloud.environment().items()}

    def endpoints(self) -> dict[str, str]:
        """The API endpoint of each cloud emulator started so far, by kind."""
        with self._lock:
            return {kind: cloud.endpoint for kind, cloud in sorted(self._clouds.items())}

    def cluster_names(self) -> list[str]:
        """Every virtual cluster: the hub, idc clusters, cloud clusters' backing clusters, Karmada API servers."""
        return sorted(self.emulator.clusters)

    def host_control_plane(self, cluster_name: str) -> list[str]:
        """Give idc cluster ``cluster_name``'s control-plane node a host (the same one ``ssh_access`` serves), reached
        through pods on that node (``node_access: privileged-pod``); returns the node names."""
        with self._lock:
            cluster = self.cluster(cluster_name)
            nodes = control_plane_nodes(cluster)
            host_control_planes(cluster, self.data_dir / "nodes" / cluster_name, nodes)
            return nodes

    @property
    def hub_url(self) -> str:
        return self.emulator.cluster(self.hub).url


def open_world(data_dir: Path, hub: str) -> SandboxWorld:
    """The running world for ``data_dir``, started on first use; it lives as long as the process
    (the emulator saves its data at exit)."""
    key = data_dir.resolve()
    with _LOCK:
        world = _WORLDS.get(key)
        if world is None:
            key.mkdir(parents=True, exist_ok=True)
            world = SandboxWorld(key, hub)
            world.start()
            _WORLDS[key] = world
        return world
