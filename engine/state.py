"""The checkpoint store: one state document per stack, kept by a backend, guarded by the stack's lock.

Where the bytes live is the backend's business (:mod:`engine.backends`: a local directory by default,
S3 or PostgreSQL); what they hold, and the checks they pass before use, is the same everywhere
(:mod:`engine.state_doc`). The store remembers the version of each state it read, and every write is
conditional on it, so a run never overwrites a state another run changed after it read it.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import state_doc, state_journal
from .backends import STATE_DIR_ENV, Backend, choose, open_backend
from .errors import StateError
from .locking import owner_record
from .project import load_project
from .secrets import SecretBox, passphrase_for

__all__ = ["STATE_DIR_ENV", "Checkpointer", "LiveState", "PendingOperation", "ResourceState", "StateStore"]

# Updates kept in a state's history: enough to look back over months of runs, small enough that
# rewriting the header at every checkpoint stays cheap (an entry is about 300 bytes).
HISTORY_LIMIT = 200


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class ResourceState:
    """What the engine knows of one resource after its last successful step.

    Instances are treated as immutable once placed in a :class:`LiveState` (use ``replace``), so
    that their serialized form can be cached.
    """

    urn: str
    type: str
    custom: bool
    id: str = ""
    parent: str = ""
    provider: str = ""
    inputs: dict = field(default_factory=dict)
    outputs: dict = field(default_factory=dict)
    dependencies: list = field(default_factory=list)
    property_dependencies: dict = field(default_factory=dict)
    protect: bool = False
    retain_on_delete: bool = False
    delete_before_replace: bool = False
    ignore_changes: list = field(default_factory=list)
    replace_on_changes: list = field(default_factory=list)
    delete: bool = False  # an old copy kept until its replacement is done

    def with_changes(self, **changes: Any) -> ResourceState:
        return replace(self, **changes)

    def to_dict(self, box: SecretBox) -> dict:
        """The record as written (secrets encrypted); it shares its lists and maps with this object
        (``dataclasses.asdict`` would deep-copy them, only for them to be encoded at once)."""
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["inputs"] = box.seal(self.inputs)
        data["outputs"] = box.seal(self.outputs)
        return data

    def fragment(self, box: SecretBox) -> str:
        """The serialized form, computed once per object (objects are not mutated in place)."""
        cached = self.__dict__.get("_fragment")
        if cached is None:
            cached = json.dumps(self.to_dict(box), separators=(",", ":"), sort_keys=True)
            self.__dict__["_fragment"] = cached
        return cached

    @classmethod
    def from_dict(cls, data: dict, inputs: dict, outputs: dict) -> ResourceState:
        """From a checked state record, with its inputs and outputs already decrypted."""
        known = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in data.items() if k in known}
        return cls(**{**values, "inputs": inputs, "outputs": outputs})


@dataclass
class PendingOperation:
    """Written before a provider call and cleared after it: a record that survives a crash."""

    urn: str
    type: str
    operation: str  # creating | updating | deleting | reading
    id: str = ""
    started_at: str = field(default_factory=utc_now)


class LiveState:
    """The state of a stack as a run changes it; every method is thread-safe.

    ``lineage`` names the state's history (given at its first write, kept for its life) and
    ``serial`` counts the writes that changed its resources or pending operations: together they
    are the state version a saved plan was computed from (:mod:`engine.plan_file`). ``history`` lists
    the operations that wrote the state, oldest first (`fleetform stack history`): the state is the
    one record every backend keeps whole, where a backup holds only the state before the last run.
    """

    def __init__(
        self,
        resources: list[ResourceState],
        pending: list[PendingOperation],
        last_run: dict | None,
        lineage: str = "",
        serial: int = 0,
        history: list[dict] | None = None,
    ):
        self._lock = threading.Lock()
        self.lineage, self.serial = lineage, serial
        self.history: list[dict] = list(history or [])
        self._changed = False
        self._resources: dict[str, ResourceState] = {}
        self._old_copies: dict[str, ResourceState] = {}
        for resource in resources:
            (self._old_copies if resource.delete else self._resources)[resource.urn] = resource
        self._pending: dict[str, PendingOperation] = {p.urn: p for p in pending}
        self._touched: dict[tuple[str, bool], None] = {}  # (urn, old copy) changed since the last write
        self._pending_touched: dict[str, None] = {}  # urns whose pending operation began or ended since
        self.last_run = last_run or {}
        self.notes: list[str] = []  # what loading it had to report (a journal's incomplete last entry)

    # -- reads ---------------------------------------------------------------------------------
    def get(self, urn: str) -> ResourceState | None:
        return self._resources.get(urn)  # a single dict read is atomic; no lock needed

    def resources(self) -> list[ResourceState]:
        with self._lock:
            return list(self._resources.values())

    def old_copies(self) -> list[ResourceState]:
        with self._lock:
            return list(self._old_copies.values())

    def pending(self) -> list[PendingOperation]:
        with self._lock:
            return list(self._pending.values())

    # -- writes --------------------------------------------------------------------------------
    def put(self, resource: ResourceState) -> None:
        with self._lock:
            if self._resources.get(resource.urn) != resource:
                self._changed = True
                self._touched[(resource.urn, False)] = None
            self._resources[resource.urn] = resource

    def remove(self, urn: str) -> None:
        with self._lock:
            if self._resources.pop(urn, None) is not None:
                self._changed = True
                self._touched[(urn, False)] = None

    def keep_old_copy(self, resource: ResourceState) -> None:
        with self._lock:
            self._old_copies[resource.urn] = resource.with_changes(delete=True)
            self._changed = True
            self._touched[(resource.urn, True)] = None

    def drop_old_copy(self, urn: str) -> None:
        with self._lock:
            if self._old_copies.pop(urn, None) is not None:
                self._changed = True
                self._touched[(urn, True)] = None

    def begin(self, operation: PendingOperation) -> None:
        with self._lock:
            self._pending[operation.urn] = operation
            self._changed = True
            self._pending_touched[operation.urn] = None

    def end(self, urn: str) -> None:
        with self._lock:
            if self._pending.pop(urn, None) is not None:
                self._changed = True
                self._pending_touched[urn] = None

    def note_run(self, run: dict) -> None:
        """Record a finished operation (``kind``, ``started``, ``result``, ...) as the last run and at the
        end of the history, numbered after the one before it and signed by who ran it; the ``serial``
        it left is filled in by the next write (the run's final one)."""
        owner = owner_record(run["kind"], run.get("started", ""))
        with self._lock:
            number = self.history[-1].get("update", 0) + 1 if self.history else 1
            self.last_run = run
            entry = {**run, "update": number, "user": owner["user"], "host": owner["host"]}
            self.history = [*self.history, entry][-HISTORY_LIMIT:]

    # -- serialization -------------------------------------------------------------------------
    def serialize(self, header: dict, box: SecretBox) -> str:
        """The checkpoint as JSON text; each resource's fragment is computed once per object."""
        with self._lock:
            everything = list(self._resources.values()) + list(self._old_copies.values())
            pending = [asdict(p) for p in self._pending.values()]
            last_run, version = self._settle()
            for entry in self.history:
                entry.setdefault("serial", version[1])
            history = [dict(entry) for entry in self.history]
        fragments = [resource.fragment(box) for resource in everything]
        head = dict(
            header,
            pending_operations=pending,
            last_run=last_run,
            history=history,
            lineage=version[0],
            serial=version[1],
        )
        head_text = json.dumps(head, indent=1, sort_keys=True)
        return head_text[:-2] + ',\n "resources": [\n' + ",\n".join(fragments) + "\n ]\n}\n"

    def journal_entry(self, base: str, box: SecretBox) -> str | None:
        """What changed since the last write, as an entry of the journal continuing the snapshot
        sealed ``base`` (:mod:`engine.state_journal`); None when nothing did. Its cost follows the
        number of changes, not the size of the state."""
        with self._lock:
            if not self._changed and not self._touched:
                return None
            changed = [
                (urn, old, (self._old_copies if old else self._resources).get(urn)) for urn, old in self._touched
            ]
            pending = [[urn, asdict(p) if (p := self._pending.get(urn)) else None] for urn in self._pending_touched]
            last_run, (lineage, serial) = self._settle()
        changes = [
            f"[{json.dumps(urn)},{'true' if old else 'false'},{'null' if r is None else r.fragment(box)}]"
            for urn, old, r in changed
        ]
        return state_journal.entry(base, lineage, serial, changes, pending, last_run)

    def _settle(self) -> tuple[dict, tuple[str, int]]:
        """Under the lock, for a write: the last run and the version, counting a first write or one
        that changes the state; what changed since the last write is now written."""
        if self._changed or not self.lineage:
            self.lineage = self.lineage or str(uuid.uuid4())
            self.serial += 1
            self._changed = False
        self._touched.clear()
        self._pending_touched.clear()
        return dict(self.last_run), (self.lineage, self.serial)


class StateStore:
    """Checkpoints, backups and locks of the stacks of one project, on its backend."""

    def __init__(self, backend: Backend):
        self.backend = backend
        self._versions: dict[str, str | None] = {}  # stack -> version of the state last read or written
        self._journaled: set[str] = set()  # stacks whose last load replayed journal entries

    @classmethod
    def for_project(cls, project_dir: Path) -> StateStore:
        """The project's store, on the backend chosen for it (see :mod:`engine.backends`)."""
        project = load_project(project_dir)
        return cls(open_backend(project.dir, project.name, choose(project.dir, project.backend_url).url))

    def location(self, stack: str) -> str:
        return self.backend.location(stack)

    def stacks(self) -> list[str]:
        return self.backend.stacks()

    def exists(self, stack: str) -> bool:
        return self.backend.read(stack) is not None

    # -- reading -------------------------------------------------------------------------------
    def summary(self, stack: str) -> dict:
        """What `stack ls` shows without the passphrase: resource count and last run, or the damage."""
        blob = self.backend.read(stack)
        try:
            text = blob.data.decode("utf-8") if blob else ""
            document = state_doc.parse(text)
            state_journal.replay(document, state_doc.seal_of(text), self.backend.read_journal(stack), None)
        except (UnicodeDecodeError, state_doc.DamagedState) as exc:
            return {"damaged": str(exc)}
        resources, last_run = document.get("resources"), document.get("last_run")
        return {
            "resources": len(resources) if isinstance(resources, list) else 0,
            "last_run": last_run if isinstance(last_run, dict) else {},
        }

    def load(self, stack: str, project: str) -> tuple[LiveState, SecretBox]:
        """The stack's state, checked whole before anything uses it; an empty state if there is none.
        Anything else that is not a state of this project and stack raises StateError."""
        passphrase = passphrase_for(stack)
        try:
            blob = self.backend.read(stack)
        except OSError as exc:
            raise self._damaged(stack, f"it cannot be read ({exc})") from None
        self._versions[stack] = blob.version if blob else None
        if blob is None:
            return LiveState([], [], None), SecretBox(passphrase)
        try:
            text = blob.data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self._damaged(stack, f"it cannot be read ({exc})") from None
        try:
            document = state_doc.parse(text)
            state_doc.check_header(document, project, stack)
            box = SecretBox.from_header(passphrase, document["secrets"], stack)
            state_doc.check_seal(text, document, box)
            notes = self._replay(stack, text, document, box)
            resources, pending, last_run = state_doc.check_body(document, project, stack)
            history = state_doc.check_history(document)
            records = []
            for index, data in enumerate(resources):
                inputs, outputs = state_doc.open_secrets(data, index, box)
                records.append(ResourceState.from_dict(data, inputs, outputs))
        except state_doc.DamagedState as exc:
            raise self._damaged(stack, str(exc)) from None
        lineage, serial = state_doc.version(document)
        pending_operations = [PendingOperation(**p) for p in pending]
        live = LiveState(records, pending_operations, last_run, lineage, serial, history)
        live.notes = notes
        return live, box

    def _replay(self, stack: str, text: str, document: dict, box: SecretBox) -> list[str]:
        """Apply the stack's journal (if its backend keeps one) to the checked snapshot."""
        self._journaled.discard(stack)
        journal = self.backend.read_journal(stack) if document["version"] >= 2 else b""
        applied, notes = state_journal.replay(document, state_doc.seal_of(text), journal, box)
        if applied:
            self._journaled.add(stack)
        return notes

    def journaled(self, stack: str) -> bool:
        """Whether the state last loaded was its snapshot plus journal entries (a run was killed)."""
        return stack in self._journaled

    def _damaged(self, stack: str, problem: str) -> StateError:
        restore = self.backend.restore_hint(stack)
        if restore:
            fix = f"restore the copy kept before the last run that changed it: {restore}"
        else:
            fix = "restore it from your own backup (there is no backup copy)"
        return StateError(
            f"state {self.location(stack)} is not a usable state of stack '{stack}': {problem}. "
            f"Nothing was changed; {fix}"
        )

    # -- writing -------------------------------------------------------------------------------
    def write_text(self, stack: str, text: str, durable: bool = False) -> None:
        """Replace the state, only if it is still the version this store last read or wrote."""
        self._versions[stack] = self.backend.write(stack, text.encode(), self._versions.get(stack), durable)
        self.backend.clear_journal(stack)

    def append_journal(self, stack: str, data: bytes) -> None:
        """Append to the stack's journal, only if its state is still the version this store wrote."""
        self.backend.append_journal(stack, data, self._versions.get(stack))

    def backup(self, stack: str) -> None:
        """Keep the current state as the stack's backup (before a run changes it)."""
        self.backend.backup(stack)

    def remove(self, stack: str) -> None:
        """Delete the stack's state and its backup."""
        self.backend.remove(stack)
        self._versions.pop(stack, None)

    # -- locking -------------------------------------------------------------------------------
    def lock(self, stack: str, operation: str, on_stale=None):
        """Hold the stack's lock for a ``with`` block (see :mod:`engine.backends.base`)."""
        return self.backend.lock(stack, operation, utc_now(), on_stale)

    def is_locked(self, stack: str) -> bool:
        return self.backend.is_locked(stack)

    def unlock(self, stack: str) -> dict | None:
        return self.backend.unlock(stack)


class Checkpointer:
    """Writes the live state in the background with group commit, whole or as journal entries.

    ``persist()`` returns once a write that began after the call has completed, so a pending
    operation is on disk before its provider call starts. Requests that queue up while a write is
    in flight are folded into the next one. Each waiter blocks on a gate of its own, released by the
    writer: hundreds of threads waking on one shared condition would queue for its lock and for the
    interpreter, one after another. The writer paces itself by the CPU time a write costs (at most
    about a fifth of the interpreter) so that large states do not starve the program; wall time
    would mislead, since under load most of a write's wall time is spent waiting for the GIL.
    Where the backend keeps a journal, most checkpoints append only what changed (see _write).
    """

    _DUTY = 4.0  # seconds idle per CPU second spent writing, at most
    _MAX_PAUSE = 0.25

    def __init__(self, store: StateStore, stack: str, live: LiveState, header: dict, box: SecretBox):
        self._store, self._stack, self._live, self._header, self._box = store, stack, live, header, box
        self._journal_bytes = 0
        self._snapshot_bytes = 0
        self._base = ""  # the seal of the last whole write, which journal entries continue
        self._chain = ""  # that seal, then the HMAC of the last journal line
        self._gates_lock = threading.Lock()
        self._gates: list[threading.Lock] = []
        self._dirty = False
        self._closing = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._written = False
        if store.journaled(stack):  # a killed run's journal: write it whole first, so the backup holds it
            self._write_whole()
        self._thread = threading.Thread(target=self._run, name="fleetform-checkpoint", daemon=True)
        self._thread.start()

    def _write(self, durable: bool = False) -> None:
        """A checkpoint: the first of a run, the last, and any after the journal has grown as large
        as the document write the whole document; the others append what changed to the journal."""
        if not self._written:  # the state as it was before this run is kept as <stack>.json.bak
            self._store.backup(self._stack)
            self._written = True
            self._write_whole(durable)
        elif durable or not self._store.backend.journals or self._journal_bytes >= self._snapshot_bytes:
            self._write_whole(durable)
        else:
            entry = self._live.journal_entry(self._base, self._box)
            if entry is not None:
                data, self._chain = state_journal.line(self._chain, entry, self._box)
                self._store.append_journal(self._stack, data)
                self._journal_bytes += len(data)

    def _write_whole(self, durable: bool = False) -> None:
        text = state_doc.seal(self._live.serialize(self._header, self._box), self._box)
        self._store.write_text(self._stack, text, durable)
        self._base = self._chain = state_doc.seal_of(text)
        self._snapshot_bytes, self._journal_bytes = len(text), 0

    def _run(self) -> None:
        while True:
            if not self._closing:
                self._wake.wait()
            self._wake.clear()
            with self._gates_lock:
                gates, self._gates = self._gates, []
            if not gates and not self._dirty:
                if self._closing:
                    return
                continue
            self._dirty = False
            started = time.thread_time()
            try:
                self._write()
            except BaseException as exc:  # reported to every waiter
                self._error = exc
            for gate in gates:
                gate.release()
            self._stop.wait(timeout=min((time.thread_time() - started) * self._DUTY, self._MAX_PAUSE))

    def persist(self) -> None:
        gate = threading.Lock()
        gate.acquire()
        with self._gates_lock:
            self._gates.append(gate)
        self._wake.set()
        gate.acquire()  # released by the writer after its next write
        if self._error is not None:
            raise StateError(f"could not write the state file: {self._error}") from self._error

    def touch(self) -> None:
        """Ask for a write soon without waiting for it."""
        self._dirty = True
        if not self._wake.is_set():
            self._wake.set()

    def close(self, record: bool = True) -> None:
        """Stop the writer and make the final state durable. With ``record=False`` (a run that got
        nowhere, or stopped on invalid input) the state file is left as it was, unless this run
        already wrote it."""
        self._closing = True
        self._stop.set()
        self._wake.set()
        self._thread.join()
        if record or self._written:
            self._write(durable=True)
