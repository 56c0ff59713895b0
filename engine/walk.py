"""The one bounded walker: owns ``--parallel`` and how failures spread, for every kind of step.

Two ways of driving it:

* **Registrations** (preview and up): the SDK decides the order. A registration arrives on one of
  the SDK's executor threads only once everything it awaits has resolved, and blocks there until
  its step is done. The walker bounds the provider calls those threads make (:meth:`Walker.call`),
  records failed and skipped resources, and tells a new registration which of the resources it
  needs failed (:meth:`Walker.blocked_by`), so a skip reaches every dependent.
* **Graphs** (deletes and refresh): the walker schedules the whole graph itself
  (:meth:`Walker.walk`). A node runs once every node it needs is done; when a node fails, every
  node that needs it, directly or not, is skipped at once. Scheduling happens on the calling
  thread only, so the walk ends when nothing is running and nothing is ready: a failure, an
  exception from a visit, or a cycle can neither hang it nor leave a node undecided.

The bound is one semaphore of ``parallel`` slots around provider calls, whichever way they are
driven. A graph walk runs its visits on ``parallel`` worker threads: more would only queue on it.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

from .graph import Graph
from .steps import Status

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")

# The SDK performs every monitor call on its event loop's default executor. Registrations hold a
# thread each while their step runs; a few more keep invokes, outputs and log calls moving while
# every provider slot is taken.
_SDK_SPARE_THREADS = 8


class Cancelled(Exception):
    """A provider call refused because the run was interrupted."""


class Walker:
    """Runs steps with at most ``parallel`` provider calls in flight."""

    def __init__(self, parallel: int, cancelled: threading.Event | None = None):
        if parallel < 1:
            raise ValueError(f"parallel must be at least 1 (got {parallel})")
        self.parallel = parallel
        self.cancelled = cancelled or threading.Event()
        self._slots = threading.BoundedSemaphore(parallel)
        self._lock = threading.Lock()
        self._failed: set[str] = set()

    @property
    def sdk_threads(self) -> int:
        """How many executor threads the SDK gets for a program run under this walker."""
        return self.parallel + _SDK_SPARE_THREADS

    # -- registrations -------------------------------------------------------------------------
    def call(self, fn: Callable[[], T]) -> T:
        """Run one provider call (and what must happen with it) in a slot. Once the run is
        cancelled (Ctrl-C) no new call starts: each raises :class:`Cancelled` instead, so the
        resource fails, its dependents are skipped, and the run winds down after the calls in flight."""
        with self._slots:
            if self.cancelled.is_set():
                raise Cancelled("not started: the run was interrupted (Ctrl-C)")
            return fn()

    def mark_failed(self, urn: str) -> None:
        """Record that the resource ``urn`` failed or was skipped: its dependents will be skipped."""
        with self._lock:
            self._failed.add(urn)

    def blocked_by(self, needed: Iterable[str]) -> list[str]:
        """Which of the ``needed`` URNs failed or were skipped, sorted."""
        with self._lock:
            return sorted(self._failed.intersection(needed))

    # -- graphs --------------------------------------------------------------------------------
    def walk(
        self,
        graph: Graph[K],
        visit: Callable[[K], bool],
        skip: Callable[[K, K | None], None],
    ) -> dict[K, Status]:
        """Visit every node of ``graph`` once what it needs is done; returns each node's outcome.

        ``visit(node)`` does the work, reports it, and returns whether it succeeded.
        ``skip(node, cause)`` is called for each node not visited: ``cause`` is the failed node it
        (transitively) needs, or None when it sits on or behind a dependency cycle. An exception
        escaping a visit is a bug: the node counts as failed, the walk completes, and the first such
        exception is raised at the end.
        """
        dependents = graph.dependents()
        waiting = {node: 0 for node in graph.nodes}
        for needers in dependents.values():
            for needer in needers:
                waiting[needer] += 1
        outcome: dict[K, Status] = {}
        ready = deque(node for node in graph.nodes if waiting[node] == 0)

        def skip_dependents(failed: K) -> None:
            stack = list(dependents[failed])
            while stack:
                node = stack.pop()
                if node in outcome:
                    continue
                outcome[node] = Status.SKIPPED
                skip(node, failed)
                stack.extend(dependents[node])

        errors: list[BaseException] = []

        def safe_visit(node: K) -> bool:
            try:
                return bool(visit(node))
            except Exception as exc:
                errors.append(exc)
                return False

        running: dict[Future, K] = {}
        with ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="fleetform-walk") as pool:
            while ready or running:
                while ready and len(running) < self.parallel:  # waiting on few futures keeps each wait cheap
                    node = ready.popleft()
                    outcome[node] = Status.RUNNING
                    running[pool.submit(safe_visit, node)] = node
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    node = running.pop(future)
                    if future.result():
                        outcome[node] = Status.DONE
                        for needer in dependents[node]:
                            waiting[needer] -= 1
                            if waiting[needer] == 0 and needer not in outcome:
                                ready.append(needer)
                    else:
                        outcome[node] = Status.FAILED
                        skip_dependents(node)
        for node in graph.nodes:  # only nodes on (or behind) a cycle can be left
            if node not in outcome:
                outcome[node] = Status.SKIPPED
                skip(node, None)
        if errors:
            raise errors[0]
        return outcome
