"""The pull-request flow on the sandbox, with the real CLI and the CI workflow's flags: a change
previewed as Markdown (under a comment's size limit, with the property diffs and no secret) and
saved as a plan, then applied from that plan exactly, leaving nothing to do."""

from __future__ import annotations

import pytest
from test_fleets import CLUSTERSET, MOVER, fleet_stack

from engine.backends.file import FileBackend
from engine.plan_render import COMMENT_LIMIT, marker
from engine.secrets import is_secret
from engine.state import StateStore


@pytest.fixture(autouse=True)
def _without_day1(sandbox_project):
    sandbox_project.without_day1()


def secret_values(project) -> set[str]:
    """Every string the stack's state holds only as a secret (tokens, keys, kubeconfigs), decrypted:
    a value also held in plain somewhere (a CA certificate, a server URL) is public anyway."""
    live, _box = StateStore(FileBackend(project.state)).load("sandbox", "fleetform")
    found: set[str] = set()
    plain: set[str] = set()

    def walk(value, secret: bool) -> None:
        if is_secret(value):
            walk(value.get("value"), True)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item, secret)
        elif isinstance(value, list):
            for item in value:
                walk(item, secret)
        elif isinstance(value, str) and len(value) >= 8:
            (found if secret else plain).add(value)

    for resource in live.resources():
        walk(resource.inputs, False)
        walk(resource.outputs, False)
    return found - plain


def test_a_fleet_move_reviewed_as_markdown_then_applied_from_its_plan(sandbox_project, tmp_path):
    project = sandbox_project
    fleet_stack(project, east=["idc-sh-01", MOVER], north=["idc-bj-01"])
    first = project.cli("up", "--yes")
    assert first.code == 0, first.out + first.err
    secrets = secret_values(project)
    assert len(secrets) > 3  # there is something to leak

    fleet_stack(project, east=["idc-sh-01"], north=["idc-bj-01", MOVER])
    plan = tmp_path / "sandbox.plan.json"
    review = project.cli("preview", "--refresh", "--markdown", "--save-plan", str(plan))  # as CI runs it

    assert review.code == 0, review.out + review.err
    text = review.out
    assert text.startswith(marker("sandbox"))
    assert len(text) <= COMMENT_LIMIT
    summary = project.cli("preview", "--json").json()["summary"]
    ops = [f"{summary[op]} to {op}" for op in ("create", "update", "replace", "delete") if summary[op]]
    assert f"**{', '.join(ops)}**; {summary['same']} unchanged." in text
    assert f"<b>update</b> <code>{MOVER}-managedcluster</code>" in text
    assert f'- metadata.labels["{CLUSTERSET}"]: "fleet-east"\n+ metadata.labels["{CLUSTERSET}"]: "fleet-north"' in text
    assert text.index("<b>delete</b>") < text.index("<b>update</b>") < text.index("<b>create</b>")
    assert f"| RegisteredCluster `{MOVER}` |" in text
    leaked = [s for s in secrets if s in text or s in plan.read_text()]
    assert not leaked

    applied = project.cli("up", "--yes", "--plan", str(plan), "--json")
    assert applied.code == 0, applied.out + applied.err
    assert applied.json()["outputs"]["fleets"]["fleet-north"]["members"] == ["idc-bj-01", MOVER]
    assert project.cli("preview", "--expect-no-changes").code == 0
    stale = project.cli("up", "--yes", "--plan", str(plan))
    assert stale.code == 3 and "the state changed since the plan was computed" in stale.err
