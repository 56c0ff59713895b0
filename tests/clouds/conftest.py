"""Fixtures every cloud-kind test module uses: the Kubernetes emulator whose virtual clusters back
the emulated clouds' clusters, a cloud emulator's credentials in the environment, and a count of
the SDK clients a test makes."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from providers.clouds import sdk_clients
from sandbox.kubeapi import KubeApiEmulator


@pytest.fixture(scope="module")
def kube_api():
    """One Kubernetes emulator per module (per xdist worker), for tests that give every cluster a
    name of its own."""
    with KubeApiEmulator() as emulator:
        yield emulator


@pytest.fixture
def fresh_kube_api():
    """A Kubernetes emulator of the test's own, for tests that reuse cluster names."""
    with KubeApiEmulator() as emulator:
        yield emulator


@pytest.fixture
def cloud_env(monkeypatch):
    """``cloud_env(emulator)`` puts the emulator's credentials-chain environment in place for this
    test only, and returns the emulator."""

    def export(emulator):
        for name, value in emulator.environment().items():
            monkeypatch.setenv(name, value)
        return emulator

    return export


@pytest.fixture
def counted(monkeypatch):
    """``counted(owner, name)`` replaces ``owner.name`` (an SDK class or factory) for this test with
    a wrapper that lists what it makes, and returns that list. The process's shared SDK clients
    are forgotten first, so that the test sees every client it needs being made."""
    sdk_clients.clear()

    def count(owner, name: str) -> list:
        made = []
        original = getattr(owner, name)

        def making(*args, **kwargs):
            made.append(original(*args, **kwargs))
            return made[-1]

        monkeypatch.setattr(owner, name, making)
        return made

    return count


@pytest.fixture
def describe_concurrently(caplog):
    """``describe_concurrently(sources)`` describes every source at once (a thread each, released
    together, as a run's ``--parallel`` calls are) through a shared client made for it, and returns
    their states. It fails the test when urllib3 discarded a connection because that client's pool
    was full."""

    def describe_all(sources: list) -> list[str]:
        sdk_clients.clear()
        barrier = threading.Barrier(len(sources))

        def describe(source) -> str:
            barrier.wait()
            return source.describe().state

        with caplog.at_level(logging.WARNING, logger="urllib3"), ThreadPoolExecutor(len(sources)) as pool:
            states = list(pool.map(describe, sources))
        assert [r.getMessage() for r in caplog.records if "pool is full" in r.getMessage()] == []
        return states

    return describe_all


@pytest.fixture
def clusters_added():
    """``with clusters_added(cloud, scope, ids):`` the clusters ``ids`` exist in ``cloud`` in ``scope`` (its
    region or resource pool) for the block and are removed after it, whatever happens: the emulator
    serves the whole module, whose other tests list its clusters."""

    @contextlib.contextmanager
    def added(cloud, scope: str, ids: list[str]) -> Iterator[None]:
        for cid in ids:
            cloud.add_cluster(scope, cid)
        try:
            yield
        finally:
            for cid in ids:
                cloud.remove_cluster(scope, cid)

    return added
