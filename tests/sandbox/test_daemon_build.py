"""A long-running sandbox started by another build of the code is restarted by the next run that attaches,
and one of the same build is reused (overlapping runs of one build never restart each other's sandbox)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from sandbox import client


def alive(pid: int) -> bool:
    """Running (a sandbox started from this process stays a zombie until it is reaped: that counts as ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def data_dir(tmp_path):
    yield tmp_path / "sandbox"
    client.stop(tmp_path / "sandbox")


def test_a_sandbox_of_another_build_is_restarted_and_one_of_this_build_reused(data_dir, monkeypatch, capfd):
    first = client.start(data_dir, "hub-build")
    assert first["build"] == client.build_id()
    assert client.start(data_dir, "hub-build")["pid"] == first["pid"]  # same build: attached, not restarted
    assert client.stop(data_dir, unless_build=first["build"]) is None
    assert client.status(data_dir)["pid"] == first["pid"]

    monkeypatch.setattr(client, "build_id", lambda: "an-upgraded-build")
    second = client.start(data_dir, "hub-build")

    assert second["pid"] != first["pid"]
    assert "runs another build of fleetform; restarting it" in capfd.readouterr().err
    deadline = time.monotonic() + 30
    while alive(first["pid"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(first["pid"])
