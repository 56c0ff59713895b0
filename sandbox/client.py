"""Reaching the long-running sandbox (:mod:`sandbox.daemon`) of a data directory: find it, start it when none
runs, ask it for what the program needs, stop it.

:func:`attach` is what the program uses on a sandbox stack: it returns a :class:`RemoteWorld` with the methods of
:class:`~sandbox.world.SandboxWorld` the program calls, so runs attach to one world whose ports and credentials
stay the same from run to run and while two runs overlap. With ``FLEETFORM_SANDBOX=in-process`` the world runs
inside the fleetform process instead and stops with it (as in a ``validate`` run, which leaves nothing running, and
in the e2e tests that edit the world's files between runs).
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Client, Connection
from pathlib import Path

from .build import build_id
from .daemon import INFO_FILE, LOCK_FILE, LOG_FILE, SOCKET_FILE, authkey

MODE_VARIABLE = "FLEETFORM_SANDBOX"  # "in-process" runs the world in the fleetform process
START_SECONDS = 120.0
STOP_SECONDS = 60.0


class SandboxError(RuntimeError):
    """The sandbox could not be started or reached; the message says what to look at."""


def in_process() -> bool:
    """Whether this run keeps its world to itself: asked for, or a `validate` run (it leaves nothing running)."""
    return os.environ.get(MODE_VARIABLE, "") == "in-process" or os.environ.get("FLEETFORM_VALIDATING") == "1"


def status(data_dir: Path) -> dict | None:
    """The running sandbox's pid, hub and start time, or None when none serves ``data_dir``."""
    connection = _connect(data_dir)
    if connection is None:
        return None
    with connection:
        _request(connection, "hello")
    try:
        return json.loads((data_dir / INFO_FILE).read_text())
    except (OSError, ValueError):
        return None


def start(data_dir: Path, hub: str) -> dict:
    """Start the sandbox of ``data_dir`` in the background unless one runs; returns its status.

    One running another build of the sandbox's code (fleetform was upgraded or the checkout changed since it
    started) is stopped, its data saved, and started again, so a run never meets emulators older than itself."""
    running = status(data_dir)
    if running is not None:
        if running["hub"] != hub:
            raise SandboxError(
                f"the sandbox running for {data_dir} serves hub {running['hub']!r}, not {hub!r}; "
                "stop it first (fleetform sandbox stop)"
            )
        if running.get("build") == build_id():
            return running
        sys.stderr.write(f"note: the sandbox (pid {running['pid']}) runs another build of fleetform; restarting it\n")
        stop(data_dir, unless_build=build_id())  # unless an overlapping run restarted it first
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / LOG_FILE, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "sandbox.daemon", str(data_dir), hub],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # not stopped by the Ctrl-C of the run that started it
            env={k: v for k, v in os.environ.items() if k != MODE_VARIABLE},
        )
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        running = status(data_dir)
        if running is not None:
            return running
        if process.poll() is not None and status(data_dir) is None:
            if process.returncode == 0:  # another run started one at the same moment; it wins the lock
                continue
            raise SandboxError(
                f"the sandbox stopped while starting (exit {process.returncode}); see {data_dir / LOG_FILE}"
            )
        time.sleep(0.1)
    raise SandboxError(f"the sandbox did not answer within {START_SECONDS:.0f}s; see {data_dir / LOG_FILE}")


def stop(data_dir: Path, unless_build: str | None = None) -> dict | None:
    """Stop the sandbox of ``data_dir`` (unless it runs build ``unless_build``); returns what it was, or None
    when none ran or it was left running."""
    running = status(data_dir)
    if running is None or (unless_build is not None and running.get("build") == unless_build):
        return None
    connection = _connect(data_dir)
    if connection is not None:
        with connection:
            _request(connection, "stop")
    deadline = time.monotonic() + STOP_SECONDS
    while time.monotonic() < deadline:
        if not _serving(data_dir):
            return running
        time.sleep(0.1)
    os.kill(running["pid"], signal.SIGKILL)  # it did not save in time; the emulators' files are replaced whole
    return running


def attach(data_dir: Path, hub: str) -> RemoteWorld:
    """The running sandbox of ``data_dir``, started first when none runs."""
    start(data_dir, hub)
    return attach_running(data_dir)


def attach_running(data_dir: Path) -> RemoteWorld:
    connection = _connect(data_dir)
    if connection is None:
        raise SandboxError(f"the sandbox for {data_dir} stopped as this run attached; run again")
    return RemoteWorld(connection)


class RemoteWorld:
    """The parts of :class:`~sandbox.world.SandboxWorld` the program uses, answered by the sandbox process.
    Cloud emulators' credentials are exported to this process, as the in-process world does."""

    def __init__(self, connection: Connection):
        self._connection = connection
        self._lock = threading.Lock()  # one request at a time on the connection

    def _call(self, method: str, *args):
        with self._lock:
            return _request(self._connection, method, *args)

    def kubeconfig(self, name: str) -> str:
        return self._call("kubeconfig", name)

    def ssh_access(self, cluster_name: str) -> dict:
        return self._call("ssh_access", cluster_name)

    def host_control_plane(self, cluster_name: str) -> list[str]:
        return self._call("host_control_plane", cluster_name)

    def cloud_cluster(self, kind: str, identity: dict[str, str]) -> str:
        endpoint = self._call("cloud_cluster", kind, identity)
        os.environ.update(self._call("environment"))
        return endpoint

    def serve_earlier_clusters(self) -> None:
        self._call("serve_earlier_clusters")
        os.environ.update(self._call("environment"))

    def environment(self) -> dict[str, str]:
        return self._call("environment")

    def endpoints(self) -> dict[str, str]:
        return self._call("endpoints")

    def cloud_clusters(self) -> list[dict]:
        return self._call("cloud_clusters")

    def cluster_names(self) -> list[str]:
        return self._call("cluster_names")

    @property
    def hub_url(self) -> str:
        return self._call("hub_url")


def _connect(data_dir: Path) -> Connection | None:
    socket_path = data_dir / SOCKET_FILE
    if not socket_path.exists():
        return None
    try:
        return Client(str(socket_path), family="AF_UNIX", authkey=authkey(data_dir))
    except (OSError, EOFError):  # a socket left by a killed sandbox, or one stopping
        return None


def _request(connection: Connection, method: str, *args):
    try:
        connection.send((method, args))
        outcome, value = connection.recv()
    except (OSError, EOFError) as exc:
        raise SandboxError(f"the sandbox stopped answering ({method}): {exc}; run `fleetform sandbox status`") from exc
    if outcome != "ok":
        raise SandboxError(f"the sandbox could not answer {method}: {value}")
    return value


def _serving(data_dir: Path) -> bool:
    """Whether a sandbox process still holds the directory's lock (it is released when the process ends)."""
    with open(data_dir / LOCK_FILE, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(lock, fcntl.LOCK_UN)
        return False
