"""What has to happen to one resource: same, create, update, replace or delete, and why.

Planning asks the resource's provider to check the new inputs and to diff them against the last
recorded state, then applies the resource options that shape the decision (``ignore_changes``,
``replace_on_changes``, ``delete_before_replace``, ``protect``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .diff import PropertyChange, apply_ignore_changes, diff_properties, path_matches
from .errors import EngineError
from .graph import needed_urns
from .providers import DYNAMIC_PROVIDER_KEY, Provider
from .state import ResourceState
from .urn import urn_name


class Op(StrEnum):
    """What a step does to a resource (its value is what the JSON output shows)."""

    SAME = "same"
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    DELETE_REPLACED = "delete-replaced"  # the old copy of a replaced resource, deleted once the new one is in
    READ = "read"


class Status(StrEnum):
    """Where a step stands."""

    PLANNED = "planned"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"

    @property
    def unsuccessful(self) -> bool:
        return self in (Status.FAILED, Status.SKIPPED)


SUMMARY_OPS = (Op.CREATE, Op.UPDATE, Op.REPLACE, Op.DELETE, Op.SAME)  # the operations a summary counts


@dataclass
class Registration:
    """A resource as the program declared it in this run."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str = ""
    inputs: dict = field(default_factory=dict)
    dependencies: list = field(default_factory=list)
    property_dependencies: dict = field(default_factory=dict)
    provider_ref: str = ""
    protect: bool = False
    ignore_changes: list = field(default_factory=list)
    replace_on_changes: list = field(default_factory=list)
    delete_before_replace: bool = False
    retain_on_delete: bool = False
    additional_secret_outputs: list = field(default_factory=list)

    def all_dependencies(self) -> set[str]:
        return needed_urns(self.dependencies, self.property_dependencies, self.provider_ref)

    def to_state(self, id_: str, inputs: dict, outputs: dict) -> ResourceState:
        return ResourceState(
            urn=self.urn,
            type=self.type,
            custom=self.custom,
            id=id_,
            parent=self.parent,
            provider=self.provider_ref,
            inputs=inputs,
            outputs=outputs,
            dependencies=sorted(self.dependencies),
            property_dependencies={k: sorted(v) for k, v in self.property_dependencies.items()},
            protect=self.protect,
            retain_on_delete=self.retain_on_delete,
            delete_before_replace=self.delete_before_replace,
            ignore_changes=list(self.ignore_changes),
            replace_on_changes=list(self.replace_on_changes),
        )


@dataclass
class Step:
    op: Op
    urn: str
    type: str
    old: ResourceState | None = None
    inputs: dict = field(default_factory=dict)
    changes: list[PropertyChange] = field(default_factory=list)
    replace_reasons: list[str] = field(default_factory=list)
    delete_before_replace: bool = False
    status: Status = Status.PLANNED
    error: str = ""
    waiting_for: str = ""  # while it runs: what its provider call waits for (engine.progress)
    invalid_inputs: bool = False  # failed because its provider refused the inputs (check)
    parent: str = ""

    def __post_init__(self) -> None:
        self.op, self.status = Op(self.op), Status(self.status)

    @property
    def name(self) -> str:
        return urn_name(self.urn)


class CheckFailed(EngineError):
    pass


def _without_internal(values: dict) -> dict:
    return {k: v for k, v in values.items() if k != DYNAMIC_PROVIDER_KEY}


def plan_step(reg: Registration, old: ResourceState | None, provider: Provider | None) -> Step:
    """Decide the operation for a registered resource against its last recorded state."""
    if old is not None and old.type != reg.type:
        raise EngineError(f"resource {reg.urn} was recorded with type {old.type} but is now declared as {reg.type}")
    if not reg.custom or provider is None:
        return Step(Op.SAME if old else Op.CREATE, reg.urn, reg.type, old, dict(reg.inputs))

    news = apply_ignore_changes(old.inputs, reg.inputs, reg.ignore_changes) if old else reg.inputs
    checked, failures = provider.check(reg.urn, old.inputs if old else {}, news)
    if failures:
        detail = "; ".join(f"{f.property}: {f.reason}" for f in failures)
        raise CheckFailed(f"invalid inputs for {reg.urn}: {detail}")
    if old is None:
        return Step(Op.CREATE, reg.urn, reg.type, None, checked)

    changes = diff_properties(_without_internal(old.inputs), _without_internal(checked))
    outcome = provider.diff(reg.urn, old.id, old.outputs, checked, old.inputs)
    has_changes = bool(changes) if outcome.changes is None else outcome.changes
    reasons = [f"{p} (provider)" for p in outcome.replaces]
    for change in changes:
        if any(path_matches(pattern, change.path) for pattern in reg.replace_on_changes):
            reasons.append(f"{change.path} (replace_on_changes)")
    if reasons:
        if old.protect or reg.protect:
            raise EngineError(
                f"resource {reg.urn} is protected and a change to {', '.join(reasons)} would replace it; "
                f"set protect=False on it first (or revert the change)"
            )
        dbr = reg.delete_before_replace or outcome.delete_before_replace
        return Step(Op.REPLACE, reg.urn, reg.type, old, checked, changes, reasons, dbr)
    if has_changes:
        return Step(Op.UPDATE, reg.urn, reg.type, old, checked, changes)
    return Step(Op.SAME, reg.urn, reg.type, old, checked)


def preview_outputs(step: Step) -> dict[str, Any]:
    """Outputs the program sees in a preview: what is known before the provider runs."""
    if step.op == Op.SAME and step.old is not None:
        return step.old.outputs
    if step.op == Op.UPDATE and step.old is not None:
        return {**step.old.outputs, **step.inputs}
    return dict(step.inputs)
