"""`fleetform stack history`: every operation that wrote the state, newest first, from the state's own
history (old states without one show their last run)."""

from __future__ import annotations

import getpass
import json

from engine.errors import EXIT_OK
from engine.state import HISTORY_LIMIT, LiveState


def _history(project) -> list[dict]:
    run = project.cli("stack", "history", "--json")
    assert run.code == EXIT_OK, run.err
    return run.json()


def test_up_up_destroy_are_listed_newest_first_with_their_counts(files_project):
    files_project.declare({"name": "a", "content": "1"}, {"name": "b", "content": "2"})
    assert files_project.cli("up", "--yes").code == EXIT_OK
    files_project.declare({"name": "a", "content": "1"}, {"name": "b", "content": "3"})
    assert files_project.cli("up", "--yes").code == EXIT_OK
    assert files_project.cli("destroy", "--yes").code == EXIT_OK

    listing = _history(files_project)
    assert [(e["update"], e["kind"], e["result"]) for e in listing] == [
        (3, "destroy", "succeeded"),
        (2, "up", "succeeded"),
        (1, "up", "succeeded"),
    ]
    destroyed, updated, created = (e["resourceChanges"] for e in listing)
    assert created == {"create": 2}
    assert updated == {"update": 1, "same": 1}
    assert destroyed == {"delete": 2}
    serials = [e["serial"] for e in reversed(listing)]
    assert serials == sorted(serials) and serials[-1] == files_project.state()["serial"]
    assert {e["user"] for e in listing} == {getpass.getuser()}
    assert all(e["started"] <= e["finished"] for e in listing)
    assert set(listing[0]) == {
        "update",
        "kind",
        "started",
        "finished",
        "result",
        "resourceChanges",
        "serial",
        "user",
        "host",
    }

    table = files_project.cli("stack", "history").out.splitlines()
    assert table[0].split()[:3] == ["UPDATE", "KIND", "RESULT"]
    assert [row.split()[:3] for row in table[1:]] == [
        ["3", "destroy", "succeeded"],
        ["2", "up", "succeeded"],
        ["1", "up", "succeeded"],
    ]
    assert "~1 update, 1 same" in table[2] and "-2 delete" in table[1]


def test_failures_and_state_edits_are_recorded(files_project):
    files_project.declare({"name": "a", "content": "1", "protect": True}, {"name": "b", "content": "2", "fail": True})
    assert files_project.cli("up", "--yes").code != EXIT_OK
    assert files_project.cli("state", "unprotect", "a").code == EXIT_OK
    latest, failed = _history(files_project)
    assert (failed["kind"], failed["result"]) == ("up", "failed")
    assert (latest["kind"], latest["update"]) == ("state unprotect", 2)
    assert latest["detail"].endswith("::a")
    assert "state unprotect" in files_project.cli("stack", "history").out


def test_a_state_written_before_the_history_shows_its_last_run(files_project):
    files_project.declare({"name": "a", "content": "1"})
    assert files_project.cli("up", "--yes").code == EXIT_OK
    document = json.loads(files_project.state_file.read_text())
    legacy = {k: v for k, v in document.items() if k not in ("integrity", "history")}
    files_project.state_file.write_text(json.dumps({**legacy, "version": 1}))

    (only,) = _history(files_project)
    assert (only["kind"], only["result"], only["update"]) == ("up", "succeeded", None)
    assert "only its last run is known" in files_project.cli("stack", "history").out
    assert files_project.cli("up", "--yes").code == EXIT_OK  # the next write starts the history
    assert [e["update"] for e in _history(files_project)] == [1]


def test_a_stack_import_continues_the_history(files_project, tmp_path):
    files_project.declare({"name": "a", "content": "1"})
    assert files_project.cli("up", "--yes").code == EXIT_OK
    exported = tmp_path / "dev.json"
    assert files_project.cli("stack", "export", "--file", str(exported)).code == EXIT_OK
    assert files_project.cli("stack", "import", "--file", str(exported), "--force").code == EXIT_OK
    assert [(e["update"], e["kind"]) for e in _history(files_project)] == [(2, "stack import"), (1, "up")]


def test_the_history_keeps_the_latest_entries_numbered_on():
    live = LiveState([], [], None)
    for _ in range(HISTORY_LIMIT + 5):
        live.note_run({"kind": "refresh", "started": "t", "result": "succeeded"})
    assert len(live.history) == HISTORY_LIMIT
    assert [e["update"] for e in live.history[-2:]] == [HISTORY_LIMIT + 4, HISTORY_LIMIT + 5]
    assert live.last_run["kind"] == "refresh"
