"""Sandbox worlds keep their loopback ports: never each other's, never ones the OS hands out (sandbox/ports.py)."""

from __future__ import annotations

import random
import socket

import pytest

from sandbox.clouds.tke import TkeEmulator
from sandbox.kubeapi import KubeApiEmulator
from sandbox.ports import EPHEMERAL_RANGE_FILE, PortClaims, bind_claimed, world_ports


@pytest.fixture
def worlds(tmp_path):
    claims_dir = tmp_path / "claims"
    a, b = tmp_path / "world-a", tmp_path / "world-b"
    a.mkdir()
    b.mkdir()
    return PortClaims(a, claims_dir), PortClaims(b, claims_dir)


def test_a_port_claimed_by_a_living_world_is_refused_to_another(worlds):
    a, b = worlds
    assert a.claim(40001) and a.claim(40001)  # claiming again is idempotent
    assert not b.claim(40001)
    assert b.claim(40002) and not a.claim(40002)


def test_the_claim_of_a_deleted_world_is_taken_over(worlds, tmp_path):
    a, b = worlds
    assert a.claim(40003)
    (tmp_path / "world-a").rmdir()
    assert b.claim(40003)
    assert not PortClaims(tmp_path, a.directory).claim(40003)  # b holds it now


def test_bind_claimed_skips_ports_other_worlds_hold(worlds):
    a, b = worlds
    assert a.claim(40010) and a.claim(40011)
    offered = iter([40010, 40011, 40012])
    closed = []
    port = bind_claimed(lambda _: next(offered), lambda p: p, closed.append, b)
    assert port == 40012 and closed == [40010, 40011]


def test_a_new_cluster_never_gets_the_port_of_another_worlds_stopped_cluster(tmp_path, monkeypatch):
    monkeypatch.setattr("sandbox.ports.CLAIMS_DIR", tmp_path / "claims")
    first = KubeApiEmulator(tmp_path / "first")
    held = first.add_cluster("held").port
    first.flush()
    first.stop()  # the port is free for anyone to bind now ...
    drawn = _draws(monkeypatch, [held])  # ... and it is the first one the second world draws
    second = KubeApiEmulator(tmp_path / "second")
    try:
        newcomer = second.add_cluster("newcomer").port
        assert drawn[0] == held  # it was tried ...
        assert newcomer != held  # ... and given back
    finally:
        second.stop()


def test_a_port_something_else_listens_on_is_passed_over(worlds, monkeypatch):
    _, world = worlds
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        taken = other.getsockname()[1]
        drawn = _draws(monkeypatch, [taken])
        server = bind_claimed(_listener, lambda s: s.getsockname()[1], socket.socket.close, world)
    with server:
        assert drawn[0] == taken and server.getsockname()[1] == drawn[1] != taken


@pytest.mark.parametrize(
    ("ephemeral", "expected"),
    [
        ("32768\t60999\n", (10_000, 32_767)),  # Linux's default: the ports below it
        ("1024 60999", (61_000, 65_535)),  # no room below: the ports above
        (None, (10_000, 49_151)),  # the OS does not say: below the IANA range
    ],
)
def test_world_ports_lie_outside_the_ephemeral_range(tmp_path, ephemeral, expected):
    range_file = tmp_path / "ip_local_port_range"
    if ephemeral is not None:
        range_file.write_text(ephemeral)
    assert world_ports(range_file) == expected


def test_an_ephemeral_range_that_leaves_no_room_is_named(tmp_path):
    range_file = tmp_path / "ip_local_port_range"
    range_file.write_text("1024 65000")
    with pytest.raises(OSError, match="1024-65000"):
        world_ports(range_file)


def test_a_worlds_new_ports_are_never_ones_the_os_hands_out(tmp_path, monkeypatch):
    """A port the OS may give to any bind(0) or outgoing connection is lost to the world between runs."""
    monkeypatch.setattr("sandbox.ports.CLAIMS_DIR", tmp_path / "claims")
    first, last = map(int, EPHEMERAL_RANGE_FILE.read_text().split())
    kube = KubeApiEmulator(tmp_path / "world")
    try:
        ports = [kube.add_cluster(f"c{index}").port for index in range(5)]
        with TkeEmulator(kube, tmp_path / "world" / "tke") as cloud:
            ports.append(int(cloud.endpoint.rsplit(":", 1)[1]))
    finally:
        kube.stop()
    assert not [port for port in ports if first <= port <= last], ports


def _listener(port: int) -> socket.socket:
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", port))
        sock.listen()
    except OSError:
        sock.close()
        raise
    return sock


def _draws(monkeypatch, first: list[int]) -> list[int]:
    """Make the world draw ``first`` before random ports; returns every port drawn."""
    queued, drawn = list(first), []

    def draw(low: int, high: int) -> int:
        drawn.append(queued.pop(0) if queued else real(low, high))
        return drawn[-1]

    real = random.randint
    monkeypatch.setattr("sandbox.ports.random.randint", draw)
    return drawn
