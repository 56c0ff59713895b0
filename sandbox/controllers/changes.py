"""What changed in each virtual cluster since the controllers' last pass, as the emulator told them.

The emulator calls :meth:`Changes.note` on the writer's thread for every write (with the store's
change) and for every other change of a cluster (reachability, faults, added or removed: no
change object). A pass takes what was noted so far with :meth:`Changes.take`; each controller
then looks only at the objects and clusters its work depends on.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..kubeapi import Change

Key = tuple[str, str]  # (group, plural), as the store keys objects


@dataclass
class Changed:
    """One cluster's changes: the objects written, or ``everything`` (a change no object names)."""

    everything: bool = False
    objects: set[tuple[Key, str, str]] = field(default_factory=set)  # (key, namespace, name)

    def touches(self, *keys: Key) -> bool:
        return self.everything or any(key in keys for key, _, _ in self.objects)

    def names(self, key: Key, namespace: str | None = None) -> set[str]:
        """The names of the objects of ``key`` (in ``namespace``, if given) that were written."""
        return {name for k, ns, name in self.objects if k == key and (namespace is None or ns == namespace)}


Pass = dict[str, Changed]  # cluster name -> its changes


def everything(clusters: Iterable[str]) -> Pass:
    """A pass that looks at every cluster as if all of it changed (a start, a resync, a test's call)."""
    return {name: Changed(everything=True) for name in clusters}


class Changes:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: Pass = {}

    def note(self, cluster: str, change: Change | None) -> None:
        with self._lock:
            entry = self._pending.setdefault(cluster, Changed())
            if change is None:
                entry.everything = True
            elif not entry.everything:
                meta = change.object["metadata"]
                entry.objects.add((change.key, meta.get("namespace", ""), meta["name"]))

    def take(self) -> Pass:
        with self._lock:
            taken, self._pending = self._pending, {}
        return taken

    def put_back(self, taken: Pass) -> None:
        """Hand changes back after a pass that failed, so that the next one looks at them again."""
        with self._lock:
            for cluster, changed in taken.items():
                entry = self._pending.setdefault(cluster, Changed())
                entry.everything |= changed.everything
                entry.objects |= changed.objects
