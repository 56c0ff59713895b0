"""``file://PATH``: one JSON file per stack in a local directory (the default, ``<project>/.fleetform``).

Layout::

    stacks/<stack>.json      the state, replaced atomically (engine.files)
    stacks/<stack>.json.bak  the state as it was before the last run that changed it
    stacks/<stack>.json.journal  changes appended since the state was last written whole
                             (engine.state_journal; removed by the next whole write)
    locks/<stack>.lock       the stack's OS lock (engine.locking)

A file's version is its identity (inode, size, modification time): every write is a rename of a new
file, so any change, by fleetform or by hand, gives a new version.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..files import append_privately, write_atomically
from ..locking import clear_stale, is_held, stack_lock
from .base import Backend, Blob, OnStale, StateConflictError


def _version(stat: os.stat_result) -> str:
    return f"{stat.st_ino}:{stat.st_size}:{stat.st_mtime_ns}"


class FileBackend(Backend):
    journals = True

    def __init__(self, root: Path, url: str | None = None):
        self.root = root
        self.url = url or f"file://{root}"

    def path(self, stack: str) -> Path:
        return self.root / "stacks" / f"{stack}.json"

    def backup_path(self, stack: str) -> Path:
        return self.root / "stacks" / f"{stack}.json.bak"

    def journal_path(self, stack: str) -> Path:
        return self.root / "stacks" / f"{stack}.json.journal"

    def lock_path(self, stack: str) -> Path:
        return self.root / "locks" / f"{stack}.lock"

    def location(self, stack: str) -> str:
        return str(self.path(stack))

    def read(self, stack: str) -> Blob | None:
        try:
            with open(self.path(stack), "rb") as handle:
                return Blob(handle.read(), _version(os.fstat(handle.fileno())))
        except FileNotFoundError:
            return None

    def _check_version(self, path: Path, expected: str | None) -> None:
        try:
            current = _version(path.stat())
        except FileNotFoundError:
            current = None
        if current != expected:
            raise StateConflictError(
                f"the state file {path} changed since this run read it (another process or a hand edit); "
                f"nothing was overwritten. Run the command again"
            )

    def write(self, stack: str, data: bytes, expected: str | None, durable: bool) -> str:
        path = self.path(stack)
        self._check_version(path, expected)
        write_atomically(path, data, durable)
        return _version(path.stat())

    def read_journal(self, stack: str) -> bytes:
        try:
            return self.journal_path(stack).read_bytes()
        except FileNotFoundError:
            return b""

    def append_journal(self, stack: str, data: bytes, expected: str | None) -> None:
        self._check_version(self.path(stack), expected)
        append_privately(self.journal_path(stack), data)

    def clear_journal(self, stack: str) -> None:
        self.journal_path(stack).unlink(missing_ok=True)

    def backup(self, stack: str) -> None:
        try:
            data = self.path(stack).read_bytes()
        except FileNotFoundError:
            return
        write_atomically(self.backup_path(stack), data, durable=True)

    def restore_hint(self, stack: str) -> str | None:
        backup = self.backup_path(stack)
        return f"cp {backup} {self.path(stack)}" if backup.exists() else None

    def stacks(self) -> list[str]:
        folder = self.root / "stacks"
        return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []

    def remove(self, stack: str) -> None:
        for path in (self.path(stack), self.journal_path(stack), self.backup_path(stack), self.lock_path(stack)):
            path.unlink(missing_ok=True)

    def lock(self, stack: str, operation: str, since: str, on_stale: OnStale = None):
        return stack_lock(self.lock_path(stack), stack, operation, since, on_stale)

    def is_locked(self, stack: str) -> bool:
        return is_held(self.lock_path(stack))

    def unlock(self, stack: str) -> dict | None:
        return clear_stale(self.lock_path(stack), stack)
