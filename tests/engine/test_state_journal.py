"""The checkpoint journal: between whole writes a run appends only what changed, and a state killed
between two whole writes loads as its snapshot plus the journal (engine.state_journal)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine import state_doc
from engine.backends.file import FileBackend
from engine.errors import StateError
from engine.secrets import wrap_secret
from engine.state import Checkpointer, PendingOperation, ResourceState, StateStore

STACK, PROJECT = "dev", "proj"
SECRET = "hunter2-do-not-leak"


@pytest.fixture(autouse=True)
def passphrase(monkeypatch):
    monkeypatch.setenv("FLEETFORM_PASSPHRASE", "journal-test")


def _urn(name: str) -> str:
    return f"urn:pulumi:{STACK}::{PROJECT}::test:index:Thing::{name}"


def _resource(name: str, value: str = "v1") -> ResourceState:
    return ResourceState(
        urn=_urn(name), type="test:index:Thing", custom=True, id=name, inputs={"value": value}, outputs={}
    )


class Run:
    """A checkpointed run over a store in ``root``, as StackOperations._applying sets one up."""

    def __init__(self, root: Path):
        self.backend = FileBackend(root)
        self.store = StateStore(self.backend)
        self.live, box = self.store.load(STACK, PROJECT)
        self.checkpointer = Checkpointer(self.store, STACK, self.live, state_doc.header(PROJECT, STACK, box), box)

    def journal(self) -> bytes:
        return self.backend.read_journal(STACK)

    def snapshot(self) -> bytes:
        return self.backend.path(STACK).read_bytes()


def _with_state(root: Path, count: int) -> None:
    """A stack whose state records ``count`` resources, written whole by a finished run."""
    run = Run(root)
    for index in range(count):
        run.live.put(_resource(f"r{index}"))
    run.checkpointer.close()


def _killed(root: Path, copy: Path) -> None:
    """What a SIGKILL leaves: the files as they are now, without the run's last whole write."""
    shutil.copytree(root, copy)


def test_checkpoints_after_the_first_append_only_what_changed(tmp_path):
    _with_state(tmp_path, 200)
    run = Run(tmp_path)
    run.live.put(_resource("r0", "v2"))
    run.checkpointer.persist()  # the run's first write is whole (and keeps the backup)
    snapshot = run.snapshot()
    run.live.put(_resource("r1", "v2"))
    run.checkpointer.persist()
    run.live.begin(PendingOperation(_urn("new"), "test:index:Thing", "creating"))
    run.checkpointer.persist()

    assert run.snapshot() == snapshot  # the document was not rewritten
    lines = run.journal().splitlines()
    assert len(lines) == 2
    assert _urn("r1").encode() in lines[0] and _urn("r2").encode() not in lines[0]
    assert len(lines[0]) < len(snapshot) / 50  # one resource's record, not the state's 200
    assert b'"operation":"creating"' in lines[1]

    run.checkpointer.close()
    assert run.journal() == b""  # the end of the run writes the whole document and drops the journal
    final, _box = StateStore(run.backend).load(STACK, PROJECT)
    assert final.get(_urn("r1")).inputs == {"value": "v2"}
    assert [p.urn for p in final.pending()] == [_urn("new")]


def test_a_killed_run_loads_as_its_snapshot_plus_the_journal(tmp_path):
    _with_state(tmp_path, 3)
    run = Run(tmp_path)
    run.live.put(_resource("r0", "first"))
    run.checkpointer.persist()
    run.live.put(_resource("r1", "second"))
    run.live.remove(_urn("r2"))
    run.live.keep_old_copy(_resource("r0", "first"))
    run.live.begin(PendingOperation(_urn("r3"), "test:index:Thing", "creating"))
    run.live.begin(PendingOperation(_urn("r4"), "test:index:Thing", "creating"))
    run.checkpointer.persist()
    run.live.end(_urn("r3"))
    run.live.begin(PendingOperation(_urn("r1"), "test:index:Thing", "deleting"))
    run.checkpointer.persist()
    serial = run.live.serial
    _killed(tmp_path, tmp_path / "killed")
    run.checkpointer.close()

    recovered, _box = StateStore(FileBackend(tmp_path / "killed")).load(STACK, PROJECT)

    assert recovered.get(_urn("r1")).inputs == {"value": "second"}
    assert recovered.get(_urn("r2")) is None
    assert [r.urn for r in recovered.old_copies()] == [_urn("r0")]
    assert sorted((p.urn, p.operation) for p in recovered.pending()) == [
        (_urn("r1"), "deleting"),
        (_urn("r4"), "creating"),
    ]
    assert recovered.serial == serial and recovered.notes == []


