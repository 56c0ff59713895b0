"""A run's steps as a reviewer reads them: counts per operation, grouped by top-level component.

This is the model only; :mod:`engine.plan_render` formats it (Markdown today). A resource belongs
to the top-level component of its parent chain (the ancestor right under the stack: a
RegisteredCluster, a Fleet, a Federation, ...); a resource directly under the stack is its own group.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .operations import RunResult
from .steps import Op, Status, Step
from .urn import STACK_TYPE, URN, is_stack

# The columns of a summary: what a reviewer weighs first comes first.
COUNTED = (Op.CREATE, Op.UPDATE, Op.REPLACE, Op.DELETE, Op.SAME)
# The order of per-resource sections: replaces and deletes first, then updates, then creates.
CHANGE_ORDER = (Op.REPLACE, Op.DELETE, Op.DELETE_REPLACED, Op.UPDATE, Op.CREATE, Op.READ)


def counted_op(step: Step) -> Op:
    """The summary column of a step (the old copy of a replacement counts as a delete)."""
    return Op.DELETE if step.op == Op.DELETE_REPLACED else step.op


@dataclass
class Component:
    """A top-level component and the steps of every resource under it (itself included)."""

    urn: str
    kind: str  # the type's last token, e.g. RegisteredCluster
    name: str
    steps: list[Step] = field(default_factory=list)

    @property
    def counts(self) -> Counter:
        return Counter(counted_op(s) for s in self.steps)

    @property
    def changed(self) -> bool:
        return any(s.op != Op.SAME or s.status.unsuccessful for s in self.steps)


@dataclass
class PlanModel:
    operation: str
    stack: str
    counts: Counter  # per Op (columns of COUNTED) and per failed/skipped Status
    components: list[Component]  # sorted by kind, then name
    changes: list[Step]  # every step that changes something, in CHANGE_ORDER, then by URN
    failures: list[Step]
    component_of: dict[str, Component]  # step URN -> its component
    notes: list[str]
    error: str

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)


def build(result: RunResult, diagnostics: list[dict] = ()) -> PlanModel:
    """The model of ``result``; the program's warnings and errors (``diagnostics``) join its notes."""
    steps = [s for s in result.steps if s.type != STACK_TYPE]
    parents = {s.urn: s.parent for s in steps}
    components: dict[str, Component] = {}
    component_of: dict[str, Component] = {}
    for step in steps:
        top = _top_level(step.urn, parents)
        component = components.get(top)
        if component is None:
            component = components[top] = Component(top, _kind(URN.parse(top).type), URN.parse(top).name)
        component.steps.append(step)
        component_of[step.urn] = component
    counts = Counter(counted_op(s) for s in steps if not s.status.unsuccessful)
    counts.update(s.status for s in steps if s.status.unsuccessful)
    rank = {op: index for index, op in enumerate(CHANGE_ORDER)}
    changes = sorted((s for s in steps if s.op != Op.SAME), key=lambda s: (rank.get(s.op, len(rank)), s.urn))
    return PlanModel(
        operation=result.kind,
        stack=result.stack,
        counts=counts,
        components=sorted(components.values(), key=lambda c: (c.kind, c.name)),
        changes=changes,
        failures=[s for s in steps if s.status in (Status.FAILED, Status.SKIPPED)],
        component_of=component_of,
        notes=list(result.notes)
        + [f"{d['severity']}: {d['message']}" for d in diagnostics if d["severity"] in ("warning", "error")],
        error=str(result.program_error) if result.program_error is not None else "",
    )


def _top_level(urn: str, parents: dict[str, str]) -> str:
    """The ancestor of ``urn`` right under the stack (``urn`` itself when it has no parent)."""
    seen = {urn}
    while True:
        parent = parents.get(urn, "")
        if not parent or is_stack(parent) or parent not in parents or parent in seen:
            return urn
        seen.add(parent)
        urn = parent


def _kind(type_: str) -> str:
    """``fleetform:index:RegisteredCluster`` -> ``RegisteredCluster``."""
    return type_.rsplit(":", 1)[-1]
