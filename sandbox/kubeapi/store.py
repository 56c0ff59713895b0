"""Versioned object storage of one virtual cluster, with change events for watches.

One counter per cluster stamps every write (``metadata.resourceVersion``) and doubles as the list
resourceVersion. Recent changes are kept so a watch can resume from a resourceVersion; older
starting points are answered with 410 Gone, as after an etcd compaction.

Stored objects are never mutated in place: writers hand over a new dict, readers copy before
changing anything. :attr:`Store.lock` is reentrant so an operation can hold it across several
reads and writes.
"""

from __future__ import annotations

import collections
import json
import queue
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from . import errors

Key = tuple[str, str]  # (group, plural)


@dataclass(frozen=True)
class Change:
    type: str  # ADDED, MODIFIED or DELETED
    key: Key
    object: dict  # the new state; for DELETED the last state, stamped with the deletion's rv
    old: dict | None

    @property
    def resource_version(self) -> int:
        return int(self.object["metadata"]["resourceVersion"])


_CLOSED = object()


class Watcher:
    """Changes accepted by ``predicate``, queued for one consumer; ``notify`` (if given) is called
    after each change queued, for a consumer that does not wait on :meth:`next`."""

    def __init__(self, store: Store, predicate: Callable[[Change], bool], notify: Callable[[], None] | None = None):
        self._store = store
        self._predicate = predicate
        self._notify = notify
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self.closed = False

    def offer(self, change: Change) -> None:
        if self._predicate(change):
            self._queue.put(change)
            if self._notify is not None:
                self._notify()

    def next(self, timeout: float | None = None) -> Change | None:
        """The next change, or None after ``timeout`` seconds or once the watcher is closed."""
        if self.closed:
            return None
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if item is _CLOSED:
            self.closed = True
            return None
        return item

    def close(self) -> None:
        self._store.unwatch(self)
        self._queue.put(_CLOSED)


class Store:
    def __init__(self, history: int = 5000):
        self.lock = threading.RLock()
        self._objects: dict[Key, dict[tuple[str, str], dict]] = {}
        self._rv = 0
        self._compacted = 0
        self._history: collections.deque[Change] = collections.deque(maxlen=history)
        self._watchers: set[Watcher] = set()
        self._encoded: dict[tuple[Key, tuple[str, str]], tuple[dict, str]] = {}  # dump_json's: object -> its JSON
        self.on_change: Callable[[Change], None] | None = None
        # encryption at rest (encryption.AtRest): sees each write first, to keep the value etcd would hold, and
        # says whether a stored value is stale (written by another provider), which makes a no-op update write
        self.on_write: Callable[[Change], None] | None = None
        self.stale: Callable[[Key, dict], bool] = lambda key, obj: False

    @property
    def resource_version(self) -> int:
        return self._rv

    # --- reads ----------------------------------------------------------------------------------

    def get(self, key: Key, namespace: str, name: str) -> dict | None:
        return self._objects.get(key, {}).get((namespace or "", name))

    def objects(self, key: Key, namespace: str | None = None) -> list[dict]:
        with self.lock:
            found = [obj for (ns, _), obj in self._objects.get(key, {}).items() if namespace is None or ns == namespace]
        return sorted(found, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))

    def keys(self) -> list[Key]:
        with self.lock:
            return [k for k, objs in self._objects.items() if objs]

    # --- writes (callers hold the lock) ---------------------------------------------------------

    def _stamp(self, obj: dict) -> None:
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)

    def put(self, key: Key, obj: dict) -> dict:
        """Store ``obj`` (taking ownership of it) under a new resourceVersion."""
        with self.lock:
            ident = (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
            old = self._objects.get(key, {}).get(ident)
            self._stamp(obj)
            self._objects.setdefault(key, {})[ident] = obj
            self._emit(Change("MODIFIED" if old else "ADDED", key, obj, old))
            return obj

    def remove(self, key: Key, obj: dict) -> dict:
        with self.lock:
            ident = (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
            old = self._objects.get(key, {}).pop(ident)
            gone = {**old, "metadata": dict(old["metadata"])}
            self._stamp(gone)
            self._emit(Change("DELETED", key, gone, old))
            return gone

    def _emit(self, change: Change) -> None:
        if self.on_write:
            self.on_write(change)
        if len(self._history) == self._history.maxlen:
            self._compacted = self._history[0].resource_version
        self._history.append(change)
        for watcher in list(self._watchers):
            watcher.offer(change)
        if self.on_change:
            self.on_change(change)

    # --- watches --------------------------------------------------------------------------------

    def watch(
        self,
        predicate: Callable[[Change], bool],
        since: int | None = None,
        existing: Iterable[tuple[Key, dict]] = (),
        notify: Callable[[], None] | None = None,
    ) -> Watcher:
        """Start a watcher: first synthetic ADDED changes for ``existing`` objects, then the
        recorded changes after resourceVersion ``since`` (410 if compacted), then live ones."""
        with self.lock:
            if since is not None and since < self._compacted:
                raise errors.gone(f"too old resource version: {since} ({self._compacted})")
            watcher = Watcher(self, predicate, notify)
            for key, obj in existing:
                watcher.offer(Change("ADDED", key, obj, None))
            if since is not None:
                for change in self._history:
                    if change.resource_version > since:
                        watcher.offer(change)
            self._watchers.add(watcher)
            return watcher

    def unwatch(self, watcher: Watcher) -> None:
        with self.lock:
            self._watchers.discard(watcher)

    # --- persistence ----------------------------------------------------------------------------

    def dump_json(self) -> str:
        """Everything, as the JSON :meth:`load` reads. An object's encoding is kept until it is
        replaced (stored objects never change in place), so a save encodes only what was written
        since the last one: the cost of saving a large cluster after a write does not grow with it."""
        with self.lock:
            rv = self._rv
            current = [((k, ident), obj) for k, objs in self._objects.items() for ident, obj in objs.items()]
        encoded = {}
        for entry, obj in current:
            cached = self._encoded.get(entry)
            if cached is None or cached[0] is not obj:
                group, resource = entry[0]
                cached = (obj, json.dumps({"group": group, "resource": resource, "object": obj}))
            encoded[entry] = cached
        self._encoded = encoded  # drops what was removed
        return f'{{"resourceVersion": {rv}, "objects": [{", ".join(text for _, text in encoded.values())}]}}'

    def load(self, data: dict) -> None:
        with self.lock:
            self._objects.clear()
            for entry in data.get("objects", []):
                obj = entry["object"]
                ident = (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
                self._objects.setdefault((entry["group"], entry["resource"]), {})[ident] = obj
            self._rv = self._compacted = int(data.get("resourceVersion", 0))
            self._history.clear()
