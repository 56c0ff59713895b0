"""In-process access to a cluster's objects for simulated controllers and test fixtures.

Same semantics as the HTTP API (it calls the same operations), but no HTTP, no authentication,
no RBAC and no injected faults. Objects are plain dicts; failures raise :class:`ApiError` with
the Status the API would return. Changes can be consumed with :meth:`ObjectApi.watch` (pull) or
:meth:`ObjectApi.subscribe` (a callback on a dedicated thread, so it may call back into the API).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from . import errors
from .operations import Operations
from .patch import APPLY, MERGE
from .resources import Registry, ResourceType
from .selectors import label_matcher
from .store import Change, Store, Watcher

log = logging.getLogger("sandbox.kubeapi.objects")


@dataclass(frozen=True)
class Event:
    type: str  # ADDED, MODIFIED or DELETED
    object: dict
    old: dict | None


class EventStream:
    """Pull-style change feed; iterate it or call :meth:`next`. Close it when done."""

    def __init__(self, watcher: Watcher, present: Callable[[Change], Event]):
        self._watcher = watcher
        self._present = present

    def next(self, timeout: float | None = None) -> Event | None:
        change = self._watcher.next(timeout)
        return self._present(change) if change else None

    def __iter__(self):
        while (event := self.next()) is not None:
            yield event

    def close(self) -> None:
        self._watcher.close()


class Subscription:
    """Calls ``callback(event)`` for each change, on its own thread, until closed."""

    def __init__(self, stream: EventStream, callback: Callable[[Event], None], name: str):
        self._stream = stream
        self._callback = callback
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for event in self._stream:
            try:
                self._callback(event)
            except Exception:
                log.exception("subscriber failed on %s %s", event.type, event.object.get("metadata", {}).get("name"))

    def close(self) -> None:
        self._stream.close()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)


class ObjectApi:
    def __init__(self, store: Store, registry: Registry, ops: Operations, manager: str = "sandbox"):
        self._store, self._registry, self._ops = store, registry, ops
        self.manager = manager

    def resource_type(self, api_version: str, kind: str) -> ResourceType:
        rt = self._registry.for_kind(api_version, kind)
        if rt is None:
            raise errors.ApiError(
                404, "NotFound", f"the server could not find the requested resource (no {kind} in {api_version})"
            )
        return rt

    def resource_type_of(self, group: str, version: str, plural: str) -> ResourceType:
        """The served type named by its plural, as REST paths and OCM's resource identifiers name it."""
        rt = self._registry.lookup(group, version, plural)
        if rt is None:
            raise errors.ApiError(
                404, "NotFound", f"the server could not find the requested resource (no {plural} in {group}/{version})"
            )
        return rt

    @property
    def resource_version(self) -> int:
        """The cluster's latest resourceVersion. Every write of any object changes it, so a
        polling controller can tell without reading anything that nothing changed since its last look."""
        return self._store.resource_version

    def _of(self, obj: dict) -> tuple[ResourceType, str]:
        rt = self.resource_type(obj.get("apiVersion", ""), obj.get("kind", ""))
        namespace = (obj.get("metadata") or {}).get("namespace") or ("default" if rt.namespaced else "")
        return rt, namespace

    # --- reads ----------------------------------------------------------------------------------

    def get(self, api_version: str, kind: str, name: str, namespace: str = "") -> dict:
        return self._ops.get(self.resource_type(api_version, kind), namespace, name)

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        *,
        label_selector: str = "",
        field_selector: str = "",
    ) -> list[dict]:
        return self._ops.list(
            self.resource_type(api_version, kind),
            namespace,
            label_selector=label_selector,
            field_selector=field_selector,
        )["items"]

    def names(
        self, api_version: str, kind: str, namespace: str | None = None, *, label_selector: str = ""
    ) -> list[str]:
        """The names of the matching objects, found without copying any object: what a controller
        that only counts or looks up needs."""
        rt, labels = self.resource_type(api_version, kind), label_matcher(label_selector)
        found = self._store.objects(rt.key, namespace if rt.namespaced else None)
        return [obj["metadata"]["name"] for obj in found if labels(obj)]

    # --- writes ---------------------------------------------------------------------------------

    def create(self, obj: dict) -> dict:
        rt, namespace = self._of(obj)
        return self._ops.create(rt, namespace, obj, manager=self.manager)

    def update(self, obj: dict) -> dict:
        """Replace (PUT); a ``metadata.resourceVersion`` in ``obj`` is a precondition."""
        rt, namespace = self._of(obj)
        return self._ops.replace(rt, namespace, obj["metadata"]["name"], obj, manager=self.manager)

    def update_status(self, obj: dict) -> dict:
        rt, namespace = self._of(obj)
        if not rt.status:
            raise errors.ApiError(404, "NotFound", f"{rt.kind} has no status subresource")
        return self._ops.replace(
            rt, namespace, obj["metadata"]["name"], obj, subresource="status", manager=self.manager
        )

    def patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        patch,
        namespace: str = "",
        *,
        patch_type: str = MERGE,
        subresource: str = "",
    ) -> dict:
        return self._ops.patch(
            self.resource_type(api_version, kind),
            namespace,
            name,
            patch,
            patch_type,
            subresource=subresource,
            manager=self.manager,
        )[0]

    def apply(self, obj: dict, *, field_manager: str | None = None, force: bool = False, subresource: str = "") -> dict:
        """Server-side apply of ``obj`` (creates it when absent)."""
        rt, namespace = self._of(obj)
        return self._ops.patch(
            rt,
            namespace,
            obj["metadata"]["name"],
            obj,
            APPLY,
            subresource=subresource,
            manager=field_manager or self.manager,
            force=force,
        )[0]

    def delete(
        self, api_version: str, kind: str, name: str, namespace: str = "", *, propagation: str | None = None
    ) -> dict:
        """Delete; returns the object (with a deletionTimestamp if finalizers still hold it)."""
        return self._ops.delete(self.resource_type(api_version, kind), namespace, name, propagation=propagation)[0]

    # --- changes --------------------------------------------------------------------------------

    def watch(
        self,
        api_version: str | None = None,
        kind: str | None = None,
        namespace: str | None = None,
        *,
        include_existing: bool = False,
    ) -> EventStream:
        """Changes to objects of one kind (or all kinds when ``kind`` is None), optionally starting
        with an ADDED event for every existing object."""
        rt = self.resource_type(api_version, kind) if kind else None

        def wanted(obj: dict) -> bool:
            return namespace is None or obj["metadata"].get("namespace", "") == namespace

        def predicate(change: Change) -> bool:
            return (rt is None or change.key == rt.key) and wanted(change.object)

        def present(change: Change) -> Event:
            shown_as = rt or self._registry.storage_type(change.key)
            if shown_as is None:  # the kind's CRD is gone: show the stored form
                return Event(change.type, change.object, change.old)
            old = self._ops.present(shown_as, change.old) if change.old else None
            return Event(change.type, self._ops.present(shown_as, change.object), old)

        with self._store.lock:
            existing = []
            if include_existing:
                types = [rt] if rt else self._registry.storage_types()
                existing = [(t.key, o) for t in types for o in self._store.objects(t.key) if wanted(o)]
            return EventStream(self._store.watch(predicate, existing=existing), present)

    def subscribe(
        self,
        callback: Callable[[Event], None],
        api_version: str | None = None,
        kind: str | None = None,
        namespace: str | None = None,
        *,
        include_existing: bool = True,
    ) -> Subscription:
        stream = self.watch(api_version, kind, namespace, include_existing=include_existing)
        return Subscription(stream, callback, f"subscriber-{kind or 'all'}")
