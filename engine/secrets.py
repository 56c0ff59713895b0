"""Secret values: encryption at rest and masking in output.

Secret values travel through the SDK as maps tagged with the SDK's secret signature. In the state
file each one is replaced by ``{sig: secret, "ciphertext": "v1:<nonce>:<data>"}`` (AES-256-GCM), with
the key derived from the stack passphrase by scrypt and a per-stack random salt kept in the state
header. A check value encrypted under the key lets a wrong passphrase fail loudly instead of
producing garbage.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import threading
from collections.abc import Callable
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from .errors import InvalidInputError, StateError

SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
MASK = "[secret]"

PASSPHRASE_ENV = "FLEETFORM_PASSPHRASE"
# The `sandbox` stack holds only emulator credentials; it uses this documented local passphrase so
# that a fresh clone runs without set-up (FLEETFORM_PASSPHRASE does not apply to it). Every other
# stack must be given FLEETFORM_PASSPHRASE.
SANDBOX_STACK = "sandbox"
SANDBOX_PASSPHRASE = "fleetform-sandbox-local-passphrase"

_CHECK_PLAINTEXT = "fleetform"


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SIG_KEY) == SECRET_SIG


def wrap_secret(value: Any) -> dict:
    return {SIG_KEY: SECRET_SIG, "value": value}


_KEEP = object()


def transform(value: Any, leaf: Callable[[Any], Any]) -> Any:
    """Rebuild a property tree, replacing each node for which ``leaf`` returns something other
    than ``_KEEP`` (and not descending into it)."""
    replaced = leaf(value)
    if replaced is not _KEEP:
        return replaced
    if isinstance(value, dict):
        return {k: transform(v, leaf) for k, v in value.items()}
    if isinstance(value, list):
        return [transform(v, leaf) for v in value]
    return value


def unwrap_secrets(value: Any) -> Any:
    """The value with every secret wrapper replaced by its plain content (for provider calls)."""
    return transform(value, lambda v: unwrap_secrets(v.get("value")) if is_secret(v) else _KEEP)


def mask_secrets(value: Any) -> Any:
    """The value for display: every secret replaced by ``[secret]``, every unknown by ``[unknown]``."""
    return transform(value, lambda v: MASK if is_secret(v) else "[unknown]" if v == UNKNOWN else _KEEP)


def seal_with(value: Any, encrypt: Callable[[Any], str]) -> Any:
    """The value with every secret wrapper's content replaced by ``encrypt(content)`` (a ciphertext)."""
    return transform(
        value, lambda v: {SIG_KEY: SECRET_SIG, "ciphertext": encrypt(v.get("value"))} if is_secret(v) else _KEEP
    )


def open_with(value: Any, decrypt: Callable[[dict], Any]) -> Any:
    """The value with every sealed secret envelope replaced by a wrapper of ``decrypt(envelope)``."""
    return transform(
        value,
        lambda v: wrap_secret(decrypt(v)) if is_secret(v) and ("ciphertext" in v or "plaintext" in v) else _KEEP,
    )


def passphrase_for(stack: str) -> str:
    """The stack's passphrase. ``sandbox`` always uses its documented one, even when
    FLEETFORM_PASSPHRASE is exported for the other stacks (else it would lock the sandbox out)."""
    if stack == SANDBOX_STACK:
        return SANDBOX_PASSPHRASE
    passphrase = os.environ.get(PASSPHRASE_ENV)
    if passphrase:
        return passphrase
    raise InvalidInputError(
        f"stack '{stack}' needs a passphrase to encrypt its secrets: set {PASSPHRASE_ENV} "
        f"(the same value on every run of this stack; keep it in your CI secret store)"
    )


class SecretBox:
    """Encrypts and decrypts secret values of one stack.

    Ciphertexts of identical plaintexts are cached within a process, so a value shared by many
    resources (a dynamic provider's pickle) is encrypted once; that reveals only that two
    ciphertexts hold the same value.
    """

    def __init__(self, passphrase: str, salt: bytes | None = None):
        self.salt = salt if salt is not None else os.urandom(16)
        kdf = Scrypt(salt=self.salt, length=32, n=2**14, r=8, p=1)
        key = kdf.derive(passphrase.encode())
        self._aead = AESGCM(key)
        self._mac_key = hmac.digest(key, b"fleetform state integrity", "sha256")
        self._cache: dict[str, str] = {}
        self._lock = threading.Lock()

    # -- header --------------------------------------------------------------------------------
    def header(self) -> dict:
        return {
            "kdf": "scrypt-n16384-r8-p1",
            "cipher": "aes-256-gcm",
            "salt": base64.b64encode(self.salt).decode(),
            "check": self._encrypt_text(_CHECK_PLAINTEXT),
        }

    @classmethod
    def from_header(cls, passphrase: str, header: dict, stack: str) -> SecretBox:
        """The box of a state's ``secrets`` header (already checked for shape by the caller)."""
        box = cls(passphrase, base64.b64decode(header["salt"], validate=True))
        try:
            ok = box._decrypt_text(header["check"]) == _CHECK_PLAINTEXT
        except (InvalidTag, ValueError, binascii.Error):
            ok = False
        if not ok:
            raise StateError(
                f"the passphrase does not open the state of stack '{stack}' (or its secrets header is "
                f"damaged): set {PASSPHRASE_ENV} to the passphrase this stack was created with"
            )
        return box

    def mac(self, data: bytes) -> str:
        """An HMAC-SHA256 of ``data`` under a key derived from the stack's key (the state's seal)."""
        return hmac.new(self._mac_key, data, hashlib.sha256).hexdigest()

    # -- values --------------------------------------------------------------------------------
    def _encrypt_text(self, text: str) -> str:
        nonce = os.urandom(12)
        data = self._aead.encrypt(nonce, text.encode(), None)
        return "v1:" + base64.b64encode(nonce).decode() + ":" + base64.b64encode(data).decode()

    def _decrypt_text(self, token: str) -> str:
        version, nonce, data = token.split(":")
        if version != "v1":
            raise ValueError(f"unknown ciphertext version {version}")
        return self._aead.decrypt(base64.b64decode(nonce), base64.b64decode(data), None).decode()

    def encrypt_value(self, value: Any) -> str:
        plain = json.dumps(value, sort_keys=True, separators=(",", ":"))
        with self._lock:
            cached = self._cache.get(plain)
        if cached is None:
            cached = self._encrypt_text(plain)
            with self._lock:
                self._cache[plain] = cached
        return cached

    def seal(self, value: Any) -> Any:
        """The value with every secret wrapper's content encrypted (for storage)."""
        return seal_with(value, self.encrypt_value)

    def open(self, value: Any) -> Any:
        """Inverse of :meth:`seal`; raises ValueError when a ciphertext does not authenticate."""
        return transform(
            value, lambda v: self._open_one(v["ciphertext"]) if is_secret(v) and "ciphertext" in v else _KEEP
        )

    def _open_one(self, ciphertext: Any) -> dict:
        try:
            plain = self._decrypt_text(ciphertext)
            value = json.loads(plain)
        except (InvalidTag, ValueError, TypeError, AttributeError, binascii.Error) as exc:
            raise ValueError("a secret's ciphertext does not authenticate (it was altered or damaged)") from exc
        with self._lock:
            self._cache[plain] = ciphertext
        return wrap_secret(value)
