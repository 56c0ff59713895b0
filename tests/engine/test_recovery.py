"""Ways out of stuck states (state delete, unprotect, repair), interrupted creates that stay visible
until repaired, and refresh reporting what it could not read and the drift it found."""

from __future__ import annotations

import os
import signal
import time

from engine import state_doc
from engine.errors import EXIT_CHANGES_PRESENT, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_INVALID_INPUT, EXIT_OK
from engine.state import Checkpointer, PendingOperation, StateStore
from engine.urn import URN

FILE = "pulumi-python:dynamic/files:File"


def _record_pending(project, name: str, operation: str) -> None:
    """Leave the record an interrupted run leaves (as a kill would; see test_failures for a real kill)."""
    store = StateStore.for_project(project.dir)
    live, box = store.load(project.stack, "filestest")
    urn = str(URN(project.stack, "filestest", FILE, name))
    live.begin(PendingOperation(urn, FILE, operation))
    Checkpointer(store, project.stack, live, state_doc.header("filestest", project.stack, box), box).close()


def test_an_interrupted_create_is_reported_until_repaired(files_project):
    files_project.declare({"name": "a", "content": "1"})
    assert files_project.cli("up", "--yes").code == EXIT_OK
    _record_pending(files_project, "ghost", "creating")  # a resource the program no longer declares
    preview = files_project.cli("preview", "--expect-no-changes", "--json")
    assert preview.code == EXIT_CHANGES_PRESENT
    assert any("ghost" in note and "state repair" in note for note in preview.json()["notes"])
    up = files_project.cli("up", "--yes", "--json")
    assert up.code == EXIT_OK and any("ghost" in note for note in up.json()["notes"])
    assert files_project.cli("preview", "--expect-no-changes").code == EXIT_CHANGES_PRESENT  # still there
    assert files_project.cli("state", "repair").code == EXIT_INVALID_INPUT  # not on a terminal: needs --yes
    assert files_project.cli("state", "repair", "--yes").code == EXIT_OK
    assert files_project.cli("preview", "--expect-no-changes").code == EXIT_OK
    assert "nothing to repair" in files_project.cli("state", "repair", "--yes").out


def test_state_delete_refuses_a_needed_resource_unless_forced(files_project):
    files_project.declare({"name": "base", "content": "1"}, {"name": "top", "content": "2", "depends_on": ["base"]})
    assert files_project.cli("up", "--yes").code == EXIT_OK
    before = files_project.state_file.read_bytes()
    refused = files_project.cli("state", "delete", "base", "--yes")
    assert refused.code == EXIT_INVALID_INPUT and "needed by 1" in refused.err and "::top" in refused.err
    assert files_project.state_file.read_bytes() == before
    assert files_project.cli("state", "delete", "nosuch", "--yes").code == EXIT_INVALID_INPUT
    assert files_project.cli("state", "delete", "top", "--yes").code == EXIT_OK
    assert files_project.urns() == {"base"}
    assert files_project.state_file.with_name("dev.json.bak").read_bytes() == before
    assert (files_project.files / "top.txt").exists()  # forgotten, not deleted
    forced = files_project.cli("state", "delete", "base", "--yes", "--force")
    assert forced.code == EXIT_OK and files_project.urns() == set()


def test_state_unprotect_lets_a_protected_resource_go(files_project):
    files_project.declare({"name": "keep", "content": "1", "protect": True})
    assert files_project.cli("up", "--yes").code == EXIT_OK
    assert files_project.cli("destroy", "--yes").code == EXIT_FAILED  # protected
    run = files_project.cli("state", "unprotect", "keep")
    assert run.code == EXIT_OK and "no longer protected" in run.out
    assert files_project.cli("destroy", "--yes").code == EXIT_OK
    assert not (files_project.files / "keep.txt").exists()


def test_refresh_counts_read_failures_and_exits_3_on_drift_when_asked(files_project):
    files_project.declare({"name": "a", "content": "1"}, {"name": "b", "content": "2"})
    assert files_project.cli("up", "--yes").code == EXIT_OK
    clean = files_project.cli("refresh", "--preview-only", "--expect-no-changes")
    assert clean.code == EXIT_OK, clean.out + clean.err
    (files_project.files / "b.txt").write_text('{"content": "changed outside"}')
    drift = files_project.cli("refresh", "--preview-only", "--expect-no-changes")
    assert drift.code == EXIT_CHANGES_PRESENT and "changes are present" in drift.err
    (files_project.files / "a.txt").write_text("not json")
    for flags in (("--preview-only",), ("--yes",)):
        failed = files_project.cli("refresh", "--json", *flags)
        assert failed.code == EXIT_FAILED
        assert failed.json()["summary"]["failed"] == 1
        (step,) = [s for s in failed.json()["steps"] if s["status"] == "failed"]
        assert step["urn"].endswith("::a") and "read failed" in step["error"]


def test_ctrl_c_winds_the_run_down_with_a_summary_and_exit_130(files_project):
    files_project.declare(
        {"name": "a", "content": "1", "sleep": 3},
        {"name": "b", "content": "2", "depends_on": ["a"]},
        {"name": "c", "content": "3", "depends_on": ["b"]},
    )
    proc = files_project.subprocess("up", "--yes")
    _wait_for(lambda: "start-create a.txt" in files_project.all_events())
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == EXIT_INTERRUPTED, out + err
    assert "Traceback" not in err and "interrupted (Ctrl-C)" in err
    assert "up summary:" in out
    assert files_project.events() == ["create a.txt"]  # the call in flight finished; nothing new started
    assert files_project.urns() == {"a"} and files_project.state()["pending_operations"] == []
    assert files_project.cli("up", "--yes").code == EXIT_OK
    assert files_project.urns() == {"a", "b", "c"}
    assert files_project.cli("preview", "--expect-no-changes").code == EXIT_OK


def test_a_relative_state_dir_is_resolved_once_against_the_start_directory(files_project, tmp_path, monkeypatch):
    files_project.declare({"name": "a", "content": "1"})
    start = tmp_path / "start"
    start.mkdir()
    monkeypatch.chdir(start)
    monkeypatch.setenv("FLEETFORM_STATE_DIR", "state")
    assert files_project.cli("up", "--yes").code == EXIT_OK
    assert (start / "state" / "stacks" / "dev.json").exists()
    assert os.environ["FLEETFORM_STATE_DIR"] == str(start / "state")  # what the program saw too
    assert not (files_project.dir / "state").exists() and not files_project.state_file.exists()
    monkeypatch.setenv("FLEETFORM_STATE_DIR", "state")
    assert files_project.cli("preview", "--expect-no-changes").code == EXIT_OK


def _wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")
