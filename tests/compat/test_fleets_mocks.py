"""Fleets and fleet permissions under the Pulumi SDK's mocks: what the program declares for them."""

from __future__ import annotations

import pytest
from test_program_mocks import KUBECONFIG, by_name, run_program
from test_program_mocks import stack_config as base_config  # noqa: F401  (a fixture)

RBAC = "kubernetes:rbac.authorization.k8s.io/v1"


@pytest.fixture
def stack_config(base_config, monkeypatch):  # noqa: F811
    """Three members (direct, agent, direct) in two fleets."""
    monkeypatch.setenv("GZ_KUBECONFIG", KUBECONFIG)
    base_config["fleetform:clusters"].append(
        {"name": "idc-gz-01", "kind": "idc", "connection_mode": "direct", "kubeconfig_env": "GZ_KUBECONFIG"}
    )
    base_config["fleetform:fleets"] = [
        {"name": "fleet-east", "members": ["idc-sh-01", "idc-bj-01"]},
        {"name": "fleet-south", "members": ["idc-gz-01"], "deletion_protection": True},
    ]
    return base_config


def registrations(config) -> dict[str, dict]:
    return by_name(run_program(config))


def test_a_fleet_is_a_cluster_set_with_its_binding_and_one_membership_per_member(stack_config):
    resources = registrations(stack_config)
    cluster_set = resources["fleet-east-clusterset"]
    assert cluster_set["type"] == "kubernetes:cluster.open-cluster-management.io/v1beta2:ManagedClusterSet"
    assert cluster_set["metadata"]["name"] == "fleet-east"
    assert cluster_set["spec"] == {"clusterSelector": {"selectorType": "ExclusiveClusterSetLabel"}}
    assert resources["fleet-east-namespace"]["metadata"]["name"] == "fleetform-fleet-fleet-east"
    binding = resources["fleet-east-binding"]
    assert binding["type"].endswith("v1beta2:ManagedClusterSetBinding")
    assert binding["metadata"]["namespace"] == "fleetform-fleet-fleet-east"
    assert binding["metadata"]["name"] == binding["spec"]["clusterSet"] == "fleet-east"
    members = {name: r for name, r in resources.items() if r["type"].endswith("fleetform:FleetMembership")}
    assert {(m["fleet"], m["cluster"]) for m in members.values()} == {
        ("fleet-east", "idc-sh-01"),
        ("fleet-east", "idc-bj-01"),
        ("fleet-south", "idc-gz-01"),
    }
    assert resources["fleet-east-status"]["members"] == ["idc-bj-01", "idc-sh-01"]
    labels = resources["idc-sh-01-managedcluster"]["metadata"]["labels"]
    assert labels["cluster.open-cluster-management.io/clusterset"] == "fleet-east"
    assert labels["fleetform.io/fleet"] == "fleet-east"


def test_deletion_protection_protects_the_cluster_set(stack_config):
    from pulumi.runtime import mocks

    captured = {}
    original = mocks.MockMonitor.RegisterResource

    def spy(self, request):
        captured[request.name] = request.protect
        return original(self, request)

    mocks.MockMonitor.RegisterResource = spy
    try:
        run_program(stack_config)
    finally:
        mocks.MockMonitor.RegisterResource = original
    assert captured["fleet-south-clusterset"] is True and captured["fleet-east-clusterset"] is False


def test_moving_a_cluster_changes_its_label_and_memberships_only(stack_config):
    before = registrations(stack_config)
    stack_config["fleetform:fleets"][0]["members"] = ["idc-sh-01"]
    stack_config["fleetform:fleets"][1]["members"] = ["idc-gz-01", "idc-bj-01"]
    after = registrations(stack_config)

    changed = {name for name in before.keys() & after.keys() if before[name] != after[name]}
    assert changed == {"idc-bj-01-managedcluster", "fleet-east-status", "fleet-south-status"}
    assert before.keys() - after.keys() == {"fleet-east-member-idc-bj-01"}
    assert after.keys() - before.keys() == {"fleet-south-member-idc-bj-01"}
    old, new = (r["idc-bj-01-managedcluster"]["metadata"]["labels"] for r in (before, after))
    assert {k: v for k, v in old.items() if old[k] != new.get(k)} == {
        "cluster.open-cluster-management.io/clusterset": "fleet-east",
        "fleetform.io/fleet": "fleet-east",
    }
    assert new["cluster.open-cluster-management.io/clusterset"] == new["fleetform.io/fleet"] == "fleet-south"


def test_leaving_every_fleet_sets_the_default_cluster_set_and_drops_the_fleet_label(stack_config):
    stack_config["fleetform:fleets"][1]["members"] = []
    labels = registrations(stack_config)["idc-gz-01-managedcluster"]["metadata"]["labels"]
    assert labels["cluster.open-cluster-management.io/clusterset"] == "default"
    assert "fleetform.io/fleet" not in labels


def permission_objects(resources, permission: str) -> dict[str, dict]:
    return {
        name: r
        for name, r in resources.items()
        if name.startswith(f"{permission}-") and r["type"].startswith("kubernetes:")
    }


