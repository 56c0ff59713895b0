"""One provider entry of an ``EncryptionConfiguration``: a named key of aesgcm, aescbc or secretbox, a KMS v2
plugin, or identity, and the prefix a value written with it carries in etcd.

Key material is made here, with the operating system's CSPRNG, and leaves only as a Pulumi secret and in the
files on the control-plane hosts; ``repr`` never shows it.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import asdict, dataclass, field

KEY_BYTES = 32  # aesgcm, aescbc and secretbox all take 32-byte keys


@dataclass(frozen=True)
class Entry:
    provider: str  # identity | aesgcm | aescbc | secretbox | kms
    name: str  # key-<revision>, the KMS plugin's name, or "identity"
    secret: str = field(default="", repr=False)  # base64 key material
    endpoint: str = ""  # kms: unix:///...sock
    timeout_seconds: int = 0  # kms

    @property
    def is_identity(self) -> bool:
        return self.provider == "identity"

    @property
    def prefix(self) -> str:
        """What a value written with this entry starts with in etcd ("" for identity: the plain object)."""
        if self.is_identity:
            return ""
        version = "v2" if self.provider == "kms" else "v1"
        return f"k8s:enc:{self.provider}:{version}:{self.name}:"

    def to_dict(self) -> dict:
        return {key: value for key, value in asdict(self).items() if value not in ("", 0)}

    @classmethod
    def from_dict(cls, data: dict) -> Entry:
        return cls(**data)


IDENTITY = Entry("identity", "identity")


def new_entry(provider: str, revision: int, kms: dict | None) -> Entry:
    """The entry a new write key of ``provider`` gets: ``key-<revision>`` with fresh material, or the KMS plugin."""
    if provider == "kms":
        assert kms is not None
        return Entry("kms", kms["name"], endpoint=kms["endpoint"], timeout_seconds=int(kms["timeout_seconds"]))
    return Entry(provider, f"key-{revision}", base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode())
