"""Loopback ports claimed by sandbox worlds, machine-wide.

A sandbox world keeps its ports from run to run (the kubeconfigs and endpoints it handed out name
them) but listens only while a fleetform process runs; in between, and while one of its clusters
plays unreachable, the port is free for whatever binds it next.
Two worlds on one machine (parallel test workers, two checkouts) could so end up on each other's
ports, and a member's kubeconfig would reach another world's API server: TLS fails, and waits for the
member to register run into their timeouts instead of failing fast.

A claim is a file named after the port in a directory all worlds share, holding the owner's data
directory. A world takes a new port only when it claims it; a claim whose owner directory no longer
exists (a deleted world) is taken over.

Claims keep worlds off each other's ports, not every other program. So a world draws its new ports
from below the OS's ephemeral range (``ip_local_port_range``), which the OS never hands out for a
``bind`` to port 0 or as the source port of a connection. Drawn from inside it, a stopped world's
port went to whatever ran next on the machine; the world then moved to a new one, while the state
of the last run (a cloud endpoint in a kubeconfig's exec arguments, say) still named the old port:
a ``destroy``, which has only that state, could no longer reach the cloud.
"""

from __future__ import annotations

import os
import random
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

CLAIMS_DIR = Path(tempfile.gettempdir()) / f"fleetform-sandbox-ports-{os.getuid()}"
ATTEMPTS = 100
LOWEST = 10_000  # below: ports many services are configured with
LEAST_ROOM = 1000  # fewer ports than this beside the ephemeral range are too few to draw from
EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
IANA_EPHEMERAL = (49152, 65535)  # where the OS does not say (macOS, the BSDs)

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
    """A server on a new port that ``claims`` grants, drawn from :func:`world_ports`; ports other worlds
    hold are given back and another is tried. Without ``claims`` (a world that keeps nothing from run
    to run) the OS picks (``open_server(0)``)."""
    if claims is None:
        return open_server(0)
    low, high = world_ports()
    for _ in range(ATTEMPTS):
        try:
            server = open_server(random.randint(low, high))
        except OSError:  # something else listens there
            continue
        if claims.claim(port_of(server)):
            return server
        close(server)
    raise OSError(f"no free loopback port in {low}-{high} that no other sandbox world holds (see {CLAIMS_DIR})")


def world_ports(range_file: Path = EPHEMERAL_RANGE_FILE) -> tuple[int, int]:
    """The ports (inclusive) a world's new ports are drawn from: those from :data:`LOWEST` up to the
    OS's ephemeral range, or above it where it starts too low to leave room below."""
    try:
        first, last = map(int, range_file.read_text().split())
    except (OSError, ValueError):
        first, last = IANA_EPHEMERAL
    if first - LOWEST >= LEAST_ROOM:
        return LOWEST, first - 1
    if 65535 - last >= LEAST_ROOM:
        return last + 1, 65535
    raise OSError(
        f"the ephemeral port range {first}-{last} ({range_file}) leaves no room for the sandbox's ports; "
        f"narrow it to start at {LOWEST + LEAST_ROOM} or above"
    )


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _replace(path: Path, owner: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(owner)
    os.replace(temporary, path)
