"""Who a request is from, and the static bearer tokens a cluster accepts.

Static users stand for the credentials a cloud hands out (an admin token per cluster, temporary
user tokens); each maps an opaque token to a user name and groups, as a kube-apiserver token
file does. ``system:masters`` members pass every authorization check.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field

MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"


@dataclass(frozen=True)
class UserInfo:
    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_master(self) -> bool:
        return MASTERS in self.groups


class StaticUsers:
    def __init__(self, entries: dict | None = None):
        self._lock = threading.Lock()
        self._by_token: dict[str, UserInfo] = {}
        for token, entry in (entries or {}).items():
            self._by_token[token] = UserInfo(entry["name"], tuple(entry.get("groups", ())))

    def add(self, name: str, groups=(), token: str | None = None) -> str:
        token = token or secrets.token_urlsafe(32)
        with self._lock:
            self._by_token[token] = UserInfo(name, tuple(groups) + (AUTHENTICATED,))
        return token

    def revoke(self, token: str) -> None:
        with self._lock:
            self._by_token.pop(token, None)

    def remove(self, name: str) -> None:
        with self._lock:
            for token in [t for t, u in self._by_token.items() if u.name == name]:
                del self._by_token[token]

    def lookup(self, token: str) -> UserInfo | None:
        with self._lock:
            return self._by_token.get(token)

    def token_for(self, name: str) -> str:
        with self._lock:
            for token, user in self._by_token.items():
                if user.name == name:
                    return token
        raise KeyError(f"no static token for user {name!r}")

    def dump(self) -> dict:
        with self._lock:
            return {t: {"name": u.name, "groups": list(u.groups)} for t, u in self._by_token.items()}
