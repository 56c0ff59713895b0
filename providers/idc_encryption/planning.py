"""What the stack asks for, and the next transition that brings a cluster's journal there (DOMAIN §7.3).

Any change of the write key is a transition through the six phases: enabling (identity to a key), rotating
(a new key of the same provider, when ``rotation_interval`` has passed or the resources grow), switching
(another provider or KMS plugin) and disabling (identity first again). The engine is not a controller: a due
rotation happens on the next apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..errors import ErrorCode
from .entries import IDENTITY, new_entry
from .errors import IdcEncryptionError
from .journal import Journal, Transition


@dataclass(frozen=True)
class Desired:
    cluster: str
    enabled: bool
    provider: str  # aesgcm | aescbc | secretbox | kms
    resources: tuple[str, ...]
    rotation_interval_seconds: int
    kms: dict | None  # {name, endpoint, timeout_seconds} with provider kms
    reencrypt_existing: bool
    etcd_backup: str  # engine | confirmed


def rotation_due(journal: Journal, interval_seconds: int, now: datetime) -> bool:
    """Whether the write key is older than the interval (KMS keys rotate in the KMS, never here)."""
    writer = journal.writer
    if writer.is_identity or writer.provider == "kms" or not journal.last_rotated_at:
        return False
    return now - datetime.fromisoformat(journal.last_rotated_at) >= timedelta(seconds=interval_seconds)


def plan(journal: Journal, desired: Desired, now: datetime) -> Transition | None:
    """The transition to start from a settled ``journal``, or None when the cluster is as desired."""
    writer = journal.writer
    if not desired.enabled:
        if writer.is_identity:
            return None
        return Transition("disable", IDENTITY, journal.resources, desired.reencrypt_existing)
    _refuse_unsafe(journal, desired)
    if writer.is_identity:
        kind = "enable"
    elif writer.provider != desired.provider or (desired.kms is not None and writer.name != desired.kms["name"]):
        kind = "switch"
    elif set(desired.resources) != set(journal.resources) or rotation_due(
        journal, desired.rotation_interval_seconds, now
    ):
        kind = "rotate"
    else:
        return None
    target = new_entry(desired.provider, journal.revision + 1, desired.kms)
    return Transition(kind, target, desired.resources, desired.reencrypt_existing)


def _refuse_unsafe(journal: Journal, desired: Desired) -> None:
    writer = journal.writer
    dropped = sorted(set(journal.resources) - set(desired.resources))
    if dropped and not writer.is_identity:
        raise IdcEncryptionError(
            ErrorCode.ENC_CHANGE_REFUSED,
            f"cluster '{desired.cluster}': resources {', '.join(dropped)} would no longer be covered while their "
            "stored data is encrypted; disable encryption first (enabled: false), then enable it with the new list",
        )
    kms = desired.kms
    same_plugin = kms is not None and writer.provider == "kms" and writer.name == kms["name"]
    if same_plugin and (writer.endpoint, writer.timeout_seconds) != (kms["endpoint"], int(kms["timeout_seconds"])):
        raise IdcEncryptionError(
            ErrorCode.ENC_CHANGE_REFUSED,
            f"cluster '{desired.cluster}': KMS plugin '{writer.name}' cannot be re-pointed in place; give the "
            "new endpoint or timeout a new kms name, and fleetform switches to it through the six phases",
        )
