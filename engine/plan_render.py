"""Formats a :class:`~engine.plan_model.PlanModel`: Markdown for a pull-request comment.

The Markdown opens with a hidden marker naming the stack (so a CI job finds and updates its own
comment), a summary table (counts per operation, per top-level component, and a total), then one
collapsible ``<details>`` section per changed resource with its property diffs, replaces and
deletes first. Secrets are masked. The whole text stays within ``limit`` characters (a GitHub
comment holds 65,536): the head is bounded (table rows, failures, notes and messages are capped),
a resource section that no longer fits is cut whole (later, smaller ones may still fit), and a
closing note says which were cut and where to see them all.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from .plan_model import COUNTED, Component, PlanModel, counted_op
from .providers import DYNAMIC_PROVIDER_KEY
from .secrets import mask_secrets
from .steps import Op, Status, Step

COMMENT_LIMIT = 65_536
_NOTE_RESERVE = 2_000  # room kept for the note that lists what was cut
_VALUE_LIMIT = 1_000  # one property's value beyond this is shortened (a whole CRD schema, say)
_TABLE_ROWS = 100
_LISTED = 30  # failures and notes listed in the head
_MESSAGE_LIMIT = 300  # one error or note in the head
_VERBS = {
    Op.CREATE: "create",
    Op.UPDATE: "update",
    Op.REPLACE: "replace",
    Op.DELETE: "delete",
    Op.DELETE_REPLACED: "delete (old copy)",
    Op.SAME: "unchanged",
    Op.READ: "read",
}


def marker(stack: str) -> str:
    """The hidden first line of a stack's comment; CI updates the comment that carries it."""
    return f"<!-- fleetform-preview stack={stack} -->"


def markdown(model: PlanModel, limit: int = COMMENT_LIMIT) -> str:
    head = _head(model)
    sections = [_resource_section(model, step) for step in model.changes]
    text = head + "".join(sections)
    if len(text) <= limit:
        return text
    kept, cut = [], []
    budget = limit - len(head) - _NOTE_RESERVE
    for step, section in zip(model.changes, sections, strict=True):
        if len(section) <= budget:
            kept.append(section)
            budget -= len(section)
        else:
            cut.append(step)
    note = _cut_note(model, cut, _NOTE_RESERVE)
    return head + "".join(kept) + note


# -- the head: marker, status, summary table, failures, notes --------------------------------------
def _head(model: PlanModel) -> str:
    lines = [marker(model.stack), f"### fleetform {model.operation} of stack `{model.stack}`", ""]
    if model.error:
        lines += [f"**The {model.operation} failed:**", "", _fenced(_shorten(model.error, 2_000), ""), ""]
    changed = [f"{model.counts[op]} to {_VERBS[op]}" for op in COUNTED if op != Op.SAME and model.counts[op]]
    status = ", ".join(changed) if changed else "no changes"
    lines += [f"**{status}**; {model.counts[Op.SAME]} unchanged.", ""]
    lines += _table(model)
    if model.failures:
        lines += ["", f"**{len(model.failures)} resources failed or were skipped:**", ""]
        lines += [f"- <code>{html.escape(s.urn)}</code>: {_inline(s.error)}" for s in model.failures[:_LISTED]]
        if len(model.failures) > _LISTED:
            lines.append(f"- … and {len(model.failures) - _LISTED} more")
    if model.notes:
        lines += ["", f"<details><summary>Notes ({len(model.notes)})</summary>", ""]
        lines += [f"- {_inline(note)}" for note in model.notes[:_LISTED]]
        if len(model.notes) > _LISTED:
            lines.append(f"- … and {len(model.notes) - _LISTED} more")
        lines += ["", "</details>"]
    if model.changes:
        lines += ["", "#### Changes", ""]
    return "\n".join(lines) + "\n"


