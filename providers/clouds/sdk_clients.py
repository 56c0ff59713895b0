"""Cloud SDK clients kept for the process, one per configuration, shared by every thread.

Building a client is the dear part of a cloud call: botocore re-reads its endpoint data for every
session, google-auth parses a service-account key, azure-identity asks Entra for a token. The
sources (frozen dataclasses that get pickled) hold identifiers only; their clients live here, in
the process, under a key of the cloud, the settings that shape the client (region, endpoint,
role, ...) and a fingerprint of the environment variables that cloud's credential chain reads. A
user who exports new keys, or a test that removes them, so gets a new client and never the old
identity. (Files the chains read, such as ``~/.aws/credentials``, are read when a client is made.)

Values with an expiry pass ``fresh``, e.g. ``lambda kept: lasts(kept.expiration)``, and are made
anew before they expire.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Hashable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from requests import Session
from requests.adapters import HTTPAdapter

from kubeclient.memo import Memo

V = TypeVar("V")

RENEW_BEFORE = timedelta(minutes=5)  # credentials with less time left than this are renewed
# Connections one shared client keeps per host. Each concurrent call holds one, and a run makes up to
# --parallel calls at once, often to one regional endpoint; the SDKs' default of 10 made urllib3 discard
# ("Connection pool is full") and reopen connections above that. Connections are opened only as needed.
POOL_CONNECTIONS = 64

_clients: Memo = Memo()


def client(
    cloud: str,
    settings: Hashable,
    variables: tuple[str, ...],
    make: Callable[[], V],
    fresh: Callable[[V], bool] = lambda _value: True,
) -> V:
    """The value ``make`` builds for ``cloud`` with ``settings``, kept while ``fresh`` says so and the
    environment variables whose names start with one of ``variables`` stay as they are."""
    return _clients.get((cloud, settings, environment(variables)), make, fresh)


def widen_pool(session: Session, **adapter_options) -> Session:
    """``session`` (a requests session an SDK uses) keeping :data:`POOL_CONNECTIONS` connections per host;
    ``adapter_options`` go to its adapter as the SDK would set them. Only requests' plain adapters are
    replaced: one the SDK mounted itself (e.g. google-auth's client-certificate adapter) stays."""
    adapter = HTTPAdapter(pool_maxsize=POOL_CONNECTIONS, **adapter_options)
    for prefix in ("http://", "https://"):
        if type(session.get_adapter(prefix)) is HTTPAdapter:
            session.mount(prefix, adapter)
    return session


def environment(variables: tuple[str, ...]) -> str:
    """A fingerprint of the environment variables whose names start with one of ``variables``
    (a digest, so that keys do not hold secrets)."""
    chosen = sorted((name, value) for name, value in os.environ.items() if name.startswith(variables))
    return hashlib.sha256(repr(chosen).encode()).hexdigest()


def lasts(expiration: datetime) -> bool:
    """Whether credentials that expire at ``expiration`` (timezone-aware) have more than
    :data:`RENEW_BEFORE` left."""
    return expiration - datetime.now(UTC) > RENEW_BEFORE


def clear() -> None:
    """Forget every client (tests that start as a new process would)."""
    _clients.clear()
