"""Encryption at rest of a virtual cluster whose control plane runs on fake hosts (``sandbox/nodes``).

A cluster may be bound to node roots: directories that stand for the filesystem of control-plane hosts, each
running one kube-apiserver as a kubeadm static pod (``etc/kubernetes/manifests/kube-apiserver.yaml``). What
the engine can observe of a real control plane is reproduced:

* **restart**: kubelet restarts the static pod when the manifest's content changes. Here a poller notices a new
  mtime or size, and a changed content restarts that host's API server: its mirror pod
  ``kube-system/kube-apiserver-<node>`` goes not-Ready for ``RESTART_SECONDS``, then the server loads the
  ``--encryption-provider-config`` file (through the manifest's hostPath mount, or it crash-loops) and the mirror
  pod shows the manifest's annotations and spec, Ready. Starting the emulator boots every server from disk.
* **writes**: each write is handled by the next serving API server in turn (as behind a load balancer), which
  stores it with the first provider its configuration names for that resource (:mod:`.envelopes`). A host left
  behind therefore shows up as objects stored with its old provider.
* **no-op updates** are written anyway when the stored value is *stale* (not written by the serving writer), as
  upstream's storage does: this is what makes ``kubectl replace`` re-encrypt existing Secrets.
* **etcd**: :meth:`AtRest.etcd_get` answers the fake hosts' ``etcdctl get`` with the stored value, and
  :meth:`AtRest.snapshot` their ``etcdctl snapshot save``.

Not emulated: reads failing on values no server can decrypt (:meth:`AtRest.undecryptable` lists them instead),
``--encryption-provider-config-automatic-reload``, KMS plugins, and the API being down during a restart.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import yaml

from . import errors, meta
from .envelopes import IDENTITY, ServerConfig, parse_config
from .store import Change, Key

log = logging.getLogger("sandbox.kubeapi.encryption")

RESTART_SECONDS = 0.2
POLL_SECONDS = 0.05
MANIFEST = "etc/kubernetes/manifests/kube-apiserver.yaml"
CONFIG_FLAG = "--encryption-provider-config="
MIRROR_PREFIX = "kube-apiserver-"


def etcd_key(group: str, plural: str, namespace: str, name: str) -> str:
    """Where kube-apiserver keeps an object: ``/registry/secrets/<ns>/<name>``, ``/registry/<group>/<plural>/...``."""
    parts = ["registry", *([group] if group else []), plural, *([namespace] if namespace else []), name]
    return "/" + "/".join(parts)


@dataclass
class _Server:
    """One control-plane host's API server."""

    root: Path
    stamp: tuple[int, int] | None = None  # (mtime_ns, size) of the manifest when last looked at
    digest: str = ""  # sha256 of the manifest it runs
    manifest: dict = field(default_factory=dict)  # the last one that could be read
    config: ServerConfig | None = None  # what it stores with; None: never started or crashed
    ready: bool = False
    restart_at: float | None = None


