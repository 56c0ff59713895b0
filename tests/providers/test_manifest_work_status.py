"""ManifestWorkStatus against the Kubernetes emulator: a ManifestWork CRD on the hub, and the test
writing the status conditions the member's work agent would."""

from __future__ import annotations

import threading

import pytest

from components.ocm import CRDS, MANIFEST_WORK_API
from providers.dynamic import ManifestWorkStatusProvider
from providers.errors import ClusterAccessError, ErrorCode
from sandbox.kubeapi import KubeApiEmulator

API = MANIFEST_WORK_API


@pytest.fixture
def hub():
    with KubeApiEmulator() as emulator:
        hub = emulator.add_cluster("hub", version="1.29.4")
        (work,) = [crd for crd in CRDS if crd.kind == "ManifestWork"]
        hub.objects.create(
            {
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": {"name": work.name},
                "spec": work.spec(),
            }
        )
        hub.objects.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "edge-1"}})
        yield hub


def props(hub, **extra) -> dict:
    return {
        "cluster": "edge-1",
        "work": "fleetform-bootstrap",
        "hub_kubeconfig": hub.kubeconfig(),
        "manifests_hash": "sha256:aaa",
        "timeout_seconds": 10,
        "wait": True,
        **extra,
    }


def deliver(hub) -> None:
    hub.objects.create(
        {
            "apiVersion": API,
            "kind": "ManifestWork",
            "metadata": {"name": "fleetform-bootstrap", "namespace": "edge-1"},
            "spec": {
                "workload": {"manifests": [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ingress"}}]}
            },
        }
    )


def report(hub, **conditions: str) -> None:
    """What the work agent writes: one condition per keyword, e.g. Applied="True"."""
    status = {
        "conditions": [
            {
                "type": kind,
                "status": value,
                "reason": f"{kind}{value}",
                "message": "",
                "lastTransitionTime": "2026-01-01T00:00:00Z",
            }
            for kind, value in conditions.items()
        ]
    }
    hub.objects.patch(API, "ManifestWork", "fleetform-bootstrap", {"status": status}, "edge-1", subresource="status")


def test_without_wait_the_state_is_read_once(hub):
    provider = ManifestWorkStatusProvider()
    missing = provider.create(props(hub, wait=False))
    assert missing.id == "edge-1/fleetform-bootstrap"
    assert (missing.outs["state"], missing.outs["applied"], missing.outs["available"]) == ("pending", False, False)
    assert "not on the hub in namespace edge-1" in missing.outs["state_reason"]
    deliver(hub)
    report(hub, Applied="True")
    assert provider.read(missing.id, missing.outs).outs["state"] == "applied"
    report(hub, Applied="True", Available="False")
    degraded = provider.read(missing.id, missing.outs).outs
    assert (degraded["state"], degraded["applied"], degraded["available"]) == ("degraded", True, False)
    assert degraded["state_reason"].startswith("Applied=True, Available=False (Available: AvailableFalse")


def test_create_waits_for_applied_and_available(hub):
    deliver(hub)
    agent = threading.Timer(1.0, lambda: report(hub, Applied="True", Available="True"))
    agent.start()
    try:
        created = ManifestWorkStatusProvider().create(props(hub))
    finally:
        agent.join()
    outs = created.outs
    assert (outs["state"], outs["applied"], outs["available"]) == ("available", True, True)
    assert outs["state_reason"] == "Applied=True, Available=True" and outs["observed_at"]


def test_a_work_that_never_becomes_available_fails_with_what_was_seen(hub):
    deliver(hub)
    report(hub, Applied="True")
    with pytest.raises(ClusterAccessError) as caught:
        ManifestWorkStatusProvider().create(props(hub, timeout_seconds=1))
    assert caught.value.code is ErrorCode.DLV_WORK_NOT_AVAILABLE
    assert str(caught.value) == (
        "FF-DLV-001 ManifestWork fleetform-bootstrap for cluster 'edge-1' was not applied and available within 1s "
        "(state applied: Applied=True, Available=missing)"
    )


def test_new_content_is_a_change_that_waits_again(hub):
    provider = ManifestWorkStatusProvider()
    deliver(hub)
    report(hub, Applied="True", Available="True")
    created = provider.create(props(hub))
    assert provider.diff(created.id, created.outs, props(hub)).changes is False
    changed = props(hub, manifests_hash="sha256:bbb", timeout_seconds=1)
    assert provider.diff(created.id, created.outs, changed).changes is True
    report(hub, Applied="False")  # the agent has not applied the new content
    with pytest.raises(ClusterAccessError, match=r"state degraded: Applied=False, Available=missing"):
        provider.update(created.id, created.outs, changed)
    report(hub, Applied="True", Available="True")
    assert provider.update(created.id, created.outs, changed).outs["manifests_hash"] == "sha256:bbb"
    assert provider.delete(created.id, created.outs) is None
    assert hub.objects.get(API, "ManifestWork", "fleetform-bootstrap", "edge-1")  # owns nothing: the work stays
