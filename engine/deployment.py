"""One run of the engine against one stack: decides the steps and hands them to the walker.

The program's registrations come in concurrently from the SDK's executor threads. A registration
blocks until its step is decided (preview) or done (up), which is what lets the SDK hand the
resource's outputs to its dependents. A failed resource is reported back to the SDK as failed (its
outputs become unknown), and every later registration that depends on it is skipped, so
independent branches still finish. Deletes and refresh reads are scheduled by the
:class:`~engine.walk.Walker`, which also bounds every provider call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from enum import StrEnum
from typing import Protocol

from . import output_capture, progress
from .diff import diff_properties
from .errors import EngineError
from .graph import Graph, deletion_graph
from .numbers import whole_numbers
from .providers import DYNAMIC_PROVIDER_KEY, PROVIDER_PREFIX, Provider, ProviderRegistry, UnreachableError
from .secrets import UNKNOWN, is_secret, wrap_secret
from .state import Checkpointer, LiveState, PendingOperation, ResourceState
from .steps import CheckFailed, Op, Registration, Status, Step, plan_step, preview_outputs
from .urn import STACK_TYPE, is_stack, provider_urn, urn_name
from .walk import Walker


class Mode(StrEnum):
    """How a deployment answers registrations."""

    PREVIEW = "preview"  # plan each step; touch no provider's resources
    UP = "up"  # plan and apply each step
    FROZEN = "frozen"  # answer from the recorded state (the program run of destroy and refresh)


class Observer(Protocol):
    def on_step(self, step: Step) -> None: ...

    def on_diagnostic(self, severity: str, message: str, urn: str = "") -> None: ...


class Deployment:
    """Plans (``preview``), applies (``up``) or replays (``frozen``) one program run."""

    def __init__(
        self,
        live: LiveState,
        registry: ProviderRegistry,
        observer: Observer,
        mode: Mode,
        walker: Walker,
        checkpointer: Checkpointer | None = None,
    ):
        self.live = live
        self.registry = registry
        self.observer = observer
        self.mode = Mode(mode)
        self.walker = walker
        self.checkpointer = checkpointer
        self.steps: dict[str, Step] = {}
        self.registered: dict[str, Registration] = {}
        self.stack_outputs: dict = {}
        # what the stack's outputs were before this run, for showing what changed
        self.previous_outputs: dict = next((r.outputs for r in live.resources() if is_stack(r.urn)), {})
        self._provider_inputs: dict[str, dict] = {}
        self._lock = threading.Lock()
        # up --plan: says why a planned step must not be applied (engine.plan_file.SavedPlan.enforce)
        self.plan_check: Callable[[Step], str | None] | None = None
        # --target/--exclude: the URNs this run may touch (None: all); what it left alone, for the notes
        self.selection: set[str] | None = None
        self.untouched: list[str] = []
        self._gone_origins: dict[str, str] = {}  # provider URN -> the resource it was configured from, now gone
        self._origins_lock = threading.Lock()

    # -- registrations -------------------------------------------------------------------------
    def register(self, reg: Registration) -> tuple[str, dict, bool]:
        """Handle one registration; returns (id, outputs, failed)."""
        with self._lock:
            if reg.urn in self.registered:
                raise EngineError(f"duplicate resource URN {reg.urn}: give each resource a unique name")
            self.registered[reg.urn] = reg
        blocked_by = self.walker.blocked_by(reg.all_dependencies())
        old = self.live.get(reg.urn)
        if blocked_by:
            step = _unplanned(reg, old)
            return self._skip(step, f"skipped: depends on failed {', '.join(urn_name(u) for u in blocked_by)}")
        if self.mode == Mode.FROZEN:
            return self._replay(reg, old)
        if not self.selected(reg.urn):
            with self._lock:
                self.untouched.append(reg.urn)
            return self._replay(reg, old)
        try:
            provider = self.provider(reg.type, reg.provider_ref) if reg.custom else None
            step = output_capture.call(lambda: plan_step(reg, old, provider))
        except Exception as exc:  # a planning failure fails this resource only
            unplanned = _unplanned(reg, old)
            unplanned.invalid_inputs = isinstance(exc, CheckFailed)
            return self._fail(unplanned, output_capture.describe(exc))
        step.parent = reg.parent
        interrupted = self.unsettled_create(reg.urn) if step.op in (Op.CREATE, Op.REPLACE) else None
        if interrupted is not None and self.mode == Mode.UP:
            try:
                settled = self._settle_create(reg, step, provider)
            except Exception as exc:  # looking failed: the create stays unsettled
                return self._fail(
                    step, f"{unsettled_note(interrupted)} (looking for it failed: {output_capture.describe(exc)})"
                )
            if settled is None:
                return self._fail(step, unsettled_note(interrupted))
            step = settled
            step.parent = reg.parent
        refused = self.plan_check(step) if self.plan_check is not None else None
        if refused:
            return self._fail(step, refused)
        self._record(step)
        if reg.type.startswith(PROVIDER_PREFIX):
            self._provider_inputs[reg.urn] = step.inputs
        if self.mode == Mode.PREVIEW:
            outputs = preview_outputs(step)
            return (step.old.id if step.old and step.op in (Op.SAME, Op.UPDATE) else ""), outputs, False
        return self._apply(reg, step, provider)

    def register_outputs(self, urn: str, outputs: dict) -> None:
        of_stack = is_stack(urn)
        if of_stack:  # what the user reads: replicas 2, not 2.0
            outputs = whole_numbers(outputs)
            self.stack_outputs = outputs
        if self.mode != Mode.UP:
            return
        current = self.live.get(urn)
        if current is not None:
            self.live.put(current.with_changes(outputs=outputs))
            if not of_stack:  # stack outputs go out with the final write
                self._touch()

    def _replay(self, reg: Registration, old: ResourceState | None) -> tuple[str, dict, bool]:
        """Answer from the recorded state without touching providers (destroy and refresh)."""
        if reg.type.startswith(PROVIDER_PREFIX):
            self._provider_inputs[reg.urn] = old.inputs if old else reg.inputs
        if old is None:
            return "", dict(reg.inputs), False
        return old.id, old.outputs, False

    def provider(self, type_: str, provider_ref: str) -> Provider:
        """The provider for a resource type and provider reference; an explicit provider is
        configured with its inputs from this run, or else from the state."""
        owner = provider_urn(provider_ref)
        inputs = None
        if owner:
            inputs = self._provider_inputs.get(owner)
            if inputs is None:
                recorded = self.live.get(owner)
                inputs = recorded.inputs if recorded else {}
        return self.registry.for_resource(type_, provider_ref, inputs)

    # -- applying ------------------------------------------------------------------------------
    def _apply(self, reg: Registration, step: Step, provider: Provider | None) -> tuple[str, dict, bool]:
        old = step.old
        if step.op == Op.SAME or provider is None:
            state = reg.to_state(old.id if old else "", step.inputs, old.outputs if old else {})
            self.live.put(state)
            if reg.type != STACK_TYPE:  # the root stack goes out with the final write (Checkpointer.close)
                self._touch()
            self._finish(step)
            return state.id, state.outputs, False
        if any(v == UNKNOWN for v in _leaves(step.inputs)):
            return self._fail(step, "an input is still unknown after its dependencies were applied")
        try:
            if step.op == Op.CREATE:
                id_, outputs = self._call(step, "creating", "", lambda: provider.create(reg.urn, step.inputs))
            elif step.op == Op.UPDATE:
                outputs = self._call(
                    step,
                    "updating",
                    old.id,
                    lambda: provider.update(reg.urn, old.id, old.outputs, step.inputs, old.inputs),
                )
                id_ = old.id
            else:  # REPLACE
                if step.delete_before_replace:
                    self._call(step, "deleting", old.id, lambda: provider.delete(reg.urn, old.id, old.outputs))
                    self.live.remove(reg.urn)
                else:
                    self.live.keep_old_copy(old)
                id_, outputs = self._call(step, "creating", "", lambda: provider.create(reg.urn, step.inputs))
        except Exception as exc:
            if step.op == Op.REPLACE and not step.delete_before_replace:
                self.live.drop_old_copy(reg.urn)  # the recorded resource stays as it was
            return self._fail(step, f"{step.op} failed: {output_capture.describe(exc)}")
        outputs = _mark_secret_outputs(outputs, reg.additional_secret_outputs)
        self.live.put(reg.to_state(id_, step.inputs, outputs))
        if reg.type.startswith(PROVIDER_PREFIX) and step.op == Op.UPDATE:
            self.registry.forget(reg.provider_ref)
        self._touch()
        self._finish(step)
        return id_, outputs, False

    def _call(self, step: Step, operation: str, id_: str, fn: Callable):
        """Run one provider call in a walker slot, with a durable pending record."""

        def recorded():
            self.live.begin(PendingOperation(step.urn, step.type, operation, id_))
            self._persist()
            step.status = Status.RUNNING
            self.observer.on_step(step)
            try:
                with progress.reporting(lambda message: self._waiting(step, message)):
                    return output_capture.call(fn)
            finally:
                step.waiting_for = ""
                self.live.end(step.urn)

        return self.walker.call(recorded)

    def _waiting(self, step: Step, message: str) -> None:
        if message != step.waiting_for:
            step.waiting_for = message
            self.observer.on_step(step)

    def _persist(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.persist()

    def _touch(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.touch()

    # -- bookkeeping ---------------------------------------------------------------------------
    def _record(self, step: Step) -> None:
        with self._lock:
            self.steps[step.urn] = step
        self.observer.on_step(step)

    def _finish(self, step: Step) -> None:
        step.status = Status.DONE
        self.observer.on_step(step)

    def _fail(self, step: Step, message: str) -> tuple[str, dict, bool]:
        step.status, step.error = Status.FAILED, message
        with self._lock:
            self.steps[step.urn] = step
        self.walker.mark_failed(step.urn)
        self._touch()
        self.observer.on_step(step)
        return "", {}, True

    def _skip(self, step: Step, message: str) -> tuple[str, dict, bool]:
        step.status, step.error = Status.SKIPPED, message
        with self._lock:
            self.steps[step.urn] = step
        self.walker.mark_failed(step.urn)
        self.observer.on_step(step)
        return "", {}, True

    # -- deletions -----------------------------------------------------------------------------
    def unregistered(self) -> list[ResourceState]:
        """Recorded resources the program no longer declares, plus old copies of replacements."""
        with self._lock:
            seen = set(self.registered)
        gone = [r for r in self.live.resources() if r.urn not in seen]
        return gone + self.live.old_copies()

    def selected(self, urn: str) -> bool:
        return self.selection is None or urn in self.selection

    def plan_deletes(self, resources: list[ResourceState]) -> list[Step]:
        steps = []
        left = [r.urn for r in resources if not self.selected(r.urn)]
        with self._lock:
            self.untouched += left
        for resource in (r for r in resources if self.selected(r.urn)):
            op = Op.DELETE_REPLACED if resource.delete else Op.DELETE
            step = Step(op, resource.urn, resource.type, resource, parent=resource.parent)
            if resource.protect:
                step.status = Status.FAILED
                step.error = (
                    f"{resource.urn} is protected: set protect=False on it (and run up) before it can be deleted"
                )
            steps.append(step)
            key = resource.urn + (" (old copy)" if resource.delete else "")
            with self._lock:
                self.steps[key] = step
            self.observer.on_step(step)
        return steps

    def run_deletes(self, steps: list[Step]) -> None:
        """Delete in reverse dependency order: a resource goes once nothing to be deleted needs it."""

        def skip(index: int, cause: int | None) -> None:
            why = (
                "it is on a dependency cycle" if cause is None else "a resource that depends on it could not be deleted"
            )
            self._mark_skipped(steps[index], f"skipped: {why}")

        graph = deletion_graph([step.old for step in steps])
        self.walker.walk(graph, lambda index: self._delete(steps[index]), skip)

    def _mark_skipped(self, step: Step, message: str) -> None:
        step.status, step.error = Status.SKIPPED, message
        self.observer.on_step(step)

    def _delete(self, step: Step) -> bool:
        if step.status == Status.FAILED:  # refused when planned (protected)
            return False
        resource = step.old
        try:
            if resource.custom and not resource.retain_on_delete:
                provider = self.provider(resource.type, resource.provider)
                self._call(
                    step, "deleting", resource.id, lambda: provider.delete(resource.urn, resource.id, resource.outputs)
                )
        except Exception as exc:
            gone = self.gone_origin(resource) if _unreachable(exc) else None
            if gone is None:
                step.status, step.error = Status.FAILED, f"delete failed: {output_capture.describe(exc)}"
                self._touch()
                self.observer.on_step(step)
                return False
            self.observer.on_diagnostic(
                "warning",
                f"removed from the state only: it was reached through {urn_name(gone)}, which no longer "
                f"exists, so there is nothing left to delete it from (the delete said: {exc})",
                resource.urn,
            )
        if resource.delete:
            self.live.drop_old_copy(resource.urn)
        else:
            self.live.remove(resource.urn)
        self._touch()
        self._finish(step)
        return True

    def gone_origin(self, resource: ResourceState) -> str | None:
        """The resource that ``resource``'s explicit provider was configured from, if it reads as gone.

        Asked when a delete could not reach where the resource lives (see :func:`_unreachable`). A
        provider resource depends on what its configuration came from (a cluster lookup whose kubeconfig
        it uses, say); a dynamic resource, which has no provider resource, on its own dependencies. When
        such a resource's own provider reads it as deleted (its cloud says NotFound), the place the
        objects lived in is gone with it: their deletes cannot succeed and have nothing left to do. An
        origin that cannot be read, or still exists, proves nothing."""
        owner = provider_urn(resource.provider)
        if owner:
            recorded = self.live.get(owner)
            origins = recorded.dependencies if recorded is not None else []
        else:  # a dynamic resource is configured by its inputs: from its own dependencies
            owner, origins = resource.urn, resource.dependencies
        with self._origins_lock:  # one read per provider and run, however many of its objects fail
            if owner not in self._gone_origins:
                self._gone_origins[owner] = next((urn for urn in origins if self._reads_as_gone(urn)), "")
        return self._gone_origins[owner] or None

    def _reads_as_gone(self, urn: str) -> bool:
        origin = self.live.get(urn)
        if origin is None or not origin.custom or origin.type.startswith(PROVIDER_PREFIX):
            return False
        try:
            provider = self.provider(origin.type, origin.provider)
            fresh = self.walker.call(
                lambda: output_capture.call(lambda: provider.read(origin.urn, origin.id, origin.inputs, origin.outputs))
            )
        except Exception:
            return False
        return fresh is None

    # -- refresh -------------------------------------------------------------------------------
    def refresh(self, apply: bool) -> list[Step]:
        """Read every recorded custom resource and compare it with the recorded outputs. Reads are
        independent of each other (as in Pulumi): a failed read skips nothing."""
        candidates = [r for r in self.live.resources() if r.custom and not r.type.startswith(PROVIDER_PREFIX)]
        with self._lock:
            self.untouched += [r.urn for r in candidates if not self.selected(r.urn)]
        candidates = [r for r in candidates if self.selected(r.urn)]
        steps = [Step(Op.READ, r.urn, r.type, r, parent=r.parent) for r in candidates]
        with self._lock:
            self.steps.update((step.urn, step) for step in steps)
        self.walker.walk(
            Graph(list(range(len(steps)))),
            lambda index: self._read(steps[index], apply),
            lambda index, _cause: self._mark_skipped(steps[index], "skipped"),  # reads have no edges: never
        )
        if apply:
            self._touch()
        return steps

    def _read(self, step: Step, apply: bool) -> bool:
        resource = step.old
        try:
            provider = self.provider(resource.type, resource.provider)
            fresh = self.walker.call(
                lambda: output_capture.call(
                    lambda: provider.read(resource.urn, resource.id, resource.inputs, resource.outputs)
                )
            )
        except Exception as exc:
            step.status, step.error = Status.FAILED, f"read failed: {output_capture.describe(exc)}"
            self.observer.on_step(step)
            return False
        if fresh is None:
            step.op = Op.DELETE
            if apply:
                self.live.remove(resource.urn)
        else:
            new_id, outputs = fresh
            step.changes = _drift(provider, resource, outputs)
            step.op = Op.UPDATE if step.changes or new_id != resource.id else Op.SAME
            if apply and step.op == Op.UPDATE:
                self.live.put(resource.with_changes(id=new_id, outputs=outputs))
        self._finish(step)
        return True

    # -- reconciliation of an interrupted run --------------------------------------------------
    def reconcile_pending(self) -> list[str]:
        """Settle what a killed run left unfinished; returns what was done, one line each.

        An interrupted update, delete or read is settled by reading the resource back. An
        interrupted create is not settled here: the resource may exist without any record of it, and
        creating it again would make a duplicate. Its record stays until the resource registers, when
        its provider is asked what the create left (:meth:`_settle_create`); a provider that cannot
        tell leaves it to `fleetform state repair`, once someone has looked.
        """
        notes = []
        for op in self.live.pending():
            recorded = self.live.get(op.urn)
            if op.operation == "creating" or recorded is None:
                notes.append(pending_create_note(op) if op.operation == "creating" else unsettled_note(op))
                continue
            try:
                provider = self.provider(recorded.type, recorded.provider)
                fresh = output_capture.call(
                    lambda provider=provider, r=recorded: provider.read(r.urn, r.id, r.inputs, r.outputs)
                )
            except Exception as exc:
                notes.append(
                    f"{op.urn}: interrupted while {op.operation}; reading it back failed "
                    f"({output_capture.describe(exc)}); kept as recorded"
                )
                continue
            if fresh is None:
                self.live.remove(op.urn)
                notes.append(
                    f"{op.urn}: interrupted while {op.operation}; it no longer exists and was dropped from the state"
                )
            else:
                self.live.put(recorded.with_changes(id=fresh[0], outputs=fresh[1]))
                notes.append(f"{op.urn}: interrupted while {op.operation}; its live state was read back")
            self.live.end(op.urn)
        if notes:
            self._persist()
        return notes

    def _settle_create(self, reg: Registration, step: Step, provider: Provider | None) -> Step | None:
        """Settle the interrupted create of ``reg`` by asking its provider what it left, when the provider
        can tell (``find_created``): nothing (the step goes ahead), or the resource, which is adopted and
        the step planned again against it. None when the provider cannot tell: nothing is done."""
        finder = getattr(provider, "find_created", None)
        if finder is None:
            return None
        found = self.walker.call(lambda: output_capture.call(lambda: finder(reg.urn, step.inputs)))
        recorded = self.live.get(reg.urn)
        if found is None or (found.id and recorded is not None and found.id == recorded.id):
            return None  # a replacement found under the replaced resource's id cannot be told apart from it
        self.live.end(reg.urn)
        if not found.id:
            self.observer.on_diagnostic("info", "interrupted create: it had not been made; creating it", reg.urn)
            return step
        self.live.put(reg.to_state(found.id, step.inputs, found.outputs))  # the provider's diff judges the outputs
        self._touch()
        self.observer.on_diagnostic(
            "info", f"interrupted create: its provider found it ({found.id}) and it was adopted", reg.urn
        )
        return plan_step(reg, self.live.get(reg.urn), provider)

    def unsettled_create(self, urn: str) -> PendingOperation | None:
        """The interrupted create recorded for ``urn``, if any."""
        return next((p for p in self.live.pending() if p.urn == urn and p.operation == "creating"), None)


def pending_create_note(op: PendingOperation) -> str:
    """What to say about an interrupted create before the run that may settle it."""
    return (
        f"{op.urn}: a run was interrupted while creating it (since {op.started_at}); the next up adopts what "
        f"that create made, or creates it, where its provider can tell; otherwise check for it, then run "
        f"`fleetform state repair`"
    )


def unsettled_note(op: PendingOperation) -> str:
    """What to say about an interrupted operation that no run settles by itself."""
    return (
        f"{op.urn}: a run was interrupted while {op.operation} it (since {op.started_at}); it may exist "
        f"without being recorded, and its provider cannot look it up, so it is not created again. Check for it, "
        f"then run `fleetform state repair`"
    )


def _unreachable(exc: BaseException) -> bool:
    """Whether a failed call could not reach where the resource lives: an :class:`UnreachableError`, or
    (from a dynamic provider, which cannot import the engine) an exception whose ``unreachable`` is true."""
    return isinstance(exc, UnreachableError) or getattr(exc, "unreachable", False) is True


def _unplanned(reg: Registration, old: ResourceState | None) -> Step:
    """The step of a resource that could not be planned: what it would have been at best."""
    return Step(Op.SAME if old else Op.CREATE, reg.urn, reg.type, old, dict(reg.inputs), parent=reg.parent)


def _drift(provider: Provider, resource: ResourceState, outputs: dict) -> list:
    """What changed outside the engine: the provider's own notion when it has one, else the outputs."""
    custom = getattr(provider, "drift", None)
    if custom is not None:
        return custom(resource.inputs, resource.outputs, outputs)
    return diff_properties(
        {k: v for k, v in resource.outputs.items() if k != DYNAMIC_PROVIDER_KEY},
        {k: v for k, v in outputs.items() if k != DYNAMIC_PROVIDER_KEY},
    )


def _leaves(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


def _mark_secret_outputs(outputs: dict, keys: list[str]) -> dict:
    if not keys:
        return outputs
    return {k: (wrap_secret(v) if k in keys and not is_secret(v) else v) for k, v in outputs.items()}
