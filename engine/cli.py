"""The ``fleetform`` command line: preview, up, destroy, refresh, validate and stack commands.

Exit codes are listed in :mod:`engine.errors` and README.md.
"""

from __future__ import annotations

import faulthandler
import json
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import entry_points
from importlib.metadata import version as package_version
from pathlib import Path

import typer

from kubeclient import scripts_on_path

from . import output_capture
from .cli_backend import register as register_backend_commands
from .cli_config import config_app, schema
from .cli_import import import_command
from .collector import tune_for_large_heaps
from .errors import (
    EXIT_CHANGES_PRESENT,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_INVALID_INPUT,
    EXIT_OK,
    EngineError,
)
from .graph_view import FORMATS, Selection, rendered, view
from .operations import DEFAULT_PARALLEL, RunResult, StackOperations, masked_outputs
from .plan_file import SavedPlan, saved_plan_note
from .plan_model import build as build_plan_model
from .plan_render import markdown as render_markdown
from .project import Project, load_project
from .render import Reporter, result_to_json
from .report_text import destroy_lines
from .stack_history import history as stack_history
from .state import STATE_DIR_ENV, StateStore
from .state_edit import StateEditor, describe
from .targets import Targeting

app = typer.Typer(
    help="fleetform: preview and apply a Pulumi Python program with the embedded engine "
    "(no Pulumi CLI needed). State lives in <project>/.fleetform unless FLEETFORM_STATE_DIR, FLEETFORM_BACKEND, "
    "`fleetform login` or backend.url in Pulumi.yaml say otherwise.",
    epilog="Exit codes: 0 success; 1 a resource failed or the program raised; 2 invalid input (nothing was "
    "touched); 3 --expect-no-changes found changes, or up --plan: the plan no longer matches; 4 the stack is "
    "locked; 5 the state needs attention; 130 interrupted by Ctrl-C.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain click help: flags without type placeholders
)
stack_app = typer.Typer(
    help="Manage stacks: outputs, list, init, rm, unlock, history, export, import.", no_args_is_help=True
)
app.add_typer(stack_app, name="stack")
state_app = typer.Typer(help="Edit a stack's state by hand: delete, unprotect, repair.", no_args_is_help=True)
app.add_typer(state_app, name="state")

StackOpt = typer.Option(..., "--stack", "-s", help="Stack name (its config is stacks/Pulumi.<name>.yaml).")
CwdOpt = typer.Option(Path("."), "--cwd", help="Directory of the Pulumi project (holds Pulumi.yaml).")
ParallelOpt = typer.Option(DEFAULT_PARALLEL, "--parallel", "-p", help="Maximum provider calls running at once.")
JsonOpt = typer.Option(False, "--json", help="Print one JSON document instead of progress and summary.")
DiffOpt = typer.Option(False, "--diff", help="Show every changed property with old and new values.")
YesOpt = typer.Option(False, "--yes", "-y", help="Apply without asking for confirmation.")


def _fail(message: str, code: int) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _program_error_code(error: BaseException) -> int:
    from pulumi.errors import RunError

    if isinstance(error, RunError):
        typer.echo(f"error: {error}", err=True)
        return EXIT_INVALID_INPUT
    if isinstance(error, EngineError):
        typer.echo(f"error: {error}", err=True)
        return error.exit_code
    typer.echo("error: the program raised an exception:", err=True)
    typer.echo("".join(traceback.format_exception(error)), err=True)
    return EXIT_FAILED


def _finish(result: RunResult, reporter: Reporter, as_json: bool, show_diff: bool, markdown: bool = False) -> int:
    if markdown:
        typer.echo(render_markdown(build_plan_model(result, reporter.diagnostics)), nl=False)
    elif as_json:
        typer.echo(json.dumps(result_to_json(result, reporter.diagnostics), indent=2, sort_keys=True))
    else:
        reporter.report(result, show_diff)
    if result.interrupted:
        typer.echo(
            f"error: {result.kind} interrupted (Ctrl-C): the calls in flight finished and are recorded, nothing new "
            f"was started; run it again to continue",
            err=True,
        )
        return EXIT_INTERRUPTED
    if result.program_error is not None:
        return _program_error_code(result.program_error)
    if result.kind == "preview" and result.only_invalid_inputs():
        return EXIT_INVALID_INPUT  # nothing could be applied until the stack (or the world) changes
    return EXIT_OK if result.ok else EXIT_FAILED


