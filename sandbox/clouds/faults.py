"""The queue behind every cloud emulator's ``throttle_next``, ``fail_next`` and ``deny_next``."""

from __future__ import annotations

import threading
from collections import deque
from http import HTTPStatus
from typing import Generic, TypeVar

F = TypeVar("F")


class FaultQueue(Generic[F]):
    """Faults waiting for API requests: each request takes at most one, oldest first. What a
    fault is (an error to raise, a status to answer) and at which step of a request it is taken
    (before or after authentication) is the emulator's API semantics, not the queue's."""

    def __init__(self):
        self._lock = threading.Lock()
        self._queue: deque[F] = deque()

    def add(self, count: int, fault: F) -> None:
        with self._lock:
            self._queue.extend([fault] * count)

    def take(self) -> F | None:
        with self._lock:
            return self._queue.popleft() if self._queue else None


def status_error_code(status: int) -> str:
    """The error code of a ``fail_next(count, <HTTP status>)`` fault, for clouds whose codes are
    their own words: the status's phrase as one word (``ServiceUnavailable``), else ``Error``."""
    return HTTPStatus(status).phrase.replace(" ", "") if status in HTTPStatus._value2member_map_ else "Error"
