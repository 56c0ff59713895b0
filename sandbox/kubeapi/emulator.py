"""Many virtual clusters in one process, optionally persisted under a data directory."""

from __future__ import annotations

import atexit
import threading
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..ports import PortClaims
from .cluster import VirtualCluster
from .persistence import Persister
from .store import Change


class KubeApiEmulator:
    """Hosts virtual clusters, each on its own loopback HTTPS port.

    ``data_dir=None`` keeps everything in memory; with a directory, clusters (ports, keys,
    tokens, objects) are saved and a new emulator on the same directory brings them back with the
    same URLs and credentials. Clusters are served between :meth:`start` and :meth:`stop` (also a
    context manager); their ports are claimed as soon as they are added or loaded.
    :meth:`subscribe` tells a controller which cluster changed (an object, its reachability or fault
    settings; added or removed), so it need not poll.
    """

    def __init__(self, data_dir: str | Path | None = None, *, seed: int = 0):
        self.seed = seed
        self._lock = threading.RLock()
        self._clusters: dict[str, VirtualCluster] = {}
        self._running = False
        self._listeners: list[Callable[[str, Change | None], None]] = []
        self._persister = Persister(Path(data_dir)) if data_dir is not None else None
        self._claims = PortClaims(Path(data_dir)) if data_dir is not None else None
        if self._persister:
            for state in self._persister.load_all():
                cluster = VirtualCluster.from_state(state, seed=self._seed_for(state["name"]), claims=self._claims)
                self._track(cluster)
            atexit.register(self.flush)

    def _seed_for(self, name: str) -> int:
        return zlib.crc32(name.encode()) ^ self.seed

    def _track(self, cluster: VirtualCluster) -> None:
        self._clusters[cluster.name] = cluster
        cluster.on_change = lambda change=None: self._changed(cluster, change)
        cluster.on_change()

    def _changed(self, cluster: VirtualCluster, change: Change | None) -> None:
        """Called on every write (under the cluster's store lock): only cheap bookkeeping here."""
        if self._persister:
            self._persister.mark(cluster.name, cluster.state_json)
        for listener in self._listeners:
            listener(cluster.name, change)

    def subscribe(self, listener: Callable[[str, Change | None], None]) -> None:
        """Call ``listener(cluster_name, change)`` after every write in that cluster (the store's
        :class:`Change`), and with None when anything else about it changed (reachability, faults,
        users) or when it was added or removed. It runs on the writer's thread, inside the write: it
        should only take note."""
        self._listeners.append(listener)

    # --- clusters -------------------------------------------------------------------------------

    def add_cluster(
        self,
        name: str,
        version: str = "1.29.4",
        *,
        nodes: int = 1,
        simulate_workloads: bool = True,
        exist_ok: bool = False,
    ) -> VirtualCluster:
        """Create a cluster (``version`` like ``"1.28.3"`` or ``"v1.29.4-eks-1a2b3c"``). With
        ``exist_ok`` an existing cluster of that name (e.g. loaded from disk) is returned as is."""
        with self._lock:
            if name in self._clusters:
                if exist_ok:
                    return self._clusters[name]
                raise ValueError(f"cluster {name!r} already exists")
            cluster = VirtualCluster(
                name,
                version,
                nodes=nodes,
                simulate_workloads=simulate_workloads,
                seed=self._seed_for(name),
                claims=self._claims,
            )
            self._track(cluster)
            if self._running:
                cluster.start()
            return cluster

    def remove_cluster(self, name: str) -> None:
        with self._lock:
            cluster = self._clusters.pop(name)
        cluster.on_change = lambda change=None: None
        cluster.stop()
        if self._persister:
            self._persister.forget(name)
        for listener in self._listeners:
            listener(name, None)

    def cluster(self, name: str) -> VirtualCluster:
        return self._clusters[name]

    __getitem__ = cluster

    def __contains__(self, name: str) -> bool:
        return name in self._clusters

    @property
    def clusters(self) -> dict[str, VirtualCluster]:
        return dict(self._clusters)

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> KubeApiEmulator:
        with self._lock:
            self._running = True
            for cluster in self._clusters.values():
                cluster.start()
        return self

    def stop(self) -> None:
        with self._lock:
            self._running = False
            clusters = list(self._clusters.values())
        if clusters:
            with ThreadPoolExecutor(max_workers=min(16, len(clusters))) as pool:
                list(pool.map(lambda c: c.stop(), clusters))
        self.flush()

    def flush(self) -> None:
        """Write pending cluster state to the data directory now."""
        if self._persister:
            self._persister.flush()

    def __enter__(self) -> KubeApiEmulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
