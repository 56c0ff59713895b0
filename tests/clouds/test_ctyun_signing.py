"""The EOP AK/SK signature against values worked out by hand from the steps of CLOUD-APIS §7.6.

Inputs shared by every case: AK ``AK_EXAMPLE``, SK ``SK_EXAMPLE``, request id
``00000000-0000-4000-8000-000000000000``, date ``20250101T080000Z``. The derived keys were computed
step by step with ``hmac.new(key, msg, sha256)``; the two final signatures are the documented
test vectors that the Terraform provider and the CLI agree on.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from providers.clouds import ctyun_signing as eop

AK, SK = "AK_EXAMPLE", "SK_EXAMPLE"
REQUEST_ID = "00000000-0000-4000-8000-000000000000"
DATE = "20250101T080000Z"

# Step 5, by hand: HMAC(SK, date) -> HMAC(kTime, AK) -> HMAC(kAk, "20250101").
K_TIME = "e53be187193367d72b50bb97901407c97d7eef0428f3393efc71057d26a0242e"
K_AK = "05645196b55d2a9b001c88186485fbc2982dd1fa36a6fc68c0bfde3623839eb5"
K_DATE = "5ac571bb404e4dc4a129141f34dd2cae5f20354c200aea339c38f0993f4096cd"
EMPTY_BODY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_derived_keys_chain_sk_date_ak_day():
    k_time, k_ak, k_date = eop.derive_keys(SK, AK, DATE)
    assert (k_time.hex(), k_ak.hex(), k_date.hex()) == (K_TIME, K_AK, K_DATE)


def test_get_with_query_and_empty_body():
    expected_string = (
        "ctyun-eop-request-id:00000000-0000-4000-8000-000000000000\n"
        "eop-date:20250101T080000Z\n"
        "\n"
        "isPublic=true\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    query = eop.canonical_query({"isPublic": True})
    assert query == "isPublic=true"
    assert eop.string_to_sign(REQUEST_ID, DATE, query, b"") == expected_string
    signature = eop.signature(AK, SK, REQUEST_ID, DATE, query, b"")
    assert signature == "Ugl3coVTge1z8tmBUfiH8VEFYZkbp5Z04wbnVt1HaMg="
    headers = eop.signed_headers(AK, SK, query, b"", request_id=REQUEST_ID, date=DATE)
    assert headers == {
        "ctyun-eop-request-id": REQUEST_ID,
        "Eop-date": DATE,
        "Eop-Authorization": "AK_EXAMPLE Headers=ctyun-eop-request-id;eop-date "
        "Signature=Ugl3coVTge1z8tmBUfiH8VEFYZkbp5Z04wbnVt1HaMg=",
        "Content-Type": "application/json",
    }


def test_body_without_query():
    body = b'{"a":1}'
    body_hash = hashlib.sha256(body).hexdigest()
    assert body_hash == "015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862"
    assert eop.string_to_sign(REQUEST_ID, DATE, "", body) == (
        "ctyun-eop-request-id:00000000-0000-4000-8000-000000000000\n"
        "eop-date:20250101T080000Z\n"
        "\n"
        "\n"  # the empty query still has its line
        "015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862"
    )
    assert eop.signature(AK, SK, REQUEST_ID, DATE, "", body) == "1p7F6o901pohxT0+LDRysYTFgLqJKnjkF20ge9uqZn0="


def test_empty_body_hash_is_the_sha256_of_nothing():
    assert eop.string_to_sign(REQUEST_ID, DATE, "", b"").endswith(EMPTY_BODY_SHA256)


@pytest.mark.parametrize(
    "params, query",
    [
        (None, ""),
        ({}, ""),
        ({"pageSize": 10, "pageNow": 1}, "pageNow=1&pageSize=10"),  # sorted by key
        ({"clusterName": "a b", "isPublic": False}, "clusterName=a%20b&isPublic=false"),  # %20, lower-case booleans
        ({"name": "集群/1"}, "name=%E9%9B%86%E7%BE%A4%2F1"),
    ],
)
def test_canonical_query(params, query):
    assert eop.canonical_query(params) == query


def test_the_signature_depends_on_every_input():
    base = eop.signature(AK, SK, REQUEST_ID, DATE, "isPublic=true", b"")
    assert eop.signature(AK, SK, REQUEST_ID, DATE, "isPublic=false", b"") != base
    assert eop.signature(AK, "other", REQUEST_ID, DATE, "isPublic=true", b"") != base
    assert eop.signature("AK_OTHER", SK, REQUEST_ID, DATE, "isPublic=true", b"") != base
    assert eop.signature(AK, SK, REQUEST_ID, "20250101T080001Z", "isPublic=true", b"") != base
    assert eop.signature(AK, SK, REQUEST_ID, DATE, "isPublic=true", b"{}") != base


def test_date_is_beijing_wall_clock():
    assert eop.eop_date(datetime(2025, 1, 1, 0, 0, 0, tzinfo=UTC)) == DATE


def test_fresh_request_ids_and_dates_by_default():
    first = eop.signed_headers(AK, SK, "")
    second = eop.signed_headers(AK, SK, "")
    assert first["ctyun-eop-request-id"] != second["ctyun-eop-request-id"]
    assert len(first["Eop-date"]) == len(DATE) and first["Eop-date"].endswith("Z")
