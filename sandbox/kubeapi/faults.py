"""Faults injected into a cluster's HTTP traffic on demand.

Each request first waits ``latency`` seconds, then may be throttled (429 with ``Retry-After``)
or fail (500 or 503 Status). Random decisions come from a generator seeded per cluster, so a
run with the same request sequence sees the same faults. ``fail_next``/``throttle_next`` force
the next N requests deterministically. In-process object access is never faulted.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

from . import errors


@dataclass
class FaultSettings:
    latency: float = 0.0  # seconds added to every request
    error_rate: float = 0.0  # fraction of requests answered 500/503
    throttle_rate: float = 0.0  # fraction of requests answered 429
    retry_after: int = 1  # seconds, in the 429 Retry-After header
    error_codes: tuple[int, ...] = (500, 503)


class Faults:
    def __init__(self, seed: int):
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self.settings = FaultSettings()
        self._forced: list[int] = []

    def configure(self, **settings) -> FaultSettings:
        """Change some settings (see :class:`FaultSettings`); the others are kept."""
        with self._lock:
            for name, value in settings.items():
                if not hasattr(self.settings, name):
                    raise TypeError(f"unknown fault setting {name!r}")
                setattr(self.settings, name, tuple(value) if name == "error_codes" else value)
            return self.settings

    def reset(self) -> None:
        with self._lock:
            self.settings = FaultSettings()
            self._forced.clear()

    def fail_next(self, count: int = 1, code: int = 503) -> None:
        with self._lock:
            self._forced += [code] * count

    def throttle_next(self, count: int = 1) -> None:
        self.fail_next(count, 429)

    def decide(self) -> tuple[float, errors.ApiError | None]:
        """``(delay seconds, error to answer or None)`` for one request."""
        with self._lock:
            s = self.settings
            code = self._forced.pop(0) if self._forced else None
            if code is None and s.throttle_rate and self._rng.random() < s.throttle_rate:
                code = 429
            if code is None and s.error_rate and self._rng.random() < s.error_rate:
                code = self._rng.choice(s.error_codes)
            return s.latency, (_error(code, s.retry_after) if code else None)


def _error(code: int, retry_after: int) -> errors.ApiError:
    if code == 429:
        return errors.too_many_requests(retry_after)
    if code == 503:
        return errors.service_unavailable("injected fault: the server is currently unable to handle the request")
    return errors.ApiError(code, "InternalError", "Internal error occurred: injected fault")
