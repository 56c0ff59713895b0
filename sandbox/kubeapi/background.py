"""A few threads run the background controllers of every virtual cluster in the process.

A control plane (:mod:`.controlplane`) has work when its store queued a change for it or one of
its timers is due. Each cluster used to wait for that on a thread of its own; a thousand clusters
meant a thousand threads. Here a cluster says it has work (:meth:`Runner.wake`) or when it will
(:meth:`Runner.at`), and one of ``THREADS`` threads calls its ``work()``. A cluster is queued once
at a time and its ``work()`` holds the cluster's own lock, so its changes are still handled in
order; it handles at most a batch per turn so that one busy cluster does not hold up the others.
More than one thread only so that a slow handler does not stall every cluster, and so that the
background work keeps a fair share of the GIL next to a busy program's threads.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger("sandbox.kubeapi.background")

THREADS = 4


class Worker(Protocol):
    def work(self) -> None:
        """Handle what is queued and due now (a batch at most); wake or schedule itself for more."""


class Runner:
    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._ready: dict[Worker, None] = {}  # insertion-ordered, each worker once
        self._timers: list[tuple[float, int, Worker]] = []
        self._seq = itertools.count()
        self._threads: list[threading.Thread] = []

    def wake(self, worker: Worker) -> None:
        """``worker`` has work now (cheap: called on every write of its cluster)."""
        with self._lock:
            if worker not in self._ready:
                self._ready[worker] = None
                self._ensure_thread()
                self._lock.notify()

    def at(self, when: float, worker: Worker) -> None:
        """``worker`` has work at ``when`` (``time.monotonic()``)."""
        with self._lock:
            heapq.heappush(self._timers, (when, next(self._seq), worker))
            self._ensure_thread()
            self._lock.notify()

    def _ensure_thread(self) -> None:
        while len(self._threads) < THREADS:
            thread = threading.Thread(target=self._run, name=f"kubeapi-controllers-{len(self._threads)}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def _next(self) -> Worker:
        with self._lock:
            while True:
                now = time.monotonic()
                while self._timers and self._timers[0][0] <= now:
                    self._ready.setdefault(heapq.heappop(self._timers)[2], None)
                if self._ready:
                    worker = next(iter(self._ready))
                    del self._ready[worker]
                    return worker
                self._lock.wait(self._timers[0][0] - now if self._timers else None)

    def _run(self) -> None:
        while True:
            worker = self._next()
            _guarded(worker.work)


def _guarded(action: Callable[[], None]) -> None:
    try:
        action()
    except Exception:  # one cluster's failure must not stop the others'
        log.exception("background work failed")


RUNNER = Runner()
