"""The stack lock cannot be taken twice: not by runs started together on a lock a killed run left,
and a run's end releases only its own lock."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from engine.errors import EXIT_LOCKED, EXIT_OK, StackLockedError
from engine.state import StateStore

RUNS = 6


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _leave_stale_record(files_project) -> None:
    lock = files_project.dir / ".fleetform" / "locks" / "dev.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    record = {"pid": _dead_pid(), "host": socket.gethostname(), "user": "x", "operation": "up", "since": "then"}
    lock.write_text(json.dumps(record))


def test_runs_started_together_on_a_stale_lock_let_exactly_one_proceed(files_project):
    files_project.declare({"name": "slow", "content": "1", "sleep": 8})
    _leave_stale_record(files_project)
    runs = [files_project.subprocess("up", "--yes") for _ in range(RUNS)]
    results = [(run.wait(timeout=180), *run.communicate()) for run in runs]
    codes = sorted(code for code, _out, _err in results)
    assert codes == [EXIT_OK] + [EXIT_LOCKED] * (RUNS - 1), results
    assert files_project.events() == ["create slow.txt"]
    (winner_out,) = [out for code, out, _err in results if code == EXIT_OK]
    assert "interrupted" in winner_out  # the killed run's record was reported, then replaced
    for code, _out, err in results:
        if code == EXIT_LOCKED:
            assert "locked by 'up'" in err


def test_a_lock_held_by_a_live_run_is_never_broken(files_project):
    store = StateStore.for_project(files_project.dir)
    with store.lock("dev", "up") as owner:
        with pytest.raises(StackLockedError, match=f"pid {owner['pid']}"), store.lock("dev", "destroy"):
            pass
        with pytest.raises(StackLockedError):
            store.unlock("dev")  # `stack unlock` refuses while the holder runs
        assert store.is_locked("dev")
    assert not store.is_locked("dev")
    with store.lock("dev", "up"):  # released for the next run
        pass


def test_a_run_ending_leaves_a_lock_taken_after_it_alone(files_project):
    """The old design unlinked whatever lock file was there when a run ended."""
    store = StateStore.for_project(files_project.dir)
    path = store.backend.lock_path("dev")
    first = store.lock("dev", "up")
    first.__enter__()
    path.unlink()  # someone removes the file by hand while the first run holds it
    second = store.lock("dev", "refresh")
    second.__enter__()
    first.__exit__(None, None, None)
    assert json.loads(path.read_text())["operation"] == "refresh"  # the first run's end left it alone
    with pytest.raises(StackLockedError, match="'refresh'"), store.lock("dev", "up"):
        pass
    second.__exit__(None, None, None)
    assert path.read_text() == ""


def test_unlock_clears_only_a_dead_runs_record(files_project):
    _leave_stale_record(files_project)
    store = StateStore.for_project(files_project.dir)
    assert not store.is_locked("dev")
    run = files_project.cli("stack", "unlock")
    assert run.code == EXIT_OK and "cleared the lock record" in run.out
    assert files_project.cli("stack", "unlock").out.strip() == "stack 'dev' was not locked"


def test_state_files_and_folders_are_private(files_project):
    files_project.declare({"name": "a", "content": "1"})
    assert files_project.cli("up", "--yes").code == EXIT_OK
    root = files_project.dir / ".fleetform"
    for folder in (root / "stacks", root / "locks"):
        assert folder.stat().st_mode & 0o777 == 0o700, folder
    for file in (files_project.state_file, root / "locks" / "dev.lock"):
        assert file.stat().st_mode & 0o777 == 0o600, file
    files_project.declare({"name": "a", "content": "2"})
    assert files_project.cli("up", "--yes").code == EXIT_OK
    backup = files_project.state_file.with_name("dev.json.bak")
    assert backup.stat().st_mode & 0o777 == 0o600
    assert os.path.getsize(backup) > 0
