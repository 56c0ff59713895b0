"""A cluster deleted in its (emulated) cloud: drift in `refresh --preview-only`, and a clear failure
of that cluster alone in `preview`."""

from __future__ import annotations

import importlib

import pytest

from sandbox.kubeapi import KubeApiEmulator
from sandbox.world import CLOUD_EMULATORS


def delete_in_cloud(world_dir, kind: str, identity: dict) -> None:
    module, name, keys = CLOUD_EMULATORS[kind]
    kube = KubeApiEmulator(world_dir / "kubeapi")
    cloud = getattr(importlib.import_module(module), name)(kube, world_dir / kind)
    cloud.remove_cluster(**{key: identity[key] for key in keys})
    kube.flush()
    kube.stop()


@pytest.mark.parametrize("cluster", ["tke-gz-01"])
def test_a_cluster_deleted_in_its_cloud(sandbox_project, cluster):
    assert sandbox_project.cli("up", "--yes").code == 0
    declared = {c["name"]: c for c in sandbox_project.config()["config"]["fleetform:clusters"]}
    delete_in_cloud(sandbox_project.world_dir, declared[cluster]["kind"], declared[cluster])

    drift = sandbox_project.cli("refresh", "--preview-only", "--json").json()
    ops = {s["urn"].rsplit("::", 1)[-1]: s["op"] for s in drift["steps"]}
    assert ops[f"{cluster}-lookup"] == "delete"
    others = [s for s in drift["steps"] if s["op"] != "same" and not s["urn"].rsplit("::", 1)[-1].startswith(cluster)]
    assert [s["urn"] for s in others if s["status"] != "failed"] == []  # nothing else drifted

    preview = sandbox_project.cli("preview", "--json")
    assert preview.code == 1
    failed = [s for s in preview.json()["steps"] if s["status"] == "failed"]
    assert [s["urn"].rsplit("::", 1)[-1] for s in failed] == [f"{cluster}-lookup"]
    assert "FF-REG-003" in failed[0]["error"] and declared[cluster].get("cluster_id", cluster) in failed[0]["error"]
