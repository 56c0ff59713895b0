"""What the procedure needs of a control-plane node, whichever way it is reached (DOMAIN §7.2 ``node_access``):
SSH to the host (:mod:`.transport`) or a short-lived privileged pod on the node (:mod:`.pods`).

Paths are the host's (``/etc/kubernetes/...``). Writes are atomic (a temporary file next to the target, its mode
set, renamed over it). A command's line never carries key material: keys travel only as file content.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol


class Node(Protocol):
    """One control-plane node; ``address`` names it in messages (the SSH host, or the node's name)."""

    address: str

    def read(self, path: str) -> bytes | None:
        """The file's content; None when it does not exist."""

    def write(self, path: str, data: bytes, mode: int = 0o600) -> None: ...

    def makedirs(self, path: str, mode: int = 0o700) -> None: ...

    def remove(self, path: str) -> None:
        """Remove the file if it exists."""

    def run(self, command: str) -> bytes:
        """Standard output of the shell ``command`` on the host; a non-zero exit raises."""


class NodeAccess(Protocol):
    """How the engine reaches every control-plane node of a cluster, and where kubeadm keeps its files there."""

    manifest_path: str
    config_dir: str

    def connect(self, cluster: str) -> AbstractContextManager[list[Node]]:
        """Every control-plane node, reachable while inside ``with`` (all must be: V41, FF-ENC-009)."""
