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
