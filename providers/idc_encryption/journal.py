"""The persisted state of a cluster's encryption: the configuration in force, the keys, and the transition under
way with its phase (DOMAIN §7.3 "executed as persisted phases").

The journal is written to every control-plane host before each phase acts (``<config_dir>/fleetform-state.json``,
mode 0600, next to the configuration that holds the same keys) and returned as the resource's secret ``keys``
output after every call. Pulumi records outputs only when a call returns, so the hosts' copy is what lets a run
killed in any phase resume there: the next create, update or read takes the newest journal (highest ``seq``) of
the hosts and the recorded outputs. Re-running a phase is safe: each one writes the files its phase prescribes,
restarts only what changed and rewrites objects unchanged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

from .config import layout
from .entries import IDENTITY, Entry

PHASES = {1: "stage", 2: "reload", 3: "promote", 4: "reload", 5: "rewrite", 6: "prune"}


@dataclass(frozen=True)
class Transition:
    kind: str  # enable | rotate | switch | disable
    target: Entry  # the new write key (disable: identity)
    resources: tuple[str, ...]  # what the configuration covers during and after it
    rewrite: bool  # phase 5 rewrites every object, so phase 6 may drop the old entries
    phase: int = 1  # the phase being run; persisted before it acts
    backup: str = ""  # the etcd snapshot phase 6 took before dropping keys

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "target": self.target.to_dict(),
            "resources": list(self.resources),
            "rewrite": self.rewrite,
            "phase": self.phase,
            "backup": self.backup,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Transition:
        return cls(
            data["kind"],
            Entry.from_dict(data["target"]),
            tuple(data["resources"]),
            data["rewrite"],
            data["phase"],
            data.get("backup", ""),
        )


@dataclass(frozen=True)
class Journal:
    seq: int = 0  # increases with every write; the newest copy wins
    entries: tuple[Entry, ...] = field(default=(), repr=False)  # the settled configuration; () never enabled
    resources: tuple[str, ...] = ()
    revision: int = 0  # of the newest key made
    last_rotated_at: str = ""  # when the write key last changed (ISO 8601)
    transition: Transition | None = field(default=None, repr=False)
    failure: str = ""  # why the last phase failed, until one succeeds

    @property
    def writer(self) -> Entry:
        """The entry that encrypts writes once the journal settles (identity: encryption is off)."""
        return self.entries[0] if self.entries else IDENTITY

    def configuration(self) -> list[Entry]:
        """The entries the hosts' file holds in the current phase ([] when there is no file)."""
        t = self.transition
        if t is None:
            return list(self.entries)
        return layout(self.entries, t.target, t.phase, t.rewrite)

    @property
    def covered(self) -> tuple[str, ...]:
        """The resources the hosts' file names in the current phase."""
        return self.transition.resources if self.transition else self.resources

    def final_entries(self) -> tuple[Entry, ...]:
        """The configuration once the transition settles; () after a full disable (no file, no flag)."""
        t = self.transition
        assert t is not None
        entries = tuple(layout(self.entries, t.target, 6, t.rewrite))
        return () if entries == (IDENTITY,) else entries

    def begin(self, transition: Transition) -> Journal:
        revision = self.revision if transition.target.is_identity else self.revision + 1
        return replace(self, seq=self.seq + 1, transition=transition, revision=revision, failure="")

    def at_phase(self, phase: int, backup: str = "") -> Journal:
        assert self.transition is not None
        moved = replace(self.transition, phase=phase, backup=backup or self.transition.backup)
        return replace(self, seq=self.seq + 1, transition=moved, failure="")

    def settle(self, now: str) -> Journal:
        """The transition done: its phase-6 configuration is the one in force (none after a full disable)."""
        t = self.transition
        assert t is not None
        rotated = now if not t.target.is_identity else self.last_rotated_at
        return replace(
            self,
            seq=self.seq + 1,
            entries=self.final_entries(),
            resources=t.resources,
            transition=None,
            last_rotated_at=rotated,
        )

    def with_failure(self, reason: str) -> Journal:
        return replace(self, seq=self.seq + 1, failure=reason)

    @property
    def state(self) -> str:
        """``disabled``, ``enabling``, ``enabled``, ``disabling``, ``rotating(n/6)`` or ``failed`` (§2.7)."""
        t = self.transition
        if self.failure:
            return "failed"
        if t is None:
            return "disabled" if self.writer.is_identity else "enabled"
        if t.kind in ("enable", "disable"):
            return f"{t.kind[:-1]}ing"
        return f"rotating({t.phase}/6)"

    def to_dict(self) -> dict:
        return {
            "seq": self.seq,
            "entries": [entry.to_dict() for entry in self.entries],
            "resources": list(self.resources),
            "revision": self.revision,
            "last_rotated_at": self.last_rotated_at,
            "transition": self.transition.to_dict() if self.transition else None,
            "failure": self.failure,
        }

    @classmethod
    def from_dict(cls, data: dict | None) -> Journal:
        if not data:
            return cls()
        return cls(
            seq=data["seq"],
            entries=tuple(Entry.from_dict(entry) for entry in data["entries"]),
            resources=tuple(data["resources"]),
            revision=data["revision"],
            last_rotated_at=data["last_rotated_at"],
            transition=Transition.from_dict(data["transition"]) if data.get("transition") else None,
            failure=data.get("failure", ""),
        )

    def dumps(self) -> bytes:
        return json.dumps(self.to_dict(), indent=1).encode()

    @classmethod
    def loads(cls, text: bytes | None) -> Journal:
        return cls.from_dict(json.loads(text)) if text else cls()


def newest(*journals: Journal) -> Journal:
    return max(journals, key=lambda journal: journal.seq, default=Journal())
