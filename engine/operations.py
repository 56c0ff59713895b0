"""The engine's operations on a stack: preview, up, destroy, refresh.

Each one loads the project and the stack's state, runs the program against a :class:`Deployment`
in the right mode, and returns a :class:`RunResult` the CLI renders.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import state_doc
from .deployment import Deployment, Mode, Observer, pending_create_note
from .errors import EXIT_INVALID_INPUT, EngineError, InvalidInputError, StateError
from .graph import needed_urns, recorded_needs
from .monitor import EngineLog, ResourceMonitor
from .plan_file import SavedPlan, StalePlan
from .program import run_program
from .project import Project, StackConfig, load_project, load_stack_config
from .providers import ProviderRegistry
from .secrets import mask_secrets
from .state import STATE_DIR_ENV, Checkpointer, LiveState, StateStore, utc_now
from .steps import SUMMARY_OPS, Op, Status, Step
from .targets import Node, Targeting, untouched_note
from .urn import STACK_TYPE
from .walk import Walker

# Set while `validate` runs the program: it must leave nothing behind (no state, nothing kept running).
VALIDATING_ENV = "FLEETFORM_VALIDATING"

DEFAULT_PARALLEL = 16


@dataclass
class RunResult:
    kind: str
    stack: str
    steps: list[Step] = field(default_factory=list)
    stack_outputs: dict = field(default_factory=dict)
    program_error: BaseException | None = None
    notes: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)  # URNs whose interrupted operation is still recorded
    interrupted: bool = False  # Ctrl-C: the calls in flight finished, no new one started
    state_version: tuple[str, int] = ("", 0)  # lineage and serial of the state a preview planned from
    previous_outputs: dict | None = None  # the stack's outputs before the run (None: the stack had none recorded)

    def summary(self) -> dict[str, int]:
        counts = Counter({str(op): 0 for op in SUMMARY_OPS})
        for step in self.steps:
            if not step.status.unsuccessful:
                counts[str(step.op)] += 1
        counts[str(Status.FAILED)] = sum(1 for s in self.steps if s.status == Status.FAILED)
        counts[str(Status.SKIPPED)] = sum(1 for s in self.steps if s.status == Status.SKIPPED)
        return dict(counts)

    def failures(self) -> list[Step]:
        return [s for s in self.steps if s.status.unsuccessful]

    def only_invalid_inputs(self) -> bool:
        """Whether every failure is a provider refusing a resource's inputs (and what that skipped)."""
        failed = [s for s in self.steps if s.status == Status.FAILED]
        return self.program_error is None and bool(failed) and all(s.invalid_inputs for s in failed)

    def has_changes(self) -> bool:
        """Whether anything would change, or an interrupted operation still waits to be settled."""
        return bool(self.pending) or any(s.op != Op.SAME for s in self.steps)

    @property
    def ok(self) -> bool:
        return self.program_error is None and not self.failures()


def default_registry(config: StackConfig, project: Project) -> ProviderRegistry:
    """Every provider the embedded engine ships: dynamic providers and the built-in packages. A new
    registry is a new run: what providers read from clusters in the last one is forgotten."""
    from kubeclient import new_run

    from .kubernetes import kubernetes_factory

    new_run()
    registry = ProviderRegistry(dict(config.values), project.name)
    registry.register_package("kubernetes", kubernetes_factory)
    return registry


