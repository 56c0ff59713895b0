"""Which build of the sandbox's code is running: a long-running sandbox started before an upgrade (or a
``git pull`` in an editable checkout) would otherwise go on serving the old emulators to new runs."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


@functools.cache
def build_id() -> str:
    """A fingerprint of the sandbox package's source files (path, size, modification time): cheap enough for
    every run, and it changes with any installed or edited version of the code the sandbox process runs."""
    digest = hashlib.sha256()
    for source in sorted(PACKAGE.rglob("*.py")):
        stat = source.stat()
        digest.update(f"{source.relative_to(PACKAGE)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]
