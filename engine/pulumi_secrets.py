"""Pulumi's ``passphrase`` secrets provider, for stack export and import.

A Pulumi deployment carries its secrets provider's state, ``{"salt": "v1:<salt>:<check>"}``: an 8-byte
salt (base64) and the text ``pulumi`` encrypted under the key, so a wrong passphrase is detected.
The key is PBKDF2-HMAC-SHA256 of the passphrase, 1,000,000 iterations, 32 bytes; each value is
AES-256-GCM with a 12-byte nonce, written ``v1:<nonce>:<ciphertext>`` (base64), its plaintext the
value's JSON: what the Pulumi CLI reads and writes with the same passphrase in
``PULUMI_CONFIG_PASSPHRASE`` (tests open a provider state Pulumi made; no Pulumi CLI runs here).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PROVIDER_TYPE = "passphrase"
_ITERATIONS = 1_000_000
_CHECK = "pulumi"


class PulumiCrypter:
    def __init__(self, passphrase: str, salt: bytes):
        self.salt = salt
        self._aead = AESGCM(hashlib.pbkdf2_hmac("sha256", passphrase.encode(), salt, _ITERATIONS, 32))

    @classmethod
    def new(cls, passphrase: str) -> PulumiCrypter:
        return cls(passphrase, os.urandom(8))

    @classmethod
    def from_state(cls, passphrase: str, state: Any) -> PulumiCrypter:
        """The crypter of a ``secrets_providers.state``; ValueError if malformed or the passphrase is wrong."""
        salt_text = state.get("salt") if isinstance(state, dict) else None
        parts = salt_text.split(":", 2) if isinstance(salt_text, str) else []
        if len(parts) != 3 or parts[0] != "v1":
            raise ValueError("'secrets_providers.state.salt' is not of the form v1:<salt>:<check>")
        try:
            crypter = cls(passphrase, base64.b64decode(parts[1], validate=True))
        except binascii.Error:
            raise ValueError("'secrets_providers.state.salt' holds a salt that is not base64") from None
        try:
            opened = crypter.decrypt(parts[2]) == _CHECK
        except ValueError:
            opened = False
        if not opened:
            raise ValueError("the passphrase does not open its secrets")
        return crypter

    def state(self) -> dict:
        return {"salt": f"v1:{base64.b64encode(self.salt).decode()}:{self.encrypt(_CHECK)}"}

    def encrypt(self, plaintext: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), None)
        return f"v1:{base64.b64encode(nonce).decode()}:{base64.b64encode(sealed).decode()}"

    def decrypt(self, ciphertext: str) -> str:
        """The plaintext; ValueError if it is malformed or does not authenticate under this key."""
        parts = ciphertext.split(":") if isinstance(ciphertext, str) else []
        if len(parts) != 3 or parts[0] != "v1":
            raise ValueError("a ciphertext is not of the form v1:<nonce>:<data>")
        try:
            return self._aead.decrypt(base64.b64decode(parts[1]), base64.b64decode(parts[2]), None).decode()
        except (InvalidTag, binascii.Error, ValueError):
            raise ValueError(
                "a secret's ciphertext does not open with this passphrase (altered, or another key)"
            ) from None

    def encrypt_value(self, value: Any) -> str:
        return self.encrypt(json.dumps(value, sort_keys=True, separators=(",", ":")))