def _operate(
    kind: str,
    stack: str,
    cwd: Path,
    parallel: int,
    as_json: bool,
    action,
    show_diff: bool = False,
    expect_no_changes: bool = False,
    markdown: bool = False,
    terraform_summary: bool = False,
    show_sames: bool = False,
) -> int:
    reporter = Reporter(kind, quiet=as_json or markdown, terraform_summary=terraform_summary, show_sames=show_sames)
    try:
        ops = StackOperations(cwd, stack, reporter, parallel)
        reporter.begin(ops.project.name, stack, ops.store.backend.url)
        with reporter, _first_interrupt_cancels(ops), output_capture.routing():
            result = action(ops)
    except EngineError as exc:
        _fail(str(exc), exc.exit_code)
    code = _finish(result, reporter, as_json, show_diff, markdown)
    if code == EXIT_OK and expect_no_changes and result.has_changes():
        if not as_json and not markdown:
            typer.echo("error: changes are present (--expect-no-changes)", err=True)
        code = EXIT_CHANGES_PRESENT
    return code


@contextmanager
def _first_interrupt_cancels(ops: StackOperations) -> Iterator[None]:
    """The first Ctrl-C winds the run down (see StackOperations.cancel); a second one ends the
    process at once: the state on disk is the last checkpoint, whose pending records name the calls
    that were in flight, and the OS releases the stack lock."""

    def on_interrupt(_signum, _frame) -> None:
        if ops.cancelled.is_set():
            sys.stderr.write("\ninterrupted again: stopping now; the state records what was in flight\n")
            sys.stderr.flush()
            os._exit(EXIT_INTERRUPTED)
        sys.stderr.write("\ninterrupted: finishing the calls in flight (Ctrl-C again to stop at once)\n")
        ops.cancel()

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


ExpectNoChangesOpt = typer.Option(
    False, "--expect-no-changes", help=f"Exit with code {EXIT_CHANGES_PRESENT} if anything would change."
)


RefreshOpt = typer.Option(False, "--refresh", help="Read every resource back from its provider before planning.")
MarkdownOpt = typer.Option(False, "--markdown", help="Print a Markdown review (for a pull-request comment).")
TargetOpt = typer.Option([], "--target", "-t", help="Only this resource (URN or name) and what it needs; repeatable.")
TargetDependentsOpt = typer.Option(False, "--target-dependents", help="With --target: also whatever needs a target.")
ExcludeOpt = typer.Option([], "--exclude", help="Leave out this resource (URN or name) and what needs it; repeatable.")
TerraformSummaryOpt = typer.Option(
    False, "--terraform-summary", help="End with Terraform's line too: Plan: X to add, Y to change, Z to destroy."
)
SavePlanOpt = typer.Option(None, "--save-plan", help="Write the plan to FILE for `up --plan` (secrets encrypted).")
PlanOpt = typer.Option(None, "--plan", help="Apply exactly this saved plan; exit 3 if it no longer matches.")
ShowSamesOpt = typer.Option(False, "--show-sames", help="List unchanged resources too (they are only counted).")


@app.command()
def preview(
    stack: str = StackOpt,
    cwd: Path = CwdOpt,
    parallel: int = ParallelOpt,
    as_json: bool = JsonOpt,
    diff: bool = DiffOpt,
    expect_no_changes: bool = ExpectNoChangesOpt,
    refresh: bool = RefreshOpt,
    markdown: bool = MarkdownOpt,
    save_plan: Path | None = SavePlanOpt,
    terraform_summary: bool = TerraformSummaryOpt,
    target: list[str] = TargetOpt,
    target_dependents: bool = TargetDependentsOpt,
    exclude: list[str] = ExcludeOpt,
    show_sames: bool = ShowSamesOpt,
) -> None:
    """Show what `up` would do, resource by resource, without changing anything."""
    targeting = _targeting(target, target_dependents, exclude)
    if as_json and markdown:
        _fail("--json and --markdown: choose one", EXIT_INVALID_INPUT)

    def action(ops: StackOperations) -> RunResult:
        ops.targeting = targeting
        result = ops.preview(refresh)
        if save_plan is not None:
            result.notes.append(saved_plan_note(save_plan, ops.project.name, result, refresh))
        return result

    code = _operate(
        "preview",
        stack,
        cwd,
        parallel,
        as_json,
        action,
        diff,
        expect_no_changes,
        markdown,
        terraform_summary,
        show_sames,
    )
    raise typer.Exit(code)


