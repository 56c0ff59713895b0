"""Saved plans: what `preview --save-plan` reviewed, and the check that `up --plan` applies exactly that.

A plan file is one JSON object, sealed like a state file (an HMAC-SHA256 keyed from the stack's
passphrase over the rest), so a plan edited after review is refused::

    {"integrity": "hmac-sha256:<hex>", "plan": {"format": 1, "project": ..., "stack": ...,
     "state": {"lineage": ..., "serial": N}, "refresh": false, "secrets": {<header>},
     "steps": [{"urn", "type", "op", "inputs", "diffs", "replaceReasons", "deleteBeforeReplace"}]}}

Every step is recorded, unchanged ones too, so that the set of resources is part of what was
reviewed. Secret values in inputs and diffs are encrypted as the state encrypts them, under a
salt of the plan's own (``secrets``), so a plan can be opened before its stack has any state.
A dynamic resource's pickled provider (``__provider``) is left out, as the engine's own diff
leaves it out: it names the provider's class, which the program run itself supplies.

``up --plan`` checks, in this order, and stops at the first difference (exit 3): the project and
stack; the state's lineage and serial (nothing wrote the state since the preview); then, after a
preview pass of the program against that state, the set of resources and, resource by resource,
the operation and every input. Inputs that were unknown at preview (outputs of resources still
to be created) match whatever value they have when applied; a known one must be equal.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .diff import join_path
from .errors import EXIT_CHANGES_PRESENT, EngineError, InvalidInputError, StateError
from .files import write_atomically
from .providers import DYNAMIC_PROVIDER_KEY
from .secrets import UNKNOWN, SecretBox, is_secret, mask_secrets, passphrase_for
from .state import LiveState
from .steps import Op, Status, Step
from .urn import STACK_TYPE

if TYPE_CHECKING:
    from .operations import RunResult  # operations imports this module

FORMAT = 1
_INTEGRITY_PREFIX = "hmac-sha256:"


class StalePlan(EngineError):
    """The state, the program or its inputs no longer match the saved plan (nothing was applied)."""

    exit_code = EXIT_CHANGES_PRESENT


def step_key(step_or_urn: Step | str, op: str = "") -> str:
    """A plan entry's key: the URN, marked for the old copy of a replaced resource."""
    if isinstance(step_or_urn, Step):
        step_or_urn, op = step_or_urn.urn, step_or_urn.op
    return step_or_urn + (" (old copy)" if op == Op.DELETE_REPLACED else "")


def _without_provider(inputs: dict) -> dict:
    return {k: v for k, v in inputs.items() if k != DYNAMIC_PROVIDER_KEY}


def _document_mac(box: SecretBox, plan: dict) -> str:
    return _INTEGRITY_PREFIX + box.mac(json.dumps(plan, sort_keys=True, separators=(",", ":")).encode())


def save(path: Path, project: str, stack: str, version: tuple[str, int], steps: list[Step], refresh: bool) -> int:
    """Write the plan of a successful preview to ``path``; returns how many steps it holds."""
    box = SecretBox(passphrase_for(stack))
    entries = []
    for step in steps:
        entries.append(
            {
                "urn": step.urn,
                "type": step.type,
                "op": str(step.op),
                "inputs": box.seal(_without_provider(step.inputs)),
                "diffs": box.seal([{"path": c.path, "kind": c.kind, "old": c.old, "new": c.new} for c in step.changes]),
                "replaceReasons": list(step.replace_reasons),
                "deleteBeforeReplace": step.delete_before_replace,
            }
        )
    lineage, serial = version
    plan = {
        "format": FORMAT,
        "project": project,
        "stack": stack,
        "state": {"lineage": lineage, "serial": serial},
        "refresh": refresh,
        "secrets": box.header(),
        "steps": entries,
    }
    document = {"integrity": _document_mac(box, plan), "plan": plan}
    write_atomically(path, (json.dumps(document, indent=1, sort_keys=True) + "\n").encode(), durable=True)
    return len(entries)


def saved_plan_note(path: Path, project: str, result: RunResult, refresh: bool) -> str:
    """Save the plan of a preview that planned every resource; returns what to tell the user."""
    if not result.ok:
        path.unlink(missing_ok=True)  # an older plan there must not be mistaken for this preview's
        return f"no plan was written to {path}: the preview failed (a plan holds only previews that succeed)"
    try:
        count = save(path, project, result.stack, result.state_version, result.steps, refresh)
    except OSError as exc:
        raise InvalidInputError(f"--save-plan {path}: the plan cannot be written ({exc})") from None
    return f"plan saved to {path} ({count} resources); apply exactly it with `fleetform up --plan {path}`"


@dataclass
class PlannedStep:
    urn: str
    type: str
    op: str
    inputs: dict


