"""`fleetform import TYPE NAME ID`: the command around :mod:`engine.importing`, and what it prints (the
declaration to add to the program, or with ``--json`` the record, secrets masked)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from .errors import EngineError, InvalidInputError
from .import_code import python_code
from .importing import import_resource, package_importer
from .operations import StackOperations
from .render import Reporter
from .secrets import mask_secrets

TypeArg = typer.Argument(..., metavar="TYPE", help="Resource type, e.g. kubernetes:core/v1:Namespace.")
NameArg = typer.Argument(..., metavar="NAME", help="The resource's name in the program.")
IdArg = typer.Argument(
    ...,
    metavar="ID",
    help="The provider's id: for Kubernetes namespace/name, or name; for a fleetform cluster "
    "(fleetform:index:RegisteredCluster) KIND:IDENTITY, e.g. eks:eu-west-1/prod-eks.",
)
StackOpt = typer.Option(..., "--stack", "-s", help="Stack name.")
CwdOpt = typer.Option(Path("."), "--cwd", help="Directory of the Pulumi project (holds Pulumi.yaml).")
ProviderOpt = typer.Option(
    None, "--provider", help="Read through this recorded provider resource (URN or name); default: the package's."
)
ParentOpt = typer.Option(None, "--parent", help="Record it under this recorded resource (URN or name).")
ProtectOpt = typer.Option(True, "--protect/--no-protect", help="Record it protected (as pulumi import does).")
JsonOpt = typer.Option(False, "--json", help="Print the record and the code as JSON.")


def import_command(
    type_: str = TypeArg,
    name: str = NameArg,
    id_: str = IdArg,
    stack: str = StackOpt,
    cwd: Path = CwdOpt,
    provider: str = ProviderOpt,
    parent: str = ParentOpt,
    protect: bool = ProtectOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Record an existing object in the state (touching nothing else), and print the code that declares it.

    A fleetform cluster (fleetform:index:RegisteredCluster) is declared in the stack file instead, once a
    preview has found it in its cloud; the next up registers it."""
    try:
        ops = StackOperations(cwd, stack, Reporter("import", quiet=True))
        importer = package_importer(type_)
        if importer is not None:
            if provider or parent:
                raise InvalidInputError(f"--provider and --parent do not apply to {type_}: its package places it")
            declared = importer(ops, name, id_)
            typer.echo(json.dumps(declared.declared, indent=2) if as_json else declared.message)
            return
        adopted = import_resource(ops, type_, name, id_, provider, parent, protect)
    except EngineError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None
    resource = adopted.resource
    code = python_code(resource, adopted.provider, adopted.parent)
    if as_json:
        record = {
            "urn": resource.urn,
            "type": resource.type,
            "id": resource.id,
            "parent": resource.parent,
            "provider": resource.provider,
            "protect": resource.protect,
            "inputs": mask_secrets(resource.inputs),
            "code": code,
        }
        typer.echo(json.dumps(record, indent=2))
        return
    typer.echo(f"imported {resource.urn} (id {resource.id}) into stack '{stack}'")
    typer.echo("Declare it in the program as below (same name, parent and provider), so that the next preview")
    typer.echo("is a no-op or shows exactly what you declare differently:\n")
    typer.echo(code)
