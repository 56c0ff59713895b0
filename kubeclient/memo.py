"""Values made once per key and kept in this process, for callers on many threads at once.

Connections, exec credentials and what a run reads from its clusters are each asked for by every
provider call, often by many threads for the same cluster at the same moment: :class:`Memo` makes a
key's value once while the others wait for it, and makes it anew when it is no longer fresh. A value
that could not be made (an exception) is not kept.

:func:`remembered` keeps what a run may read once (a cluster's identity and version, the hub's
registrations) until :func:`new_run`: a preview asks the same of one hub for every member, and a
create asks again what the check just read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class Memo(Generic[V]):
    def __init__(self) -> None:
        self._values: dict[Hashable, V] = {}
        self._making: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], V], fresh: Callable[[V], bool] = lambda _value: True) -> V:
        """The value kept for ``key`` while ``fresh`` says so; else ``make()``'s, kept from now on."""
        with self._lock:
            making = self._making.setdefault(key, threading.Lock())
        with making:  # one maker per key; the others find its value when they get the lock
            with self._lock:
                found = key in self._values
                value = self._values.get(key)
            if found and fresh(value):
                return value
            value = make()
            with self._lock:
                self._values[key] = value
            return value

    def forget(self, key: Hashable) -> None:
        with self._lock:
            self._values.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


_run: Memo = Memo()


def remembered(key: Hashable, make: Callable[[], V], keep: Callable[[V], bool] = lambda _value: True) -> V:
    """What this run has read under ``key``, read by ``make`` the first time (and again while ``keep``
    refuses what it read, e.g. a failed answer)."""
    return _run.get(key, make, keep)


def new_run() -> None:
    """Forget what the previous run read: clusters may have changed since (connections and credentials
    stay; they hold until they expire)."""
    _run.clear()
