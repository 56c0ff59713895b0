"""The wait every status resource does on create and update: observe until settled or timed out."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll(
    observe: Callable[[], T], settled: Callable[[T], bool], timeout: float, interval: float = 1.0
) -> tuple[T, bool]:
    """Call ``observe`` until ``settled`` accepts what it saw or ``timeout`` seconds pass (it is
    always called at least once); returns the last observation and whether it settled."""
    deadline = time.monotonic() + timeout
    while True:
        seen = observe()
        if settled(seen):
            return seen, True
        if time.monotonic() >= deadline:
            return seen, False
        time.sleep(min(interval, max(0.05, deadline - time.monotonic())))
