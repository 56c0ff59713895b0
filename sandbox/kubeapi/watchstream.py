"""``?watch=true``: newline-delimited JSON events for a collection or a single object.

Without a ``resourceVersion`` (or with ``0``) the stream starts with an ADDED event per existing
object; with one it replays the changes after it (a compacted start point yields one ERROR event
holding a 410 Status). An object that stops matching the selectors is reported DELETED, one that
starts matching ADDED. ``allowWatchBookmarks`` adds a BOOKMARK after 5 idle seconds;
``timeoutSeconds`` (default 30 minutes) ends the stream.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

from . import errors
from .httpserver import query_flag
from .resources import ResourceType
from .selectors import field_matcher, label_matcher
from .store import Change, Store

_BOOKMARK_IDLE = 5.0


def _line(event_type: str, obj: dict) -> bytes:
    return json.dumps({"type": event_type, "object": obj}).encode() + b"\n"


def stream(
    store: Store,
    rt: ResourceType,
    namespace: str,
    query: dict[str, str],
    present: Callable[[ResourceType, dict], dict],
    disconnected: Callable[[], bool],
) -> Iterator[bytes]:
    labels, fields = label_matcher(query.get("labelSelector")), field_matcher(query.get("fieldSelector"), rt.key)

    def in_scope(obj: dict | None) -> bool:
        return (
            obj is not None
            and (not namespace or obj["metadata"].get("namespace") == namespace)
            and labels(obj)
            and fields(obj)
        )

    def relevant(change: Change) -> bool:
        return change.key == rt.key and (in_scope(change.object) or in_scope(change.old))

    start = query.get("resourceVersion") or ""
    if start not in ("", "0") and not start.isdigit():
        raise errors.bad_request(f"invalid resourceVersion {start!r}")
    try:
        with store.lock:
            existing = (
                []
                if start not in ("", "0")
                else [(rt.key, o) for o in store.objects(rt.key, namespace or None) if in_scope(o)]
            )
            watcher = store.watch(relevant, None if start in ("", "0") else int(start), existing)
    except errors.ApiError as err:
        return _once(_line("ERROR", err.status()))
    timeout = float(query.get("timeoutSeconds") or 1800)
    bookmarks = query_flag(query, "allowWatchBookmarks")
    return _events(store, rt, watcher, in_scope, present, disconnected, timeout, bookmarks)


def _once(line: bytes) -> Iterator[bytes]:
    yield line


def _events(store, rt, watcher, in_scope, present, disconnected, timeout, bookmarks) -> Iterator[bytes]:
    deadline = time.monotonic() + timeout
    idle_since = time.monotonic()
    try:
        while (remaining := deadline - time.monotonic()) > 0:
            change = watcher.next(timeout=min(remaining, 1.0))
            if change is None:
                if watcher.closed or disconnected():
                    return
                if bookmarks and time.monotonic() - idle_since > _BOOKMARK_IDLE:
                    idle_since = time.monotonic()
                    yield _line(
                        "BOOKMARK",
                        {
                            "kind": rt.kind,
                            "apiVersion": rt.api_version,
                            "metadata": {"resourceVersion": str(store.resource_version)},
                        },
                    )
                continue
            was, now = in_scope(change.old), in_scope(change.object)
            event_type = "DELETED" if change.type == "DELETED" or not now else "MODIFIED" if was else "ADDED"
            idle_since = time.monotonic()
            yield _line(event_type, present(rt, change.object))
    finally:
        watcher.close()
