"""The ``EncryptionConfiguration`` file (DOMAIN §7.2) for each phase of a transition (§7.3).

A transition brings a *target* entry into a configuration (*base*, writer first): a new key (enable, rotate), a
new provider (switch), or identity (disable). Its configuration per phase:

* phases 1-2 (stage, reload): the target second, so every API server can read what it will write;
* phases 3-5 (promote, reload, rewrite): the target first, the old entries after it, still readable;
* phase 6 (prune) and after: the target and identity only, once phase 5 rewrote every object; without the
  rewrite (``reencrypt_existing`` false) the old entries stay, because data may still be encrypted with them.

The provider list ends with identity (data written before encryption stays readable) unless identity leads.
"""

from __future__ import annotations

import hashlib

import yaml

from .entries import IDENTITY, Entry

API_VERSION = "apiserver.config.k8s.io/v1"
HEADER = "# Written by fleetform (idc encryption). Do not edit: keys are rotated by `fleetform up`.\n"


def layout(base: tuple[Entry, ...], target: Entry, phase: int, rewritten: bool) -> list[Entry]:
    others = [
        entry for entry in base or (IDENTITY,) if entry != target and not (target.is_identity and entry.is_identity)
    ]
    if phase <= 2:
        return [others[0], target, *others[1:]]
    if phase <= 5 or not rewritten:
        return [target, *others]
    return [target] if target.is_identity else [target, IDENTITY]


def render(entries: list[Entry], resources: tuple[str, ...]) -> str:
    """The file's text; consecutive keys of one provider share its ``keys`` list, in order."""
    providers: list[dict] = []
    for entry in entries:
        if entry.is_identity:
            providers.append({"identity": {}})
        elif entry.provider == "kms":
            plugin = {"apiVersion": "v2", "name": entry.name, "endpoint": entry.endpoint}
            providers.append({"kms": {**plugin, "timeout": f"{entry.timeout_seconds}s"}})
        else:
            key = {"name": entry.name, "secret": entry.secret}
            if providers and entry.provider in providers[-1]:
                providers[-1][entry.provider]["keys"].append(key)
            else:
                providers.append({entry.provider: {"keys": [key]}})
    document = {
        "apiVersion": API_VERSION,
        "kind": "EncryptionConfiguration",
        "resources": [{"resources": list(resources), "providers": providers}],
    }
    return HEADER + yaml.safe_dump(document, sort_keys=False)


def digest(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()
