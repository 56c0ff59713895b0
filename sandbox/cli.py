"""``fleetform sandbox``: start, look at and stop the long-running sandbox of a project (:mod:`sandbox.daemon`).

Registered with fleetform's command line as a plugin (entry point group ``fleetform.commands``), so the generic
engine knows nothing of it. The sandbox serves ``<state dir>/sandbox`` (``FLEETFORM_STATE_DIR``, else the
project's ``.fleetform``), as the program on the sandbox stack does.
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import typer
import yaml

from . import missing_extra

app = typer.Typer(
    help="The long-running sandbox: the emulated hub, clusters and clouds stay up between runs for kubectl, "
    "gcloud and the aws CLI. Any command on the sandbox stack starts it when none runs.",
    no_args_is_help=True,
)


@app.callback()
def needs_the_sandbox_extra() -> None:
    """Every subcommand runs or reaches the emulators: without their libraries say what to install, not a
    traceback."""
    try:
        from . import world  # noqa: F401 - imports every emulator library
    except ModuleNotFoundError as exc:
        _fail(missing_extra(exc.name))


StackOpt = typer.Option("sandbox", "--stack", "-s", help="The sandbox stack (its file names the hub).")
CwdOpt = typer.Option(Path("."), "--cwd", help="Directory of the Pulumi project (holds Pulumi.yaml).")
JsonOpt = typer.Option(False, "--json", help="Print JSON.")
OutputOpt = typer.Option(None, "--output", "-o", help="Write to this file (0600) instead of standard output.")
EXIT_INVALID_INPUT = 2


def _data_dir(cwd: Path) -> Path:
    state = os.environ.get("FLEETFORM_STATE_DIR")
    return (Path(state).absolute() if state else cwd.absolute() / ".fleetform") / "sandbox"


def _hub(stack: str, cwd: Path) -> str:
    from engine.errors import InvalidInputError
    from engine.project import load_project
    from engine.yaml_input import read_yaml

    try:
        project = load_project(cwd)
        config = read_yaml(project.stack_file(stack)).get("config") or {}
    except InvalidInputError as exc:
        _fail(str(exc))
    hub = config.get("fleetform:hub") or config.get("hub") or {}
    if not config.get("fleetform:sandbox", config.get("sandbox")) or not isinstance(hub, dict) or "name" not in hub:
        _fail(f"stack '{stack}' is not a sandbox stack (fleetform:sandbox: true with a hub name)")
    return hub["name"]


def _fail(message: str):
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_INVALID_INPUT)


def _running(cwd: Path):
    from .client import status

    data_dir = _data_dir(cwd)
    running = status(data_dir) if data_dir.exists() else None
    if running is None:
        _fail(
            f"no sandbox runs for {data_dir}; `fleetform sandbox start` or any command on the sandbox stack starts it"
        )
    return data_dir, running


@app.command()
def start(stack: str = StackOpt, cwd: Path = CwdOpt) -> None:
    """Start the sandbox in the background (nothing happens when it runs already)."""
    from .client import SandboxError
    from .client import start as start_sandbox

    data_dir = _data_dir(cwd)
    try:
        running = start_sandbox(data_dir, _hub(stack, cwd))
    except SandboxError as exc:
        _fail(str(exc))
    typer.echo(f"sandbox running for {data_dir} (pid {running['pid']}, hub {running['hub']})")


@app.command()
def status(cwd: Path = CwdOpt, as_json: bool = JsonOpt) -> None:
    """Whether the sandbox runs, with its pid, hub, clusters and cloud API endpoints (exit 2 when it does not)."""
    from .client import attach_running

    data_dir, running = _running(cwd)
    world = attach_running(data_dir)
    report = {**running, "dataDir": str(data_dir), "clusters": world.cluster_names(), "clouds": world.endpoints()}
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    typer.echo(
        f"sandbox running for {data_dir} since {running['started']} (pid {running['pid']}, hub {running['hub']})"
    )
    typer.echo(f"clusters: {', '.join(report['clusters'])}")
    for kind, endpoint in report["clouds"].items():
        typer.echo(f"{kind} API: {endpoint}")


@app.command()
def stop(cwd: Path = CwdOpt) -> None:
    """Stop the sandbox; its data stays, and the next command on the sandbox stack starts it again."""
    from .client import stop as stop_sandbox

    data_dir = _data_dir(cwd)
    stopped = stop_sandbox(data_dir) if data_dir.exists() else None
    typer.echo(f"stopped the sandbox (pid {stopped['pid']})" if stopped else f"no sandbox runs for {data_dir}")


@app.command()
def kubeconfig(cwd: Path = CwdOpt, output: Path = OutputOpt) -> None:
    """One kubeconfig with a context per virtual cluster (hub, idc clusters, clouds' clusters, Karmada), for kubectl
    as is: `fleetform sandbox kubeconfig -o sandbox.kubeconfig; kubectl --kubeconfig sandbox.kubeconfig
    --context hub-sandbox get managedclusters`. A cloud cluster's context signs in the cloud's way, through
    fleetform-credential (on PATH) and the emulated cloud, as `aws eks update-kubeconfig` would set it up."""
    from .client import attach_running

    data_dir, running = _running(cwd)
    world = attach_running(data_dir)
    merged: dict = {"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": []}
    for name in world.cluster_names():
        config = yaml.safe_load(world.kubeconfig(name))
        merged["clusters"].append({"name": name, "cluster": config["clusters"][0]["cluster"]})
        merged["users"].append({"name": name, "user": config["users"][0]["user"]})
        merged["contexts"].append({"name": name, "context": {"cluster": name, "user": name}})
    environment = [{"name": k, "value": v} for k, v in sorted(world.environment().items())]
    by_backing = {c["backing"]: c for c in world.cloud_clusters()}
    for user in merged["users"]:
        cloud = by_backing.get(user["name"])
        if cloud is not None:
            user["user"] = _cloud_credential(cloud, environment)
    merged["current-context"] = running["hub"]
    _write(yaml.safe_dump(merged, sort_keys=False), output)


@app.command()
def env(cwd: Path = CwdOpt) -> None:
    """Shell `export` lines pointing the cloud SDKs, gcloud and the aws CLI at the emulated clouds (eval them)."""
    from .client import attach_running

    data_dir, _running_now = _running(cwd)
    world = attach_running(data_dir)
    values = dict(world.environment())
    endpoints = world.endpoints()
    if "eks" in endpoints:
        values["AWS_ENDPOINT_URL_EKS"] = endpoints["eks"]
    if "gke" in endpoints:
        values["CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER"] = endpoints["gke"] + "/"
    if "GOOGLE_APPLICATION_CREDENTIALS" in values and "gke" in endpoints:  # gcloud signs in with the same key
        values["CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE"] = values["GOOGLE_APPLICATION_CREDENTIALS"]
        values["CLOUDSDK_AUTH_TOKEN_HOST"] = endpoints["gke"] + "/token"
    for kind, endpoint in endpoints.items():
        values[f"FLEETFORM_{kind.upper()}_ENDPOINT"] = endpoint
    typer.echo("\n".join(f"export {name}={shlex.quote(value)}" for name, value in sorted(values.items())))


def _cloud_credential(cloud: dict, environment: list[dict]) -> dict:
    """The exec credential a cloud cluster's kubeconfig carries: the cloud's own token, from its emulated API."""
    from providers.credential_exec import COMMAND

    identity = json.dumps(cloud["identity"], sort_keys=True)
    return {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": COMMAND,
            "args": ["--kind", cloud["kind"], "--identity", identity, "--endpoint", cloud["endpoint"]],
            "env": environment,
            "interactiveMode": "Never",
        }
    }


def _write(text: str, output: Path | None) -> None:
    if output is None:
        typer.echo(text, nl=False)
        return
    descriptor = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds admin credentials
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