def test_a_preset_on_a_fleet_is_bound_in_each_listed_namespace_of_every_member(stack_config):
    stack_config["fleetform:permissions"] = [
        {
            "name": "app-devs",
            "fleet": "fleet-east",
            "role": "developer",
            "subjects": [{"kind": "Group", "name": "app-team"}],
            "namespaces": ["shop", "shop-staging"],
            "create_missing_namespaces": True,
        }
    ]
    resources = registrations(stack_config)
    objects = permission_objects(resources, "app-devs")
    for member in ("idc-sh-01", "idc-bj-01"):
        role = objects[f"app-devs-{member}-role"]
        assert role["metadata"]["name"] == "fleetform:developer"
        assert role["metadata"]["labels"]["fleetform.io/permission"] == "app-devs"
        assert role["metadata"]["labels"]["fleetform.io/scope"] == "fleet"
        core = next(rule for rule in role["rules"] if rule["apiGroups"] == [""] and "pods" in rule["resources"])
        assert "secrets" in core["resources"] and "delete" in core["verbs"]
        for namespace in ("shop", "shop-staging"):
            binding = objects[f"app-devs-{member}-binding-{namespace}"]
            assert binding["type"] == f"{RBAC}:RoleBinding"
            assert binding["metadata"]["name"] == "fleetform:app-devs"
            assert binding["metadata"]["namespace"] == namespace
            assert binding["roleRef"]["name"] == "fleetform:developer"
            assert binding["subjects"] == [
                {"kind": "Group", "name": "app-team", "apiGroup": "rbac.authorization.k8s.io"}
            ]
            assert objects[f"app-devs-{member}-ns-{namespace}"]["type"] == "kubernetes:core/v1:Namespace"
        assert f"app-devs-{member}-binding" not in objects
    assert not any("idc-gz-01" in name for name in objects)  # not a member of fleet-east
    status = resources["app-devs-status"]
    assert status["expected"]["idc-sh-01"] == [
        "ClusterRole/fleetform:developer",
        "RoleBinding/shop-staging/fleetform:app-devs",
        "RoleBinding/shop/fleetform:app-devs",
    ]


def test_custom_rules_cluster_wide_get_their_own_role_and_a_cluster_role_binding(stack_config):
    stack_config["fleetform:permissions"] = [
        {
            "name": "readers",
            "fleet": "fleet-south",
            "role": "custom",
            "subjects": [{"kind": "ServiceAccount", "name": "ci", "namespace": "ci"}],
            "rules": [
                {
                    "verbs": ["get", "list"],
                    "resources": [{"resource": "pods"}, {"api_group": "apps", "resource": "deployments"}],
                }
            ],
        }
    ]
    objects = permission_objects(registrations(stack_config), "readers")
    role = objects["readers-idc-gz-01-role"]
    assert role["metadata"]["name"] == "fleetform:custom:readers"
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list"]},
    ]
    binding = objects["readers-idc-gz-01-binding"]
    assert binding["type"] == f"{RBAC}:ClusterRoleBinding"
    assert binding["roleRef"]["name"] == "fleetform:custom:readers"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "ci", "namespace": "ci"}]
    assert set(objects) == {"readers-idc-gz-01-role", "readers-idc-gz-01-binding"}


def test_restricted_reads_the_console_set_without_secrets(stack_config):
    stack_config["fleetform:permissions"] = [
        {"name": "viewers", "fleet": "fleet-south", "role": "restricted", "subjects": [{"kind": "User", "name": "v"}]}
    ]
    rules = permission_objects(registrations(stack_config), "viewers")["viewers-idc-gz-01-role"]["rules"]
    assert all(rule["verbs"] == ["get", "list", "watch"] for rule in rules)
    resources = {r for rule in rules for r in rule["resources"]}
    assert "pods" in resources and "secrets" not in resources and "pods/exec" not in resources


def test_a_cluster_permission_on_a_fleet_member_renders_nothing_and_returns_when_it_leaves(stack_config):
    stack_config["fleetform:permissions"] = [
        {"name": "gz-admins", "cluster": "idc-gz-01", "role": "admin", "subjects": [{"kind": "User", "name": "root"}]}
    ]
    resources = registrations(stack_config)
    assert permission_objects(resources, "gz-admins") == {}
    assert resources["gz-admins-status"]["suspended"] == {"idc-gz-01": "fleet-south"}
    assert resources["gz-admins-status"]["expected"] == {}

    stack_config["fleetform:fleets"][1]["members"] = []
    objects = permission_objects(registrations(stack_config), "gz-admins")
    assert objects["gz-admins-idc-gz-01-role"]["metadata"]["name"] == "fleetform:admin"
    assert objects["gz-admins-idc-gz-01-role"]["metadata"]["labels"]["fleetform.io/scope"] == "cluster"
    assert objects["gz-admins-idc-gz-01-binding"]["type"] == f"{RBAC}:ClusterRoleBinding"


def test_operator_rules_come_from_api_discovery_of_each_member(stack_config):
    stack_config["fleetform:permissions"] = [
        {
            "name": "operators",
            "fleet": "fleet-south",
            "role": "operator",
            "subjects": [{"kind": "Group", "name": "ops"}],
        }
    ]
    resources = registrations(stack_config)
    discovery = resources["operators-idc-gz-01-discovery"]
    assert discovery["type"].endswith("fleetform:ApiDiscovery") and discovery["cluster"] == "idc-gz-01"
    rules = resources["operators-idc-gz-01-role"]["rules"]
    assert {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["*"]} in rules
    assert {"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list", "watch"]} in rules
