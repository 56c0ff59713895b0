"""The garbage collector set for a run whose heap grows with the stack.

A run keeps every resource's inputs, outputs, Outputs and futures alive until it ends, so the heap grows with
the stack (hundreds of thousands of objects at a few thousand resources). CPython's default thresholds start a
young collection every 700 allocations and, every so often, a full one that walks the whole heap: at 3,600
resources that was about a third of a no-op preview's CPU, and the share grows with the stack. Fewer, larger
young collections still free the reference cycles a run leaves (asyncio futures, tracebacks), at the price of
some memory held a little longer.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000  # allocations between young collections (CPython: 700)
MIDDLE_THRESHOLD = 20  # young collections between middle ones (CPython: 10)
OLD_THRESHOLD = 100  # middle collections between full ones, which CPython also defers while few objects are new


def tune_for_large_heaps() -> None:
    """Collect less often (see the module's docstring); called once at the start of a command."""
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
