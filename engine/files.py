"""Private files on disk: folders 0700, files 0600, replaced atomically.

State files hold encrypted secrets and the names of everything a stack manages; nobody but their
owner needs to read them.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) and make it 0700."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path


def write_atomically(path: Path, data: bytes, durable: bool = False) -> None:
    """Replace ``path`` with ``data`` (mode 0600): readers see the old content or the new, never a mix."""
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def append_privately(path: Path, data: bytes) -> None:
    """Append ``data`` to ``path`` (created 0600) with one write call per chunk the kernel takes."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
