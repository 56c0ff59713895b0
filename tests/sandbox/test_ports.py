"""Sandbox worlds never take each other's loopback ports (sandbox/ports.py)."""

from __future__ import annotations

import socket

import pytest

from sandbox.kubeapi import KubeApiEmulator
from sandbox.ports import PortClaims, bind_claimed


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
    first.stop()  # the port is free for the OS now ...
    real_bind = socket.socket.bind
    handed_out = []

    def bind_offering_the_held_port_first(sock, address):
        if address[1] == 0 and not handed_out:  # ... and the OS offers it to the next bind(0)
            handed_out.append(held)
            return real_bind(sock, (address[0], held))
        return real_bind(sock, address)

    monkeypatch.setattr(socket.socket, "bind", bind_offering_the_held_port_first)
    second = KubeApiEmulator(tmp_path / "second")
    try:
        newcomer = second.add_cluster("newcomer").port
        assert handed_out == [held]  # the OS did offer it ...
        assert newcomer != held  # ... and it was given back
    finally:
        second.stop()