class StackOperations:
    """Operations on one stack of one project."""

    def __init__(self, cwd: Path, stack: str, observer: Observer, parallel: int = DEFAULT_PARALLEL):
        if parallel < 1:
            raise InvalidInputError(f"--parallel must be at least 1 (got {parallel})")
        self.project = load_project(cwd)
        self.stack = stack
        self.observer = observer
        self.parallel = parallel
        self.store = StateStore.for_project(self.project.dir)
        self.cancelled = threading.Event()  # set on Ctrl-C: no new provider call starts
        self.targeting = Targeting()  # --target/--target-dependents/--exclude

    def cancel(self) -> None:
        """Wind the run down: calls in flight finish and are recorded, no new one starts."""
        self.cancelled.set()

    # -- helpers ---------------------------------------------------------------------------------
    def _header(self, box) -> dict:
        return state_doc.header(self.project.name, self.stack, box)

    def _run(self, deployment: Deployment, config: StackConfig, dry_run: bool) -> BaseException | None:
        monitor = ResourceMonitor(deployment, self.stack, self.project.name)
        log = EngineLog(deployment.observer)
        return run_program(self.project, self.stack, config, monitor, log, dry_run, deployment.walker.sdk_threads)

    def _on_stale_lock(self, holder: dict) -> None:
        self.observer.on_diagnostic(
            "warning",
            f"took over the lock left by '{holder.get('operation')}' (pid {holder.get('pid')}, "
            f"since {holder.get('since')}); that run was interrupted",
        )

    def _result(self, kind: str, deployment: Deployment, error: BaseException | None, notes: list[str]) -> RunResult:
        steps = [s for s in deployment.steps.values() if s.type != STACK_TYPE]
        pending = [p.urn for p in deployment.live.pending()]
        note = untouched_note(deployment.untouched, self.targeting.active)
        notes = [*notes, note] if note else notes
        result = RunResult(kind, self.stack, steps, deployment.stack_outputs, error, list(notes), pending)
        result.previous_outputs = deployment.previous_outputs if deployment.previous_outputs else None
        result.interrupted = self.cancelled.is_set()
        return result

    def _reading(self, config: StackConfig, mode: Mode) -> Deployment:
        """A deployment over the recorded state that writes nothing (refresh --preview-only)."""
        live, _box = self.store.load(self.stack, self.project.name)
        return self._deployment(live, config, mode)

    def _deployment(
        self, live: LiveState, config: StackConfig, mode: Mode, checkpointer: Checkpointer | None = None
    ) -> Deployment:
        registry = default_registry(config, self.project)
        return Deployment(live, registry, self.observer, mode, Walker(self.parallel, self.cancelled), checkpointer)

    @contextmanager
    def _applying(self, kind: str, config: StackConfig, mode: Mode) -> Iterator[_Applying]:
        """Lock the stack, load it, and checkpoint as the caller works; the caller settles what an
        interrupted run left (``reconcile_pending``), sets ``result`` and may clear ``record``."""
        with self.store.lock(self.stack, kind, self._on_stale_lock):
            live, box = self.store.load(self.stack, self.project.name)
            checkpointer = Checkpointer(self.store, self.stack, live, self._header(box), box)
            deployment = Deployment(
                live,
                default_registry(config, self.project),
                self.observer,
                mode,
                Walker(self.parallel, self.cancelled),
                checkpointer,
            )
            run = _Applying(deployment, utc_now(), notes=list(live.notes))
            try:
                yield run
                live.note_run(_last_run(kind, run.started, run.result))
            finally:
                checkpointer.close(record=run.record)

    # -- operations ------------------------------------------------------------------------------
    def preview(self, refresh: bool = False) -> RunResult:
        config = load_stack_config(self.project, self.stack)
        live, _box = self.store.load(self.stack, self.project.name)
        version = (live.lineage, live.serial)
        notes = live.notes + [
            pending_create_note(p)
            if p.operation == "creating"
            else f"{p.urn}: a previous run was interrupted while {p.operation} it; the next up reads it back"
            for p in live.pending()
        ]
        error = self._refresh_first(live, config, notes) if refresh else None
        deployment = self._deployment(live, config, Mode.PREVIEW)
        if error is None:
            error = self._select(deployment, config, program=True)
        if error is None:
            error = self._run(deployment, config, dry_run=True)
        if error is None:
            deployment.plan_deletes(deployment.unregistered())
        result = self._result("preview", deployment, error, notes)
        result.state_version = version
        return result

    def up(self, plan: SavedPlan | None = None, refresh: bool = False) -> RunResult:
        """Apply the program; with ``plan``, only if it plans exactly the saved steps (else StalePlan)."""
        config = load_stack_config(self.project, self.stack)
        if plan is not None:
            if refresh and not plan.refresh:
                raise InvalidInputError(f"--refresh: the plan {plan.path} was saved without it; preview again with it")
            refresh = plan.refresh
        with self._applying("up", config, Mode.UP) as run:
            live = run.deployment.live
            if plan is not None:
                run.record = False  # a refused plan leaves the state as it was
                plan.check_target(self.project.name, live)
            run.notes += run.deployment.reconcile_pending()
            error = self._refresh_first(live, config, run.notes, run.deployment.checkpointer) if refresh else None
            if error is None and plan is not None:
                error = self._check_plan(plan, live, config)
                run.deployment.plan_check = plan.enforce
            if error is None:
                error = self._select(run.deployment, config, program=True)
            if error is None:
                error = self._run(run.deployment, config, dry_run=False)
            if error is None and plan is not None and plan.violations:
                error = StalePlan(f"applied only what matched the plan {plan.path}: {plan.violations[0]}")
            if error is None:
                run.deployment.run_deletes(run.deployment.plan_deletes(run.deployment.unregistered()))
            else:
                run.notes.append("resources missing from the program were not deleted because the program failed")
            run.record = any(s.type != STACK_TYPE for s in run.deployment.steps.values())
            run.result = self._result("up", run.deployment, error, run.notes)
        return run.result

    def _refresh_first(
        self, live: LiveState, config: StackConfig, notes: list[str], checkpointer: Checkpointer | None = None
    ) -> BaseException | None:
        """--refresh: read every recorded resource back before planning (the program runs first,
        answered from state, for its providers, as `refresh` runs it); preview keeps it in memory."""
        reader = self._deployment(live, config, Mode.FROZEN, checkpointer)
        error = self._run_for_providers(reader, config, notes)
        if _invalid_input(error):
            return error
        for step in reader.refresh(apply=True):
            if step.status == Status.FAILED:
                notes.append(f"refresh: {step.urn}: {step.error}; planned from its recorded state")
            elif step.op != Op.SAME:
                gone = step.op == Op.DELETE
                notes.append(f"refresh: {step.urn} {'no longer exists' if gone else 'changed outside fleetform'}")
        return None

    def _select(
        self, deployment: Deployment, config: StackConfig, program: bool, deleting: bool = False
    ) -> BaseException | None:
        """Narrow ``deployment`` to what --target/--exclude select, from the recorded resources and, with
        ``program``, from what a quiet preview of the program declares (a resource not recorded yet counts)."""
        if not self.targeting.active:
            return None
        nodes = {r.urn: Node(frozenset(recorded_needs(r)), r.parent) for r in deployment.live.resources()}
        if program:
            declaring = Deployment(
                deployment.live,
                default_registry(config, self.project),
                _Silent(),
                Mode.PREVIEW,
                Walker(self.parallel, self.cancelled),
            )
            error = self._run(declaring, config, dry_run=True)
            if error is not None:
                return error
            for reg in declaring.registered.values():
                needs = needed_urns(reg.dependencies, reg.property_dependencies, reg.provider_ref, reg.parent)
                nodes[reg.urn] = Node(frozenset(needs), reg.parent)
        deployment.selection = self.targeting.select(nodes, deleting)
        return None

    def _check_plan(self, plan: SavedPlan, live: LiveState, config: StackConfig) -> BaseException | None:
        """Preview the program against the state as it is now, quietly; the plan must be exactly that."""
        checking = Deployment(
            live, default_registry(config, self.project), _Silent(), Mode.PREVIEW, Walker(self.parallel, self.cancelled)
        )
        error = self._run(checking, config, dry_run=True)
        if error is None:
            checking.plan_deletes(checking.unregistered())
            plan.check_steps([s for s in checking.steps.values() if s.type != STACK_TYPE])
        return error

    def destroy(self) -> RunResult:
        self.require_exists()
        config = load_stack_config(self.project, self.stack, required=False)
        with self._applying("destroy", config, Mode.FROZEN) as run:
            error = self._run_for_providers(run.deployment, config, run.notes)
            if _invalid_input(error):
                return self._stopped(run, "destroy", error)
            run.notes += run.deployment.reconcile_pending()
            live = run.deployment.live
            self._select(run.deployment, config, program=False, deleting=True)
            run.deployment.run_deletes(run.deployment.plan_deletes(live.resources() + live.old_copies()))
            if error is not None:
                run.notes.append(f"the program failed while setting up for destroy: {error}")
            run.result = self._result("destroy", run.deployment, None, run.notes)
        return run.result

    def refresh(self, apply: bool) -> RunResult:
        self.require_exists()
        config = load_stack_config(self.project, self.stack, required=False)
        if not apply:
            deployment = self._reading(config, Mode.FROZEN)
            notes: list[str] = []
            error = self._run_for_providers(deployment, config, notes)
            if _invalid_input(error):
                return RunResult("refresh", self.stack, [], {}, error)
            self._select(deployment, config, program=False)
            deployment.refresh(apply=False)
            return self._result("refresh", deployment, None, notes)
        with self._applying("refresh", config, Mode.FROZEN) as run:
            error = self._run_for_providers(run.deployment, config, run.notes)
            if _invalid_input(error):
                return self._stopped(run, "refresh", error)
            run.notes += run.deployment.reconcile_pending()
            self._select(run.deployment, config, program=False)
            run.deployment.refresh(apply=True)
            run.result = self._result("refresh", run.deployment, None, run.notes)
        return run.result

    def _stopped(self, run: _Applying, kind: str, error: BaseException) -> RunResult:
        """The program found the stack invalid: nothing is done and the state is left as it was."""
        run.record = False
        run.result = RunResult(kind, self.stack, [], {}, error, run.notes)
        return run.result

    def require_exists(self) -> None:
        """A stack exists once it has a configuration file or a state; a typo must not make one."""
        if self.project.stack_file(self.stack).exists() or self.store.exists(self.stack):
            return
        known = sorted(set(self.project.declared_stacks()) | set(self.store.stacks()))
        raise InvalidInputError(
            f"stack '{self.stack}' does not exist: there is no {self.project.stack_file(self.stack)} and no state "
            f"{self.store.location(self.stack)} (stacks: {', '.join(known) or 'none'}); check -s, or create it with "
            f"`fleetform stack init -s {self.stack}`"
        )

    def validate(self) -> RunResult:
        """Run the program without touching providers or state; it fails on invalid configuration.

        No state is read (so no passphrase is needed), and the program sees ``FLEETFORM_STATE_DIR``
        pointing at a scratch directory removed afterwards, so that whatever it keeps there (the
        sandbox's emulated world) is neither created nor changed, and ``FLEETFORM_VALIDATING=1``, so that
        it starts nothing that outlives the run."""
        config = load_stack_config(self.project, self.stack)
        empty = LiveState([], [], None)
        deployment = Deployment(empty, default_registry(config, self.project), self.observer, Mode.FROZEN, Walker(1))
        scratch_dir = tempfile.TemporaryDirectory(prefix="fleetform-validate-")
        with scratch_dir as scratch, _environment(**{STATE_DIR_ENV: scratch, VALIDATING_ENV: "1"}):
            error = self._run(deployment, config, dry_run=True)
        return RunResult("validate", self.stack, [], {}, error)

    def init(self) -> None:
        """Create the stack's state (empty), so that it exists and its secrets salt is fixed."""
        with self.store.lock(self.stack, "stack init"):
            if self.store.exists(self.stack):
                raise InvalidInputError(f"stack '{self.stack}' already exists ({self.store.location(self.stack)})")
            live, box = self.store.load(self.stack, self.project.name)
            Checkpointer(self.store, self.stack, live, self._header(box), box).close(record=True)

    def remove(self, force: bool) -> int:
        """Delete the stack's state; refused while it records resources, unless ``force``. Returns
        how many resources were forgotten."""
        self.require_exists()
        with self.store.lock(self.stack, "stack rm"):
            try:
                live, _box = self.store.load(self.stack, self.project.name)
                count = sum(1 for r in live.resources() + live.old_copies() if r.type != STACK_TYPE)
            except StateError:
                if not force:
                    raise
                count = 0
            if count and not force:
                raise InvalidInputError(
                    f"stack '{self.stack}' still records {count} resources: run `fleetform destroy -s {self.stack}` "
                    f"first, or pass --force to forget them (they keep existing, unmanaged)"
                )
            self.store.remove(self.stack)
        return count

    def _run_for_providers(self, deployment: Deployment, config: StackConfig, notes: list[str]) -> BaseException | None:
        """Destroy and refresh replay the program (answered from state) so that whatever it sets
        up for its providers, such as a local endpoint, exists; like Pulumi's ``--run-program``."""
        if config.path is None:
            notes.append("the stack has no configuration file; the program was not run")
            return None
        return self._run(deployment, config, dry_run=True)

    def recorded(self) -> list:
        """The resources the state holds (for `graph`)."""
        self.require_exists()
        live, _box = self.store.load(self.stack, self.project.name)
        return live.resources()

    def outputs(self) -> dict:
        self.require_exists()
        live, _box = self.store.load(self.stack, self.project.name)
        for resource in live.resources():
            if resource.type == STACK_TYPE:
                return resource.outputs
        return {}


