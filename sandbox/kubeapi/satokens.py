"""Service-account tokens: Secret-based (legacy, no expiry) and TokenRequest (bound, expiring).

A legacy token stays valid exactly as long as its Secret still holds it and the ServiceAccount
still exists with the same UID, so deleting either revokes it. A TokenRequest token is valid
until ``exp`` for the API audience while its ServiceAccount exists.
"""

from __future__ import annotations

import base64
import datetime as dt
import time
import uuid

from . import errors
from .signer import Signer
from .store import Store
from .users import AUTHENTICATED, UserInfo

ISSUER = "https://kubernetes.default.svc.cluster.local"
LEGACY_ISSUER = "kubernetes/serviceaccount"
_SA = ("", "serviceaccounts")
_SECRETS = ("", "secrets")
_PREFIX = "kubernetes.io/serviceaccount/"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _user(namespace: str, name: str, uid: str) -> UserInfo:
    return UserInfo(
        f"system:serviceaccount:{namespace}:{name}",
        ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", AUTHENTICATED),
        uid,
    )


class ServiceAccountTokens:
    def __init__(self, signer: Signer, store: Store, ca_pem: str):
        self._signer = signer
        self._store = store
        self._ca_pem = ca_pem

    def secret_data(self, secret: dict, account: dict) -> dict:
        """The ``data`` the token controller writes into a service-account token Secret."""
        ns, name = secret["metadata"]["namespace"], secret["metadata"]["name"]
        token = self._signer.sign(
            {
                "iss": LEGACY_ISSUER,
                _PREFIX + "namespace": ns,
                _PREFIX + "secret.name": name,
                _PREFIX + "service-account.name": account["metadata"]["name"],
                _PREFIX + "service-account.uid": account["metadata"]["uid"],
                "sub": f"system:serviceaccount:{ns}:{account['metadata']['name']}",
            }
        )
        return {"token": _b64(token), "ca.crt": _b64(self._ca_pem), "namespace": _b64(ns)}

    def token_request(self, account: dict, body: dict) -> dict:
        """Answer a TokenRequest for ``account``: the request echoed with ``status.token``."""
        spec = dict((body or {}).get("spec") or {})
        seconds = spec.get("expirationSeconds") or 3600
        name = account["metadata"]["name"]
        if not isinstance(seconds, int) or seconds < 600:
            raise errors.invalid(
                "TokenRequest",
                "authentication.k8s.io",
                name,
                [
                    errors.field_invalid(
                        "spec.expirationSeconds", seconds, "may not specify a duration less than 10 minutes"
                    )
                ],
            )
        spec["expirationSeconds"] = seconds
        spec["audiences"] = spec.get("audiences") or [ISSUER]
        now = int(time.time())
        ns = account["metadata"]["namespace"]
        token = self._signer.sign(
            {
                "aud": spec["audiences"],
                "exp": now + seconds,
                "iat": now,
                "nbf": now,
                "iss": ISSUER,
                "jti": str(uuid.uuid4()),
                "sub": f"system:serviceaccount:{ns}:{name}",
                "kubernetes.io": {"namespace": ns, "serviceaccount": {"name": name, "uid": account["metadata"]["uid"]}},
            }
        )
        expires = dt.datetime.fromtimestamp(now + seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "kind": "TokenRequest",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": name, "namespace": ns, "creationTimestamp": None},
            "spec": spec,
            "status": {"token": token, "expirationTimestamp": expires},
        }

    def authenticate(self, token: str) -> UserInfo | None:
        claims = self._signer.verify(token)
        if claims is None:
            return None
        if claims.get("iss") == LEGACY_ISSUER:
            return self._legacy(token, claims)
        if claims.get("iss") == ISSUER:
            return self._bound(claims)
        return None

    def _account(self, namespace: str, name: str, uid: str) -> dict | None:
        account = self._store.get(_SA, namespace, name)
        return account if account and account["metadata"]["uid"] == uid else None

    def _legacy(self, token: str, claims: dict) -> UserInfo | None:
        ns = claims.get(_PREFIX + "namespace", "")
        secret = self._store.get(_SECRETS, ns, claims.get(_PREFIX + "secret.name", ""))
        stored = ((secret or {}).get("data") or {}).get("token", "")
        if not secret or base64.b64decode(stored).decode(errors="replace") != token:
            return None
        name, uid = claims.get(_PREFIX + "service-account.name", ""), claims.get(_PREFIX + "service-account.uid", "")
        return _user(ns, name, uid) if self._account(ns, name, uid) else None

    def _bound(self, claims: dict) -> UserInfo | None:
        now = time.time()
        if not (claims.get("nbf", 0) <= now < claims.get("exp", 0)) or ISSUER not in claims.get("aud", []):
            return None
        info = claims.get("kubernetes.io") or {}
        ns, account = info.get("namespace", ""), info.get("serviceaccount") or {}
        if not self._account(ns, account.get("name", ""), account.get("uid", "")):
            return None
        return _user(ns, account["name"], account["uid"])
