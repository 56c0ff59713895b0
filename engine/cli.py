"""The ``fleetform`` command line: preview, up, destroy, refresh, validate and stack commands.

Exit codes are listed in :mod:`engine.errors` and README.md.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

import typer

from .errors import EXIT_CHANGES_PRESENT, EXIT_FAILED, EXIT_INVALID_INPUT, EXIT_OK, EngineError
from .graph import to_dot
from .operations import DEFAULT_PARALLEL, RunResult, StackOperations, masked_outputs
from .project import Project, load_project
from .render import Reporter, result_to_json
from .state import StateStore

app = typer.Typer(
    help="fleetform: preview and apply a Pulumi Python program with the embedded engine "
    "(no Pulumi CLI needed). State lives in <project>/.fleetform unless FLEETFORM_STATE_DIR is set.",
    epilog="Exit codes: 0 success; 1 a resource failed or the program raised; 2 invalid input (nothing was "
    "touched); 3 preview --expect-no-changes found changes; 4 the stack is locked; 5 the state needs attention.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
stack_app = typer.Typer(help="Inspect stacks: outputs, list, unlock.", no_args_is_help=True)
app.add_typer(stack_app, name="stack")

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


def _finish(result: RunResult, reporter: Reporter, as_json: bool, show_diff: bool) -> int:
    if as_json:
        typer.echo(json.dumps(result_to_json(result, reporter.diagnostics), indent=2, sort_keys=True))
    else:
        reporter.report(result, show_diff)
    if result.program_error is not None:
        return _program_error_code(result.program_error)
    return EXIT_OK if result.ok else EXIT_FAILED


def _operate(kind: str, stack: str, cwd: Path, parallel: int, as_json: bool, action, show_diff: bool = False) -> int:
    reporter = Reporter(kind, quiet=as_json)
    try:
        ops = StackOperations(cwd, stack, reporter, parallel)
        with reporter:
            result = action(ops)
    except EngineError as exc:
        _fail(str(exc), exc.exit_code)
    return _finish(result, reporter, as_json, show_diff)


@app.command()
def preview(
    stack: str = StackOpt,
    cwd: Path = CwdOpt,
    parallel: int = ParallelOpt,
    as_json: bool = JsonOpt,
    diff: bool = DiffOpt,
    expect_no_changes: bool = typer.Option(
        False, "--expect-no-changes", help=f"Exit with code {EXIT_CHANGES_PRESENT} if any resource would change."
    ),
) -> None:
    """Show what `up` would do, resource by resource, without changing anything."""
    reporter = Reporter("preview", quiet=as_json)
    try:
        ops = StackOperations(cwd, stack, reporter, parallel)
        with reporter:
            result = ops.preview()
    except EngineError as exc:
        _fail(str(exc), exc.exit_code)
    code = _finish(result, reporter, as_json, diff)
    if code == EXIT_OK and expect_no_changes and result.has_changes():
        if not as_json:
            typer.echo("error: changes are present (--expect-no-changes)", err=True)
        code = EXIT_CHANGES_PRESENT
    raise typer.Exit(code)


@app.command()
def up(
    stack: str = StackOpt,
    cwd: Path = CwdOpt,
    parallel: int = ParallelOpt,
    as_json: bool = JsonOpt,
    diff: bool = DiffOpt,
    yes: bool = YesOpt,
) -> None:
    """Create, update, replace and delete resources until the stack matches the program."""
    if not yes:
        _confirm_or_exit("up", stack, cwd, parallel)
    raise typer.Exit(_operate("up", stack, cwd, parallel, as_json, lambda ops: ops.up(), diff))


@app.command()
def destroy(
    stack: str = StackOpt,
    cwd: Path = CwdOpt,
    parallel: int = ParallelOpt,
    as_json: bool = JsonOpt,
    yes: bool = YesOpt,
) -> None:
    """Delete every resource of the stack, dependents first."""
    if not yes:
        _confirm_or_exit("destroy", stack, cwd, parallel)
    raise typer.Exit(_operate("destroy", stack, cwd, parallel, as_json, lambda ops: ops.destroy()))


@app.command()
def refresh(
    stack: str = StackOpt,
    cwd: Path = CwdOpt,
    parallel: int = ParallelOpt,
    as_json: bool = JsonOpt,
    yes: bool = YesOpt,
    preview_only: bool = typer.Option(False, "--preview-only", help="Show drift only; change nothing."),
) -> None:
    """Read every resource back from its provider and record what really exists (drift)."""
    if not yes and not preview_only:
        _confirm_or_exit("refresh", stack, cwd, parallel)
    raise typer.Exit(
        _operate("refresh", stack, cwd, parallel, as_json, lambda ops: ops.refresh(apply=not preview_only), True)
    )


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


@app.command()
def graph(stack: str = StackOpt, cwd: Path = CwdOpt) -> None:
    """Print the stack's recorded dependency graph in Graphviz DOT (e.g. `| dot -Tsvg`)."""
    try:
        resources = StackOperations(cwd, stack, Reporter("graph", quiet=True)).recorded()
    except EngineError as exc:
        _fail(str(exc), exc.exit_code)
    typer.echo(to_dot(resources), nl=False)


def _confirm_or_exit(kind: str, stack: str, cwd: Path, parallel: int) -> None:
    if not sys.stdin.isatty():
        _fail(f"{kind} needs --yes when not run interactively", EXIT_INVALID_INPUT)
    if kind != "destroy":
        code = _operate("preview", stack, cwd, parallel, False, lambda ops: ops.preview())
        if code != EXIT_OK:
            raise typer.Exit(code)
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
    except EngineError as exc:
        _fail(str(exc), exc.exit_code)
    return project, StateStore.for_project(project.dir)


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


def main(argv: list[str] | None = None) -> None:
    app(args=argv, prog_name="fleetform")


if __name__ == "__main__":
    main()