@app.command()
def up(
    stack: str = StackOpt,
    cwd: Path = CwdOpt,
    parallel: int = ParallelOpt,
    as_json: bool = JsonOpt,
    diff: bool = DiffOpt,
    yes: bool = YesOpt,
    refresh: bool = RefreshOpt,
    plan: Path | None = PlanOpt,
    terraform_summary: bool = TerraformSummaryOpt,
    target: list[str] = TargetOpt,
    target_dependents: bool = TargetDependentsOpt,
    exclude: list[str] = ExcludeOpt,
    show_sames: bool = ShowSamesOpt,
) -> None:
    """Create, update, replace and delete resources until the stack matches the program."""
    targeting = _targeting(target, target_dependents, exclude)
    try:
        saved = SavedPlan.load(plan, stack) if plan is not None else None
    except EngineError as exc:
        _fail(str(exc), exc.exit_code)
    if not yes:
        _confirm_or_exit("up", stack, cwd, parallel, targeting)

    def action(ops: StackOperations) -> RunResult:
        ops.targeting = targeting
        return ops.up(saved, refresh)

    code = _operate(
        "up", stack, cwd, parallel, as_json, action, diff, terraform_summary=terraform_summary, show_sames=show_sames
    )
    raise typer.Exit(code)


@app.command()
def destroy(
    stack: str = StackOpt,
    cwd: Path = CwdOpt,
    parallel: int = ParallelOpt,
    as_json: bool = JsonOpt,
    yes: bool = YesOpt,
    terraform_summary: bool = TerraformSummaryOpt,
    target: list[str] = TargetOpt,
    exclude: list[str] = ExcludeOpt,
    show_sames: bool = ShowSamesOpt,
) -> None:
    """Delete every resource of the stack, dependents first (with --target: those and what needs them)."""
    targeting = _targeting(target, False, exclude)
    if not yes:
        _confirm_or_exit("destroy", stack, cwd, parallel, targeting)

    def action(ops: StackOperations) -> RunResult:
        ops.targeting = targeting
        return ops.destroy()

    code = _operate(
        "destroy", stack, cwd, parallel, as_json, action, terraform_summary=terraform_summary, show_sames=show_sames
    )
    raise typer.Exit(code)


@app.command()
def refresh(
    stack: str = StackOpt,
    cwd: Path = CwdOpt,
    parallel: int = ParallelOpt,
    as_json: bool = JsonOpt,
    yes: bool = YesOpt,
    preview_only: bool = typer.Option(False, "--preview-only", help="Show drift only; change nothing."),
    expect_no_changes: bool = ExpectNoChangesOpt,
    target: list[str] = TargetOpt,
    target_dependents: bool = TargetDependentsOpt,
    exclude: list[str] = ExcludeOpt,
    show_sames: bool = ShowSamesOpt,
) -> None:
    """Read every resource back from its provider and record what really exists (drift)."""
    targeting = _targeting(target, target_dependents, exclude)
    if not yes and not preview_only:
        _confirm_or_exit("refresh", stack, cwd, parallel, targeting)

    def action(ops: StackOperations) -> RunResult:
        ops.targeting = targeting
        return ops.refresh(apply=not preview_only)

    code = _operate("refresh", stack, cwd, parallel, as_json, action, True, expect_no_changes, show_sames=show_sames)
    raise typer.Exit(code)


@app.command()
def validate(stack: str = StackOpt, cwd: Path = CwdOpt) -> None:
    """Check the project and the stack's configuration; touch nothing."""
    reporter = Reporter("validate", quiet=True)
    try:
        result = StackOperations(cwd, stack, reporter).validate()
    except EngineError as exc:
        _fail(str(exc), exc.exit_code)
    if result.program_error is not None:
        raise typer.Exit(_program_error_code(result.program_error))
    typer.echo(f"stack '{stack}' is valid")


