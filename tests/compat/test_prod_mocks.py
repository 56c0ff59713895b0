"""stacks/Pulumi.prod.yaml under the Pulumi SDK's mocks: what the Pulumi CLI would be asked to
create for the production estate (two fleets, two federations, four permissions)."""

from __future__ import annotations

from pathlib import Path

import yaml
from test_program_mocks import KUBECONFIG, by_name, run_program

STACK = Path(__file__).resolve().parents[2] / "stacks" / "Pulumi.prod.yaml"


def test_the_prod_stack_declares_its_fleets_federations_and_permissions(monkeypatch):
    config = yaml.safe_load(STACK.read_text())["config"]
    for cluster in [config["fleetform:hub"], *config["fleetform:clusters"]]:
        if "kubeconfig_env" in cluster:
            monkeypatch.setenv(cluster["kubeconfig_env"], KUBECONFIG)
    resources = by_name(run_program(config))

    fleets = {f["name"]: f for f in config["fleetform:fleets"]}
    for name, fleet in fleets.items():
        cluster_set = resources[f"{name}-clusterset"]
        assert cluster_set["spec"]["clusterSelector"]["selectorType"] == "ExclusiveClusterSetLabel"
        for member in fleet["members"]:
            labels = resources[f"{member}-managedcluster"]["metadata"]["labels"]
            assert labels["cluster.open-cluster-management.io/clusterset"] == name
            assert f"{name}-member-{member}" in resources
            assert resources[f"{member}-lookup"]["min_version"] == "1.21"  # a federated fleet (V10)
    for federation in config["fleetform:federations"]:
        karmada = resources[f"{federation['name']}-karmada"]
        assert karmada["type"] == "kubernetes:operator.karmada.io/v1alpha1:Karmada"
        fleet = next(f for f in fleets.values() if f.get("federation") == federation["name"])
        assert {m for m in fleet["members"] if f"{federation['name']}-{m}-status" in resources} == set(fleet["members"])
    roles = {r["metadata"]["name"] for r in resources.values() if r["type"].endswith(":ClusterRole")}
    assert {"fleetform:admin", "fleetform:operator", "fleetform:custom:auditors"} <= roles


def test_the_prod_stack_bootstraps_each_cluster_the_way_its_kind_needs(monkeypatch):
    config = yaml.safe_load(STACK.read_text())["config"]
    for cluster in [config["fleetform:hub"], *config["fleetform:clusters"]]:
        if "kubeconfig_env" in cluster:
            monkeypatch.setenv(cluster["kubeconfig_env"], KUBECONFIG)
    resources = by_name(run_program(config))

    def annotations(cluster: str) -> dict:
        return resources[f"{cluster}-ingress-service"]["metadata"]["annotations"]

    ack = "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type"
    assert annotations("ack-prod-hz")[ack] == "internet"  # exposure public
    tke = "service.kubernetes.io/qcloud-loadbalancer-internal-subnetid"
    assert annotations("tke-prod-gz")[tke] == "subnet-5d2k9f1a"
    assert annotations("aks-prod-weu")["service.beta.kubernetes.io/azure-load-balancer-internal"] == "true"
    assert resources["idc-prod-sh-ingress-service"]["spec"]["type"] == "NodePort"
    controller = resources["ack-prod-hz-ingress-controller"]
    assert controller["type"] == "kubernetes:apps/v1:Deployment"
    assert controller["spec"]["template"]["spec"]["containers"][0]["image"].startswith(
        "registry.k8s.io/ingress-nginx/controller:v1.15.1@sha256:"
    )
    assert not [name for name in resources if name.startswith("gke-prod-euw1-ingress-")]  # cloud-native: nothing
    storage = resources["idc-prod-sh-storage"]
    assert (storage["class_name"], storage["adopt_default"]) == ("ceph-rbd", False)  # named: adopt or create it
