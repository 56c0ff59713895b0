"""Clusters deleted in their (emulated) clouds: drift in `refresh --preview-only`, and a clear
failure of each such cluster alone in `preview`."""

from __future__ import annotations

import json

import pytest

from components.spec import CLUSTER_MODELS
from sandbox.world import CLOUD_EMULATORS


@pytest.fixture(autouse=True)
def _without_day1(sandbox_project):
    sandbox_project.without_day1()  # ingress, storage and encryption have their own tests
    sandbox_project.without_federations()  # so has the federation; here it would only add members to unjoin


def delete_in_cloud(project, kind: str, declared: dict) -> None:
    with project.cloud(kind) as cloud:
        cloud.remove_cluster(**CLUSTER_MODELS[kind].model_validate(declared).identity())


def test_clusters_deleted_in_their_clouds(sandbox_project):
    config = sandbox_project.config()  # one default StorageClass: a dynamic resource inside a cloud cluster
    (ctyun,) = [c for c in config["config"]["fleetform:clusters"] if c["name"] == "ctyun-hd-01"]
    ctyun["bootstrap"] = {"storage": {"parameters": {"type": "SSD"}}}
    sandbox_project.write_config(config)
    assert sandbox_project.cli("up", "--yes").code == 0
    declared = {c["name"]: c for c in sandbox_project.config()["config"]["fleetform:clusters"]}
    gone = sorted(name for name, c in declared.items() if c["kind"] in CLOUD_EMULATORS)
    assert {declared[name]["kind"] for name in gone} == set(CLOUD_EMULATORS)  # every cloud kind
    for name in gone:
        delete_in_cloud(sandbox_project, declared[name]["kind"], declared[name])

    drift = sandbox_project.cli("refresh", "--preview-only", "--json").json()
    ops = {s["urn"].rsplit("::", 1)[-1]: s["op"] for s in drift["steps"]}
    assert all(ops[f"{name}-lookup"] == "delete" for name in gone)
    idc = [s for s in drift["steps"] if s["urn"].rsplit("::", 1)[-1].startswith("idc-")]
    assert idc and all(s["op"] == "same" for s in idc)  # nothing else drifted

    preview = sandbox_project.cli("preview", "--json")
    assert preview.code == 2  # only inputs the lookups refused: clusters their clouds no longer have
    failed = {s["urn"].rsplit("::", 1)[-1]: s["error"] for s in preview.json()["steps"] if s["status"] == "failed"}
    assert sorted(failed) == [f"{name}-lookup" for name in gone]
    for name in gone:
        assert "FF-REG-003" in failed[f"{name}-lookup"], failed[f"{name}-lookup"]

    # destroy converges without PULUMI_K8S_DELETE_UNREACHABLE: the clouds say NotFound, so the objects that
    # lived in those clusters leave the state with a notice
    sandbox_project.env.pop("PULUMI_K8S_DELETE_UNREACHABLE", None)
    destroy = sandbox_project.cli("destroy", "--yes", "--json")
    assert destroy.code == 0, [s for s in destroy.json()["steps"] if s["status"] == "failed"]
    notices = [d for d in destroy.json()["diagnostics"] if "removed from the state only" in d["message"]]
    assert {d["message"].split("reached through ")[1].split(",")[0] for d in notices} == {
        f"{name}-lookup" for name in gone
    }
    assert any(d["urn"].endswith("::ctyun-hd-01-storage") for d in notices)
    state = json.loads((sandbox_project.state / "stacks" / "sandbox.json").read_text())
    assert [r["urn"] for r in state["resources"] if r["custom"]] == []
