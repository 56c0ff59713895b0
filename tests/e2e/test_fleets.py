"""Fleets and fleet permissions on the sandbox, end to end with the real CLI: fleets become active
with their members, a move between fleets is a minimal in-place change, permissions follow
membership, a suspended cluster permission returns when its cluster leaves its fleet, destroy
leaves nothing. Only idc clusters: the kind does not matter here and they are quicker."""

from __future__ import annotations

import pytest
from test_sandbox import fleetform_objects

from sandbox.kubeapi import ApiError


@pytest.fixture(autouse=True)
def _without_day1(sandbox_project):
    sandbox_project.without_day1()  # ingress, storage and encryption have their own tests


RBAC = "rbac.authorization.k8s.io/v1"
CLUSTERSET = "cluster.open-cluster-management.io/clusterset"
MOVER = "idc-sh-02"  # the direct member


def fleet_stack(project, east: list[str], north: list[str]) -> None:
    config = project.config()
    settings = config["config"]
    settings["fleetform:clusters"] = [c for c in settings["fleetform:clusters"] if c["kind"] == "idc"]
    settings.pop("fleetform:federations", None)  # federation has its own test
    settings["fleetform:fleets"] = [
        {"name": "fleet-east", "members": east, "deletion_protection": False},
        {"name": "fleet-north", "members": north, "deletion_protection": False},
    ]
    settings["fleetform:permissions"] = [
        {
            "name": "east-devs",
            "fleet": "fleet-east",
            "role": "developer",
            "subjects": [{"kind": "Group", "name": "app-team"}],
            "namespaces": ["shop"],
            "create_missing_namespaces": True,
        },
        {
            "name": "north-readers",
            "fleet": "fleet-north",
            "role": "custom",
            "subjects": [{"kind": "User", "name": "reader"}],
            "rules": [{"verbs": ["get", "list"], "resources": [{"resource": "pods"}]}],
        },
        {"name": "mover-admins", "cluster": MOVER, "role": "admin", "subjects": [{"kind": "User", "name": "root"}]},
    ]
    project.write_config(config)


def read(project, cluster: str, kind: str, name: str, namespace: str = "", api: str = RBAC) -> dict | None:
    with project.kubeapi() as emulator:
        try:
            return emulator.cluster(cluster).objects.get(api, kind, name, namespace)
        except ApiError:
            return None


def up(project) -> dict:
    result = project.cli("up", "--yes", "--json")
    assert result.code == 0, result.out + result.err
    return result.json()["outputs"]