TypesOpt = typer.Option([], "--type", help="Only resources of matching types (glob or substring); repeatable.")
OutputOpt = typer.Option(None, "--output", "-o", help="Write to this file instead of standard output.")


@app.command()
def graph(
    stack: str = StackOpt,
    cwd: Path = CwdOpt,
    format_: str = typer.Option("dot", "--format", "-f", help="dot, mermaid, svg or png (svg/png need Graphviz)."),
    root: str = typer.Option(None, "--root", help="Only this resource (URN or name) and what is under it."),
    depth: int = typer.Option(None, "--depth", min=0, help="Levels of the parent tree to show (below --root)."),
    types: list[str] = TypesOpt,
    output: Path = OutputOpt,
) -> None:
    """Draw the stack's recorded dependency graph, grouped by component (cluster, fleet, federation)."""
    if format_ not in FORMATS:
        _fail(f"--format {format_}: choose one of {', '.join(FORMATS)}", EXIT_INVALID_INPUT)
    try:
        resources = StackOperations(cwd, stack, Reporter("graph", quiet=True)).recorded()
        picture = rendered(view(resources, Selection(root, depth, tuple(types))), format_)
    except EngineError as exc:
        _fail(str(exc), exc.exit_code)
    if output is not None:
        output.write_bytes(picture)
    elif format_ in ("svg", "png") and sys.stdout.isatty():
        _fail(f"--format {format_} is binary; give --output FILE or redirect standard output", EXIT_INVALID_INPUT)
    else:
        sys.stdout.buffer.write(picture)
        sys.stdout.flush()


def _targeting(targets: list[str], dependents: bool, excludes: list[str]) -> Targeting:
    if dependents and not targets:
        _fail("--target-dependents needs at least one --target", EXIT_INVALID_INPUT)
    return Targeting(tuple(targets), dependents, tuple(excludes))


def _confirm_or_exit(kind: str, stack: str, cwd: Path, parallel: int, targeting: Targeting) -> None:
    if not sys.stdin.isatty():
        _fail(f"{kind} needs --yes when not run interactively", EXIT_INVALID_INPUT)
    if kind != "destroy":

        def preview(ops: StackOperations) -> RunResult:
            ops.targeting = targeting
            return ops.preview()

        code = _operate("preview", stack, cwd, parallel, False, preview, show_diff=True)  # the plan, before asking
        if code != EXIT_OK:
            raise typer.Exit(code)
    elif targeting.active:
        typer.echo(f"destroy will delete what --target selects in stack '{stack}' and whatever needs it")
    else:  # what will go, before asking
        try:
            recorded = StackOperations(cwd, stack, Reporter("destroy", quiet=True)).recorded()
        except EngineError as exc:
            _fail(str(exc), exc.exit_code)
        for line in destroy_lines(recorded, stack):
            typer.echo(line)
    if not typer.confirm(f"Do you want to perform this {kind} on stack '{stack}'?"):
        raise typer.Exit(EXIT_OK)


# -- stack commands ------------------------------------------------------------------------------
@stack_app.command("output")
def stack_output(
    stack: str = StackOpt,
    cwd: Path = CwdOpt,
    as_json: bool = JsonOpt,
    show_secrets: bool = typer.Option(False, "--show-secrets", help="Print secret outputs in plain text."),
) -> None:
    """Print the stack's outputs (secrets masked unless --show-secrets)."""
    try:
        outputs = masked_outputs(StackOperations(cwd, stack, Reporter("output", quiet=True)).outputs(), show_secrets)
    except EngineError as exc:
        _fail(str(exc), exc.exit_code)
    if as_json:
        typer.echo(json.dumps(outputs, indent=2, sort_keys=True))
        return
    for key, value in sorted(outputs.items()):
        typer.echo(f"{key}: {value if isinstance(value, str) else json.dumps(value)}")


def _project_and_store(cwd: Path) -> tuple[Project, StateStore]:
    try:
        project = load_project(cwd)
        return project, StateStore.for_project(project.dir)
    except EngineError as exc:
        _fail(str(exc), exc.exit_code)


