"""The checkpoint store: one state file per stack, written atomically, guarded by a lock.

Layout under the state directory (``<project>/.fleetform`` or ``$FLEETFORM_STATE_DIR``)::

    stacks/<stack>.json    the checkpoint: resources, pending operations, last run, secrets header
    locks/<stack>.lock     present while an operation holds the stack; says who and since when

Every write goes to a temporary file in the same directory and is renamed over the checkpoint, so a
reader (or a process killed mid-write) sees either the old or the new checkpoint, never a torn one.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import StackLockedError, StateError
from .secrets import SecretBox, passphrase_for

STATE_DIR_ENV = "FLEETFORM_STATE_DIR"
FORMAT_VERSION = 1


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
        data = asdict(self)
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
    def from_dict(cls, data: dict, box: SecretBox) -> ResourceState:
        known = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in data.items() if k in known}
        values["inputs"] = box.open(values.get("inputs", {}))
        values["outputs"] = box.open(values.get("outputs", {}))
        return cls(**values)


@dataclass
class PendingOperation:
    """Written before a provider call and cleared after it: a record that survives a crash."""

    urn: str
    type: str
    operation: str  # creating | updating | deleting | reading
    id: str = ""
    started_at: str = field(default_factory=utc_now)


class LiveState:
    """The state of a stack as a run changes it; every method is thread-safe."""

    def __init__(self, resources: list[ResourceState], pending: list[PendingOperation], last_run: dict | None):
        self._lock = threading.Lock()
        self._resources: dict[str, ResourceState] = {}
        self._old_copies: dict[str, ResourceState] = {}
        for resource in resources:
            (self._old_copies if resource.delete else self._resources)[resource.urn] = resource
        self._pending: dict[str, PendingOperation] = {p.urn: p for p in pending}
        self.last_run = last_run or {}

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
            self._resources[resource.urn] = resource

    def remove(self, urn: str) -> None:
        with self._lock:
            self._resources.pop(urn, None)

    def keep_old_copy(self, resource: ResourceState) -> None:
        with self._lock:
            self._old_copies[resource.urn] = resource.with_changes(delete=True)

    def drop_old_copy(self, urn: str) -> None:
        with self._lock:
            self._old_copies.pop(urn, None)

    def begin(self, operation: PendingOperation) -> None:
        with self._lock:
            self._pending[operation.urn] = operation

    def end(self, urn: str) -> None:
        with self._lock:
            self._pending.pop(urn, None)

    # -- serialization -------------------------------------------------------------------------
    def serialize(self, header: dict, box: SecretBox) -> str:
        """The checkpoint as JSON text; each resource's fragment is computed once per object."""
        with self._lock:
            everything = list(self._resources.values()) + list(self._old_copies.values())
            pending = [asdict(p) for p in self._pending.values()]
            last_run = dict(self.last_run)
        fragments = [resource.fragment(box) for resource in everything]
        head = dict(header, pending_operations=pending, last_run=last_run)
        head_text = json.dumps(head, indent=1, sort_keys=True)
        return head_text[:-2] + ',\n "resources": [\n' + ",\n".join(fragments) + "\n ]\n}\n"