class SavedPlan:
    """A plan file opened with the stack's passphrase and checked for integrity."""

    def __init__(self, path: Path, document: dict, steps: dict[str, PlannedStep]):
        self.path = path
        self.plan = document
        self.steps = steps
        self.violations: list[str] = []

    @property
    def refresh(self) -> bool:
        return bool(self.plan.get("refresh"))

    @classmethod
    def load(cls, path: Path, stack: str) -> SavedPlan:
        """Read and authenticate ``path``; anything that is not an intact plan file is invalid input."""

        def bad(problem: str) -> InvalidInputError:
            return InvalidInputError(f"--plan {path}: {problem}; write a new one with `fleetform preview --save-plan`")

        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise bad("no such file") from None
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise bad(f"not a plan file ({exc})") from None
        plan = document.get("plan") if isinstance(document, dict) else None
        if not isinstance(plan, dict) or plan.get("format") != FORMAT or not isinstance(plan.get("steps"), list):
            raise bad(f"not a fleetform plan of format {FORMAT}")
        if plan.get("stack") != stack:
            raise StalePlan(f"--plan {path} is a plan of stack '{plan.get('stack')}', not '{stack}'")
        try:
            box = SecretBox.from_header(passphrase_for(stack), plan["secrets"], stack)
        except StateError:
            raise bad("the passphrase of this stack does not open it (FLEETFORM_PASSPHRASE)") from None
        except (KeyError, TypeError, ValueError):
            raise bad("its secrets header is damaged") from None
        if not hmac.compare_digest(str(document.get("integrity")), _document_mac(box, plan)):
            raise bad("its content does not match its integrity seal (it was edited or damaged)")
        steps = {}
        for entry in plan["steps"]:
            step = PlannedStep(entry["urn"], entry["type"], entry["op"], box.open(entry["inputs"]))
            steps[step_key(step.urn, step.op)] = step
        return cls(path, plan, steps)

    # -- checks ------------------------------------------------------------------------------------
    def check_target(self, project: str, live: LiveState) -> None:
        """The plan is of this project (its stack was checked when loaded), and the state is the one it was computed from."""
        if self.plan.get("project") != project:
            self._stale(f"it is a plan of project '{self.plan.get('project')}', not '{project}'")
        planned = self.plan.get("state") or {}
        if planned.get("lineage") != live.lineage:
            self._stale(
                f"the state's lineage is {live.lineage or '(no state yet)'}, the plan was computed from "
                f"{planned.get('lineage') or '(no state yet)'} (the stack was removed and created again, or imported)"
            )
        if planned.get("serial") != live.serial:
            self._stale(
                f"the state changed since the plan was computed (serial {planned.get('serial')} then, "
                f"{live.serial} now: another run wrote it)"
            )

    def check_steps(self, steps: list[Step]) -> None:
        """A preview of the program against the current state plans exactly the saved steps."""
        now = {step_key(s): s for s in steps}
        for key in self.steps:
            if key not in now:
                self._stale(f"{key} is in the plan but not planned now (the program no longer declares it?)")
        for key, step in now.items():
            if key not in self.steps:
                self._stale(f"{key} is planned now ({step.op}) but not in the plan (the program declares it anew?)")
        for key, step in now.items():
            if step.status == Status.FAILED:
                self._stale(f"{key} can no longer be planned: {step.error}")
            problem = self.difference(step)
            if problem:
                self._stale(problem)

    def difference(self, step: Step, applying: bool = False) -> str | None:
        """How ``step`` differs from its planned step: op, type or the first input; None when it
        matches. While ``applying``, a step whose planned inputs held unknowns may do less than
        planned (a replace an update or nothing, an update nothing) when the unknowns resolved to
        the recorded values; it may never do more."""
        planned = self.steps.get(step_key(step))
        if planned is None:
            return f"{step.urn} is not in the plan {self.path}"
        if planned.type != step.type:
            return f"{step.urn}: type is {step.type}, the plan has {planned.type}"
        settled = applying and step.op in _MAY_SETTLE_AS.get(planned.op, ()) and _has_unknown(planned.inputs)
        if planned.op != step.op and not settled:
            why = f" (input {step.changes[0].path} changed)" if step.changes else ""
            return f"{step.urn}: the operation is {step.op} now{why}, the plan has {planned.op}"
        if step.op in (Op.DELETE, Op.DELETE_REPLACED):
            return None
        where = first_difference(planned.inputs, _without_provider(step.inputs))
        if where is not None:
            return f"{step.urn}: input {where}"
        return None

    def enforce(self, step: Step) -> str | None:
        """While applying: why ``step`` must not run (it differs from the plan in a value that was
        unknown at the check), recorded for the run's result; None when it may."""
        problem = None if step.type == STACK_TYPE else self.difference(step, applying=True)
        if problem is not None:
            self.violations.append(problem)
            return f"not applied: it differs from the saved plan ({problem})"
        return None

    def _stale(self, problem: str) -> None:
        raise StalePlan(
            f"the plan {self.path} no longer matches, so nothing was applied: {problem}. "
            f"Run `fleetform preview --save-plan` again and review the new plan"
        )


# What a planned operation may turn out to be once values unknown at preview are known.
_MAY_SETTLE_AS = {Op.REPLACE: (Op.UPDATE, Op.SAME), Op.UPDATE: (Op.SAME,)}


def _has_unknown(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_unknown(v) for v in value)
    return value == UNKNOWN


def first_difference(planned: Any, actual: Any, path: str = "") -> str | None:
    """The first path at which ``actual`` differs from ``planned`` (with both values, secrets
    masked), or None; a value unknown when planned matches anything."""
    if planned == UNKNOWN:
        return None
    if isinstance(planned, dict) and isinstance(actual, dict) and not is_secret(planned) and not is_secret(actual):
        for key in sorted(planned.keys() | actual.keys()):
            sub = join_path(path, key)
            if key not in actual:
                return f"{sub} is no longer set (planned {_shown(planned[key])})"
            if key not in planned:
                return f"{sub} is set now ({_shown(actual[key])}) but not in the plan"
            found = first_difference(planned[key], actual[key], sub)
            if found is not None:
                return found
        return None
    if isinstance(planned, list) and isinstance(actual, list) and len(planned) == len(actual):
        for index, (a, b) in enumerate(zip(planned, actual, strict=True)):
            found = first_difference(a, b, join_path(path, index))
            if found is not None:
                return found
        return None
    if planned != actual:
        return f"{path or '(the inputs)'} is {_shown(actual)} now, the plan has {_shown(planned)}"
    return None


def _shown(value: Any) -> str:
    text = json.dumps(mask_secrets(value), sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."