@stack_app.command("ls")
def stack_ls(cwd: Path = CwdOpt, as_json: bool = JsonOpt) -> None:
    """List the project's stacks: those with a config file and those with state."""
    project, store = _project_and_store(cwd)
    rows = []
    for name in sorted(set(project.declared_stacks()) | set(store.stacks())):
        summary = store.summary(name) if store.exists(name) else {"resources": 0, "last_run": {}}
        last = summary.get("last_run") or {}
        row = {
            "name": name,
            "config": project.stack_file(name).exists(),
            "resources": summary.get("resources", 0),
            "lastRun": last.get("finished"),
            "lastResult": last.get("result"),
            "locked": store.is_locked(name),
        }
        if "damaged" in summary:
            row["damaged"] = summary["damaged"]
        rows.append(row)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    typer.echo(f"{'NAME':<16} {'RESOURCES':>9}  {'LAST RUN':<26} RESULT")
    for row in rows:
        lock = " (locked)" if row["locked"] else ""
        lock += " (state damaged: run any command on it for details)" if "damaged" in row else ""
        typer.echo(
            f"{row['name']:<16} {row['resources']:>9}  {row['lastRun'] or '-':<26} {row['lastResult'] or '-'}{lock}"
        )


@stack_app.command("init")
def stack_init(stack: str = StackOpt, cwd: Path = CwdOpt) -> None:
    """Create a stack: an empty state whose secrets are sealed with this stack's passphrase."""
    ops = _stack_operations(stack, cwd)
    try:
        ops.init()
    except EngineError as exc:
        _fail(str(exc), exc.exit_code)
    typer.echo(f"created stack '{stack}' ({ops.store.location(stack)})")
    if not ops.project.stack_file(stack).exists():
        typer.echo(f"next: write its configuration in {ops.project.stack_file(stack)}")


@stack_app.command("rm")
def stack_rm(
    stack: str = StackOpt,
    cwd: Path = CwdOpt,
    force: bool = typer.Option(False, "--force", help="Remove even if the state still records resources."),
) -> None:
    """Remove a stack's state (not its configuration file); refused while it records resources."""
    ops = _stack_operations(stack, cwd)
    try:
        forgotten = ops.remove(force)
    except EngineError as exc:
        _fail(str(exc), exc.exit_code)
    extra = f"; {forgotten} resources it recorded are no longer managed" if forgotten else ""
    typer.echo(f"removed the state of stack '{stack}'{extra}")
    if ops.project.stack_file(stack).exists():
        typer.echo(f"its configuration file {ops.project.stack_file(stack)} was kept")


def _stack_operations(stack: str, cwd: Path) -> StackOperations:
    try:
        return StackOperations(cwd, stack, Reporter("stack", quiet=True))
    except EngineError as exc:
        _fail(str(exc), exc.exit_code)


@stack_app.command("unlock")
def stack_unlock(stack: str = StackOpt, cwd: Path = CwdOpt) -> None:
    """Clear the lock record of a run that is gone (a running one keeps its lock: stop it first)."""
    _project, store = _project_and_store(cwd)
    try:
        holder = store.unlock(stack)
    except EngineError as exc:
        _fail(str(exc), exc.exit_code)
    typer.echo(
        f"cleared the lock record of stack '{stack}' left by {holder}" if holder else f"stack '{stack}' was not locked"
    )


# -- state commands ------------------------------------------------------------------------------
def _editor(stack: str, cwd: Path) -> StateEditor:
    ops = _stack_operations(stack, cwd)
    try:
        ops.require_exists()
    except EngineError as exc:
        _fail(str(exc), exc.exit_code)
    return StateEditor(ops.store, ops.project.name, stack)


def _confirmed(question: str, yes: bool) -> bool:
    if yes:
        return True
    if not sys.stdin.isatty():
        _fail("this command needs --yes when not run interactively", EXIT_INVALID_INPUT)
    return typer.confirm(question)


UrnArg = typer.Argument(..., help="The resource's URN, or its name when only one resource has it.")


