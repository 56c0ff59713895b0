"""The sandbox federation end to end: `fed-sandbox` (operator mode on the hub) spans fleet-multicloud,
and the multi-active nginx Deployment is split 1:1 across eks-euw1-01 and gke-euw1-01, each with its
own image registry. Needs the sandbox's Karmada emulation (operator, cluster controller, scheduler,
execution controller)."""

from __future__ import annotations

import pytest
from test_sandbox import fleetform_objects, registered_clusters

from sandbox.kubeapi import ApiError


@pytest.fixture(autouse=True)
def _without_day1(sandbox_project):
    sandbox_project.without_day1()  # ingress, storage and encryption have their own tests


MEMBERS = ("idc-sh-02", "eks-euw1-01", "gke-euw1-01", "aks-weu-01")
REGISTRY = {
    "eks-euw1-01": "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
    "gke-euw1-01": "europe-west1-docker.pkg.dev",
}


def member_deployments(project) -> dict[str, dict | None]:
    """nginx in namespace demo of each fleet member."""
    found: dict[str, dict | None] = {}
    with project.kubeapi() as emulator:
        for name, cluster in registered_clusters(emulator).items():
            if name not in MEMBERS:
                continue
            try:
                found[name] = cluster.objects.get("apps/v1", "Deployment", "nginx", "demo")
            except ApiError:
                found[name] = None
    return found


def test_the_federation_runs_and_the_multi_active_deployment_is_split_with_overrides(sandbox_project):
    up = sandbox_project.cli("up", "--yes", "--json", timeout=600)
    assert up.code == 0, up.out + up.err
    federation = up.json()["outputs"]["federations"]["fed-sandbox"]
    assert (federation["fleet"], federation["state"]) == ("fleet-multicloud", "running")
    assert federation["apiServerUrl"].startswith("https://")
    assert federation["members"] == {name: "Ready" for name in MEMBERS}
    policy = federation["policies"]["nginx-multi-active"]
    assert policy == {"state": "scheduled", "clusters": {"eks-euw1-01": 2, "gke-euw1-01": 2}}

    deployments = member_deployments(sandbox_project)
    for name, registry in REGISTRY.items():
        deployment = deployments[name]
        assert deployment is not None, f"nginx did not reach {name}"
        assert deployment["spec"]["replicas"] == 2
        image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        assert image.startswith(f"{registry}/"), image
    assert deployments["idc-sh-02"] is None and deployments["aks-weu-01"] is None

    again = sandbox_project.cli("preview", "--expect-no-changes")
    assert again.code == 0, again.out + again.err


def karmada_clusters_and_namespaces(project) -> tuple[set[str], set[str]]:
    """The Cluster and Namespace names on the federation's Karmada API (the sandbox's only control plane)."""
    with project.kubeapi() as emulator:
        (plane,) = [c for c in emulator.clusters.values() if c.name.startswith("karmada-")]
        clusters = {c["metadata"]["name"] for c in plane.objects.list("cluster.karmada.io/v1alpha1", "Cluster")}
        return clusters, {n["metadata"]["name"] for n in plane.objects.list("v1", "Namespace")}


def federation_config(project) -> dict:
    return next(f for f in project.config()["config"]["fleetform:federations"] if f["name"] == "fed-sandbox")


def set_federation(project, **changes) -> None:
    config = project.config()
    (federation,) = [f for f in config["config"]["fleetform:federations"] if f["name"] == "fed-sandbox"]
    federation.update(changes)
    project.write_config(config)


def set_reachable(project, member: str, reachable: bool) -> None:
    """Make the virtual cluster behind a registered member stop (or start) answering."""
    with project.kubeapi(save=True) as emulator:
        registered_clusters(emulator)[member].set_reachable(reachable)


