"""The end of a run as text, in the shape Pulumi and Terraform users read: the property diffs grouped under their
component, the failures once each, the outputs as blocks in a stable order with what changed marked, a
``Resources:`` block and, on request, Terraform's one-line summary. Pure functions from a run's result to lines;
:class:`engine.render.Reporter` prints them."""

from __future__ import annotations

import json
from typing import Any

from .graph import top_of
from .live_view import SYMBOLS
from .numbers import whole_numbers
from .operations import RunResult
from .plan_model import CHANGE_ORDER, build
from .secrets import mask_secrets
from .steps import Op, Status, Step
from .urn import STACK_TYPE, urn_name

_TERRAFORM_VERBS = {"preview": "Plan:", "up": "Apply complete! Resources:", "destroy": "Destroy complete! Resources:"}


def change_lines(result: RunResult) -> list[str]:
    """Every changed (or failed) resource with its property diffs, grouped under its top-level component (a
    cluster, a fleet, a federation); replaces and deletes first, in the groups and within each."""
    model = build(result)
    rank = {op: index for index, op in enumerate(CHANGE_ORDER)}
    steps = [s for s in result.steps if s.type != STACK_TYPE and (s.op != Op.SAME or s.status.unsuccessful)]
    steps.sort(key=lambda s: (rank.get(s.op, len(rank)), s.urn))
    groups: dict[str, list[Step]] = {}
    for step in steps:  # a group's first step is its weightiest, so groups come in the order of their first
        groups.setdefault(model.component_of[step.urn].urn, []).append(step)
    if not groups:
        return []
    lines = ["", "Changes:"]
    for members in groups.values():
        component = model.component_of[members[0].urn]
        alone = len(component.steps) == 1  # a resource right under the stack is its own group: no heading
        if not alone:
            lines.append(f"  {component.kind} {component.name}")
        for step in members:
            lines += _diff_lines(step, "  " if alone else "    ")
    return lines


def _diff_lines(step: Step, pad: str) -> list[str]:
    lines = [f"{pad}{SYMBOLS.get(step.op, '?'):<2} {step.type} {step.name}"]
    lines += [f"{pad}    replace because of {reason}" for reason in step.replace_reasons]
    for change in step.changes:
        shown = whole_numbers(change.for_display())
        if change.kind == "add":
            lines.append(f"{pad}    + {shown['path']}: {json.dumps(shown['new'])}")
        elif change.kind == "delete":
            lines.append(f"{pad}    - {shown['path']}: {json.dumps(shown['old'])}")
        else:
            lines.append(f"{pad}    ~ {shown['path']}: {json.dumps(shown['old'])} => {json.dumps(shown['new'])}")
    return lines


def failure_lines(result: RunResult) -> list[str]:
    """Each failed resource once, with its error; the dependents skipped because of them as a count."""
    failed = {s.urn: s for s in result.steps if s.status == Status.FAILED}
    skipped = sum(1 for s in result.steps if s.status == Status.SKIPPED)
    if not failed and not skipped:
        return []
    lines = ["", "Failures:"]
    for step in failed.values():
        lines.append(f"  {step.type} {step.name}")
        lines += [f"    {line}" for line in (step.error or "failed").splitlines()]
    if skipped:
        lines.append(f"  {skipped} dependent{'s' if skipped != 1 else ''} skipped (they need a failed resource)")
    return lines


def resources_block(result: RunResult) -> list[str]:
    """``Resources:`` with a line per kind of change and the unchanged count, as ``pulumi up`` ends."""
    counts = result.summary()
    future = result.kind == "preview"
    words = {
        Op.CREATE: ("+", "to create" if future else "created"),
        Op.UPDATE: ("~", "to update" if future else "updated"),
        Op.REPLACE: ("+-", "to replace" if future else "replaced"),
        Op.DELETE: ("-", "to delete" if future else "deleted"),
    }
    lines = ["", "Resources:"]
    lines += [f"    {symbol} {counts[str(op)]} {word}" for op, (symbol, word) in words.items() if counts.get(str(op))]
    if counts.get(str(Status.FAILED)):
        lines.append(f"    ✗ {counts[str(Status.FAILED)]} failed")
    if counts.get(str(Status.SKIPPED)):
        lines.append(f"    ⊘ {counts[str(Status.SKIPPED)]} skipped")
    lines.append(f"    {counts.get(str(Op.SAME), 0)} unchanged")
    return lines


def terraform_line(result: RunResult) -> str | None:
    """Terraform's summary: a replace is one to add and one to destroy; like Terraform, no "complete" line after a
    failed apply."""
    if result.kind != "preview" and not result.ok:
        return None
    counts = result.summary()
    add = counts.get(str(Op.CREATE), 0) + counts.get(str(Op.REPLACE), 0)
    change = counts.get(str(Op.UPDATE), 0)
    destroy = counts.get(str(Op.DELETE), 0) + counts.get(str(Op.REPLACE), 0)
    verb = _TERRAFORM_VERBS.get(result.kind, "Plan:")
    if result.kind == "preview":
        return f"{verb} {add} to add, {change} to change, {destroy} to destroy."
    return f"{verb} {add} added, {change} changed, {destroy} destroyed."


def outputs_block(result: RunResult) -> list[str]:
    """The stack outputs as YAML-like blocks, keys sorted at every depth, each top-level output marked ``+``
    (new), ``~`` (changed) or ``-`` (gone) against what the stack recorded before."""
    new, old = whole_numbers(result.stack_outputs), whole_numbers(result.previous_outputs or {})
    recorded = result.previous_outputs is not None
    if not new and not old:
        return []
    lines = ["", "Outputs:"]
    for key in sorted(set(new) | set(old)):
        if key not in new:
            mark = "-"
        elif key not in old:
            mark = "+" if recorded else " "  # a first run marks nothing
        else:
            mark = "~" if old[key] != new[key] else " "  # a changed secret is marked, never shown
        value = mask_secrets(new[key] if key in new else old[key])
        lines += _block(f"{mark} {key}", value, "  ")
    return lines


def _block(label: str, value: Any, pad: str) -> list[str]:
    """``label: value`` for a scalar or an empty container; else ``label:`` and the items below it, indented."""
    if isinstance(value, dict) and value:
        return [f"{pad}{label}:"] + [
            line for key in sorted(value) for line in _block(str(key), value[key], pad + "    ")
        ]
    if isinstance(value, list) and value:
        return [f"{pad}{label}:"] + [f"{pad}    - {_scalar(item)}" for item in value]
    return [f"{pad}{label}: {_scalar(value)}"]


def _scalar(value: Any) -> str:
    """Text as it is when that reads unambiguously, everything else as compact JSON with sorted keys."""
    if isinstance(value, str) and value and value.strip() == value and "\n" not in value:
        return value
    return json.dumps(value, sort_keys=True)


def destroy_lines(resources: list, stack: str) -> list[str]:
    """What ``destroy`` will delete, counted per top-level component (a cluster, a fleet, a federation)."""
    live = [r for r in resources if r.type != STACK_TYPE]
    by_urn = {r.urn: r for r in live}
    counts: dict[str, int] = {}
    for resource in live:
        top = top_of(resource, by_urn)
        label = f"{top.type.rsplit(':', 1)[-1]} {urn_name(top.urn)}"
        counts[label] = counts.get(label, 0) + 1
    lines = [f"destroy will delete {len(live)} resources of stack '{stack}':"]
    lines += [f"  - {label} ({count} resource{'s' if count != 1 else ''})" for label, count in sorted(counts.items())]
    return lines
