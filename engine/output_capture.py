"""Output printed during a provider call goes into that call's outcome, not raw onto the terminal.

Cloud SDKs and the libraries under them print: tracebacks of their own credential-chain retries, log
records through handlers they add when imported, the Kubernetes client's ``logging.error`` when an exec
plugin fails. Printed raw, that interleaves with the run's report, corrupts ``--json`` on stdout and
names no resource. While :func:`routing` is active, ``sys.stdout`` and ``sys.stderr`` are routers: a
thread inside :func:`call` writes into that call's buffer, every other thread writes through. Handlers
that SDKs create while it is active (they are imported during the run) hold a router and are routed too.

A call that fails carries what it printed (:func:`describe` adds the last lines to its message); a call
that succeeds writes it through to stderr afterwards, as it would have been without the capture.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")
MAX_LINES = 12  # of what a failed call printed, in its message: the end of a traceback says the most

_local = threading.local()


class _Router:
    """A text stream that hands this thread's writes to its call's buffer while it has one."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        buffer = getattr(_local, "buffer", None)
        if buffer is None:
            return self._stream.write(text)
        buffer.append(text)
        return len(text)

    def flush(self) -> None:
        if getattr(_local, "buffer", None) is None:
            self._stream.flush()

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


@contextmanager
def routing() -> Iterator[None]:
    """Route ``sys.stdout`` and ``sys.stderr`` for the ``with`` block (a run)."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Router(saved[0]), _Router(saved[1])
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def call(fn: Callable[[], T]) -> T:
    """``fn()`` with what it prints captured: attached to the exception it raises (see :func:`describe`),
    else written through to stderr once it returns."""
    outer = getattr(_local, "buffer", None)
    buffer: list[str] = []
    _local.buffer = buffer
    try:
        result = fn()
    except Exception as exc:
        _local.buffer = outer
        printed = "".join(buffer)
        if printed.strip():
            exc.printed_output = getattr(exc, "printed_output", "") + printed
        raise
    _local.buffer = outer
    if buffer:
        sys.stderr.write("".join(buffer))
    return result


def describe(exc: BaseException) -> str:
    """The exception's message, followed by the last lines of what its call printed, if anything."""
    printed = getattr(exc, "printed_output", "")
    lines = [line.rstrip() for line in printed.splitlines() if line.strip()][-MAX_LINES:]
    if not lines:
        return str(exc)
    return f"{exc}\n    printed during the call:\n" + "\n".join(f"      {line}" for line in lines)