class AtRest:
    """The stored form of a cluster's objects and the API servers of its bound hosts (see the module)."""

    def __init__(self, cluster, state: dict | None = None):
        self._c = cluster
        self._lock = cluster.store.lock  # the store's (reentrant): writes reach _on_write holding it
        self._servers = {node: _Server(Path(root)) for node, root in (state or {}).get("nodes", {}).items()}
        self._values = {key: base64.b64decode(v) for key, v in (state or {}).get("values", {}).items()}
        self._turn = 0
        self._running = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        cluster.store.on_write = self._on_write
        cluster.store.stale = self._stale

    # --- hosts ----------------------------------------------------------------------------------

    def bind(self, node: str, root: Path) -> None:
        """Let the API server of host ``node`` run from ``root`` (kept with the cluster's state; binding the
        same root again changes nothing)."""
        with self._lock:
            if node in self._servers and self._servers[node].root == Path(root):
                return
            self._servers[node] = _Server(Path(root))
        self._c.on_change()
        if self._running:
            self._boot(node)
            self._ensure_thread()

    def host_root(self, node: str) -> Path | None:
        """The directory standing for host ``node``'s ``/`` (None: the node has no host in the sandbox)."""
        server = self._servers.get(node)
        return server.root if server is not None else None

    def config_in_force(self, node: str) -> ServerConfig | None:
        return self._servers[node].config

    def start(self) -> None:
        self._running = True
        for node in list(self._servers):
            self._boot(node)
        self._ensure_thread()

    def stop(self) -> None:
        self._running = False
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None

    def _ensure_thread(self) -> None:
        if self._thread is None and self._servers:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=f"at-rest-{self._c.name}", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            for node in list(self._servers):
                try:
                    self._look(node)
                except Exception:  # the poller outlives one bad look (a root removed under it, a stopping API)
                    log.exception("cluster %s: looking at host %s failed", self._c.name, node)

    def _look(self, node: str) -> None:
        """Restart the server when its manifest's content changed; finish a restart that is due."""
        with self._lock:
            server = self._servers[node]
            path = server.root / MANIFEST
            try:
                stat = path.stat()
            except FileNotFoundError:
                stat = None
            stamp = (stat.st_mtime_ns, stat.st_size) if stat else None
            if stamp != server.stamp:
                server.stamp = stamp
                digest = hashlib.sha256(path.read_bytes()).hexdigest() if stat else ""
                if digest != server.digest:  # kubelet restarts the pod on a content change only
                    server.digest, server.ready = digest, False
                    server.restart_at = time.monotonic() + RESTART_SECONDS
                    self._publish(node, server, "Restarting", "static pod manifest changed")
            if server.restart_at is not None and time.monotonic() >= server.restart_at:
                self._boot(node)

    def _boot(self, node: str) -> None:
        """Start the API server of ``node`` from its manifest and configuration file, as they are on disk."""
        with self._lock:
            server = self._servers[node]
            server.restart_at, server.ready = None, False
            path = server.root / MANIFEST
            if not path.exists():
                server.config = None
                return
            text = path.read_bytes()
            stat = path.stat()
            server.stamp, server.digest = (stat.st_mtime_ns, stat.st_size), hashlib.sha256(text).hexdigest()
            try:
                server.manifest = yaml.safe_load(text)
                server.config = self._load_config(server.root, server.manifest)
            except (OSError, ValueError, LookupError, TypeError, AttributeError, yaml.YAMLError) as exc:
                server.config = None
                self._publish(node, server, "CrashLoopBackOff", f"{type(exc).__name__}: {exc}")
                return
            server.ready = True
            self._publish(node, server, "", "")

    @staticmethod
    def _load_config(root: Path, manifest: dict) -> ServerConfig:
        container = next(c for c in manifest["spec"]["containers"] if c["name"] == "kube-apiserver")
        flags = [arg[len(CONFIG_FLAG) :] for arg in container.get("command", []) if arg.startswith(CONFIG_FLAG)]
        if not flags:
            return ServerConfig()
        host_path = _host_path(manifest, container, flags[-1])
        if host_path is None:
            raise ValueError(f"open {flags[-1]}: no such file or directory (not mounted into the pod)")
        return parse_config((root / host_path.relative_to("/")).read_text())

    def _publish(self, node: str, server: _Server, reason: str, message: str) -> None:
        """Write the mirror pod kubelet reports for ``node``: the manifest's metadata and spec, and readiness."""
        metadata = server.manifest.get("metadata") or {}
        short = server.digest[:32]
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"{MIRROR_PREFIX}{node}",
                "namespace": "kube-system",
                "labels": metadata.get("labels") or {"component": "kube-apiserver", "tier": "control-plane"},
                "annotations": {
                    **(metadata.get("annotations") or {}),
                    "kubernetes.io/config.hash": short,
                    "kubernetes.io/config.mirror": short,
                    "kubernetes.io/config.source": "file",
                },
            },
            "spec": {**(server.manifest.get("spec") or {"containers": []}), "nodeName": node},
        }
        status = {
            "phase": "Running" if server.ready else "Pending",
            "conditions": [{"type": "Ready", "status": str(server.ready), "reason": reason, "message": message}],
            "startTime": meta.now(),
        }
        objects = self._c.objects
        try:
            objects.get("v1", "Pod", pod["metadata"]["name"], "kube-system")
            stored = objects.update(pod)
        except errors.ApiError as exc:
            if exc.code != 404:
                raise
            stored = objects.create(pod)
        objects.update_status({**stored, "status": status})

    # --- storage --------------------------------------------------------------------------------

    def _serving(self, advance: bool) -> ServerConfig | None:
        """The configuration of the API server whose turn it is (None: no bound hosts). Servers that are
        restarting serve only when none is ready; none configured stores plain."""
        servers = [server for _, server in sorted(self._servers.items())]
        if not servers:
            return None
        serving = [s for s in servers if s.ready] or [s for s in servers if s.config is not None]
        if not serving:
            return ServerConfig()
        chosen = serving[self._turn % len(serving)]
        self._turn += advance
        return chosen.config

    def _on_write(self, change: Change) -> None:
        config = self._serving(advance=change.type != "DELETED")
        if config is None:
            return
        group, plural = change.key
        key = self._key(change.key, change.object)
        writer = config.writer(group, plural)
        if change.type == "DELETED" or writer is IDENTITY:
            self._values.pop(key, None)
        else:
            self._values[key] = writer.seal(json.dumps(change.object, sort_keys=True).encode(), key)

    def _stale(self, key: Key, obj: dict) -> bool:
        """Whether the serving writer did not write ``obj``'s stored value (a no-op update must rewrite it)."""
        config = self._serving(advance=False)
        if config is None:
            return False
        stored = self._values.get(self._key(key, obj))
        writer = config.writer(*key)
        if writer is IDENTITY:
            return stored is not None
        return stored is None or not stored.startswith(writer.prefix)

    @staticmethod
    def _key(key: Key, obj: dict) -> str:
        return etcd_key(*key, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])

    def _value(self, key: Key, obj: dict) -> bytes:
        return self._values.get(self._key(key, obj)) or json.dumps(obj, sort_keys=True).encode()

    def etcd_get(self, key: str) -> bytes | None:
        """The value etcd holds under ``key`` (None: no such key)."""
        with self._lock:
            return next((self._value(k, obj) for k, obj in self._objects() if self._key(k, obj) == key), None)

    def snapshot(self) -> bytes:
        """Every key and stored value, as ``etcdctl snapshot save`` would keep them (JSON, values in base64)."""
        with self._lock:
            values = {self._key(k, obj): base64.b64encode(self._value(k, obj)).decode() for k, obj in self._objects()}
        return json.dumps(values).encode()

    def undecryptable(self) -> list[str]:
        """``<etcd key> on <node>`` for each stored value a configured API server could not read."""
        with self._lock:
            return [
                f"{self._key(k, obj)} on {node}"
                for k, obj in self._objects()
                for node, server in sorted(self._servers.items())
                if server.config is not None and not server.config.reads(*k, self._value(k, obj))
            ]

    def _objects(self):
        store = self._c.store
        kinds = store.keys()  # a method of the store, not a dict's
        for key in kinds:
            for obj in store.objects(key):
                yield key, obj

    def dump(self) -> dict:
        with self._lock:
            return {
                "nodes": {node: str(server.root) for node, server in self._servers.items()},
                "values": {key: base64.b64encode(value).decode() for key, value in self._values.items()},
            }


def _host_path(manifest: dict, container: dict, path: str) -> PurePosixPath | None:
    """The host path behind ``path`` in the container: a volumeMount at or above it, backed by a hostPath."""
    volumes = {v["name"]: v["hostPath"]["path"] for v in manifest["spec"].get("volumes", []) if "hostPath" in v}
    wanted = PurePosixPath(path)
    for mount in container.get("volumeMounts", []):
        mount_path = PurePosixPath(mount["mountPath"])
        if mount["name"] in volumes and (wanted == mount_path or mount_path in wanted.parents):
            return PurePosixPath(volumes[mount["name"]]) / wanted.relative_to(mount_path)
    return None
