"""The stack lock: an OS file lock (``flock``) on ``locks/<stack>.lock``, held for a whole run.

Why an OS lock rather than "create the file if absent": the kernel grants ``flock`` to one open file
at a time and drops it when its holder exits, however it exits. Taking the lock and breaking a
stale one are therefore the same single atomic step, and two runs started together on a lock left
by a killed run cannot both proceed. The file itself is never removed (removing it would let a
second run lock a fresh file while the first still holds the old one); it only carries, while held,
the holder's JSON (operation, user, host, pid, since) for the "locked by ..." message. A holder
clears that record before letting go, so a record found by the next holder means the previous run
was killed: it is reported and overwritten.

``flock`` is per host: a state directory shared over a network file system is not supported.
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import StackLockedError
from .files import private_dir


def owner_record(operation: str, since: str) -> dict:
    """Who holds a lock, for the exit-4 message (every backend writes the same record)."""
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "user": getpass.getuser(),
        "operation": operation,
        "since": since,
    }


def _read_record(fd: int) -> dict | None:
    os.lseek(fd, 0, os.SEEK_SET)
    data = b""
    while chunk := os.read(fd, 65536):
        data += chunk
    try:
        record = json.loads(data)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _write_record(fd: int, record: dict | None) -> None:
    os.ftruncate(fd, 0)
    if record is not None:
        os.pwrite(fd, json.dumps(record).encode(), 0)
    os.fsync(fd)


def _try_lock(path: Path) -> int | None:
    """An fd holding the exclusive lock on the file now at ``path``, or None if another holds it."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            same_file = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same_file = False
        if same_file:
            return fd
        os.close(fd)  # the file was replaced or removed under us (by hand): lock the one now there


def holder_of(path: Path) -> dict | None:
    """The record in a lock file, without taking the lock (for messages and `stack ls`)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        return _read_record(fd)
    finally:
        os.close(fd)


def is_held(path: Path) -> bool:
    """Whether a live process holds the lock: a record is present and its pid runs on this host.

    This does not probe the OS lock, so that `stack ls` can never make a starting run see the stack
    as locked."""
    record = holder_of(path)
    return bool(record) and not pid_is_gone(record)


@contextmanager
def stack_lock(
    path: Path, stack: str, operation: str, since: str, on_stale: Callable[[dict], None] | None = None
) -> Iterator[dict]:
    """Hold the lock of ``stack`` for the body; raise StackLockedError (naming the holder) if held."""
    private_dir(path.parent)
    fd = _try_lock(path)
    if fd is None:
        raise StackLockedError(locked_message(stack, holder_of(path), _RELEASED.format(path=path)))
    try:
        previous = _read_record(fd)
        if previous and on_stale is not None:
            on_stale(previous)
        owner = owner_record(operation, since)
        _write_record(fd, owner)
        try:
            yield owner
        finally:
            _write_record(fd, None)
    finally:
        os.close(fd)  # releases the OS lock


def clear_stale(path: Path, stack: str) -> dict | None:
    """Remove the record a killed run left; returns it. Refuses (StackLockedError) while a run holds
    the lock: that run has to finish or be stopped first."""
    if not path.exists():
        return None
    fd = _try_lock(path)
    if fd is None:
        raise StackLockedError(locked_message(stack, holder_of(path), _RELEASED.format(path=path)))
    try:
        previous = _read_record(fd)
        _write_record(fd, None)
        return previous
    finally:
        os.close(fd)


_RELEASED = "the lock is released as soon as it exits (lock file: {path})"


def pid_is_gone(record: dict) -> bool:
    """Whether the record names a process on this host that no longer runs (a killed run)."""
    if record.get("host") != socket.gethostname():
        return False
    try:
        os.kill(int(record["pid"]), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, KeyError, ValueError, TypeError):
        return False
    return False


def locked_message(stack: str, holder: dict | None, released: str) -> str:
    """The exit-4 message: who holds the lock and since when, and when it will be free."""
    if not holder:
        who = "another operation that is just starting or ending"
    else:
        who = (
            f"'{holder.get('operation')}' run by {holder.get('user')} on {holder.get('host')} "
            f"(pid {holder.get('pid')}) since {holder.get('since')}"
        )
    return f"stack '{stack}' is locked by {who}. Wait for it to finish, or stop that process; {released}"
