"""CTyun EOP request signing (AK/SK), as CLOUD-APIS §7.6 describes it.

The gateway signs two headers (the request id and the date) plus the query string and a hash of
the body, with a key derived from the secret key through three chained HMAC-SHA256 steps. Every
step is its own function so that the unit test can show the intermediate values.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import quote

# The CLI sends Beijing wall-clock time; the trailing "Z" is only part of the format.
BEIJING = timezone(timedelta(hours=8))
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
SIGNED_HEADERS = "ctyun-eop-request-id;eop-date"


def eop_date(now: datetime | None = None) -> str:
    """The ``Eop-date`` value: Beijing wall-clock time formatted as ``yyyyMMddTHHmmssZ``."""
    return (now or datetime.now(UTC)).astimezone(BEIJING).strftime(DATE_FORMAT)


def canonical_query(params: dict | None) -> str:
    """Parameters sorted by key, each ``key=value`` percent-encoded (a space becomes ``%20``),
    joined with ``&``. The same string goes on the URL, so what is signed is what is sent."""
    items = sorted((params or {}).items())
    return "&".join(f"{quote(str(key), safe='')}={quote(_text(value), safe='')}" for key, value in items)


def string_to_sign(request_id: str, date: str, query: str, body: bytes) -> str:
    return f"ctyun-eop-request-id:{request_id}\neop-date:{date}\n\n{query}\n{hashlib.sha256(body).hexdigest()}"


def derive_keys(secret_key: str, access_key: str, date: str) -> tuple[bytes, bytes, bytes]:
    """``(kTime, kAk, kDate)``: the secret key HMACs the full date, that result HMACs the access
    key, and that result HMACs the day (the first eight characters of the date)."""
    k_time = _hmac(secret_key.encode(), date)
    k_ak = _hmac(k_time, access_key)
    k_date = _hmac(k_ak, date[:8])
    return k_time, k_ak, k_date


def signature(access_key: str, secret_key: str, request_id: str, date: str, query: str, body: bytes) -> str:
    """Standard Base64 (with padding) of HMAC-SHA256(kDate, string to sign)."""
    k_date = derive_keys(secret_key, access_key, date)[2]
    return base64.b64encode(_hmac(k_date, string_to_sign(request_id, date, query, body))).decode()


def authorization(access_key: str, signature_b64: str) -> str:
    return f"{access_key} Headers={SIGNED_HEADERS} Signature={signature_b64}"


def signed_headers(
    access_key: str,
    secret_key: str,
    query: str,
    body: bytes = b"",
    *,
    request_id: str | None = None,
    date: str | None = None,
) -> dict[str, str]:
    """The headers that authenticate one request (the caller adds ``regionId``, which is not signed)."""
    request_id = request_id or str(uuid.uuid4())
    date = date or eop_date()
    return {
        "ctyun-eop-request-id": request_id,
        "Eop-date": date,
        "Eop-Authorization": authorization(
            access_key, signature(access_key, secret_key, request_id, date, query, body)
        ),
        "Content-Type": "application/json",
    }


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def _text(value) -> str:
    if isinstance(value, bool):  # the API spells booleans in lower case
        return "true" if value else "false"
    return str(value)