class StateStore:
    """Checkpoints and locks of the stacks of one project."""

    def __init__(self, root: Path):
        self.root = root

    @classmethod
    def for_project(cls, project_dir: Path) -> StateStore:
        override = os.environ.get(STATE_DIR_ENV)
        return cls(Path(override) if override else project_dir / ".fleetform")

    def path(self, stack: str) -> Path:
        return self.root / "stacks" / f"{stack}.json"

    def lock_path(self, stack: str) -> Path:
        return self.root / "locks" / f"{stack}.lock"

    def stacks(self) -> list[str]:
        folder = self.root / "stacks"
        return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []

    # -- reading -------------------------------------------------------------------------------
    def read_raw(self, stack: str) -> dict | None:
        path = self.path(stack)
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise StateError(f"state file {path} is unreadable ({exc}); restore it from a backup") from exc

    def load(self, stack: str, project: str) -> tuple[LiveState, SecretBox]:
        raw = self.read_raw(stack)
        passphrase = passphrase_for(stack)
        if raw is None:
            return LiveState([], [], None), SecretBox(passphrase)
        if raw.get("version") != FORMAT_VERSION:
            raise StateError(
                f"state file {self.path(stack)} has format {raw.get('version')}; expected {FORMAT_VERSION}"
            )
        if raw.get("project") not in (None, project):
            raise StateError(
                f"state file {self.path(stack)} belongs to project '{raw.get('project')}', not '{project}'"
            )
        box = SecretBox.from_header(passphrase, raw["secrets"], stack)
        resources = [ResourceState.from_dict(r, box) for r in raw.get("resources", [])]
        pending = [PendingOperation(**p) for p in raw.get("pending_operations", [])]
        return LiveState(resources, pending, raw.get("last_run")), box

    # -- writing -------------------------------------------------------------------------------
    def write_text(self, stack: str, text: str, durable: bool = False) -> None:
        path = self.path(stack)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)

    # -- locking -------------------------------------------------------------------------------
    @contextmanager
    def lock(self, stack: str, operation: str, on_stale=None) -> Iterator[dict]:
        """Hold the stack's lock; a lock left by a dead process on this host is broken with a notice."""
        path = self.lock_path(stack)
        path.parent.mkdir(parents=True, exist_ok=True)
        owner = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "user": getpass.getuser(),
            "operation": operation,
            "since": utc_now(),
        }
        for _attempt in range(2):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            except FileExistsError:
                holder = _read_lock(path)
                if holder and _is_stale(holder):
                    if on_stale:
                        on_stale(holder)
                    path.unlink(missing_ok=True)
                    continue
                raise StackLockedError(_locked_message(stack, path, holder)) from None
            with os.fdopen(fd, "w") as handle:
                json.dump(owner, handle)
            break
        else:  # pragma: no cover - two stale locks in a row means a racing breaker
            raise StackLockedError(_locked_message(stack, path, _read_lock(path)))
        try:
            yield owner
        finally:
            path.unlink(missing_ok=True)

    def unlock(self, stack: str) -> dict | None:
        path = self.lock_path(stack)
        holder = _read_lock(path)
        path.unlink(missing_ok=True)
        return holder


def _read_lock(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _is_stale(holder: dict) -> bool:
    if holder.get("host") != socket.gethostname():
        return False
    try:
        os.kill(int(holder["pid"]), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, KeyError, ValueError):
        return False
    return False


def _locked_message(stack: str, path: Path, holder: dict | None) -> str:
    if not holder:
        who = "another operation (the lock file is unreadable)"
    else:
        who = (
            f"'{holder.get('operation')}' run by {holder.get('user')} on {holder.get('host')} "
            f"(pid {holder.get('pid')}) since {holder.get('since')}"
        )
    return (
        f"stack '{stack}' is locked by {who}. Wait for it to finish; if that process is gone, "
        f"run `fleetform stack unlock -s {stack}` (lock file: {path})"
    )


class Checkpointer:
    """Writes the live state in the background with group commit.

    ``persist()`` returns once a write that began after the call has completed, so a pending
    operation is on disk before its provider call starts. Requests that queue up while a write is
    in flight are folded into the next one. Each waiter blocks on a gate of its own, released by the
    writer: hundreds of threads waking on one shared condition would queue for its lock and for the
    interpreter, one after another. The writer paces itself by the CPU time a write costs (at most
    about a fifth of the interpreter) so that large states do not starve the program; wall time
    would mislead, since under load most of a write's wall time is spent waiting for the GIL.
    """

    _DUTY = 4.0  # seconds idle per CPU second spent writing, at most
    _MAX_PAUSE = 0.25

    def __init__(self, store: StateStore, stack: str, live: LiveState, header: dict, box: SecretBox):
        self._store, self._stack, self._live, self._header, self._box = store, stack, live, header, box
        self._gates_lock = threading.Lock()
        self._gates: list[threading.Lock] = []
        self._dirty = False
        self._closing = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="fleetform-checkpoint", daemon=True)
        self._thread.start()

    def _write(self, durable: bool = False) -> None:
        self._store.write_text(self._stack, self._live.serialize(self._header, self._box), durable)

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
        nowhere) no state file is created where there was none."""
        self._closing = True
        self._stop.set()
        self._wake.set()
        self._thread.join()
        if record or self._store.path(self._stack).exists():
            self._write(durable=True)
