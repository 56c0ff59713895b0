"""Status conditions as the controllers write them (``metav1.Condition`` shape)."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def condition(kind: str, status: str, reason: str, message: str, observed_generation: int | None = None) -> dict:
    found = {"type": kind, "status": status, "reason": reason, "message": message, "lastTransitionTime": now()}
    if observed_generation is not None:
        found["observedGeneration"] = observed_generation
    return found


def merged(current: list[dict], wanted: list[dict]) -> list[dict]:
    """``current`` with ``wanted`` set over it by type. A condition whose status does not change keeps
    its ``lastTransitionTime``, so writing the same state twice yields an equal list (and no write)."""
    by_type = {c["type"]: c for c in current}
    for new in wanted:
        old = by_type.get(new["type"])
        if old is not None and old.get("status") == new["status"]:
            new = {**new, "lastTransitionTime": old.get("lastTransitionTime", new["lastTransitionTime"])}
        by_type[new["type"]] = new
    return list(by_type.values())
