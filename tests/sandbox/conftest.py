"""One Kubernetes emulator per test module (per xdist worker), and a fresh virtual cluster per test, so tests
never see each other's objects."""

from __future__ import annotations

import itertools

import pytest

from sandbox.kubeapi import KubeApiEmulator

_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def server():
    with KubeApiEmulator(seed=7) as emulator:
        yield emulator


@pytest.fixture
def cluster(server):
    c = server.add_cluster(f"vc{next(_numbers)}", version="1.29.4")
    yield c
    server.remove_cluster(c.name)
