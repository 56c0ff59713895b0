"""The sandbox estate: a hub and member clusters in the Kubernetes emulator, with controllers.

One world per data directory and process: the program may run several times in one process
(preview, then up), and every run must see the same clusters, URLs and credentials. The data
directory keeps them across processes too.
"""

from __future__ import annotations

import threading
from pathlib import Path

from .controllers import SandboxControllers
from .kubeapi import KubeApiEmulator, VirtualCluster

DEFAULT_VERSION = "1.29.4"

_WORLDS: dict[Path, "SandboxWorld"] = {}
_LOCK = threading.Lock()


class SandboxWorld:
    def __init__(self, data_dir: Path, hub: str):
        self.data_dir = data_dir
        self.emulator = KubeApiEmulator(data_dir / "kubeapi")
        self.emulator.add_cluster(hub, DEFAULT_VERSION, exist_ok=True)
        self.hub = hub
        self.controllers = SandboxControllers(self.emulator, hub)

    def start(self) -> None:
        self.emulator.start()
        self.controllers.start()

    def stop(self) -> None:
        self.controllers.stop()
        self.emulator.stop()

    def cluster(self, name: str, version: str = DEFAULT_VERSION) -> VirtualCluster:
        """The cluster of that name, created with ``version`` the first time it is asked for."""
        return self.emulator.add_cluster(name, version, exist_ok=True)

    def kubeconfig(self, name: str) -> str:
        return self.cluster(name).kubeconfig("admin")

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