@state_app.command("delete")
def state_delete(
    urn: str = UrnArg,
    stack: str = StackOpt,
    cwd: Path = CwdOpt,
    yes: bool = YesOpt,
    force: bool = typer.Option(False, "--force", help="Delete even if other recorded resources need it."),
) -> None:
    """Forget one resource: remove it from the state without touching it (it keeps existing)."""
    editor = _editor(stack, cwd)
    if not _confirmed(f"Forget {urn} in stack '{stack}' (the resource itself is not deleted)?", yes):
        raise typer.Exit(EXIT_OK)
    try:
        deleted, dependents = editor.delete(urn, force)
    except EngineError as exc:
        _fail(str(exc), exc.exit_code)
    typer.echo(f"removed {deleted} from the state of stack '{stack}'; it still exists, unmanaged")
    for dependent in dependents:
        typer.echo(f"warning: {dependent} needed it", err=True)


@state_app.command("unprotect")
def state_unprotect(urn: str = UrnArg, stack: str = StackOpt, cwd: Path = CwdOpt) -> None:
    """Clear a resource's recorded protect flag, so that it can be replaced or deleted."""
    try:
        done = _editor(stack, cwd).unprotect(urn)
    except EngineError as exc:
        _fail(str(exc), exc.exit_code)
    typer.echo(f"{done} is no longer protected (if the program still sets protect=True, the next up sets it again)")


@state_app.command("repair")
def state_repair(stack: str = StackOpt, cwd: Path = CwdOpt, yes: bool = YesOpt) -> None:
    """Settle the operations an interrupted run left pending: show each, then drop its record."""
    editor = _editor(stack, cwd)
    try:
        pending = editor.interrupted()
    except EngineError as exc:
        _fail(str(exc), exc.exit_code)
    if not pending:
        typer.echo(f"stack '{stack}' has no interrupted operations; nothing to repair")
        raise typer.Exit(EXIT_OK)
    for op, recorded in pending:
        typer.echo(describe(op, recorded))
    if not _confirmed(f"Drop these {len(pending)} pending records from stack '{stack}'?", yes):
        raise typer.Exit(EXIT_OK)
    try:
        settled = editor.repair([op.urn for op, _recorded in pending])
    except EngineError as exc:
        _fail(str(exc), exc.exit_code)
    typer.echo(f"settled {len(settled)} interrupted operations of stack '{stack}'")


register_backend_commands(app, stack_app)  # login, logout, whoami, stack export, stack import
stack_app.command("history")(stack_history)
app.command("import")(import_command)
app.add_typer(config_app, name="config")
app.command()(schema)


def _add_plugin_commands() -> None:
    """Command groups other installed packages offer (entry point group ``fleetform.commands``: name -> a Typer
    app), e.g. the sandbox's; one that cannot be loaded is left out with a note, the rest of the CLI works."""
    for entry in entry_points(group="fleetform.commands"):
        try:
            app.add_typer(entry.load(), name=entry.name)
        except ImportError as exc:
            sys.stderr.write(f"note: `fleetform {entry.name}` is unavailable ({exc})\n")


_add_plugin_commands()


def _print_version(wanted: bool) -> None:
    if wanted:
        typer.echo(f"fleetform {package_version('fleetform')}")
        raise typer.Exit()


@app.callback()
def _resolve_state_dir(
    _version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print fleetform's version and exit."
    ),
) -> None:
    """Make a relative FLEETFORM_STATE_DIR absolute against the directory fleetform was started in,
    once, for the engine and the program alike (the program runs in the project directory, so a
    relative value would otherwise name a second directory when --cwd points elsewhere)."""
    value = os.environ.get(STATE_DIR_ENV)
    if value:
        os.environ[STATE_DIR_ENV] = str(Path(value).absolute())


def _stop_at_once(_signum, _frame) -> None:
    """Ctrl-C outside a run (loading, asking, a state edit): nothing is in flight; state files are
    only ever replaced whole and the OS releases the lock, so stopping here leaves them consistent."""
    sys.stderr.write("\ninterrupted\n")
    sys.stderr.flush()
    os._exit(EXIT_INTERRUPTED)


def main(argv: list[str] | None = None) -> None:
    signal.signal(signal.SIGINT, _stop_at_once)
    tune_for_large_heaps()
    scripts_on_path()  # the credential plugin named in kubeconfigs runs in every command
    # `kill -USR1 <pid>` prints where every thread is, to stderr, without stopping the run: for a
    # run that seems stuck, before deciding to interrupt it.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    try:
        app(args=argv, prog_name="fleetform")
    except EngineError as exc:  # one a command did not report itself (e.g. a state backend out of reach)
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
