"""``fleetform config`` (get, set, rm, and a listing) and ``fleetform schema``: the stack file from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
import yaml

from .errors import EXIT_INVALID_INPUT, InvalidInputError
from .project import load_project
from .stack_config import ConfigPath, StackFile
from .yaml_input import parse_yaml

config_app = typer.Typer(
    help="Read and edit the stack file (stacks/Pulumi.<stack>.yaml) key by key, comments kept. "
    "Without a subcommand: list the stack's keys.",
    invoke_without_command=True,
)

StackOpt = typer.Option(..., "--stack", "-s", help="Stack name (its config is stacks/Pulumi.<name>.yaml).")
CwdOpt = typer.Option(Path("."), "--cwd", help="Directory of the Pulumi project (holds Pulumi.yaml).")
PathOpt = typer.Option(False, "--path", help="KEY is a path into the value: fleetform:clusters[0].labels.env.")
JsonOpt = typer.Option(False, "--json", help="Print JSON.")
ShowSecretsOpt = typer.Option(False, "--show-secrets", help="Print secret values instead of [secret].")


def _stack_file(stack: str, cwd: Path) -> StackFile:
    try:
        project = load_project(cwd)
        return StackFile(project.stack_file(stack), project.name)
    except InvalidInputError as exc:
        _invalid(exc)


def _invalid(exc: InvalidInputError):
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(EXIT_INVALID_INPUT)


def _show(value: Any, as_json: bool) -> str:
    if as_json or not isinstance(value, dict | list | str):
        return json.dumps(value, indent=2)
    if isinstance(value, str):
        return value
    return yaml.safe_dump(value, sort_keys=False, default_flow_style=False).rstrip("\n")


@config_app.callback()
def config_list(
    ctx: typer.Context, stack: str = typer.Option(None, "--stack", "-s"), cwd: Path = CwdOpt, as_json: bool = JsonOpt
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    if stack is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(EXIT_INVALID_INPUT)
    stack_file = _stack_file(stack, cwd)
    entries = {key: stack_file.masked(ConfigPath(key), value)[0] for key, value in stack_file.items()}
    if as_json:
        typer.echo(json.dumps(entries, indent=2))
        return
    for key, value in entries.items():
        summary = _summary(value) if isinstance(value, dict | list) else _show(value, as_json=False)
        typer.echo(f"{key:<28} {summary}")


def _summary(value: Any) -> str:
    if isinstance(value, list):
        names = [item.get("name") for item in value if isinstance(item, dict) and item.get("name")]
        return f"{len(value)} items" + (f": {', '.join(names)}" if names else "")
    return f"{{{', '.join(value)}}}"


@config_app.command("get")
def config_get(
    key: str = typer.Argument(..., help="namespace:key (the project's namespace if omitted)."),
    stack: str = StackOpt,
    cwd: Path = CwdOpt,
    path: bool = PathOpt,
    as_json: bool = JsonOpt,
    show_secrets: bool = ShowSecretsOpt,
) -> None:
    """Print one key's value (YAML, or JSON with --json); secrets masked."""
    stack_file = _stack_file(stack, cwd)
    try:
        where = ConfigPath.parse(key, stack_file.project, path)
        value = stack_file.get(where)
    except InvalidInputError as exc:
        _invalid(exc)
    typer.echo(_show(value if show_secrets else stack_file.masked(where, value)[0], as_json))


@config_app.command("set")
def config_set(
    key: str = typer.Argument(..., help="namespace:key (the project's namespace if omitted)."),
    value: str = typer.Argument(..., help="A YAML value: text, 3, true, [a, b], {k: v}. Quote with --string."),
    stack: str = StackOpt,
    cwd: Path = CwdOpt,
    path: bool = PathOpt,
    as_string: bool = typer.Option(False, "--string", help="Store VALUE as text as it is (no YAML reading)."),
) -> None:
    """Set one key, checked against the stack file's schema; secrets are refused (the file is plain text)."""
    stack_file = _stack_file(stack, cwd)
    try:
        where = ConfigPath.parse(key, stack_file.project, path)
        parsed = value if as_string else parse_yaml(value, f"the value of {where}")
        stack_file.set(where, parsed)
        stack_file.save()
    except InvalidInputError as exc:
        _invalid(exc)
    typer.echo(f"set {where} in {stack_file.path}")


@config_app.command("rm")
def config_rm(
    key: str = typer.Argument(..., help="namespace:key (the project's namespace if omitted)."),
    stack: str = StackOpt,
    cwd: Path = CwdOpt,
    path: bool = PathOpt,
) -> None:
    """Remove one key (or, with --path, one field or list item)."""
    stack_file = _stack_file(stack, cwd)
    try:
        where = ConfigPath.parse(key, stack_file.project, path)
        stack_file.remove(where)
        stack_file.save()
    except InvalidInputError as exc:
        _invalid(exc)
    typer.echo(f"removed {where} from {stack_file.path}")


def schema(stack: str = typer.Option(None, "--stack", "-s", help="Whose stack file to ask."), cwd: Path = CwdOpt):
    """Print the JSON Schema the project's stack files name on a first line "# yaml-language-server: $schema=FILE"."""
    try:
        project = load_project(cwd)
        stacks = [stack] if stack else project.declared_stacks()
        found = next((f.schema for s in stacks if (f := StackFile(project.stack_file(s), project.name)).schema), None)
    except InvalidInputError as exc:
        _invalid(exc)
    if found is None:
        typer.echo("error: no stack file of this project names a schema on its first lines", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT)
    typer.echo(json.dumps(found, indent=2))
