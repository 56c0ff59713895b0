"""kubeclient's REST client against a tiny local HTTP server (conftest.py) that throttles and fails on cue."""

from __future__ import annotations

import socket

import pytest

from kubeclient import Kubeconfig, RestClient, Unreachable


def client(url: str, sleeps: list[float]) -> RestClient:
    config = {
        "clusters": [{"name": "c", "cluster": {"server": url}}],
        "users": [{"name": "u", "user": {"token": "abc"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "c",
    }
    return RestClient(Kubeconfig.load(config, "test cluster"), sleep=sleeps.append)


def test_throttling_and_unavailability_wait_as_long_as_retry_after_says(server):
    script, url = server
    script.answers += [(429, {"Retry-After": "2"}), (503, {"Retry-After": "1"})]
    sleeps: list[float] = []
    status, body = client(url, sleeps).request("GET", "/version")
    assert (status, body) == (200, {"gitVersion": "v1.29.4"})
    assert sleeps == [2.0, 1.0]
    assert [path for _, path, _ in script.seen] == ["/version"] * 3
    assert {auth for _, _, auth in script.seen} == {"Bearer abc"}  # the kubeconfig's token, on every try


def test_without_retry_after_the_backoff_doubles_and_the_last_answer_is_returned(server):
    script, url = server
    script.answers += [(500, {}), (502, {}), (504, {})]
    sleeps: list[float] = []
    status, _ = client(url, sleeps).request("GET", "/readyz", attempts=3)
    assert status == 504 and sleeps == [0.2, 0.4] and len(script.seen) == 3


def test_a_huge_retry_after_is_capped_and_client_errors_are_not_retried(server):
    script, url = server
    script.answers += [(429, {"Retry-After": "3600"}), (404, {})]
    sleeps: list[float] = []
    status, body = client(url, sleeps).request("GET", "/api/v1/namespaces/x")
    assert (status, body["code"]) == (404, 404) and sleeps == [30.0] and len(script.seen) == 2


def test_no_answer_at_all_raises_unreachable_after_the_retries():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps: list[float] = []
    with pytest.raises(Unreachable, match=f"test cluster: cannot reach the API server http://127.0.0.1:{port}"):
        client(f"http://127.0.0.1:{port}", sleeps).request("GET", "/version", attempts=3, timeout=2)
    assert sleeps == [0.2, 0.4]
