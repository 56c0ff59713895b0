"""What a person (or a CI job) sees: live progress, property diffs, summaries, and JSON."""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any, TextIO

from rich.console import Console
from rich.live import Live
from rich.tree import Tree

from .numbers import whole_numbers
from .operations import RunResult
from .report_text import failure_lines, outputs_block, resources_block, terraform_line
from .secrets import mask_secrets
from .steps import Op, Status, Step
from .urn import STACK_TYPE, urn_name

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
}
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
    """Receives engine events and shows them: a live tree on a terminal, plain lines otherwise.

    With ``quiet`` (JSON mode) it only collects diagnostics for the final document.
    """

    def __init__(self, kind: str, out: TextIO | None = None, quiet: bool = False, terraform_summary: bool = False):
        self.kind = kind
        self.terraform_summary = terraform_summary
        self.out = out or sys.stdout
        self.quiet = quiet
        self.console = Console(file=self.out, highlight=False, soft_wrap=True)
        self.diagnostics: list[dict] = []
        self._steps: dict[str, Step] = {}
        self._lock = threading.Lock()
        self._live: Live | None = None
        self._last_draw = 0.0

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> Reporter:
        if not self.quiet and self.console.is_terminal:
            self._live = Live(self._tree(), console=self.console, refresh_per_second=8, transient=False)
            self._live.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._live is not None:
            self._live.update(self._tree())
            self._live.stop()

    # -- observer interface ----------------------------------------------------------------------
    def on_step(self, step: Step) -> None:
        with self._lock:
            self._steps[step.urn + (" (old)" if step.old is not None and step.old.delete else "")] = step
        if self.quiet or step.type == STACK_TYPE:
            return
        if self._live is not None:
            now = time.monotonic()
            if now - self._last_draw > 0.1:
                self._last_draw = now
                self._live.update(self._tree())
            return
        if self._worth_a_line(step):
            self.console.print(self._line(step), markup=False)

    def on_diagnostic(self, severity: str, message: str, urn: str = "") -> None:
        with self._lock:
            self.diagnostics.append({"severity": severity, "message": message, "urn": urn})
        if not self.quiet:
            where = f" ({urn_name(urn)})" if urn else ""
            self.console.print(f"{severity}{where}: {message}", markup=False)

    # -- drawing ---------------------------------------------------------------------------------
    def _worth_a_line(self, step: Step) -> bool:
        if step.status.unsuccessful:
            return True
        if step.op == Op.SAME:
            return False
        if self.kind == "preview" or step.op == Op.READ:
            return step.status in (Status.PLANNED, Status.DONE)
        return step.status in (Status.RUNNING, Status.DONE)

    def _line(self, step: Step) -> str:
        status = STATUS_WORDS.get(step.status, step.status)
        verb = PROGRESSIVE.get(step.op, step.op) if step.status == Status.RUNNING else step.op
        text = f"{SYMBOLS.get(step.op, '?'):>2} {verb:<10} {step.type}  {step.name}  {status}".rstrip()
        if step.error:
            text += f": {step.error}"
        return text

    def _tree(self) -> Tree:
        """Resources nested under their parents, each with its operation and status."""
        with self._lock:
            steps = [s for s in self._steps.values() if s.type != STACK_TYPE]
        urns = {s.urn for s in steps}
        children: dict[str, list[Step]] = {}
        for step in steps:
            parent = step.parent if step.parent in urns else ""
            children.setdefault(parent, []).append(step)
        done = sum(1 for s in steps if s.status == Status.DONE or s.status.unsuccessful)
        root = Tree(f"[bold]{self.kind}[/bold] {done}/{len(steps)} resources")

        def add(node: Tree, parent: str) -> None:
            for step in children.get(parent, []):
                add(node.add(self._label(step)), step.urn)

        add(root, "")
        return root

    def _label(self, step: Step) -> str:
        color = COLORS.get(step.op, "white")
        status = STATUS_WORDS.get(step.status, step.status)
        return f"[{color}]{SYMBOLS.get(step.op, '?')} {step.op}[/{color}] {step.type} [bold]{step.name}[/bold] {status}"

    # -- final report ----------------------------------------------------------------------------
    def report(self, result: RunResult, show_diff: bool) -> None:
        if self.quiet:
            return
        changed = [s for s in result.steps if s.op != Op.SAME or s.status.unsuccessful]
        if show_diff:
            for step in sorted(changed, key=_review_order):
                self._print_diff(step)
        lines = failure_lines(result)
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

    def _print_diff(self, step: Step) -> None:
        self.console.print(f"{SYMBOLS.get(step.op, '?'):>2} {step.type} {step.name}", markup=False)
        for reason in step.replace_reasons:
            self.console.print(f"      replace because of {reason}", markup=False)
        for change in step.changes:
            shown = whole_numbers(change.for_display())
            if change.kind == "add":
                self.console.print(f"      + {shown['path']}: {json.dumps(shown['new'])}", markup=False)
            elif change.kind == "delete":
                self.console.print(f"      - {shown['path']}: {json.dumps(shown['old'])}", markup=False)
            else:
                self.console.print(
                    f"      ~ {shown['path']}: {json.dumps(shown['old'])} => {json.dumps(shown['new'])}", markup=False
                )


def _review_order(step: Step) -> tuple[int, str]:
    """Replaces and deletes first (what a reviewer weighs most), then updates, then creates."""
    order = (Op.REPLACE, Op.DELETE, Op.DELETE_REPLACED, Op.UPDATE, Op.CREATE, Op.READ)
    return (order.index(step.op) if step.op in order else len(order), step.urn)
