"""Fixtures every cloud-kind test module uses: the Kubernetes emulator whose virtual clusters back
the emulated clouds' clusters, and a cloud emulator's credentials in the environment."""

from __future__ import annotations

import pytest

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
