"""What a running provider call is waiting for, shown on its step while it waits.

A create, update or delete can wait for minutes (a Deployment becoming available, finalizers to be
removed). pulumi-kubernetes reports what each such wait is for as it waits; here a provider calls
:func:`report` from inside its call, and the engine shows the text beside the running step (the live
view's row, or a line when the output is not a terminal). Outside a call, :func:`report` does nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_local = threading.local()


@contextmanager
def reporting(show: Callable[[str], None]) -> Iterator[None]:
    """While the block runs on this thread, :func:`report` hands its messages to ``show``."""
    outer = getattr(_local, "show", None)
    _local.show = show
    try:
        yield
    finally:
        _local.show = outer


def report(message: str) -> None:
    """Say what the current call waits for now (the same message again is not news)."""
    show = getattr(_local, "show", None)
    if show is not None:
        show(message)