class _Silent:
    """The observer of `up --plan`'s check: the user sees the run that applies, not this one."""

    def on_step(self, step: Step) -> None:
        pass

    def on_diagnostic(self, severity: str, message: str, urn: str = "") -> None:
        pass


@dataclass
class _Applying:
    """One locked, checkpointed operation in progress (see StackOperations._applying)."""

    deployment: Deployment
    started: str
    notes: list[str] = field(default_factory=list)
    result: RunResult | None = None
    record: bool = True


def _invalid_input(error: BaseException | None) -> bool:
    """Whether the program stopped on invalid input (it raised pulumi.RunError, or an input error)."""
    from pulumi.errors import RunError

    if isinstance(error, EngineError):
        return error.exit_code == EXIT_INVALID_INPUT
    return isinstance(error, RunError)


@contextmanager
def _environment(**values: str) -> Iterator[None]:
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _last_run(kind: str, started: str, result: RunResult) -> dict:
    return {
        "kind": kind,
        "started": started,
        "finished": utc_now(),
        "result": "interrupted" if result.interrupted else "succeeded" if result.ok else "failed",
        "summary": result.summary(),
    }


def masked_outputs(outputs: dict, show_secrets: bool) -> dict:
    from .secrets import unwrap_secrets

    return unwrap_secrets(outputs) if show_secrets else mask_secrets(outputs)


__all__ = ["DEFAULT_PARALLEL", "RunResult", "StackOperations", "masked_outputs"]
