"""Hand edits of a stack's state, the way out of stuck states: forget a resource, lift a resource's
protection, settle what an interrupted run left pending.

Each edit holds the stack's lock, loads the state whole (so a damaged state is refused as by every
command), and writes it back through the checkpointer, which keeps the previous file as
``<stack>.json.bak``, with the edit in the stack's history. None of them calls a provider: they change
what fleetform records, not what exists (`fleetform import` edits through :meth:`StateEditor.editing` too,
after reading the object it adopts).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from . import state_doc
from .errors import InvalidInputError
from .graph import recorded_needs
from .state import Checkpointer, LiveState, PendingOperation, ResourceState, StateStore, utc_now
from .urn import STACK_TYPE, urn_name


class StateEditor:
    def __init__(self, store: StateStore, project: str, stack: str):
        self.store, self.project, self.stack = store, project, stack

    @contextmanager
    def editing(self, operation: str) -> Iterator[tuple[LiveState, dict]]:
        """The locked, loaded state and the history entry of this edit (the caller adds its ``detail``
        and ``summary``); written when the block ends normally, left untouched when it raises."""
        with self.store.lock(self.stack, operation):
            live, box = self.store.load(self.stack, self.project)
            run = {"kind": operation, "started": utc_now(), "result": "succeeded", "summary": {}}
            yield live, run
            live.note_run({**run, "finished": utc_now()})
            header = state_doc.header(self.project, self.stack, box)
            Checkpointer(self.store, self.stack, live, header, box).close(record=True)

    def find(self, live: LiveState, wanted: str) -> ResourceState:
        """The recorded resource with URN ``wanted``, or the only one whose name is ``wanted``."""
        resources = live.resources()
        exact = [r for r in resources if r.urn == wanted]
        named = exact or [r for r in resources if urn_name(r.urn) == wanted and r.type != STACK_TYPE]
        if len(named) == 1:
            return named[0]
        if named:
            listing = "\n  ".join(r.urn for r in named)
            raise InvalidInputError(f"'{wanted}' names {len(named)} resources; give the full URN:\n  {listing}")
        raise InvalidInputError(
            f"stack '{self.stack}' records no resource '{wanted}' (see `fleetform stack output` or `fleetform graph`)"
        )

    def delete(self, wanted: str, force: bool) -> tuple[str, list[str]]:
        """Forget a resource (it keeps existing, unmanaged). Refused while others need it, unless
        ``force``; returns its URN and the dependents that now refer to a resource not recorded."""
        with self.editing("state delete") as (live, run):
            resource = self.find(live, wanted)
            run["detail"] = resource.urn
            dependents = sorted(
                r.urn for r in live.resources() + live.old_copies() if resource.urn in recorded_needs(r)
            )
            if dependents and not force:
                listing = "\n  ".join(dependents)
                raise InvalidInputError(
                    f"{resource.urn} is needed by {len(dependents)} recorded resources; delete those first, or pass "
                    f"--force to leave them referring to a resource fleetform no longer records:\n  {listing}"
                )
            live.remove(resource.urn)
            live.drop_old_copy(resource.urn)
            live.end(resource.urn)
        return resource.urn, dependents

    def unprotect(self, wanted: str) -> str:
        with self.editing("state unprotect") as (live, run):
            resource = self.find(live, wanted)
            run["detail"] = resource.urn
            live.put(resource.with_changes(protect=False))
        return resource.urn

    def interrupted(self) -> list[tuple[PendingOperation, bool]]:
        """The interrupted operations the state records, each with whether its resource is recorded
        (read without locking, to ask the question; :meth:`repair` drops only what was shown)."""
        live, _box = self.store.load(self.stack, self.project)
        return [(op, live.get(op.urn) is not None) for op in live.pending()]

    def repair(self, urns: list[str]) -> list[PendingOperation]:
        """Drop the pending records of ``urns`` (those shown to, and confirmed by, the user)."""
        with self.editing("state repair") as (live, run):
            settled = [op for op in live.pending() if op.urn in urns]
            run["detail"] = f"{len(settled)} pending operations settled"
            for op in settled:
                live.end(op.urn)
        return settled


def describe(op: PendingOperation, recorded: bool) -> str:
    """What an interrupted operation means for the resource, and what to check."""
    if op.operation == "creating":
        return (
            f"{op.urn} ({op.type}): a create was interrupted at {op.started_at}. The resource may exist without "
            f"being recorded: look for it, and delete it by hand if it does; the next up then creates it."
        )
    kept = "is kept as last recorded" if recorded else "is not recorded"
    return (
        f"{op.urn} ({op.type}): {op.operation} was interrupted at {op.started_at}; the resource {kept}. "
        f"Run `fleetform refresh` afterwards to read what really exists."
    )