def _table(model: PlanModel) -> list[str]:
    names = [_VERBS[op] for op in COUNTED]
    lines = ["| component | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    changed = [c for c in model.components if c.changed]
    for component in changed[:_TABLE_ROWS]:
        counts = component.counts
        cells = [str(counts[op]) if counts[op] else "" for op in COUNTED]
        lines.append(f"| {component.kind} `{_cell(component.name)}` | " + " | ".join(cells) + " |")
    if len(changed) > _TABLE_ROWS:
        lines.append(f"| … {len(changed) - _TABLE_ROWS} more changed components |" + " |" * len(names))
    unchanged = [c for c in model.components if not c.changed]
    if unchanged:
        total = sum(len(c.steps) for c in unchanged)
        cells = [str(total) if op == Op.SAME else "" for op in COUNTED]
        lines.append(f"| {len(unchanged)} unchanged components | " + " | ".join(cells) + " |")
    lines.append("| **total** | " + " | ".join(f"**{model.counts[op]}**" for op in COUNTED) + " |")
    return lines


# -- one resource ----------------------------------------------------------------------------------
def _resource_section(model: PlanModel, step: Step) -> str:
    component = model.component_of.get(step.urn)
    where = f" in {_where(component)}" if component is not None and component.urn != step.urn else ""
    state = (
        " — <b>failed</b>" if step.status == Status.FAILED else " — skipped" if step.status == Status.SKIPPED else ""
    )
    summary = (
        f"<b>{_VERBS.get(step.op, step.op)}</b> <code>{html.escape(step.name)}</code> "
        f"<code>{html.escape(step.type)}</code>{html.escape(where)}{state}"
    )
    body: list[str] = []
    if step.replace_reasons:
        reasons = ", ".join(f"<code>{html.escape(r)}</code>" for r in step.replace_reasons)
        order = "deleted before its replacement is created" if step.delete_before_replace else "created, then deleted"
        body += [f"Replaced because of {reasons} ({order}).", ""]
    if step.error:
        body += [_inline(step.error), ""]
    lines = _diff_lines(step)
    body += [_fenced("\n".join(lines), "diff") if lines else "No properties.", ""]
    return f"<details><summary>{summary}</summary>\n\n" + "\n".join(body) + "</details>\n"


def _diff_lines(step: Step) -> list[str]:
    if step.op == Op.CREATE:
        inputs = {k: v for k, v in step.inputs.items() if k != DYNAMIC_PROVIDER_KEY}
        return [f"+ {key}: {_value(value)}" for key, value in sorted(inputs.items())]
    if step.op in (Op.DELETE, Op.DELETE_REPLACED) and step.old is not None:
        inputs = {k: v for k, v in step.old.inputs.items() if k != DYNAMIC_PROVIDER_KEY}
        return [f"- {key}: {_value(value)}" for key, value in sorted(inputs.items())]
    lines = []
    for change in step.changes:
        shown = change.for_display()
        if change.kind in ("delete", "update"):
            lines.append(f"- {shown['path']}: {_value(shown['old'])}")
        if change.kind in ("add", "update"):
            lines.append(f"+ {shown['path']}: {_value(shown['new'])}")
    return lines


def _where(component: Component) -> str:
    return f"{component.kind} {component.name}"


# -- the note on what was cut ----------------------------------------------------------------------
def _cut_note(model: PlanModel, cut: list[Step], room: int) -> str:
    per_op: dict[str, int] = {}
    for step in cut:
        verb = _VERBS[counted_op(step)]
        per_op[verb] = per_op.get(verb, 0) + 1
    counts = ", ".join(f"{n} {verb}" for verb, n in per_op.items())
    head = (
        f"\n> **{len(cut)} resource sections were cut** ({counts}) to keep this comment under "
        f"{COMMENT_LIMIT:,} characters. See them all with `fleetform preview -s {model.stack} --diff`, "
        f"or in the saved plan.\n>\n> Cut:"
    )
    names, used = [], len(head) + 40
    for step in cut:
        entry = f" <code>{html.escape(step.name)}</code> ({_VERBS[step.op]})"
        if used + len(entry) + 2 > room:
            names.append(f" … and {len(cut) - len(names)} more")
            break
        names.append(entry)
        used += len(entry) + 1
    return head + ",".join(names) + "\n"


# -- text helpers ----------------------------------------------------------------------------------
def _value(value: Any) -> str:
    return _shorten(json.dumps(mask_secrets(value), sort_keys=True, ensure_ascii=False))


def _shorten(text: str, limit: int = _VALUE_LIMIT) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text) - limit} more characters)"


def _fenced(text: str, language: str) -> str:
    """``text`` in a code fence longer than any run of backticks inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text}\n{fence}"


def _inline(text: str) -> str:
    """One line of text safe in Markdown list items and table cells (no raw HTML, no line breaks)."""
    return html.escape(_shorten(" ".join(str(text).split()), _MESSAGE_LIMIT))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("`", "'")