def test_fleets_and_permissions_follow_membership(sandbox_project):
    project = sandbox_project
    fleet_stack(project, east=["idc-sh-01", MOVER], north=["idc-bj-01"])
    outputs = up(project)
    assert outputs["fleets"] == {
        "fleet-east": {"members": ["idc-sh-01", MOVER], "state": "active"},
        "fleet-north": {"members": ["idc-bj-01"], "state": "active"},
    }
    assert outputs["permissions"]["east-devs"] == {"state": "applied", "clusters": ["idc-sh-01", MOVER]}
    assert outputs["permissions"]["north-readers"]["state"] == "applied"
    assert outputs["permissions"]["mover-admins"] == {"state": "suspended", "clusters": [MOVER]}
    for member in ("idc-sh-01", MOVER):
        role = read(project, member, "ClusterRole", "fleetform:developer")
        assert role["metadata"]["labels"]["fleetform.io/permission"] == "east-devs"
        binding = read(project, member, "RoleBinding", "fleetform:east-devs", "shop")
        assert binding["subjects"] == [{"kind": "Group", "name": "app-team", "apiGroup": "rbac.authorization.k8s.io"}]
    assert read(project, MOVER, "ClusterRole", "fleetform:admin") is None  # suspended: nothing delivered
    assert read(project, "idc-bj-01", "ClusterRole", "fleetform:custom:north-readers") is not None

    again = project.cli("preview", "--expect-no-changes")
    assert again.code == 0, again.out + again.err

    # Move the direct member from fleet-east to fleet-north: its label and memberships change, no fleet.
    fleet_stack(project, east=["idc-sh-01"], north=["idc-bj-01", MOVER])
    preview = project.cli("preview", "--json")
    assert preview.code == 0, preview.out + preview.err
    steps = {s["urn"].rsplit("::", 1)[-1]: s for s in preview.json()["steps"] if s["op"] != "same"}
    assert not [name for name, s in steps.items() if s["op"] == "replace"]
    fleet_objects = ("-clusterset", "-binding", "-namespace")
    assert not [name for name in steps if name.startswith("fleet-") and name.endswith(fleet_objects)]
    assert steps[f"{MOVER}-managedcluster"]["op"] == "update"
    label_changes = {d["path"]: (d["old"], d["new"]) for d in steps[f"{MOVER}-managedcluster"]["diffs"]}
    assert label_changes == {
        f'metadata.labels["{CLUSTERSET}"]': ("fleet-east", "fleet-north"),
        'metadata.labels["fleetform.io/fleet"]': ("fleet-east", "fleet-north"),
    }
    assert steps[f"fleet-east-member-{MOVER}"]["op"] == "delete"
    assert steps[f"fleet-north-member-{MOVER}"]["op"] == "create"
    assert {name for name, s in steps.items() if "member" in name} == {
        f"fleet-east-member-{MOVER}",
        f"fleet-north-member-{MOVER}",
    }
    outputs = up(project)
    managed = read(project, "hub-sandbox", "ManagedCluster", MOVER, api="cluster.open-cluster-management.io/v1")
    assert managed["metadata"]["labels"][CLUSTERSET] == managed["metadata"]["labels"]["fleetform.io/fleet"]
    assert managed["metadata"]["labels"][CLUSTERSET] == "fleet-north"
    assert outputs["fleets"]["fleet-north"]["members"] == ["idc-bj-01", MOVER]
    assert read(project, MOVER, "RoleBinding", "fleetform:east-devs", "shop") is None  # left fleet-east
    assert read(project, MOVER, "ClusterRole", "fleetform:developer") is None
    assert read(project, MOVER, "ClusterRole", "fleetform:custom:north-readers") is not None

    # Out of every fleet: its own permission returns.
    fleet_stack(project, east=["idc-sh-01"], north=["idc-bj-01"])
    outputs = up(project)
    assert outputs["permissions"]["mover-admins"] == {"state": "applied", "clusters": [MOVER]}
    binding = read(project, MOVER, "ClusterRoleBinding", "fleetform:mover-admins")
    assert binding["metadata"]["labels"]["fleetform.io/scope"] == "cluster"
    assert read(project, MOVER, "ClusterRole", "fleetform:custom:north-readers") is None
    managed = read(project, "hub-sandbox", "ManagedCluster", MOVER, api="cluster.open-cluster-management.io/v1")
    assert managed["metadata"]["labels"][CLUSTERSET] == "default"
    assert "fleetform.io/fleet" not in managed["metadata"]["labels"]
    assert project.cli("preview", "--expect-no-changes").code == 0

    destroy = project.cli("destroy", "--yes")
    assert destroy.code == 0, destroy.out + destroy.err
    left = fleetform_objects(project)
    assert all(found == set() for found in left.values()), left


def test_v16_a_cluster_in_two_fleets_fails_preview_naming_both(sandbox_project):
    fleet_stack(sandbox_project, east=["idc-sh-01", MOVER], north=["idc-bj-01", MOVER])
    preview = sandbox_project.cli("preview")
    assert preview.code == 2
    text = preview.out + preview.err
    assert f"FF-FLEET-001 cluster '{MOVER}' already belongs to fleet 'fleet-east'" in text
    assert "fleets[1].members[1]" in text and "'fleet-east' and 'fleet-north'" in text
