"""What a person (or a CI job) sees: a stack header, progress (the live view of :mod:`engine.live_view` on a
terminal, a line per step otherwise), property diffs, summaries, and JSON."""

from __future__ import annotations

import sys
import threading
from typing import Any, TextIO

from rich.console import Console
from rich.live import Live

from .backends.base import mask_password
from .live_view import PROGRESSIVE, SYMBOLS, LiveView
from .operations import RunResult
from .report_text import change_lines, failure_lines, outputs_block, resources_block, terraform_line
from .secrets import mask_secrets
from .steps import Op, Status, Step
from .urn import STACK_TYPE, urn_name

# How the stack header names each operation, as ``pulumi up`` does ("Updating (dev)").
HEADINGS = {"preview": "Previewing", "up": "Updating", "destroy": "Destroying", "refresh": "Refreshing"}

STATUS_WORDS = {
    Status.PLANNED: "",
    Status.RUNNING: "…",
    Status.DONE: "✓",
    Status.FAILED: "✗ failed",
    Status.SKIPPED: "⊘ skipped",
}


def step_to_json(step: Step) -> dict[str, Any]:
    data: dict[str, Any] = {"urn": step.urn, "type": step.type, "op": step.op, "status": step.status}
    if step.changes:
        data["diffs"] = [c.for_display() for c in step.changes]
    if step.op == Op.REPLACE:
        data["replaceReasons"] = step.replace_reasons
        data["deleteBeforeReplace"] = step.delete_before_replace
    if step.error:
        data["error"] = step.error
    return data


def result_to_json(result: RunResult, diagnostics: list[dict]) -> dict[str, Any]:
    error = result.program_error
    return {
        "operation": result.kind,
        "stack": result.stack,
        "summary": result.summary(),
        "steps": [step_to_json(s) for s in result.steps],
        "outputs": mask_secrets(result.stack_outputs),
        "notes": result.notes,
        "pendingOperations": result.pending,
        "diagnostics": diagnostics,
        "error": str(error) if error is not None else None,
    }


class Reporter:
    """Receives engine events and shows them: a live view on a terminal, plain lines otherwise.

    With ``quiet`` (JSON mode) it only collects diagnostics for the final document; ``show_sames`` lists unchanged
    resources too. ``console`` is for tests, which draw on a screen of fixed size.
    """

    def __init__(
        self,
        kind: str,
        out: TextIO | None = None,
        quiet: bool = False,
        terraform_summary: bool = False,
        show_sames: bool = False,
        console: Console | None = None,
    ):
        self.kind = kind
        self.terraform_summary = terraform_summary
        self.show_sames = show_sames
        self.out = out or sys.stdout
        self.quiet = quiet
        self.console = console or Console(file=self.out, highlight=False, soft_wrap=True)
        self.diagnostics: list[dict] = []
        self.view = LiveView(kind, show_sames)
        self._lock = threading.Lock()
        self.live: Live | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> Reporter:
        if not self.quiet and self.console.is_terminal:
            self.live = Live(self.view, console=self.console, refresh_per_second=8, transient=False)
            self.live.start(refresh=True)  # at once: the phase shows before the program has declared anything
        return self

    def __exit__(self, *exc) -> None:
        if self.live is not None:
            self.view.finished = True
            self.live.stop()  # draws the last frame

    def begin(self, project: str, stack: str, backend: str) -> None:
        """The stack header: what runs, on which stack of which project, with its state where (no password)."""
        if self.quiet:
            return
        heading = HEADINGS.get(self.kind, self.kind)
        for line in (f"{heading} stack '{stack}' of project '{project}'", f"Backend: {mask_password(backend)}", ""):
            self.console.print(line, markup=False)

    # -- observer interface ----------------------------------------------------------------------
    def on_step(self, step: Step) -> None:
        self.view.update(step.urn + (" (old)" if step.old is not None and step.old.delete else ""), step)
        if self.quiet or self.live is not None or step.type == STACK_TYPE:
            return
        if self._worth_a_line(step):
            self.console.print(self._line(step), markup=False)

    def on_diagnostic(self, severity: str, message: str, urn: str = "") -> None:
        with self._lock:
            self.diagnostics.append({"severity": severity, "message": message, "urn": urn})
        if not self.quiet:
            where = f" ({urn_name(urn)})" if urn else ""
            self.console.print(f"{severity}{where}: {message}", markup=False)

    # -- a line per step (off a terminal) --------------------------------------------------------
    def _worth_a_line(self, step: Step) -> bool:
        if step.status.unsuccessful:
            return True
        if step.op == Op.SAME and not self.show_sames:
            return False
        if self.kind == "preview" or step.op in (Op.READ, Op.SAME):
            return step.status in (Status.PLANNED, Status.DONE)
        return step.status in (Status.RUNNING, Status.DONE)

    def _line(self, step: Step) -> str:
        status = STATUS_WORDS.get(step.status, step.status)
        verb = PROGRESSIVE.get(step.op, step.op) if step.status == Status.RUNNING else step.op
        text = f"{SYMBOLS.get(step.op, '?'):>2} {verb:<10} {step.type}  {step.name}  {status}".rstrip()
        if step.status == Status.RUNNING and step.waiting_for:
            text += f" {step.waiting_for}"
        if step.error:
            text += f": {step.error}"
        return text

    # -- final report ----------------------------------------------------------------------------
    def report(self, result: RunResult, show_diff: bool) -> None:
        if self.quiet:
            return
        lines = change_lines(result) if show_diff else []
        lines += failure_lines(result)
        lines += [f"note: {note}" for note in result.notes]
        if result.kind in ("up", "preview"):
            lines += outputs_block(result)
        lines += resources_block(result)
        counts = result.summary()
        shown = (Op.CREATE, Op.UPDATE, Op.REPLACE, Op.DELETE, Op.SAME, Status.FAILED, Status.SKIPPED)
        parts = [f"{counts[k]} {k}" for k in shown if counts.get(k)]
        lines += ["", f"{result.kind} summary: " + (", ".join(parts) or "no resources")]
        terraform = terraform_line(result) if self.terraform_summary else None
        if terraform:
            lines.append(terraform)
        for line in lines:
            self.console.print(line, markup=False)
