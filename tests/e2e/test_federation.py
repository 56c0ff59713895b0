"""The sandbox federation end to end: `fed-sandbox` (operator mode on the hub) spans fleet-multicloud,
and the multi-active nginx Deployment is split 1:1 across eks-euw1-01 and gke-euw1-01, each with its
own image registry. Needs the sandbox's Karmada emulation (operator, cluster controller, scheduler,
execution controller)."""

from __future__ import annotations

from sandbox.kubeapi import ApiError, KubeApiEmulator

MEMBERS = ("idc-sh-02", "eks-euw1-01", "gke-euw1-01", "aks-weu-01")
REGISTRY = {
    "eks-euw1-01": "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
    "gke-euw1-01": "europe-west1-docker.pkg.dev",
}


def member_deployments(project) -> dict[str, dict | None]:
    """nginx in namespace demo of each fleet member, found through the registration marker."""
    emulator = KubeApiEmulator(project.world_dir / "kubeapi")
    try:
        found: dict[str, dict | None] = {}
        for cluster in emulator.clusters.values():
            try:
                marker = cluster.objects.get("v1", "ConfigMap", "fleetform-registration", "fleetform-system")
            except ApiError:
                continue
            name = marker["data"]["cluster"]
            if name not in MEMBERS:
                continue
            try:
                found[name] = cluster.objects.get("apps/v1", "Deployment", "nginx", "demo")
            except ApiError:
                found[name] = None
        return found
    finally:
        emulator.flush()
        emulator.stop()


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
