"""What a kube-apiserver stores in etcd for an object, under the ``EncryptionConfiguration`` it started with.

The configuration file is parsed as the API server does at start (``apiserver.config.k8s.io/v1``): per group of
resources an ordered provider list, whose first provider encrypts every write and all of which are tried on
reads. A stored value starts with the prefix of the provider that wrote it, as upstream:

* ``identity``: the object itself (upstream stores protobuf for built-in kinds; JSON here keeps it readable);
* ``aesgcm``: ``k8s:enc:aesgcm:v1:<key>:`` + 12-byte nonce + AES-GCM with the etcd key as additional data;
* ``aescbc``: ``k8s:enc:aescbc:v1:<key>:`` + 16-byte IV + AES-CBC with PKCS#7 padding;
* ``secretbox`` and ``kms`` v2: their prefix (``k8s:enc:secretbox:v1:<key>:``, ``k8s:enc:kms:v2:<name>:``) and an
  opaque random body: no XSalsa20-Poly1305 and no KMS plugin here, so only the prefix is faithful.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field

import yaml
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

API_VERSION = "apiserver.config.k8s.io/v1"
ENCRYPTED = b"k8s:enc:"
_KEY_SIZES = {"aesgcm": (16, 24, 32), "aescbc": (16, 24, 32), "secretbox": (32,)}


@dataclass(frozen=True)
class Provider:
    """One provider entry of a configuration; the keyed ones are one per key, in the file's order."""

    kind: str  # identity | aesgcm | aescbc | secretbox | kms
    name: str = ""  # the key's name (kms: the plugin's name)
    secret: bytes = field(default=b"", repr=False)

    @property
    def prefix(self) -> bytes:
        if self.kind == "identity":
            return b""
        version = "v2" if self.kind == "kms" else "v1"
        return f"k8s:enc:{self.kind}:{version}:{self.name}:".encode()

    def seal(self, plaintext: bytes, etcd_key: str) -> bytes:
        if self.kind == "identity":
            return plaintext
        if self.kind == "aesgcm":
            nonce = os.urandom(12)
            return self.prefix + nonce + AESGCM(self.secret).encrypt(nonce, plaintext, etcd_key.encode())
        if self.kind == "aescbc":
            iv = os.urandom(16)
            padder = padding.PKCS7(128).padder()
            encryptor = Cipher(algorithms.AES(self.secret), modes.CBC(iv)).encryptor()
            padded = padder.update(plaintext) + padder.finalize()
            return self.prefix + iv + encryptor.update(padded) + encryptor.finalize()
        return self.prefix + os.urandom(len(plaintext) + 40)

    def reads(self, value: bytes) -> bool:
        """Whether this provider can read ``value`` (identity refuses encrypted data, as upstream)."""
        if self.kind == "identity":
            return not value.startswith(ENCRYPTED)
        return value.startswith(self.prefix)


IDENTITY = Provider("identity")


def matches(pattern: str, group: str, plural: str) -> bool:
    """Upstream's resource names: ``secrets`` (core), ``deployments.apps``, ``*.apps``, ``*.`` (core), ``*.*``."""
    name, _, pattern_group = pattern.partition(".")
    if name == "*":
        return pattern_group in ("*", group)
    return name == plural and pattern_group == group


@dataclass(frozen=True)
class ServerConfig:
    """The providers per resource group an API server runs with; resources no rule names are stored plain."""

    rules: tuple[tuple[tuple[str, ...], tuple[Provider, ...]], ...] = ()

    def providers(self, group: str, plural: str) -> tuple[Provider, ...]:
        for patterns, providers in self.rules:
            if any(matches(pattern, group, plural) for pattern in patterns):
                return providers
        return (IDENTITY,)

    def writer(self, group: str, plural: str) -> Provider:
        return self.providers(group, plural)[0]

    def reads(self, group: str, plural: str, value: bytes) -> bool:
        return any(provider.reads(value) for provider in self.providers(group, plural))


def parse_config(text: str) -> ServerConfig:
    """The configuration as the API server loads it; ValueError with the reason it would refuse to start."""
    document = yaml.safe_load(text)
    if not isinstance(document, dict) or document.get("kind") != "EncryptionConfiguration":
        raise ValueError("no kind EncryptionConfiguration in the encryption provider configuration")
    if document.get("apiVersion") != API_VERSION:
        raise ValueError(f"apiVersion {document.get('apiVersion')!r} is not {API_VERSION}")
    rules = []
    for index, entry in enumerate(document.get("resources") or []):
        providers = tuple(p for item in entry.get("providers") or [] for p in _providers(item, index))
        if not entry.get("resources") or not providers:
            raise ValueError(f"resources[{index}] needs resources and providers")
        rules.append((tuple(entry["resources"]), providers))
    return ServerConfig(tuple(rules))


def _providers(item: dict, index: int) -> list[Provider]:
    if not isinstance(item, dict) or len(item) != 1:
        raise ValueError(f"resources[{index}]: each provider entry must name exactly one provider")
    ((kind, settings),) = item.items()
    settings = settings or {}
    if kind == "identity":
        return [IDENTITY]
    if kind == "kms":
        if settings.get("apiVersion") != "v2":
            raise ValueError("KMS v1 is disabled since Kubernetes 1.29; use kms apiVersion v2")
        if not settings.get("name") or not str(settings.get("endpoint", "")).startswith("unix://"):
            raise ValueError(f"resources[{index}]: kms needs a name and a unix:// endpoint")
        return [Provider("kms", settings["name"])]
    if kind not in _KEY_SIZES:
        raise ValueError(f"resources[{index}]: unknown provider {kind!r}")
    keys = settings.get("keys") or []
    if not keys:
        raise ValueError(f"resources[{index}]: {kind} needs at least one key")
    found = []
    for key in keys:
        secret = base64.b64decode(key.get("secret", ""), validate=True)
        if len(secret) not in _KEY_SIZES[kind]:
            raise ValueError(f"resources[{index}]: {kind} key {key.get('name')!r} has {len(secret)} bytes")
        found.append(Provider(kind, key["name"], secret))
    return found