@pytest.mark.timeout(900)
def test_a_member_that_stops_answering_becomes_not_ready_and_its_replicas_move(sandbox_project):
    project = sandbox_project
    policies = federation_config(project)["policies"]
    policies["propagation"][0]["tolerations_seconds"] = 1
    set_federation(project, policies=policies)
    up = project.cli("up", "--yes", timeout=600)
    assert up.code == 0, up.out + up.err
    set_reachable(project, "gke-euw1-01", False)

    federation = {}
    for _attempt in range(3):  # the controllers act while fleetform runs; refresh reads it, up exports it
        project.cli("refresh", "--yes", timeout=600)  # exits 1: gke-euw1-01's own objects cannot be read
        up = project.cli("up", "--yes", "--json", timeout=600)
        assert up.code == 0, up.out + up.err
        federation = up.json()["outputs"]["federations"]["fed-sandbox"]
        if "gke-euw1-01" not in federation["policies"]["nginx-multi-active"]["clusters"]:
            break
    assert federation["members"]["gke-euw1-01"] == "NotReady"
    assert federation["members"]["eks-euw1-01"] == "Ready"
    assert federation["policies"]["nginx-multi-active"]["clusters"] == {"eks-euw1-01": 4}
    deployments = member_deployments(project)
    assert deployments["eks-euw1-01"]["spec"]["replicas"] == 4  # all replicas now run on the member left


@pytest.mark.timeout(900)
def test_membership_changes_join_the_right_federation_and_a_fleet_goes_after_its_federation(sandbox_project):
    project = sandbox_project
    config = project.config()
    fleets = {f["name"]: f for f in config["config"]["fleetform:fleets"]}
    fleets["fleet-idc"]["members"].remove("idc-sh-01")
    fleets["fleet-multicloud"]["members"].append("idc-sh-01")  # an agent member: it joins by Pull
    project.write_config(config)
    up = project.cli("up", "--yes", "--json", timeout=600)
    assert up.code == 0, up.out + up.err
    federation = up.json()["outputs"]["federations"]["fed-sandbox"]
    assert federation["members"] == {name: "Ready" for name in (*MEMBERS, "idc-sh-01")}

    config = project.config()  # it goes back: it leaves the federation as `karmadactl unregister` has it leave
    fleets = {f["name"]: f for f in config["config"]["fleetform:fleets"]}
    fleets["fleet-multicloud"]["members"].remove("idc-sh-01")
    fleets["fleet-idc"]["members"].append("idc-sh-01")
    project.write_config(config)
    up = project.cli("up", "--yes", "--json", timeout=600)
    assert up.code == 0, up.out + up.err
    assert up.json()["outputs"]["federations"]["fed-sandbox"]["members"] == {name: "Ready" for name in MEMBERS}
    clusters, namespaces = karmada_clusters_and_namespaces(project)
    assert clusters == set(MEMBERS)
    assert "karmada-es-idc-sh-01" not in namespaces

    config = project.config()  # the whole multi-cloud fleet goes, with its federation and permission
    settings = config["config"]
    settings["fleetform:fleets"] = [f for f in settings["fleetform:fleets"] if f["name"] != "fleet-multicloud"]
    settings.pop("fleetform:federations")
    settings["fleetform:permissions"] = [
        p for p in settings["fleetform:permissions"] if p.get("fleet") != "fleet-multicloud"
    ]
    project.write_config(config)
    up = project.cli("up", "--yes", timeout=600)
    assert up.code == 0, up.out + up.err
    done = [line.split()[-2] for line in up.out.splitlines() if line.strip().startswith("- delete ")]
    assert done.index("fed-sandbox-karmada") < done.index("fleet-multicloud-clusterset")  # in completion order
    assert project.cli("stack", "output", "--json").json()["federations"] == {}
    hub = fleetform_objects(project)["hub-sandbox"]
    assert not {o for o in hub if "fleet-multicloud" in o[1]}


def test_invalid_federation_configurations_fail_preview_naming_the_entries(sandbox_project):
    project = sandbox_project
    config = project.config()
    settings = config["config"]
    (idc,) = [f for f in settings["fleetform:fleets"] if f["name"] == "fleet-idc"]
    idc["federation"] = "fed-sandbox"  # one federation on two fleets (V18)
    project.write_config(config)
    preview = project.cli("preview")
    assert preview.code == 2
    assert "FF-FED-001" in preview.err and "fed-sandbox" in preview.err and "fleet-" in preview.err

    del idc["federation"]
    (federation,) = settings["fleetform:federations"]
    federation["policies"]["propagation"][0]["clusters"].append("tke-gz-01")  # not a member (V45)
    project.write_config(config)
    preview = project.cli("preview")
    assert preview.code == 2
    assert "FF-POL-002" in preview.err and "tke-gz-01" in preview.err and "nginx-multi-active" in preview.err
