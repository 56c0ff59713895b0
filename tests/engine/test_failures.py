"""Failures, interruptions and concurrency: what the engine leaves behind and how it recovers."""

from __future__ import annotations

import os
import signal
import time

from engine.errors import EXIT_CHANGES_PRESENT, EXIT_FAILED, EXIT_INVALID_INPUT, EXIT_LOCKED, EXIT_OK, EXIT_STATE
from engine.state import StateStore

FILE = "pulumi-python:dynamic/files:File"


def by_name(result: dict) -> dict[str, dict]:
    return {s["urn"].rsplit("::", 1)[-1]: s for s in result["steps"] if s["type"] == FILE}


def test_a_failure_fails_its_dependents_only_and_a_rerun_converges(files_project):
    files_project.declare(
        {"name": "bad", "content": "x", "fail": True},
        {"name": "child", "content": "y", "depends_on": ["bad"]},
        {"name": "grandchild", "content": "y", "content_from": ["child"]},
        {"name": "free", "content": "z"},
    )
    run = files_project.cli("up", "--yes", "--json")
    assert run.code == EXIT_FAILED
    steps = by_name(run.json())
    assert steps["bad"]["status"] == "failed"
    assert "refusing to write bad.txt" in steps["bad"]["error"]
    assert steps["child"]["status"] == "skipped"
    assert "bad" in steps["child"]["error"]
    assert steps["grandchild"]["status"] == "skipped"
    assert steps["free"]["status"] == "done"
    assert run.json()["summary"]["failed"] == 1 and run.json()["summary"]["skipped"] == 2
    assert files_project.urns() == {"free"}
    assert files_project.state()["last_run"]["result"] == "failed"

    files_project.declare(
        {"name": "bad", "content": "x"},
        {"name": "child", "content": "y", "depends_on": ["bad"]},
        {"name": "grandchild", "content": "y", "content_from": ["child"]},
        {"name": "free", "content": "z"},
    )
    fixed = files_project.cli("up", "--yes", "--json")
    assert fixed.code == EXIT_OK
    assert {k: s["op"] for k, s in by_name(fixed.json()).items()} == {
        "bad": "create",
        "child": "create",
        "grandchild": "create",
        "free": "same",
    }
    assert files_project.content("grandchild.txt") == "y+y"
    assert files_project.cli("preview", "--expect-no-changes").code == EXIT_OK


def test_a_failed_update_keeps_the_recorded_state(files_project):
    files_project.declare({"name": "a", "content": "1"})
    files_project.cli("up", "--yes")
    files_project.declare({"name": "a", "content": "2", "fail": True})
    assert files_project.cli("up", "--yes").code == EXIT_FAILED
    (resource,) = [r for r in files_project.state()["resources"] if r["custom"]]
    assert resource["inputs"]["content"] == "1"
    files_project.declare({"name": "a", "content": "2"})
    assert files_project.cli("up", "--yes").code == EXIT_OK
    assert files_project.content("a.txt") == "2"


def test_secrets_never_reach_the_state_file_or_output_in_plain_text(files_project):
    files_project.declare({"name": "a", "content": "1", "secret": "hunter2-password"})
    up = files_project.cli("up", "--yes", "--diff")
    raw = files_project.state_file.read_bytes()
    assert b"hunter2-password" not in raw
    assert b"s3cr3t-token-value" not in raw
    assert b"hunter2-password" not in up.out.encode()
    files_project.declare({"name": "a", "content": "1", "secret": "another-password"})
    preview = files_project.cli("preview", "--json", "--diff")
    assert "another-password" not in preview.out and "hunter2-password" not in preview.out
    (step,) = by_name(preview.json()).values()
    assert step["diffs"] == [{"path": "secret", "kind": "update", "old": "[secret]", "new": "[secret]"}]
    masked = files_project.cli("stack", "output", "--json").json()
    assert masked["token"] == "[secret]"
    shown = files_project.cli("stack", "output", "--json", "--show-secrets").json()
    assert shown["token"] == "s3cr3t-token-value"


def test_a_wrong_passphrase_is_refused(files_project, monkeypatch):
    files_project.declare({"name": "a", "content": "1"})
    files_project.cli("up", "--yes")
    monkeypatch.setenv("FLEETFORM_PASSPHRASE", "not-the-right-one")
    run = files_project.cli("preview")
    assert run.code == EXIT_STATE
    assert "FLEETFORM_PASSPHRASE" in run.err


def test_a_stack_without_passphrase_is_rejected_before_anything_runs(files_project, monkeypatch):
    monkeypatch.delenv("FLEETFORM_PASSPHRASE")
    files_project.declare({"name": "a", "content": "1"})
    run = files_project.cli("up", "--yes")
    assert run.code == EXIT_INVALID_INPUT
    assert "FLEETFORM_PASSPHRASE" in run.err
    assert files_project.events() == []


