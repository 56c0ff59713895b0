"""Cluster state files under a data directory: ``<data_dir>/clusters/<name>.json``.

Each file holds everything needed to bring a cluster back with the same URL and credentials:
port, version, keys and certificates, static tokens, objects, the resourceVersion counter and
whether the cluster is reachable (files without that flag load as reachable).
Writes are atomic (temporary file, fsync, rename). A background thread writes a cluster shortly
after it changes, coalescing bursts of writes, and only the clusters that changed; a cluster whose
write takes long (the hub of a large estate) is written less often, so a crash loses at most the
last ``_SPACING`` write-times of its changes. :meth:`Persister.flush` writes every pending cluster
synchronously and runs on ``stop()`` and at interpreter exit. The objects' JSON is reused from the
previous write where they did not change (:meth:`Store.dump_json`). One process at a time may use a
data directory.
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
_SPACING = 20  # a cluster is written again after 20 times as long as its last write took: at most 5% of a core


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
        self._pending: dict[str, Callable[[], str]] = {}
        self._not_before: dict[str, float] = {}  # cluster -> when the background thread may write it again
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

    def mark(self, name: str, state: Callable[[], str]) -> None:
        """Schedule a write of cluster ``name``; ``state`` produces its current state as JSON."""
        with self._lock:
            self._pending[name] = state
        self._wake.set()

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self._until_due())
            self._wake.clear()
            time.sleep(_COALESCE_SECONDS)
            self._write(due_only=True)

    def _until_due(self) -> float | None:
        with self._lock:
            if not self._pending:
                return None
            due = min(self._not_before.get(name, 0.0) for name in self._pending)
        return max(0.0, due - time.monotonic())

    def flush(self) -> None:
        self._write(due_only=False)

    def _write(self, due_only: bool) -> None:
        """Write the pending clusters; ``due_only``: only those not written too recently. A cluster
        waits ``_SPACING`` times as long as its last write took, so that writing a large cluster
        that changes all the time (the hub during a run) takes a small share of the CPU."""
        with self._write_lock:
            now = time.monotonic()
            with self._lock:
                names = [n for n in self._pending if not due_only or self._not_before.get(n, 0.0) <= now]
                taken = {name: self._pending.pop(name) for name in names}
            for name, state in taken.items():
                started = time.monotonic()
                try:
                    atomic_write(self.directory / f"{name}.json", state())
                except Exception:
                    log.exception("could not save cluster %s", name)
                ended = time.monotonic()
                self._not_before[name] = ended + _SPACING * (ended - started)

    def forget(self, name: str) -> None:
        with self._write_lock:
            with self._lock:
                self._pending.pop(name, None)
            self._not_before.pop(name, None)
            (self.directory / f"{name}.json").unlink(missing_ok=True)

    def close(self) -> None:
        self.flush()
        self._closed = True
        self._wake.set()
        self._thread.join(timeout=5)
