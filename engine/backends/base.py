"""The storage interface under the state document: where a stack's state bytes live and how its lock is held.

A backend stores bytes; it never reads them. The state format, its checks, encryption, pending
operations and the seal are :mod:`engine.state` and :mod:`engine.state_doc`, the same on every backend.
What a backend adds is where the bytes live, optimistic concurrency on them and the stack's lock:

- :meth:`Backend.read` returns the bytes with a *version* (an ETag, a row version, a file identity);
  :meth:`Backend.write` replaces them only if the stored version is still the one given (``None``: only
  if there is no state yet), else raises :class:`StateConflictError`. A lost race is an error, never
  an overwrite.
- :meth:`Backend.backup` keeps the current bytes as the stack's backup before a run first changes it.
- :meth:`Backend.lock` holds the stack's lock for a ``with`` block. A lock left by a run that is gone
  is taken over atomically (``on_stale`` is told whose it was); a live holder's lock raises
  :class:`~engine.errors.StackLockedError` naming it (exit 4). A holder releases only its own lock.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from ..errors import InvalidInputError, StackLockedError, StateError


@dataclass(frozen=True)
class Blob:
    data: bytes
    version: str


class StateConflictError(StackLockedError):
    """The stored state changed since this run read it: another run took the stack over."""


class BackendError(StateError):
    """The backend cannot be reached or refused the request (credentials, permissions, network)."""


class BackendUrlError(InvalidInputError):
    """A backend URL that cannot be used; nothing was touched."""


OnStale = Callable[[dict], None] | None


def mask_password(url: str) -> str:
    """The URL with any password replaced by ``***`` (what fleetform prints of a backend URL)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


class Backend(ABC):
    """State storage of the stacks of one project.

    A backend that can append cheaply keeps a journal beside each state (:mod:`engine.state_journal`):
    it sets ``journals`` and implements the three journal methods. The others (S3, PostgreSQL:
    an object or a row is replaced whole, never appended to) write the full state every time, have no
    journal to read or remove, and are never asked to append to one."""

    url: str  # the backend's URL with any password masked (safe to print)
    journals: bool = False

    def read_journal(self, stack: str) -> bytes:
        """The stack's journal (empty when there is none)."""
        return b""

    def append_journal(self, stack: str, data: bytes, expected: str | None) -> None:
        """Append to the journal of the state whose stored version is ``expected`` (else StateConflictError)."""
        raise TypeError(f"{type(self).__name__} keeps no journal: a checkpoint writes the whole state")

    def clear_journal(self, stack: str) -> None:
        """Remove the journal (after a full write has made it redundant); without journals there is none."""
        return None

    @abstractmethod
    def location(self, stack: str) -> str:
        """Where the stack's state lives, for messages (no secrets)."""

    @abstractmethod
    def read(self, stack: str) -> Blob | None: ...

    @abstractmethod
    def write(self, stack: str, data: bytes, expected: str | None, durable: bool) -> str:
        """Replace the state if its stored version is ``expected``; returns the new version."""

    @abstractmethod
    def backup(self, stack: str) -> None:
        """Keep the current state (if any) as the stack's backup."""

    @abstractmethod
    def restore_hint(self, stack: str) -> str | None:
        """How to put the backup back, or None when there is no backup."""

    @abstractmethod
    def stacks(self) -> list[str]: ...

    @abstractmethod
    def remove(self, stack: str) -> None:
        """Delete the stack's state and backup (called while holding its lock)."""

    @abstractmethod
    def lock(self, stack: str, operation: str, since: str, on_stale: OnStale = None) -> AbstractContextManager[dict]:
        """Hold the stack's lock; the record (operation, user, host, pid, since) names the holder."""

    @abstractmethod
    def is_locked(self, stack: str) -> bool:
        """Whether a live run holds the lock (without disturbing a run that is starting)."""

    @abstractmethod
    def unlock(self, stack: str) -> dict | None:
        """Clear a lock left by a run that is gone, returning its record; refuse while its holder lives."""