def test_invalid_project_and_stack_are_input_errors(files_project, tmp_path):
    missing = files_project.cli("preview")  # no stack file declared yet
    assert missing.code == EXIT_INVALID_INPUT
    assert "Pulumi.dev.yaml" in missing.err
    files_project.dir.joinpath("Pulumi.dev.yaml").write_text("config:\n\tfiles:dir: x\n")
    bad_yaml = files_project.cli("preview")
    assert bad_yaml.code == EXIT_INVALID_INPUT
    assert "line 2" in bad_yaml.err
    files_project.declare({"name": "a", "content": "1"})
    assert files_project.cli("preview", "--parallel", "0").code == EXIT_INVALID_INPUT


def test_a_second_up_on_a_locked_stack_reports_the_holder(files_project):
    files_project.declare({"name": "a", "content": "1"})
    store = StateStore.for_project(files_project.dir)
    with store.lock("dev", "up"):
        run = files_project.cli("up", "--yes")
    assert run.code == EXIT_LOCKED
    assert "locked by 'up'" in run.err and f"pid {os.getpid()}" in run.err and "since" in run.err
    assert files_project.events() == []
    assert files_project.cli("up", "--yes").code == EXIT_OK  # the lock is gone with its holder


def test_two_concurrent_ups_one_waits_out(files_project, tmp_path):
    gate = tmp_path / "gate"
    files_project.declare({"name": "slow", "content": "1", "gate": str(gate)})
    first = files_project.subprocess("up", "--yes")
    _wait_for(lambda: "start-create slow.txt" in files_project.all_events())  # holding the lock, at the gate
    second = files_project.subprocess("up", "--yes")
    _out, err = second.communicate(timeout=60)
    assert second.returncode == EXIT_LOCKED
    assert f"pid {first.pid}" in err
    gate.touch()
    first.communicate(timeout=60)
    assert first.returncode == EXIT_OK


def test_a_run_killed_mid_apply_leaves_a_state_the_next_run_reconciles(files_project):
    files_project.declare(
        {"name": "done", "content": "1"},
        {"name": "slow", "content": "2", "sleep": 30, "depends_on": ["done"]},
    )
    proc = files_project.subprocess("up", "--yes")
    _wait_for(lambda: any(p["urn"].endswith("::slow") for p in files_project.state()["pending_operations"]))
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)

    state = files_project.state()  # readable, not torn
    (pending,) = state["pending_operations"]
    assert pending["urn"].endswith("::slow") and pending["operation"] == "creating"
    assert files_project.urns() == {"done"}

    preview = files_project.cli("preview", "--json", "--expect-no-changes")
    assert preview.code == EXIT_CHANGES_PRESENT
    assert any("interrupted" in note and "slow" in note for note in preview.json()["notes"])
    assert [urn.rsplit("::", 1)[-1] for urn in preview.json()["pendingOperations"]] == ["slow"]

    # an interrupted create is never repeated by itself: the resource may exist unrecorded
    files_project.declare({"name": "done", "content": "1"}, {"name": "slow", "content": "2", "depends_on": ["done"]})
    run = files_project.cli("up", "--yes", "--json")
    assert run.code == EXIT_FAILED, run.out + run.err
    assert "state repair" in by_name(run.json())["slow"]["error"]
    assert files_project.events().count("create slow.txt") == 0
    assert len(files_project.state()["pending_operations"]) == 1

    repair = files_project.cli("state", "repair", "--yes")
    assert repair.code == EXIT_OK and "a create was interrupted" in repair.out and "settled 1" in repair.out
    assert files_project.state()["pending_operations"] == []
    run = files_project.cli("up", "--yes")
    assert run.code == EXIT_OK, run.out + run.err
    assert files_project.urns() == {"done", "slow"}
    assert files_project.cli("preview", "--expect-no-changes").code == EXIT_OK


def test_an_update_interrupted_by_a_kill_is_read_back(files_project):
    files_project.declare({"name": "a", "content": "1"})
    files_project.cli("up", "--yes")
    files_project.declare({"name": "a", "content": "2", "sleep": 30})
    proc = files_project.subprocess("up", "--yes")
    _wait_for(lambda: files_project.state()["pending_operations"])
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    (files_project.files / "a.txt").write_text('{"content": "half-written"}')
    files_project.declare({"name": "a", "content": "2"})
    run = files_project.cli("up", "--yes", "--json")
    assert run.code == EXIT_OK
    assert any("read back" in note for note in run.json()["notes"])
    assert files_project.content("a.txt") == "2"


def _wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except (OSError, ValueError):
            pass  # the file is being replaced; look again
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_what_a_failing_provider_prints_goes_into_its_message_not_onto_the_terminal(files_project):
    files_project.declare({"name": "good", "content": "1"}, {"name": "bad", "content": "2", "fail": True})
    run = files_project.cli("up", "--yes", "--json")
    assert run.code == EXIT_FAILED
    error = {s["urn"].rsplit("::", 1)[-1]: s.get("error", "") for s in run.json()["steps"]}["bad"]  # stdout is JSON
    assert "refusing to write bad.txt" in error and "printed during the call" in error
    for printed in ("sdk: retrying bad.txt", "sdk: credentials for bad.txt not found", "LookupError: no credentials"):
        assert printed in error and printed not in run.err  # and stdout parsed as JSON: nothing printed raw there