def test_the_next_run_after_a_kill_backs_up_the_journaled_state(tmp_path):
    _with_state(tmp_path, 2)
    killed = tmp_path / "killed"
    run = Run(tmp_path)
    run.live.put(_resource("r0", "before-kill"))
    run.checkpointer.persist()
    run.live.put(_resource("r1", "journaled"))
    run.checkpointer.persist()
    _killed(tmp_path, killed)
    run.checkpointer.close()

    after = Run(killed)
    assert after.journal() == b""  # written whole before anything else
    after.live.put(_resource("r1", "next-run"))
    after.checkpointer.close()
    shutil.copy(after.backend.backup_path(STACK), after.backend.path(STACK))  # restore the backup
    backup, _box = StateStore(FileBackend(killed)).load(STACK, PROJECT)
    assert backup.get(_urn("r1")).inputs == {"value": "journaled"}


def test_secrets_stay_encrypted_in_journal_entries(tmp_path):
    _with_state(tmp_path, 1)
    run = Run(tmp_path)
    run.live.put(_resource("r0", "v2"))
    run.checkpointer.persist()
    secret = _resource("r1").with_changes(inputs={"password": wrap_secret(SECRET)})
    run.live.put(secret)
    run.checkpointer.persist()
    journal = run.journal()
    _killed(tmp_path, tmp_path / "killed")
    run.checkpointer.close()

    assert journal and SECRET.encode() not in journal
    recovered, _box = StateStore(FileBackend(tmp_path / "killed")).load(STACK, PROJECT)
    assert recovered.get(_urn("r1")).inputs == {"password": wrap_secret(SECRET)}


def _journaled_copy(root: Path) -> FileBackend:
    """A killed run's files with two journal entries (r1 then r2 changed)."""
    _with_state(root, 3)
    run = Run(root)
    run.live.put(_resource("r0", "whole"))
    run.checkpointer.persist()
    for name in ("r1", "r2"):
        run.live.put(_resource(name, "journaled"))
        run.checkpointer.persist()
    _killed(root, root / "killed")
    run.checkpointer.close()
    return FileBackend(root / "killed")


def test_an_incomplete_last_entry_is_ignored_and_reported(tmp_path):
    backend = _journaled_copy(tmp_path)
    journal = backend.read_journal(STACK)
    backend.journal_path(STACK).write_bytes(journal[:-10])  # the second entry cut short

    live, _box = StateStore(backend).load(STACK, PROJECT)

    assert live.get(_urn("r1")).inputs == {"value": "journaled"}
    assert live.get(_urn("r2")).inputs == {"value": "v1"}
    assert len(live.notes) == 1 and "incomplete entry" in live.notes[0]


@pytest.mark.parametrize("line", [0, 1])
def test_an_edited_journal_entry_makes_the_state_unusable(tmp_path, line):
    backend = _journaled_copy(tmp_path)
    lines = backend.read_journal(STACK).split(b"\n")
    lines[line] = lines[line].replace(b"journaled", b"JOURNALED")
    backend.journal_path(STACK).write_bytes(b"\n".join(lines))

    with pytest.raises(StateError, match=f"line {line + 1} of its journal does not match its seal"):
        StateStore(backend).load(STACK, PROJECT)


def test_a_journal_left_behind_a_later_whole_write_is_skipped(tmp_path):
    backend = _journaled_copy(tmp_path)
    stale = backend.read_journal(STACK)
    run = Run(backend.root)  # compacts the journal into a new whole document
    run.live.put(_resource("r2", "after"))
    run.checkpointer.close()
    backend.journal_path(STACK).write_bytes(stale)  # as if killed between that write and removing the journal

    live, _box = StateStore(backend).load(STACK, PROJECT)

    assert live.get(_urn("r2")).inputs == {"value": "after"}
    assert live.notes == []
