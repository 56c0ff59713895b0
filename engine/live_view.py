"""The live view of a run on a terminal, in the style of ``pulumi up``: it always fits the screen it is drawn on.

A terminal shows only its height: a taller view scrolls its top away, and rich cuts it with ``...``, which is where
work in progress used to hide. So the view is laid out for the screen at every refresh: a header line (a spinner,
the operation, the elapsed time, what the program is doing, the counts), then the rows that matter most, failures
and calls in flight, always, then as many of the others as fit, newest last, and one line that counts the rows
left out ("✓ 93 done"). Unchanged resources are counted, not listed, unless ``show_sames``. Every line is cut to
the width (an ellipsis marks the cut), never wrapped into the lines below it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

from rich.console import Console, ConsoleOptions
from rich.text import Text

from .steps import Op, Status, Step
from .urn import STACK_TYPE

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
SYMBOLS = {
    Op.CREATE: "+",
    Op.UPDATE: "~",
    Op.REPLACE: "+-",
    Op.DELETE: "-",
    Op.DELETE_REPLACED: "--",
    Op.SAME: " ",
    Op.READ: ">",
}
COLORS = {
    Op.CREATE: "green",
    Op.UPDATE: "yellow",
    Op.REPLACE: "magenta",
    Op.DELETE: "red",
    Op.DELETE_REPLACED: "red",
    Op.SAME: "dim",
    Op.READ: "cyan",
}
PROGRESSIVE = {
    Op.CREATE: "creating",
    Op.UPDATE: "updating",
    Op.REPLACE: "replacing",
    Op.DELETE: "deleting",
    Op.DELETE_REPLACED: "deleting",
    Op.READ: "reading",
    Op.SAME: "checking",
}
PAST = {
    Op.CREATE: "created",
    Op.UPDATE: "updated",
    Op.REPLACE: "replaced",
    Op.DELETE: "deleted",
    Op.DELETE_REPLACED: "deleted",
    Op.READ: "read",
    Op.SAME: "unchanged",
}
# Which rows stay when not all fit: failures and calls in flight always, then what is still to come, then the rest.
RANK = {Status.FAILED: 0, Status.RUNNING: 1, Status.PLANNED: 2, Status.SKIPPED: 3, Status.DONE: 4}
# What a preview's header counts, in the order a reviewer weighs them (the old copy of a replacement is a delete).
PLANNED_WORDS = (
    (Op.REPLACE, "to replace"),
    (Op.DELETE, "to delete"),
    (Op.UPDATE, "to update"),
    (Op.CREATE, "to create"),
)


class LiveView:
    """The steps of one run so far, rendered (``__rich_console__``) as a view no taller than the console."""

    def __init__(self, kind: str, show_sames: bool = False, clock: Callable[[], float] = time.monotonic):
        self.kind = kind
        self.show_sames = show_sames
        self.finished = False  # the last frame: no spinner, the outcome instead
        self._clock = clock
        self._started = clock()
        self._steps: dict[str, Step] = {}  # in the order they first arrived, which rows keep
        self._lock = threading.Lock()

    def update(self, key: str, step: Step) -> None:
        if step.type == STACK_TYPE:
            return
        with self._lock:
            self._steps[key] = step

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Text]:
        height = options.height or options.size.height
        for line in self.lines(height - 1):  # a line to spare: printing above the view must not scroll it
            line.no_wrap, line.overflow = True, "ellipsis"
            line.truncate(options.max_width, overflow="ellipsis")
            yield line

    # -- layout ----------------------------------------------------------------------------------
    def lines(self, height: int) -> list[Text]:
        """The header and the rows, at most ``height`` lines (and at least the header)."""
        with self._lock:
            steps = list(self._steps.values())
        rows = [s for s in steps if self.show_sames or s.op != Op.SAME or s.status.unsuccessful]
        room = max(height - 1, 0)  # below the header
        if len(rows) > room:  # the rows RANK weighs most (newest first among equals), and a line counting the rest
            arrival = {id(s): index for index, s in enumerate(rows)}
            ranked = sorted(rows, key=lambda s: (RANK[s.status], -arrival[id(s)]))
            kept = set(map(id, ranked[: max(room - 1, 0)]))
            shown = [s for s in rows if id(s) in kept]
        else:
            shown = rows
        name_width = min(max((len(s.name) for s in shown), default=0), 32)
        lines = [self._header(steps)] + [self._row(s, name_width) for s in shown]
        shown_ids = set(map(id, shown))
        left_out = [s for s in rows if id(s) not in shown_ids]
        if left_out and len(lines) < height:
            lines.append(self._left_out(left_out))
        return lines[:height] if height > 0 else lines[:1]

    def _header(self, steps: list[Step]) -> Text:
        elapsed = self._clock() - self._started
        if not self.finished:
            mark = Text(SPINNER[int(elapsed * 10) % len(SPINNER)], style="cyan")
        elif any(s.status.unsuccessful for s in steps):
            mark = Text("✗", style="red")
        else:
            mark = Text("✓", style="green")
        text = Text.assemble(mark, " ", (self.kind, "bold"), f" · {_duration(elapsed)} · ")
        if not steps and not self.finished:
            return text.append("running the program…")
        return text.append(self._counts(steps))

    def _counts(self, steps: list[Step]) -> str:
        statuses = Counter(s.status for s in steps)
        sames = sum(1 for s in steps if s.op == Op.SAME and not s.status.unsuccessful)
        if self.kind == "preview":
            ops = Counter(_counted(s.op) for s in steps if not s.status.unsuccessful)
            parts = [f"{len(steps)} resources"] + [f"{ops[op]} {word}" for op, word in PLANNED_WORDS if ops[op]]
        else:
            parts = [f"{statuses[Status.DONE]}/{len(steps)} done"]
            parts += [f"{statuses[Status.RUNNING]} running"] if statuses[Status.RUNNING] else []
        parts += [f"{sames} unchanged"] if sames else []
        parts += [f"{statuses[status]} {status}" for status in (Status.FAILED, Status.SKIPPED) if statuses[status]]
        return " · ".join(parts)

    def _row(self, step: Step, name_width: int) -> Text:
        color = COLORS.get(step.op, "white")
        if step.status == Status.RUNNING:
            state, style = PROGRESSIVE.get(step.op, str(step.op)) + "…", "bold " + color
        elif step.status == Status.DONE:
            state, style = PAST.get(step.op, str(step.op)), color
        elif step.status == Status.FAILED:
            state, style = "failed", "bold red"
        elif step.status == Status.SKIPPED:
            state, style = "skipped", "yellow"
        else:  # planned: what a preview will do, or a step of a run waiting for a free slot
            state, style = (str(step.op) if self.kind == "preview" else "waiting"), color
        row = Text.assemble(
            (f"{SYMBOLS.get(step.op, '?'):>2} ", color), (f"{state:<11}", style), (f"{step.name:<{name_width}}", "bold")
        )
        row.append(f"  {step.type}", style="dim")
        if step.status == Status.RUNNING and step.waiting_for:
            row.append(f"  {step.waiting_for}", style="cyan")
        if step.error:
            reason = step.error.splitlines()[0].removeprefix("skipped: ")
            row.append(f"  {reason}", style="red" if step.status == Status.FAILED else "yellow")
        return row

    def _left_out(self, steps: list[Step]) -> Text:
        """The rows that did not fit, as counts: ``✓ 93 done · 4 running · 2 waiting``."""
        counts = Counter(s.status for s in steps)
        words = {
            Status.DONE: "✓ {} done",
            Status.RUNNING: "{} more running",
            Status.FAILED: "✗ {} more failed",
            Status.SKIPPED: "⊘ {} skipped",
            Status.PLANNED: "{} planned" if self.kind == "preview" else "{} waiting",
        }
        parts = [word.format(counts[status]) for status, word in words.items() if counts[status]]
        return Text("   " + " · ".join(parts), style="dim")


def _counted(op: Op) -> Op:
    return Op.DELETE if op == Op.DELETE_REPLACED else op


def _duration(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole}s" if whole < 60 else f"{whole // 60}m{whole % 60:02d}s"
