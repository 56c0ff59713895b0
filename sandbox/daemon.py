"""The long-running sandbox: one process per data directory serving the whole world (Kubernetes emulator, cloud
emulators, SSH hosts, controllers) until it is told to stop, so that what ``up`` built stays there to be looked at
with kubectl, gcloud or the aws CLI, and every run (consecutive or overlapping) sees the same ports and
credentials.

    python -m sandbox.daemon DATA_DIR HUB      (started by :mod:`sandbox.client`, or ``fleetform sandbox start``)

* One per data directory: the process holds an exclusive lock on ``DATA_DIR/daemon.lock`` for its lifetime; a
  second one exits at once. The lock dies with the process, so a killed sandbox never blocks the next.
* Requests come over a Unix socket (``DATA_DIR/daemon.sock``, 0600) through ``multiprocessing.connection`` with an
  authentication key kept in ``DATA_DIR/daemon.key`` (0600): only this user's processes that can read the data
  directory get in. A request is ``(method, args)`` for one of :data:`SERVED` and is answered ``("ok", value)`` or
  ``("error", message)``; each connection is served on its own thread.
* ``DATA_DIR/daemon.json`` names the pid, the hub, when it started and the build of its code
  (:func:`~sandbox.build.build_id`); it exists only while the sandbox serves.
* SIGTERM, SIGINT or a ``stop`` request stop it: the world saves its data as it does at the end of a run.
"""

from __future__ import annotations

import fcntl
import gc
import json
import os
import secrets
import signal
import sys
import threading
from datetime import UTC, datetime
from multiprocessing.connection import Connection, Listener
from pathlib import Path

from .build import build_id
from .world import SandboxWorld

LOCK_FILE, SOCKET_FILE, KEY_FILE, INFO_FILE, LOG_FILE = (
    "daemon.lock",
    "daemon.sock",
    "daemon.key",
    "daemon.json",
    "daemon.log",
)
# What a client may ask of the world (what the program needs, plus what `fleetform sandbox` shows).
SERVED = ("kubeconfig", "ssh_access", "cloud_cluster", "host_control_plane", "hub_url", "environment", "endpoints")
SERVED += ("cluster_names", "serve_earlier_clusters", "cloud_clusters")


def authkey(data_dir: Path) -> bytes:
    """The key clients authenticate with, made (0600) on first use."""
    path = data_dir / KEY_FILE
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as key:
            key.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


class Daemon:
    def __init__(self, data_dir: Path, hub: str):
        self.data_dir, self.hub = data_dir, hub
        self._stopping = threading.Event()
        self._world: SandboxWorld | None = None

    def run(self) -> int:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        lock = open(self.data_dir / LOCK_FILE, "w")  # noqa: SIM115 - held open (and locked) for the process's life
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0  # another sandbox serves this directory
        socket_path = self.data_dir / SOCKET_FILE
        socket_path.unlink(missing_ok=True)  # left by a sandbox that was killed
        self._world = SandboxWorld(self.data_dir, self.hub)
        self._world.start()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: self._stopping.set())
        info = {
            "pid": os.getpid(),
            "hub": self.hub,
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "build": build_id(),
        }
        (self.data_dir / INFO_FILE).write_text(json.dumps(info))  # before the socket: a client that gets in finds it
        listener = Listener(str(socket_path), family="AF_UNIX", authkey=authkey(self.data_dir))
        os.chmod(socket_path, 0o600)
        threading.Thread(target=self._accept, args=(listener,), daemon=True, name="sandbox-accept").start()
        try:
            self._stopping.wait()
        finally:
            (self.data_dir / INFO_FILE).unlink(missing_ok=True)
            listener.close()
            socket_path.unlink(missing_ok=True)
            self._world.stop()
        return 0

    def _accept(self, listener: Listener) -> None:
        while not self._stopping.is_set():
            try:
                connection = listener.accept()
            except OSError:  # closed at stop, or a client that failed authentication
                continue
            threading.Thread(target=self._serve, args=(connection,), daemon=True, name="sandbox-client").start()

    def _serve(self, connection: Connection) -> None:
        with connection:
            while True:
                try:
                    method, args = connection.recv()
                except (EOFError, OSError):
                    return
                connection.send(self._answer(method, args))
                if method == "stop":
                    self._stopping.set()
                    return

    def _answer(self, method: str, args: tuple) -> tuple[str, object]:
        if method == "stop":
            return "ok", None
        if method == "hello":
            return "ok", {"pid": os.getpid(), "hub": self.hub}
        if method not in SERVED:
            return "error", f"the sandbox does not serve {method!r}"
        try:
            return "ok", self._call(method, args)
        except Exception as exc:  # the caller's run reports it; the sandbox goes on serving others
            return "error", f"{type(exc).__name__}: {exc}"

    def _call(self, method: str, args: tuple) -> object:
        world = self._world
        if method == "hub_url":
            return world.hub_url
        return getattr(world, method)(*args)


def main(argv: list[str]) -> int:
    data_dir, hub = Path(argv[0]).resolve(), argv[1]
    # A world of many clusters is a large heap of long-lived objects, which CPython's default thresholds walk
    # in full collections again and again as requests allocate: collect less often (as fleetform's commands do).
    gc.set_threshold(50_000, 20, 100)
    return Daemon(data_dir, hub).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
