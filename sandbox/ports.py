"""Loopback ports claimed by sandbox worlds, machine-wide.

A sandbox world keeps its ports from run to run (the kubeconfigs and endpoints it handed out name
them) but listens only while a fleetform process runs; in between, and while one of its clusters
plays unreachable, the OS sees the port as free and gives it to the next process that binds port 0.
Two worlds on one machine (parallel test workers, two checkouts) could so end up on each other's
ports, and a member's kubeconfig would reach another world's API server: TLS fails, and waits for the
member to register run into their timeouts instead of failing fast.

A claim is a file named after the port in a directory all worlds share, holding the owner's data
directory. A world takes a new port only when it claims it; a claim whose owner directory no longer
exists (a deleted world) is taken over.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

CLAIMS_DIR = Path(tempfile.gettempdir()) / f"fleetform-sandbox-ports-{os.getuid()}"
ATTEMPTS = 100

S = TypeVar("S")


class PortClaims:
    """The claims of one world (``owner``: its data directory)."""

    def __init__(self, owner: Path, directory: Path = CLAIMS_DIR):
        self.owner = str(Path(owner).resolve())
        self.directory = directory

    def claim(self, port: int) -> bool:
        """Whether ``port`` is (now) this world's."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.directory / str(port)
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            holder = _read(path)
            if holder == self.owner:
                return True
            if holder and Path(holder).exists():
                return False
            _replace(path, self.owner)  # an abandoned claim (or one being written right now: re-read below)
            return _read(path) == self.owner
        with os.fdopen(fd, "w") as claim:
            claim.write(self.owner)
        return True


def bind_claimed(
    open_server: Callable[[int], S], port_of: Callable[[S], int], close: Callable[[S], None], claims: PortClaims | None
) -> S:
    """A server on a new port (``open_server(0)``) that ``claims`` grants; ports other worlds hold are
    given back to the OS and another is tried."""
    for _ in range(ATTEMPTS):
        server = open_server(0)
        if claims is None or claims.claim(port_of(server)):
            return server
        close(server)
    raise OSError(f"no free loopback port that no other sandbox world holds (see {CLAIMS_DIR})")


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _replace(path: Path, owner: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(owner)
    os.replace(temporary, path)
