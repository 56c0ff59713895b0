"""Delivery to a member fleetform does not reach: an agent-mode cluster installed by hand gets its
objects through an OCM ManifestWork on the hub, applied by the klusterlet's work agent."""

from __future__ import annotations

import pytest
import yaml

from sandbox.kubeapi import ApiError


@pytest.fixture(autouse=True)
def _without_day1(sandbox_project):
    sandbox_project.without_day1()  # ingress, storage and encryption have their own tests


WORK_API = "work.open-cluster-management.io/v1"
MANUAL = "idc-bj-01"


def manual_install(project) -> None:
    """The sandbox's idc clusters, with one agent cluster installed by hand."""
    project.keep_clusters(lambda cluster: cluster["kind"] == "idc")
    project.without_fleets()  # a cluster whose agent is not installed yet cannot join a fleet (V17)
    config = project.config()
    for cluster in config["config"]["fleetform:clusters"]:
        if cluster["name"] == MANUAL:
            cluster["agent_install"] = "manual"
    project.write_config(config)


def with_emulator(project, action):
    with project.kubeapi(save=True) as emulator:
        return action(emulator)


def marker(emulator) -> dict | None:
    try:
        return emulator.cluster(MANUAL).objects.get("v1", "ConfigMap", "fleetform-registration", "fleetform-system")
    except ApiError:
        return None


def test_objects_reach_a_manually_installed_agent_member_through_a_manifest_work(sandbox_project):
    manual_install(sandbox_project)
    up = sandbox_project.cli("up", "--yes", "--json")
    assert up.code == 0, up.out + up.err
    assert up.json()["outputs"]["clusters"][MANUAL]["status"] == "pending-access"

    def hub_work(emulator):
        return emulator.cluster("hub-sandbox").objects.get(WORK_API, "ManifestWork", "fleetform-registration", MANUAL)

    work = with_emulator(sandbox_project, hub_work)
    kinds = [(m["kind"], m["metadata"]["name"]) for m in work["spec"]["workload"]["manifests"]]
    assert kinds == [("Namespace", "fleetform-system"), ("ConfigMap", "fleetform-registration")]
    assert with_emulator(sandbox_project, marker) is None  # nothing reaches the member before its agent runs

    outputs = sandbox_project.cli("stack", "output", "--json", "--show-secrets").json()
    documents = list(yaml.safe_load_all(outputs["agentManifests"][MANUAL]))
    assert [d["kind"] for d in documents] == [
        "Namespace",
        "ServiceAccount",
        "ClusterRoleBinding",
        "Secret",
        "Deployment",
    ]

    def install_agent(emulator):  # what the user does: kubectl apply -f agent-manifest.yaml in the member
        for document in documents:
            emulator.cluster(MANUAL).objects.create(document)

    with_emulator(sandbox_project, install_agent)
    work_states = []  # the agent joins and applies the work while fleetform runs; refresh reads it back
    for _attempt in range(6):
        refresh = sandbox_project.cli("refresh", "--yes", "--json")
        assert refresh.code == 0, refresh.out + refresh.err
        steps = {s["urn"].rsplit("::", 1)[-1]: s for s in refresh.json()["steps"]}
        work_status = steps[f"{MANUAL}-registration-work-status"]
        work_states += [d["new"] for d in work_status.get("diffs", []) if d["path"] == "state"]
        if work_states and work_states[-1] == "available":
            break
    assert work_states and work_states[-1] == "available"
    applied = with_emulator(sandbox_project, marker)
    assert applied is not None and applied["data"]["cluster"] == MANUAL
    status = with_emulator(sandbox_project, hub_work)["status"]
    assert {c["type"]: c["status"] for c in status["conditions"]}.items() >= {
        "Applied": "True",
        "Available": "True",
    }.items()

    destroy = sandbox_project.cli("destroy", "--yes")
    assert destroy.code == 0, destroy.out + destroy.err
    assert with_emulator(sandbox_project, marker) is None  # the work agent removed what the work applied
