"""Federation workloads and policies: the stack model's checks (components/spec/policies.py, V45) and
the pure policy renderers (components/policies.py)."""

from __future__ import annotations

import pytest

from components import policies
from components.spec import StackConfigError, spec_from_config

SELECTOR = {"api_version": "apps/v1", "kind": "Deployment", "name": "web"}


def config(**federation) -> dict:
    return {
        "fleetform:sandbox": True,
        "fleetform:hub": {"name": "hub-test"},
        "fleetform:clusters": [
            {"name": name, "kind": "idc", "connection_mode": "direct", "kubeconfig_env": "X"}
            for name in ("idc-aa-01", "idc-bb-01", "idc-cc-01")
        ],
        "fleetform:fleets": [{"name": "fleet-ab", "members": ["idc-aa-01", "idc-bb-01"], "federation": "fed-ab"}],
        "fleetform:federations": [{"name": "fed-ab", "deletion_protection": False, **federation}],
    }


def problems(cfg: dict) -> list[str]:
    with pytest.raises(StackConfigError) as failure:
        spec_from_config(cfg, "stacks/Pulumi.test.yaml")
    return [str(problem) for problem in failure.value.problems]


def propagation(**fields) -> dict:
    return {"policies": {"propagation": [{"name": "web", "namespace": "demo", "selectors": [SELECTOR], **fields}]}}


def test_a_valid_policy_set_parses_with_defaults():
    cfg = config(
        workloads=[{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "demo"}}],
        **propagation(fleet="fleet-ab"),
    )
    (federation,) = spec_from_config(cfg, "stacks/Pulumi.test.yaml").federations
    (policy,) = federation.policies.propagation
    assert (policy.replicas, policy.tolerations_seconds, policy.conflict_resolution) == ("duplicated", 300, "Abort")


def test_v45_a_cluster_outside_the_fleet_is_named_with_its_key_path():
    found = problems(config(**propagation(clusters=["idc-aa-01", "idc-cc-01"])))
    assert found == [
        "fleetform:federations[0].policies.propagation[0].clusters[1]: FF-POL-002 cluster 'idc-cc-01' in policy 'web' "
        "is not a member of federation 'fed-ab' (members of fleet 'fleet-ab': idc-aa-01, idc-bb-01)"
    ]


def test_v45_override_targets_and_the_fleet_must_be_the_federations():
    cfg = config(
        policies={
            "propagation": [{"name": "web", "namespace": "demo", "selectors": [SELECTOR], "fleet": "fleet-xy"}],
            "override": [
                {
                    "name": "web",
                    "namespace": "demo",
                    "selectors": [SELECTOR],
                    "rules": [{"clusters": ["idc-cc-01"], "image_tag": "v2"}],
                }
            ],
        }
    )
    found = problems(cfg)
    assert any(
        p.startswith("fleetform:federations[0].policies.propagation[0].fleet: FF-POL-002 fleet 'fleet-xy'")
        for p in found
    )
    assert any(
        p.startswith("fleetform:federations[0].policies.override[0].rules[0].clusters[0]: FF-POL-002") for p in found
    )


def test_weights_must_be_positive_and_within_the_listed_clusters():
    found = problems(
        config(**propagation(clusters=["idc-aa-01"], replicas={"divided": {"idc-aa-01": 0, "idc-bb-01": 1}}))
    )
    assert (
        'fleetform:federations[0].policies.propagation[0].replicas.divided["idc-aa-01"]: FF-POL-003 weight must be a positive integer (e.g. 1)'
        in found
    )
    assert any("'idc-bb-01' is not in this policy's clusters" in p for p in found)


def test_placement_needs_exactly_one_of_clusters_and_fleet():
    found = problems(config(**propagation()))
    assert found == [
        "fleetform:federations[0].policies.propagation[0]: give exactly one of clusters and fleet "
        "(clusters: [names] or fleet: <the federation's fleet>)"
    ]


def test_override_rules_must_change_something_and_storage_class_needs_a_volume_kind():
    cfg = config(
        policies={
            "override": [
                {
                    "name": "web",
                    "namespace": "demo",
                    "selectors": [SELECTOR],
                    "rules": [{"clusters": ["idc-aa-01"]}, {"clusters": ["idc-bb-01"], "storage_class": "gp3"}],
                }
            ]
        }
    )
    found = problems(cfg)
    assert any(
        p.startswith("fleetform:federations[0].policies.override[0].rules[0]: an override rule changes nothing")
        for p in found
    )
    assert any(p.startswith("fleetform:federations[0].policies.override[0].rules[1].storage_class:") for p in found)


