"""What FleetSpec answers about a cluster across entities (components/spec/stack.py): fleet, cluster set, federation,
minimum Kubernetes version; read off stacks/Pulumi.prod.yaml and variants of it."""

import copy
from pathlib import Path

import pytest
import yaml

from components.spec import (
    FEDERATION_MIN_KUBERNETES_VERSION,
    MIN_KUBERNETES_VERSION,
    FleetSpec,
    load_stack_file,
    spec_from_config,
)

PROD_FILE = Path(__file__).resolve().parent.parent / "stacks" / "Pulumi.prod.yaml"
PROD = load_stack_file(PROD_FILE)
FLEET_OF_PROD_CLUSTER = {
    "ctyun-prod-hd1": "fleet-cn",
    "ack-prod-hz": "fleet-cn",
    "tke-prod-gz": "fleet-cn",
    "idc-prod-sh": "fleet-cn",
    "idc-prod-bj": "fleet-cn",
    "eks-prod-euw1": "fleet-global",
    "gke-prod-euw1": "fleet-global",
    "aks-prod-weu": "fleet-global",
}


def prod_variant(edit) -> FleetSpec:
    """stacks/Pulumi.prod.yaml with ``edit`` applied to its config values."""
    config = copy.deepcopy(yaml.safe_load(PROD_FILE.read_text())["config"])
    edit(config)
    return spec_from_config(config, "stacks/Pulumi.prod.yaml")


def test_minimum_versions_follow_v9_and_v10():
    assert (MIN_KUBERNETES_VERSION, FEDERATION_MIN_KUBERNETES_VERSION) == ("1.19", "1.21")


def test_fleet_of_every_prod_cluster():
    assert {c.name: PROD.fleet_of(c.name).name for c in PROD.clusters} == FLEET_OF_PROD_CLUSTER


@pytest.mark.parametrize("name", ["eks-prod-euw1", "idc-prod-bj"])
def test_every_prod_cluster_is_federated_in_its_fleets_cluster_set(name):
    assert PROD.clusterset_of(name) == FLEET_OF_PROD_CLUSTER[name]
    assert PROD.is_federated(name)
    assert PROD.min_version_of(name) == "1.21"


def test_a_cluster_set_is_named_after_its_fleet():
    assert [fleet.cluster_set for fleet in PROD.fleets] == ["fleet-cn", "fleet-global"]


def test_a_fleet_without_a_federation_keeps_its_members_unfederated():
    def unbind_cn(config):
        del config["fleetform:fleets"][0]["federation"]

    spec = prod_variant(unbind_cn)
    assert spec.clusterset_of("ack-prod-hz") == "fleet-cn"
    assert not spec.is_federated("ack-prod-hz") and spec.min_version_of("ack-prod-hz") == "1.19"
    assert spec.is_federated("gke-prod-euw1") and spec.min_version_of("gke-prod-euw1") == "1.21"


def test_a_cluster_in_no_fleet_is_in_the_default_set():
    def drop_from_fleet(config):
        config["fleetform:fleets"][0]["members"].remove("idc-prod-bj")

    spec = prod_variant(drop_from_fleet)
    assert spec.fleet_of("idc-prod-bj") is None
    assert spec.clusterset_of("idc-prod-bj") == "default"
    assert not spec.is_federated("idc-prod-bj") and spec.min_version_of("idc-prod-bj") == "1.19"


def test_an_undeclared_cluster_is_in_no_fleet():
    assert PROD.fleet_of("ghost-one") is None and PROD.clusterset_of("ghost-one") == "default"
    assert not PROD.is_federated("ghost-one")
