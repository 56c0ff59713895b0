"""What every cloud emulator shares: its public API and lifecycle, and how clusters are backed.

A cloud emulator answers one cloud's control-plane API on loopback (:mod:`.loopback`) and stands
each of its clusters on a virtual cluster of :mod:`sandbox.kubeapi`; a virtual cluster it creates
starts with what that cloud installs (node providerIDs, CSI drivers, StorageClasses:
:mod:`.cluster_addons`). The public API is the same
for every cloud, so that :mod:`sandbox.world` and the tests can drive any of them:

* ``Emulator(kube, data_dir=None, ...)``; ``start()``, ``stop()``, or use it as a context manager;
  ``endpoint`` (valid while started) and ``environment()`` (what the cloud's SDK credential chain
  reads) to point clients at it;
* ``add_cluster(<identity keys>, *, version=..., state=..., ...)`` and ``remove_cluster(<the same
  identity keys>)``, the keys being the kind's identity fields (``CLOUD_EMULATORS`` in
  :mod:`sandbox.world`);
* ``throttle_next(count)``, ``fail_next(count, code)``, ``deny_next(count)``: faults for the next
  API calls, in the cloud's own error shapes (:mod:`.faults`).

With ``data_dir`` the state (credentials, clusters, and the port, so that the endpoint stays the
same) is kept in ``<data_dir>/<kind>.json`` (:mod:`.store`) and a new emulator on that directory
answers as the old one did.
"""

from __future__ import annotations

import abc
import hashlib
import re
import ssl
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Self

from sandbox.kubeapi import KubeApiEmulator, VirtualCluster

from ..ports import PortClaims
from . import cluster_addons
from .faults import FaultQueue
from .loopback import LoopbackServer, Request, Response
from .store import JsonStore

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_MAX_NAME = 42  # what VirtualCluster accepts


def backing_name(kind: str, name: str) -> str:
    """The virtual cluster behind the cloud cluster ``name``: ``<kind>-<name>`` when that is a DNS
    label of at most 42 characters, else a cleaned-up, shortened label with a hash suffix (cloud
    names may hold capitals and ``_`` and run longer)."""
    candidate = f"{kind}-{name}"
    if len(candidate) <= _MAX_NAME and _DNS_LABEL.match(candidate):
        return candidate
    room = _MAX_NAME - 1 - len(f"{kind}--") - 8  # one character spare, two hyphens, eight hex digits
    cleaned = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:room].strip("-")
    return f"{kind}-{cleaned}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


class CloudEmulator(abc.ABC):
    """The lifecycle, persistence and fault queue of one cloud emulator (see the module docstring).

    A subclass sets :attr:`kind` (the state file, the log, the backing clusters' prefix), :attr:`name_field` and the
    wire details of its API, restores its state from :meth:`_load` in ``__init__``, answers
    requests in :meth:`_handle` and says what to keep in :meth:`_snapshot`.
    """

    kind: str
    name_field = "cluster_name"  # the identity field (``add_cluster``'s argument) naming a cluster in this cloud
    methods: tuple[str, ...] = ("GET", "POST", "PUT", "PATCH", "DELETE")  # the HTTP methods the API has
    keep_alive = False

    def __init__(self, kube: KubeApiEmulator, data_dir: Path | None = None):
        self.kube = kube
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self._store = JsonStore(self.data_dir, f"{self.kind}.json")
        self._lock = threading.RLock()
        self._faults: FaultQueue = FaultQueue()
        self._server: LoopbackServer | None = None
        self._port = 0

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> Self:
        with self._lock:
            if self._server is None:
                self._server = LoopbackServer.serve(
                    self._port,
                    self._handle,
                    PortClaims(self.data_dir) if self.data_dir is not None else None,
                    name=self.kind,
                    methods=self.methods,
                    keep_alive=self.keep_alive,
                    tls=self._tls(),
                )
                self._port = self._server.port
                self._save()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()
        self._save()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        """The API endpoint override to give the SDKs; valid after :meth:`start`."""
        if self._server is None:
            raise RuntimeError(f"the {self.kind} emulator is not started")
        return f"{'https' if self._server.tls else 'http'}://127.0.0.1:{self._port}"

    @abc.abstractmethod
    def environment(self) -> dict[str, str]:
        """What the cloud SDK's credential chain reads to use this emulator."""

    # --- clusters and faults (signatures are the kind's: see the module docstring) ----------------

    @abc.abstractmethod
    def add_cluster(self, *identity: str, version: str, **options) -> dict:
        """Add a cluster backed by a virtual cluster running ``version``; returns it as the API shows it."""

    @abc.abstractmethod
    def remove_cluster(self, *identity: str) -> None:
        """The cluster is deleted in the cloud: the API forgets it and its API server goes away."""

    @abc.abstractmethod
    def throttle_next(self, count: int = 1) -> None: ...

    @abc.abstractmethod
    def fail_next(self, count: int = 1, code=None) -> None: ...

    @abc.abstractmethod
    def deny_next(self, count: int = 1) -> None: ...

    # --- for subclasses -------------------------------------------------------------------------

    @abc.abstractmethod
    def _handle(self, request: Request) -> Response:
        """Answer one API request."""

    @abc.abstractmethod
    def _snapshot(self) -> dict:
        """The state to keep in the data directory (the port is added)."""

    def _tls(self) -> ssl.SSLContext | None:
        """The server's TLS context; None serves plain HTTP."""
        return None

    def _load(self) -> dict:
        """The state saved by an earlier emulator on the data directory (empty without one); the
        port it served on is remembered for :meth:`start`."""
        saved = self._store.load()
        self._port = saved.pop("port", 0)
        return saved

    def _save(self) -> None:
        with self._lock:
            self._store.save({**self._snapshot(), "port": self._port})

    def backing_of(self, identity: Mapping[str, str]) -> str:
        """The name of the virtual cluster behind the cloud cluster of ``identity`` (``add_cluster``'s fields)."""
        return backing_name(self.kind, identity[self.name_field])

    def _backing_cluster(self, name: str, version: str, placement: Mapping[str, str]) -> VirtualCluster:
        """The virtual cluster behind the cloud cluster ``name``, created on first use. A cluster
        this call creates is seeded with what the cloud installs (:func:`.cluster_addons.seed`, given
        ``placement``: region, project, ...); one that exists already (e.g. reloaded from the data
        directory) is returned as it is, so objects deleted from it stay deleted."""
        backing = backing_name(self.kind, name)
        with self._lock:
            created = backing not in self.kube
            cluster = self.kube.add_cluster(backing, version, exist_ok=True)
            if created:
                cluster_addons.seed(cluster, self.kind, placement)
        return cluster

    def _remove_backing(self, name: str) -> None:
        backing = backing_name(self.kind, name)
        if backing in self.kube:
            self.kube.remove_cluster(backing)
