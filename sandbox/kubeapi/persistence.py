"""Cluster state files under a data directory: ``<data_dir>/clusters/<name>.json``.

Each file holds everything needed to bring a cluster back with the same URL and credentials:
port, version, keys and certificates, static tokens, objects, the resourceVersion counter and
whether the cluster is reachable (files without that flag load as reachable).
Writes are atomic (temporary file, fsync, rename). A background thread writes a cluster shortly
after it changes, coalescing bursts of writes; :meth:`Persister.flush` writes synchronously and
runs on ``stop()`` and at interpreter exit. One process at a time may use a data directory.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("sandbox.kubeapi.persistence")

_COALESCE_SECONDS = 0.05


def atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


class Persister:
    def __init__(self, data_dir: Path):
        self.directory = Path(data_dir) / "clusters"
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._pending: dict[str, Callable[[], dict]] = {}
        self._wake = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="kubeapi-persister", daemon=True)
        self._thread.start()

    def load_all(self) -> list[dict]:
        states = []
        for path in sorted(self.directory.glob("*.json")):
            with open(path) as handle:
                states.append(json.load(handle))
        return states

    def mark(self, name: str, state: Callable[[], dict]) -> None:
        """Schedule a write of cluster ``name``; ``state`` produces its current state."""
        with self._lock:
            self._pending[name] = state
        self._wake.set()

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait()
            self._wake.clear()
            time.sleep(_COALESCE_SECONDS)
            self.flush()

    def flush(self) -> None:
        with self._write_lock:
            with self._lock:
                pending, self._pending = self._pending, {}
            for name, state in pending.items():
                try:
                    atomic_write(self.directory / f"{name}.json", json.dumps(state()))
                except Exception:
                    log.exception("could not save cluster %s", name)

    def forget(self, name: str) -> None:
        with self._write_lock:
            with self._lock:
                self._pending.pop(name, None)
            (self.directory / f"{name}.json").unlink(missing_ok=True)

    def close(self) -> None:
        self.flush()
        self._closed = True
        self._wake.set()
        self._thread.join(timeout=5)
