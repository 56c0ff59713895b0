"""The state file's format: its integrity seal and the checks a document passes before it is used.

A state file is one JSON object. Since format 2 it opens with an ``integrity`` member, an HMAC-SHA256
(keyed from the stack's passphrase, see :meth:`SecretBox.mac`) of the rest of the text exactly as
written, so that any change made outside fleetform, down to one flipped bit, is detected rather than
read as a different state::

    {"integrity": "hmac-sha256:<64 hex>", "last_run": ..., "version": 2, ..., "resources": [...]}

Since fleetform's saved plans, the header also carries ``lineage`` (an id given at the state's
first write) and ``serial`` (counts the writes that changed it); files without them are still read
(lineage derived from the secrets salt, serial 0) and get them on the next write.
Since `fleetform stack history`, the header also carries ``history``: the operations that wrote the
state (kind, when, result, counts, who); files without it are read with an empty history.
Format 1 files (no seal) are still read; the next write seals them. Checks never guess: anything
that is not a state of this project and stack raises :class:`DamagedState` naming what is wrong.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from typing import Any

from .secrets import SecretBox
from .urn import URN

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
_SEAL_HEAD = '{"integrity": "hmac-sha256:'
_SEAL_LENGTH = len(_SEAL_HEAD) + 64 + len('",')
PENDING_OPERATIONS = ("creating", "updating", "deleting", "reading")


class DamagedState(Exception):
    """The document is not a usable state; the message says what is wrong (the caller adds where)."""


def header(project: str, stack: str, box: SecretBox) -> dict:
    """The members every state written now starts with."""
    return {"version": FORMAT_VERSION, "project": project, "stack": stack, "secrets": box.header()}


def seal(body: str, box: SecretBox) -> str:
    """The file text for the JSON object ``body``: the same object with the integrity member first."""
    return f'{_SEAL_HEAD}{box.mac(body.encode())}",{body[1:]}'


def seal_of(text: str) -> str:
    """The integrity seal (hex HMAC) at the start of a sealed file's text (see :mod:`engine.state_journal`)."""
    return text[len(_SEAL_HEAD) : _SEAL_LENGTH - 2]


def parse(text: str) -> dict:
    """The JSON object in a state file's text (not yet checked against the passphrase)."""
    if not text.strip():
        raise DamagedState("the file is empty")
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise DamagedState(f"it is not valid JSON ({exc})") from None
    if not isinstance(document, dict):
        raise DamagedState(f"it holds {_kind(document)}, not a state object")
    return document


def check_header(document: dict, project: str, stack: str) -> None:
    """Version, project, stack and the shape of the secrets header."""
    version = document.get("version")
    if type(version) is not int or version not in READABLE_VERSIONS:
        raise DamagedState(f"'version' is {version!r}; this fleetform reads formats {READABLE_VERSIONS}")
    if (version >= 2) != ("integrity" in document):
        raise DamagedState("its integrity seal is missing" if version >= 2 else "it has a seal its format lacks")
    _expect(document, "project", str)
    if document["project"] != project:
        raise DamagedState(f"it belongs to project '{document['project']}', not '{project}'")
    _expect(document, "stack", str)
    if document["stack"] != stack:
        raise DamagedState(f"it is the state of stack '{document['stack']}', not '{stack}'")
    header = _expect(document, "secrets", dict)
    for key in ("kdf", "cipher", "salt", "check"):
        _expect(header, key, str, "secrets.")
    expected = {"kdf": "scrypt-n16384-r8-p1", "cipher": "aes-256-gcm"}
    for key, value in expected.items():
        if header[key] != value:
            raise DamagedState(f"'secrets.{key}' is {header[key]!r}; expected {value!r}")
    try:
        salt = base64.b64decode(header["salt"], validate=True)
    except binascii.Error:
        salt = b""
    if len(salt) != 16:
        raise DamagedState("'secrets.salt' is not 16 bytes of base64")
    if "lineage" in document:
        _expect(document, "lineage", str)
    if "serial" in document and (_expect(document, "serial", int) < 0):
        raise DamagedState(f"'serial' is {document['serial']}, not a count")


def version(document: dict) -> tuple[str, int]:
    """The state's lineage and serial (a checked header). A file written before they existed gets
    a lineage derived from its secrets salt, which is random per state and fixed for its life, so
    that every reader of the same file agrees on it."""
    lineage = document.get("lineage")
    if lineage is None:
        digest = hashlib.sha256(b"fleetform lineage:" + document["secrets"]["salt"].encode()).digest()
        lineage = str(uuid.UUID(bytes=digest[:16]))
    return lineage, document.get("serial", 0)


def check_seal(text: str, document: dict, box: SecretBox) -> None:
    """For sealed formats: the text after the seal is exactly what was written."""
    if document["version"] < 2:
        return
    if not text.startswith(_SEAL_HEAD) or text[_SEAL_LENGTH - 2 : _SEAL_LENGTH] != '",':
        raise DamagedState("its integrity seal is malformed (the file was edited or damaged)")
    recorded = text[len(_SEAL_HEAD) : _SEAL_LENGTH - 2]
    body = "{" + text[_SEAL_LENGTH:]
    if recorded != box.mac(body.encode()):
        raise DamagedState("its content does not match its integrity seal (the file was edited or damaged)")