def test_workloads_need_kind_and_name():
    found = problems(config(workloads=[{"apiVersion": "v1", "metadata": {}}]))
    assert (
        "fleetform:federations[0].workloads[0].kind: field required (e.g. apiVersion: apps/v1, kind: Deployment)"
        in found
    )
    assert "fleetform:federations[0].workloads[0].metadata.name: field required" in found


# -- renderers -------------------------------------------------------------------------------------


def test_duplicated_placement_on_a_fleet_selects_its_label_and_tolerates_taints():
    policy = policies.render_propagation_policy(
        "web", selectors=[policies.Selector("apps/v1", "Deployment", "web")], fleet="fleet-ab"
    )
    assert policy["kind"] == "ClusterPropagationPolicy"  # no namespace
    placement = policy["spec"]["placement"]
    assert placement["clusterAffinity"] == {"labelSelector": {"matchLabels": {"fleetform.io/fleet": "fleet-ab"}}}
    assert placement["replicaScheduling"] == {"replicaSchedulingType": "Duplicated"}
    assert [(t["key"], t["effect"], t["tolerationSeconds"]) for t in placement["clusterTolerations"]] == [
        ("cluster.karmada.io/not-ready", "NoExecute", 300),
        ("cluster.karmada.io/unreachable", "NoExecute", 300),
    ]
    assert policy["spec"]["conflictResolution"] == "Abort" and policy["spec"]["propagateDeps"] is True
    assert policy["spec"]["resourceSelectors"] == [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}]


def test_divided_weights_render_a_static_weight_list_and_refuse_zero():
    policy = policies.render_propagation_policy(
        "web",
        namespace="demo",
        selectors=[policies.Selector("apps/v1", "Deployment", labels={"app": "web"})],
        clusters=["a-one", "b-two"],
        replicas=policies.Divided({"a-one": 1, "b-two": 2}),
        conflict_resolution="Overwrite",
    )
    scheduling = policy["spec"]["placement"]["replicaScheduling"]
    assert scheduling["replicaDivisionPreference"] == "Weighted"
    assert [w["weight"] for w in scheduling["weightPreference"]["staticWeightList"]] == [1, 2]
    assert policy["spec"]["resourceSelectors"][0]["labelSelector"] == {"matchLabels": {"app": "web"}}
    assert policy["spec"]["conflictResolution"] == "Overwrite"
    with pytest.raises(policies.PolicyError, match="FF-POL-003"):
        policies.render_propagation_policy(
            "web", selectors=[], clusters=["a-one"], replicas=policies.Divided({"a-one": 0})
        )


def test_override_rules_render_image_storage_and_label_overriders():
    rule = policies.override_rule(
        ["a-one"],
        image_registry="reg.example.com",
        image_tag="v2",
        storage_class="gp3",
        storage_kinds=["StatefulSet", "Deployment"],
        labels={"tier": "edge"},
    )
    policy = policies.render_override_policy(
        "web", namespace="demo", selectors=[policies.Selector("apps/v1", "StatefulSet", "db")], rules=[rule]
    )
    (rendered,) = policy["spec"]["overrideRules"]
    assert rendered["targetCluster"] == {"clusterNames": ["a-one"]}
    assert rendered["overriders"] == {
        "imageOverrider": [
            {"component": "Registry", "operator": "replace", "value": "reg.example.com"},
            {"component": "Tag", "operator": "replace", "value": "v2"},
        ],
        "plaintext": [
            {"path": "/spec/volumeClaimTemplates/0/spec/storageClassName", "operator": "add", "value": "gp3"}
        ],
        "labelsOverrider": [{"operator": "add", "value": {"tier": "edge"}}],
    }
    assert policies.storage_class(["a-one"], "fast").overriders["plaintext"][0]["path"] == "/spec/storageClassName"


def test_targets_follow_weights_then_clusters_then_the_fleet():
    assert policies.targets(None, policies.Divided({"x-one": 1}), ["a", "b"]) == ["x-one"]
    assert policies.targets(["a"], "duplicated", ["a", "b"]) == ["a"]
    assert policies.targets(None, "duplicated", ["a", "b"]) == ["a", "b"]
