"""The state journal: per-resource changes appended after a full state document, between two full writes.

Re-serialising the whole state at every checkpoint makes each write cost as much as the state is
large, so a run over thousands of resources spends its time rewriting what did not change. Where
the backend can append (a local directory), a run writes the full document once, then appends one
line per checkpoint naming only what changed since the last one, and writes the full document
again when the journal has grown as large as it (and at the end of the run, which removes the
journal). Each line is::

    <hmac-sha256 hex> <JSON entry>\\n

The entry holds the snapshot it continues (``base``: the snapshot's integrity seal), the state's
``lineage`` and ``serial``, the changed resource records (``[urn, old_copy, record | null]``, the
record exactly as the full document would hold it, so secrets stay encrypted), the pending
operations that began or ended (``[urn, record | null]``) and ``last_run``. The HMAC (keyed from the passphrase, like the seal)
covers the previous line's HMAC (the first line's: the snapshot's seal) and the entry, so lines
cannot be edited, dropped from the middle or reordered unseen.

Reading replays the lines onto the snapshot before the document's checks run. A journal whose
first entry continues another snapshot is left over from a run killed between writing a full
document and removing the journal: that document already holds every entry, so the journal is
skipped. A last line without its newline is a write cut short by a machine crash (no checkpoint's
caller goes on before its line is whole), or one a reader beside a running ``up`` sees under way:
it is skipped and reported. Any whole line that does not match its HMAC makes the state unusable
(:class:`~engine.state_doc.DamagedState`), as any damage to the document does.
"""

from __future__ import annotations

import json

from .secrets import SecretBox
from .state_doc import DamagedState


def line(previous_mac: str, entry: str, box: SecretBox) -> tuple[bytes, str]:
    """The journal line for the JSON ``entry`` after a line (or snapshot seal) ``previous_mac``,
    and its own HMAC, which the next line continues."""
    mac = box.mac(f"{previous_mac} {entry}".encode())
    return f"{mac} {entry}\n".encode(), mac


def entry(base: str, lineage: str, serial: int, changes: list[str], pending: list[list], last_run: dict) -> str:
    """An entry's JSON text; ``changes`` are ``[urn, old_copy, record | null]`` JSON fragments, ready
    made (each record's text is cached per resource object, see ResourceState.fragment)."""
    head = json.dumps(
        {"base": base, "lineage": lineage, "serial": serial, "pending_operations": pending, "last_run": last_run},
        separators=(",", ":"),
        sort_keys=True,
    )
    return head[:-1] + ',"resources":[' + ",".join(changes) + "]}"


def replay(document: dict, seal: str, journal: bytes, box: SecretBox | None) -> tuple[int, list[str]]:
    """Apply the journal's entries to the parsed snapshot ``document`` (whose integrity seal is
    ``seal``), checking each line's HMAC when ``box`` is given; returns how many entries were
    applied and notes for the reader."""
    if not journal:
        return 0, []
    *whole, tail = journal.split(b"\n")
    previous = seal
    records: dict[tuple[str, bool], dict] | None = None
    for number, raw in enumerate(whole, start=1):
        mac, _, text = raw.decode("utf-8", errors="replace").partition(" ")
        try:
            change = json.loads(text)
        except ValueError:
            change = None
        if number == 1 and isinstance(change, dict) and change.get("base") != seal:
            return 0, []  # the journal of an older snapshot, which this one already contains
        if box is not None and mac != box.mac(f"{previous} {text}".encode()):
            raise DamagedState(
                f"line {number} of its journal does not match its seal (the journal was edited or damaged)"
            )
        if not isinstance(change, dict) or not isinstance(change.get("resources"), list):
            raise DamagedState(f"line {number} of its journal is not a journal entry")
        if records is None:
            records = _records(document)
        _apply(document, records, change, number)
        previous = mac
    if records is not None:
        document["resources"] = list(records.values())
    notes = []
    if tail:
        notes.append(
            f"the state's journal ended in an incomplete entry ({len(tail)} bytes: a write cut short by a crash "
            f"of the machine, or still under way in a running `up`; no provider call waits on it): it was ignored"
        )
    return len(whole), notes


def _records(document: dict) -> dict[tuple[str, bool], dict]:
    resources = document.get("resources", [])
    if not isinstance(resources, list) or not all(isinstance(r, dict) and "urn" in r for r in resources):
        raise DamagedState("its journal continues a document whose 'resources' are malformed")
    return {(r["urn"], bool(r.get("delete", False))): r for r in resources}


def _apply(document: dict, records: dict[tuple[str, bool], dict], change: dict, number: int) -> None:
    for item in change["resources"]:
        if not (isinstance(item, list) and len(item) == 3 and isinstance(item[0], str) and isinstance(item[1], bool)):
            raise DamagedState(f"line {number} of its journal holds a malformed change")
        urn, old_copy, record = item
        if record is None:
            records.pop((urn, old_copy), None)
        else:
            records[(urn, old_copy)] = record
    pending = change.get("pending_operations", [])
    if not isinstance(pending, list) or not all(
        isinstance(item, list) and len(item) == 2 and isinstance(item[0], str) for item in pending
    ):
        raise DamagedState(f"line {number} of its journal holds a malformed pending operation")
    if pending:
        if not isinstance(document.get("pending_operations", []), list):
            raise DamagedState("its journal continues a document whose 'pending_operations' are malformed")
        operations = {p.get("urn"): p for p in document.get("pending_operations", []) if isinstance(p, dict)}
        for urn, record in pending:
            if record is None:
                operations.pop(urn, None)
            else:
                operations[urn] = record
        document["pending_operations"] = list(operations.values())
    for key in ("lineage", "serial", "last_run"):
        if key in change:
            document[key] = change[key]