_RESOURCE_FIELDS: dict[str, type] = {
    "urn": str,
    "type": str,
    "custom": bool,
    "id": str,
    "parent": str,
    "provider": str,
    "inputs": dict,
    "outputs": dict,
    "dependencies": list,
    "property_dependencies": dict,
    "protect": bool,
    "retain_on_delete": bool,
    "delete_before_replace": bool,
    "ignore_changes": list,
    "replace_on_changes": list,
    "delete": bool,
}
_REQUIRED_RESOURCE_FIELDS = ("urn", "type", "custom")
_PENDING_FIELDS: dict[str, type] = {"urn": str, "type": str, "operation": str, "id": str, "started_at": str}


def check_body(document: dict, project: str, stack: str) -> tuple[list[dict], list[dict], dict]:
    """The resources, pending operations and last run, each checked for shape."""
    resources = document.get("resources", [])
    if not isinstance(resources, list):
        raise DamagedState(f"'resources' is {_kind(resources)}, not a list")
    for index, resource in enumerate(resources):
        where = f"resources[{index}]"
        _check_record(resource, where, _RESOURCE_FIELDS, _REQUIRED_RESOURCE_FIELDS)
        _check_urn(resource["urn"], f"{where}.urn", project, stack)
        for key in ("dependencies", "ignore_changes", "replace_on_changes"):
            _strings(resource.get(key, []), f"{where}.{key}")
        for key, urns in resource.get("property_dependencies", {}).items():
            if not isinstance(urns, list):
                raise DamagedState(f"'{where}.property_dependencies.{key}' is {_kind(urns)}, not a list")
            _strings(urns, f"{where}.property_dependencies.{key}")
    pending = document.get("pending_operations", [])
    if not isinstance(pending, list):
        raise DamagedState(f"'pending_operations' is {_kind(pending)}, not a list")
    for index, operation in enumerate(pending):
        where = f"pending_operations[{index}]"
        _check_record(operation, where, _PENDING_FIELDS, ("urn", "type", "operation"))
        _check_urn(operation["urn"], f"{where}.urn", project, stack)
        if operation["operation"] not in PENDING_OPERATIONS:
            raise DamagedState(
                f"'{where}.operation' is {operation['operation']!r}; expected one of {PENDING_OPERATIONS}"
            )
    last_run = document.get("last_run") or {}
    if not isinstance(last_run, dict):
        raise DamagedState(f"'last_run' is {_kind(last_run)}, not an object")
    return resources, pending, last_run


def check_history(document: dict) -> list[dict]:
    """The operations that wrote the state, oldest first (none in a file written before the history was
    kept); each entry is an object with a ``kind``, the rest is only shown."""
    history = document.get("history", [])
    if not isinstance(history, list):
        raise DamagedState(f"'history' is {_kind(history)}, not a list")
    for index, entry in enumerate(history):
        _check_record(entry, f"history[{index}]", {"kind": str, "update": int, "serial": int}, ("kind",))
    return history


def open_secrets(resource: dict, index: int, box: SecretBox) -> tuple[Any, Any]:
    """The resource's inputs and outputs with every ciphertext decrypted (and so authenticated)."""
    opened = []
    for key in ("inputs", "outputs"):
        try:
            opened.append(box.open(resource.get(key, {})))
        except ValueError as exc:
            raise DamagedState(f"'resources[{index}].{key}' of {resource['urn']}: {exc}") from None
    return opened[0], opened[1]


def _check_record(record: Any, where: str, fields: dict[str, type], required: tuple[str, ...]) -> None:
    if not isinstance(record, dict):
        raise DamagedState(f"'{where}' is {_kind(record)}, not an object")
    for key in required:
        if key not in record:
            raise DamagedState(f"'{where}' has no '{key}'")
    for key, expected in fields.items():
        if key in record and not isinstance(record[key], expected):
            raise DamagedState(f"'{where}.{key}' is {_kind(record[key])}, not {expected.__name__}")


def _check_urn(text: str, where: str, project: str, stack: str) -> None:
    try:
        urn = URN.parse(text)
    except ValueError as exc:
        raise DamagedState(f"'{where}': {exc}") from None
    if (urn.stack, urn.project) != (stack, project):
        raise DamagedState(f"'{where}' names stack '{urn.stack}' of project '{urn.project}'")


def _strings(values: list, where: str) -> None:
    for value in values:
        if not isinstance(value, str):
            raise DamagedState(f"'{where}' holds {_kind(value)}, not only strings")


def _expect(record: dict, key: str, expected: type, prefix: str = "") -> Any:
    if key not in record:
        raise DamagedState(f"'{prefix}{key}' is missing")
    if not isinstance(record[key], expected) or isinstance(record[key], bool) is not (expected is bool):
        raise DamagedState(f"'{prefix}{key}' is {_kind(record[key])}, not {expected.__name__}")
    return record[key]


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return names.get(type(value), type(value).__name__)
