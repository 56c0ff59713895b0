"""Commands about where state lives: `login`, `logout`, `whoami`, and `stack export` / `stack import`
(registered on the main app by :func:`register`)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import typer

from .backends import choose, login_file, open_backend, store_login
from .backends.base import mask_password
from .errors import EXIT_INVALID_INPUT, EngineError, InvalidInputError
from .project import load_project
from .stack_transfer import export_stack, import_stack
from .state import StateStore

CwdOpt = typer.Option(Path("."), "--cwd", help="Directory of the Pulumi project (holds Pulumi.yaml).")
StackOpt = typer.Option(..., "--stack", "-s", help="Stack name.")
FileOpt = typer.Option(None, "--file", help="Deployment file (default: standard output / input).")


def _fail(exc: EngineError) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(exc.exit_code)


def login(
    url: str = typer.Argument(
        ..., help="file://PATH, s3://BUCKET[/PREFIX][?region=…&endpoint=…&profile=…], postgres://…"
    ),
    cwd: Path = CwdOpt,
) -> None:
    """Keep this working copy's state in the backend at URL (checked first; stored in .fleetform/backend)."""
    try:
        project = load_project(cwd)
        stacks = open_backend(project.dir, project.name, url).stacks()  # reachable, and readable with these credentials
    except EngineError as exc:
        _fail(exc)
    stored = store_login(project.dir, url)
    typer.echo(
        f"logged in to {mask_password(url)} ({len(stacks)} stacks of project '{project.name}'); stored in {stored}"
    )
    if os.environ.get("FLEETFORM_BACKEND"):
        typer.echo("note: FLEETFORM_BACKEND is set and takes precedence while it is", err=True)


def logout(cwd: Path = CwdOpt) -> None:
    """Forget the backend given to `fleetform login` in this working copy."""
    try:
        project = load_project(cwd)
    except EngineError as exc:
        _fail(exc)
    login_file(project.dir).unlink(missing_ok=True)
    now = choose(project.dir, project.backend_url)
    typer.echo(
        f"logged out; the backend is now {mask_password(now.url) if now.url else 'the local directory'} ({now.source})"
    )


def whoami(cwd: Path = CwdOpt) -> None:
    """Print the backend this project's state is in, and what chose it."""
    try:
        project = load_project(cwd)
        chosen = choose(project.dir, project.backend_url)
        backend = open_backend(project.dir, project.name, chosen.url)
    except EngineError as exc:
        _fail(exc)
    typer.echo(f"backend: {backend.url}\nchosen by: {chosen.source}")


def stack_export(stack: str = StackOpt, cwd: Path = CwdOpt, file: Path | None = FileOpt) -> None:
    """Write the stack's state as a Pulumi deployment (version 3; secrets stay encrypted)."""
    try:
        project = load_project(cwd)
        store = StateStore.for_project(project.dir)
        if not store.exists(stack):
            raise InvalidInputError(f"stack '{stack}' has no state in {store.backend.url}; nothing to export")
        text = json.dumps(export_stack(store, project.name, stack), indent=2) + "\n"
    except EngineError as exc:
        _fail(exc)
    if file is None:
        sys.stdout.write(text)
        return
    try:  # 0600 like a state: it names everything the stack manages (its secrets stay encrypted)
        with open(os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as out:
            out.write(text)
    except OSError as exc:
        typer.echo(f"error: cannot write {file}: {exc}", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT) from None
    typer.echo(f"exported stack '{stack}' to {file}")


def stack_import(
    stack: str = StackOpt,
    cwd: Path = CwdOpt,
    file: Path | None = FileOpt,
    force: bool = typer.Option(False, "--force", help="Replace a state that already records resources."),
) -> None:
    """Replace the stack's state with a Pulumi deployment (version 3), e.g. one exported from another backend."""
    source = str(file) if file else "standard input"
    try:
        text = file.read_text(encoding="utf-8") if file else sys.stdin.read()
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"error: cannot read {source}: {exc}", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT) from None
    try:
        project = load_project(cwd)
        store = StateStore.for_project(project.dir)
        count = import_stack(store, project.name, stack, text, source, force)
    except EngineError as exc:
        _fail(exc)
    typer.echo(f"imported {count} resources into stack '{stack}' ({store.location(stack)})")


def register(app: typer.Typer, stack_app: typer.Typer) -> None:
    app.command()(login)
    app.command()(logout)
    app.command()(whoami)
    stack_app.command("export")(stack_export)
    stack_app.command("import")(stack_import)
