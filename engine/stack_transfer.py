"""`stack export` / `stack import`: a stack's state as a Pulumi deployment (version 3), so that a stack
moves between backends, and between fleetform and the Pulumi CLI.

    {"version": 3, "deployment": {"manifest": {...}, "secrets_providers": {"type": "passphrase", "state": {...}},
     "resources": [{"urn", "custom", "type", "id", "inputs", "outputs", "parent", "dependencies",
                    "provider", "propertyDependencies", "protect", ...}],
     "pending_operations": [{"resource": {"urn", "type", "id", ...}, "type": "creating"}]}}

Secret values keep Pulumi's envelope, ``{"4dabf1…": "1b4706…", "ciphertext": "v1:…"}``, encrypted by
Pulumi's passphrase provider under the stack's passphrase (:mod:`engine.pulumi_secrets`); a deployment
exported by Pulumi with ``--show-secrets`` (``"plaintext"``) is read too. fleetform's own ``last_run``
and ``history`` are not part of the format: an import continues the history of the state it replaces.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from importlib.metadata import version as package_version
from typing import Any

from . import state_doc
from .errors import InvalidInputError
from .pulumi_secrets import PROVIDER_TYPE, PulumiCrypter
from .secrets import open_with, passphrase_for, seal_with
from .state import Checkpointer, LiveState, PendingOperation, ResourceState, StateStore, utc_now
from .urn import STACK_TYPE

DEPLOYMENT_VERSION = 3

# fleetform's field -> Pulumi's, where the names differ
_RENAMED = {
    "property_dependencies": "propertyDependencies",
    "retain_on_delete": "retainOnDelete",
    "ignore_changes": "ignoreChanges",
    "replace_on_changes": "replaceOnChanges",
    "delete_before_replace": "deleteBeforeReplace",  # fleetform's own; the Pulumi CLI ignores it
}
_FROM_PULUMI = {pulumi: ours for ours, pulumi in _RENAMED.items()}
_OMITTED_WHEN_EMPTY = ("id", "parent", "provider", "delete_before_replace")


def export_stack(store: StateStore, project: str, stack: str) -> dict:
    """The stack's state as a Pulumi deployment, its secrets sealed under the stack's passphrase."""
    live, _box = store.load(stack, project)
    crypter = PulumiCrypter.new(passphrase_for(stack))
    resources = [_resource_out(r, crypter) for r in live.resources() + live.old_copies()]
    pending = [
        {
            "resource": {"urn": p.urn, "type": p.type, "custom": True, "id": p.id, "modified": p.started_at},
            "type": p.operation,
        }
        for p in live.pending()
    ]
    release = package_version("fleetform")
    return {
        "version": DEPLOYMENT_VERSION,
        "deployment": {
            "manifest": {
                "time": datetime.now(UTC).isoformat(timespec="seconds"),
                "magic": hashlib.sha256(release.encode()).hexdigest(),
                "version": f"fleetform {release}",
            },
            "secrets_providers": {"type": PROVIDER_TYPE, "state": crypter.state()},
            "resources": resources,
            "pending_operations": pending,
        },
    }


def _resource_out(resource: ResourceState, crypter: PulumiCrypter) -> dict:
    out: dict[str, Any] = {}
    for key in ResourceState.__dataclass_fields__:
        value = getattr(resource, key)
        if key in _OMITTED_WHEN_EMPTY and not value:
            continue
        out[_RENAMED.get(key, key)] = seal_with(value, crypter.encrypt_value) if key in ("inputs", "outputs") else value
    return out


def import_stack(store: StateStore, project: str, stack: str, text: str, source: str, force: bool) -> int:
    """Replace the stack's state with the deployment in ``text``; returns the resources it records.

    Everything is checked (shape, URNs of this project and stack, every secret opening with the stack's
    passphrase) before the stack is locked and written; a stack that records resources is replaced only
    with ``force``. The state as it was is kept as the backup."""
    resources, pending = _read_deployment(text, source, project, stack)
    with store.lock(stack, "stack import"):
        live, box = store.load(stack, project)
        recorded = sum(1 for r in live.resources() + live.old_copies() if r.type != STACK_TYPE)
        if recorded and not force:
            raise InvalidInputError(
                f"stack '{stack}' already records {recorded} resources ({store.location(stack)}); importing would "
                f"replace its state: pass --force to do so (a backup of the current state is kept)"
            )
        imported = LiveState(resources, pending, None, history=live.history)  # the stack's history goes on
        started = utc_now()
        imported.note_run({"kind": "stack import", "started": started, "finished": utc_now(), "result": "succeeded"})
        Checkpointer(store, stack, imported, state_doc.header(project, stack, box), box).close(record=True)
    return sum(1 for r in resources if r.type != STACK_TYPE)


def _read_deployment(text: str, source: str, project: str, stack: str):
    def bad(problem: str) -> InvalidInputError:
        return InvalidInputError(f"{source}: {problem}; nothing was imported")

    try:
        document = json.loads(text)
    except ValueError as exc:
        raise bad(f"not JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("version") != DEPLOYMENT_VERSION:
        found = document.get("version") if isinstance(document, dict) else None
        raise bad(f"'version' is {found!r}; expected a Pulumi deployment of version {DEPLOYMENT_VERSION}")
    deployment = document.get("deployment")
    if not isinstance(deployment, dict):
        raise bad("'deployment' is missing or not an object")
    decrypt = _decrypter(deployment, stack, bad)
    raw_resources = deployment.get("resources") or []
    raw_pending = deployment.get("pending_operations") or []
    if not isinstance(raw_resources, list) or not isinstance(raw_pending, list):
        raise bad("'deployment.resources' and 'deployment.pending_operations' must be lists")
    records = [_record_in(r, index, bad) for index, r in enumerate(raw_resources)]
    operations = [_pending_in(p, index, bad) for index, p in enumerate(raw_pending)]
    try:
        state_doc.check_body({"resources": records, "pending_operations": operations}, project, stack)
    except state_doc.DamagedState as exc:
        raise bad(str(exc).replace("'resources", "'deployment.resources")) from None
    opened = []
    for index, record in enumerate(records):
        try:
            inputs = open_with(record.get("inputs", {}), decrypt)
            outputs = open_with(record.get("outputs", {}), decrypt)
        except ValueError as exc:
            raise bad(f"'deployment.resources[{index}]' ({record['urn']}): {exc}") from None
        opened.append(ResourceState.from_dict(record, inputs, outputs))
    return opened, [PendingOperation(**p) for p in operations]


def _decrypter(deployment: dict, stack: str, bad):
    """Opens one secret envelope: ``ciphertext`` with the deployment's passphrase provider, or ``plaintext``."""
    provider = deployment.get("secrets_providers")
    crypter = None
    if provider is not None:
        if not isinstance(provider, dict) or provider.get("type") != PROVIDER_TYPE:
            kind = provider.get("type") if isinstance(provider, dict) else provider
            raise bad(
                f"'deployment.secrets_providers.type' is {kind!r}; fleetform opens secrets of the "
                f"'{PROVIDER_TYPE}' provider only (re-export with `pulumi stack change-secrets-provider passphrase`)"
            )
        try:
            crypter = PulumiCrypter.from_state(passphrase_for(stack), provider.get("state"))
        except ValueError as exc:
            raise bad(
                f"'deployment.secrets_providers': {exc} (set FLEETFORM_PASSPHRASE to the exporting passphrase)"
            ) from None

    def decrypt(envelope: dict) -> Any:
        if "plaintext" in envelope:
            plain = envelope["plaintext"]
        elif crypter is None:
            raise ValueError("a secret is encrypted but the deployment names no secrets provider")
        else:
            plain = crypter.decrypt(envelope["ciphertext"])
        try:
            return json.loads(plain)
        except (TypeError, ValueError):
            raise ValueError("a secret's plaintext is not JSON") from None

    return decrypt


def _record_in(resource: Any, index: int, bad) -> dict:
    if not isinstance(resource, dict):
        raise bad(f"'deployment.resources[{index}]' is not an object")
    known = ResourceState.__dataclass_fields__
    return {_FROM_PULUMI.get(key, key): value for key, value in resource.items() if _FROM_PULUMI.get(key, key) in known}


def _pending_in(operation: Any, index: int, bad) -> dict:
    where = f"'deployment.pending_operations[{index}]'"
    resource = operation.get("resource") if isinstance(operation, dict) else None
    if not isinstance(resource, dict):
        raise bad(f"{where} has no 'resource' object")
    started = resource.get("modified") or resource.get("created") or utc_now()
    return {
        "urn": resource.get("urn"),
        "type": resource.get("type"),
        "operation": operation.get("type"),
        "id": resource.get("id") or "",
        "started_at": started if isinstance(started, str) else utc_now(),
    }
