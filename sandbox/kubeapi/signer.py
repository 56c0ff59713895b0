"""Compact JWS tokens signed with the cluster's service-account key (ES256, P-256), through PyJWT."""

from __future__ import annotations

import base64
import hashlib

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

# The caller judges expiry, audience and the rest of the claims; the signer only vouches for the signature.
_SIGNATURE_ONLY = {"verify_signature": True, "verify_exp": False, "verify_nbf": False, "verify_iat": False}
_SIGNATURE_ONLY |= {"verify_aud": False, "verify_iss": False, "verify_sub": False, "verify_jti": False}


class Signer:
    def __init__(self, key: ec.EllipticCurvePrivateKey):
        self._key = key
        public = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.key_id = base64.urlsafe_b64encode(hashlib.sha256(public).digest()).rstrip(b"=").decode()

    def sign(self, claims: dict) -> str:
        return jwt.encode(claims, self._key, algorithm="ES256", headers={"kid": self.key_id})

    def verify(self, token: str) -> dict | None:
        """The claims of a token this signer issued, or None."""
        try:
            if jwt.get_unverified_header(token).get("kid") != self.key_id:
                return None
            claims = jwt.decode(token, self._key.public_key(), algorithms=["ES256"], options=_SIGNATURE_ONLY)
        except jwt.PyJWTError:
            return None
        return claims if isinstance(claims, dict) else None
