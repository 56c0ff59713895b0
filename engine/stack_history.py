"""`fleetform stack history`: the operations that wrote a stack's state, newest first.

Where the history comes from: a backup holds only the state before the last run that changed it
(``<stack>.json.bak``, the ``backup`` column), and only S3 buckets with versioning keep more, so the
backups cannot tell the story on every backend. Each operation that writes the state therefore adds
an entry to the state's own ``history`` (:meth:`engine.state.LiveState.note_run`): up, destroy,
refresh, import, state edits and stack import, with when, result, counts and who. A state written
before the history was kept shows its ``last_run`` alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from .errors import EngineError
from .operations import StackOperations
from .render import Reporter
from .state import LiveState

# The counts shown per entry, in this order (an operation's summary may hold others, e.g. import's)
_COUNTS = (("create", "+"), ("update", "~"), ("replace", "+-"), ("delete", "-"), ("import", "="), ("same", ""))


def entries(live: LiveState) -> list[dict]:
    """The history as `--json` prints it, newest first: update number, kind, started, finished, result,
    resourceChanges (counts per operation), serial (the state version the operation left), user, host,
    and for edits the detail (what was edited)."""
    recorded = live.history or ([live.last_run] if live.last_run else [])
    listing = []
    for entry in reversed(recorded):
        row = {
            "update": entry.get("update"),
            "kind": entry.get("kind"),
            "started": entry.get("started"),
            "finished": entry.get("finished"),
            "result": entry.get("result"),
            "resourceChanges": {k: v for k, v in (entry.get("summary") or {}).items() if v},
            "serial": entry.get("serial"),
            "user": entry.get("user"),
            "host": entry.get("host"),
        }
        if entry.get("detail"):
            row["detail"] = entry["detail"]
        listing.append(row)
    return listing


def lines(listing: list[dict], stack: str, older: bool) -> list[str]:
    """The history as a table; ``older`` notes a state whose history starts with its last run."""
    if not listing:
        return [f"stack '{stack}' has no recorded updates"]
    out = [f"{'UPDATE':>6}  {'KIND':<16} {'RESULT':<11} {'FINISHED':<26} {'SERIAL':>6}  {'BY':<20} CHANGES"]
    for row in listing:
        changes = row["resourceChanges"]
        counted = [
            f"{sign}{changes[op]} {op}" if sign else f"{changes[op]} {op}" for op, sign in _COUNTS if op in changes
        ]
        counted += [f"{n} {op}" for op, n in changes.items() if op not in dict(_COUNTS)]
        what = ", ".join(counted) or row.get("detail") or "-"
        if counted and row.get("detail"):
            what += f" ({row['detail']})"
        who = f"{row['user']}@{row['host']}" if row.get("user") else "-"
        number = "-" if row["update"] is None else str(row["update"])
        serial = "-" if row["serial"] is None else str(row["serial"])
        out.append(
            f"{number:>6}  {row['kind'] or '-':<16} {row['result'] or '-':<11} {row['finished'] or '-':<26} "
            f"{serial:>6}  {who:<20} {what}"
        )
    if older:
        out.append("(the state was written before fleetform kept a history: only its last run is known)")
    return out


StackOpt = typer.Option(..., "--stack", "-s", help="Stack name.")
CwdOpt = typer.Option(Path("."), "--cwd", help="Directory of the Pulumi project (holds Pulumi.yaml).")
JsonOpt = typer.Option(False, "--json", help="Print a JSON list, newest first.")


def history(stack: str = StackOpt, cwd: Path = CwdOpt, as_json: bool = JsonOpt) -> None:
    """The stack's past operations, newest first: kind, result, when, counts, state serial, who."""
    try:
        ops = StackOperations(cwd, stack, Reporter("history", quiet=True))
        ops.require_exists()
        live, _box = ops.store.load(stack, ops.project.name)
    except EngineError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None
    listing = entries(live)
    if as_json:
        typer.echo(json.dumps(listing, indent=2))
        return
    for line in lines(listing, stack, older=bool(listing) and not live.history):
        typer.echo(line)
