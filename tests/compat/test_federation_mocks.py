"""Federations under the Pulumi SDK's mocks: what the program declares for a fleet bound to a
federation (operator, Karmada CR, Push and Pull members, workloads, policies) and what it refuses."""

from __future__ import annotations

import pulumi
import pytest
from pulumi.runtime import mocks
from pulumi.runtime.rpc import _special_sig_key as SECRET_SIG
from test_program_mocks import by_name, run_program, stack_config  # noqa: F401  (stack_config: a fixture)

from components import karmada

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "nginx", "namespace": "demo"},
    "spec": {
        "replicas": 4,
        "selector": {"matchLabels": {"app": "nginx"}},
        "template": {
            "metadata": {"labels": {"app": "nginx"}},
            "spec": {"containers": [{"name": "nginx", "image": "docker.io/library/nginx:1.27"}]},
        },
    },
}


def revealed(value):
    """The value inside a secret (which the SDK serializes as a signed wrapper)."""
    return value["value"] if isinstance(value, dict) and SECRET_SIG in value else value


SELECTOR = {"api_version": "apps/v1", "kind": "Deployment", "name": "nginx"}


@pytest.fixture
def federated(stack_config):  # noqa: F811  (the fixture imported above)
    stack_config["fleetform:federations"] = [
        {
            "name": "fed-prod",
            "deletion_protection": False,
            "karmada_version": "v1.17.5",
            "api_server_service_type": "NodePort",
            "workloads": [DEPLOYMENT],
            "policies": {
                "override": [
                    {
                        "name": "nginx-registry",
                        "namespace": "demo",
                        "selectors": [SELECTOR],
                        "rules": [
                            {"clusters": ["idc-sh-01"], "image_registry": "registry.sh.example.com"},
                            {"clusters": ["idc-bj-01"], "image_tag": "1.27-bj", "labels": {"site": "bj"}},
                        ],
                    }
                ],
                "propagation": [
                    {
                        "name": "nginx",
                        "namespace": "demo",
                        "selectors": [SELECTOR],
                        "clusters": ["idc-sh-01", "idc-bj-01"],
                        "replicas": {"divided": {"idc-sh-01": 1, "idc-bj-01": 3}},
                        "tolerations_seconds": 60,
                    }
                ],
            },
        }
    ]
    stack_config["fleetform:fleets"] = [
        {"name": "fleet-prod", "members": ["idc-sh-01", "idc-bj-01"], "federation": "fed-prod"}
    ]
    return stack_config


def test_operator_mode_installs_the_operator_and_the_karmada_cr_on_the_hub(federated):
    resources = by_name(run_program(federated))
    crd = resources["fed-prod-karmada-crd"]
    assert crd["metadata"]["name"] == "karmadas.operator.karmada.io"
    assert (crd["spec"]["group"], crd["spec"]["scope"]) == ("operator.karmada.io", "Namespaced")
    assert crd["spec"]["versions"][0]["subresources"] == {"status": {}}
    deployment = resources["fed-prod-operator-deployment"]
    assert deployment["type"] == "kubernetes:apps/v1:Deployment"
    assert deployment["metadata"]["namespace"] == "karmada-system"
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "docker.io/karmada/karmada-operator:v1.17.5"
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == "karmada-operator"
    assert resources["fed-prod-operator-role"]["rules"][2] == {
        "apiGroups": ["operator.karmada.io"],
        "resources": ["karmadas/status"],
        "verbs": ["update"],
    }

    cr = resources["fed-prod-karmada"]
    assert cr["type"] == "kubernetes:operator.karmada.io/v1alpha1:Karmada"
    assert (cr["metadata"]["name"], cr["metadata"]["namespace"]) == ("fed-prod", "fleetform-fed-fed-prod")
    components = cr["spec"]["components"]
    assert components["karmadaAPIServer"]["serviceType"] == "NodePort"
    assert components["etcd"]["local"]["replicas"] == 3
    assert components["karmadaControllerManager"]["imageTag"] == "v1.17.5"  # an upgrade is an in-place update
    control_plane = resources["fed-prod-control-plane"]
    assert (control_plane["mode"], control_plane["namespace"]) == ("operator", "fleetform-fed-fed-prod")
    assert resources["fed-prod-karmada-cluster"]["metadata"]["name"] == "karmada-cluster"


def test_a_direct_member_joins_in_push_mode_with_its_hub_credential(federated):
    resources = by_name(run_program(federated))
    secret = resources["fed-prod-idc-sh-01-secret"]
    assert (secret["metadata"]["namespace"], secret["metadata"]["name"]) == ("karmada-cluster", "idc-sh-01")
    assert set(revealed(secret["data"])) == {"token", "caBundle"}
    assert SECRET_SIG in secret["data"]  # the member's token never lands in plain text
    cluster = resources["fed-prod-idc-sh-01-cluster"]
    assert cluster["type"] == "kubernetes:cluster.karmada.io/v1alpha1:Cluster"
    assert cluster["spec"]["syncMode"] == "Push"
    assert cluster["spec"]["secretRef"] == {"namespace": "karmada-cluster", "name": "idc-sh-01"}
    assert cluster["spec"]["apiEndpoint"] == "https://10.0.0.1:6443"
    assert (cluster["spec"]["provider"], cluster["spec"]["region"]) == ("idc", "dc-shanghai")
    member_labels = cluster["metadata"]["labels"]
    assert (member_labels["fleetform.io/fleet"], member_labels["fleetform.io/kind"]) == ("fleet-prod", "idc")
    status = resources["fed-prod-idc-sh-01-status"]
    assert (status["sync_mode"], status["timeout_seconds"]) == ("Push", 600)
    assert "fed-prod-idc-sh-01-agent-sa" not in resources


def test_an_agent_member_gets_the_karmada_agent_and_a_scoped_credential(federated):
    resources = by_name(run_program(federated))
    assert "fed-prod-idc-bj-01-cluster" not in resources  # the agent registers the Cluster (Pull)
    agent = resources["fed-prod-idc-bj-01-karmada-agent"]
    assert agent["type"] == "kubernetes:apps/v1:Deployment"
    command = agent["spec"]["template"]["spec"]["containers"][0]["command"]
    assert "--cluster-name=idc-bj-01" in command
    assert "--karmada-kubeconfig=/etc/kubeconfig/karmada-kubeconfig" in command
    assert agent["spec"]["template"]["spec"]["containers"][0]["image"] == "docker.io/karmada/karmada-agent:v1.17.5"
    kubeconfig = resources["fed-prod-idc-bj-01-karmada-agent-kubeconfig"]
    assert (kubeconfig["metadata"]["namespace"], kubeconfig["metadata"]["name"]) == (
        "karmada-system",
        "karmada-kubeconfig",
    )
    assert set(revealed(kubeconfig["stringData"])) == {"karmada-kubeconfig"}
    role = resources["fed-prod-idc-bj-01-agent-role"]
    assert role["metadata"]["name"] == "system:karmada:idc-bj-01:agent"
    assert role["rules"][0]["resourceNames"] == ["idc-bj-01"]
    assert resources["fed-prod-idc-bj-01-agent-works-role"]["metadata"]["namespace"] == "karmada-es-idc-bj-01"
    credential = resources["fed-prod-idc-bj-01-agent-credential"]
    assert (credential["server"], credential["service_account"]) == (
        "https://10.0.0.2:5443",
        "fleetform-agent-idc-bj-01",
    )
    assert resources["fed-prod-idc-bj-01-status"]["sync_mode"] == "Pull"


def test_policies_render_weights_tolerations_and_override_rules(federated):
    resources = by_name(run_program(federated))
    pp = resources["fed-prod-pp-demo-nginx"]
    assert pp["type"] == "kubernetes:policy.karmada.io/v1alpha1:PropagationPolicy"
    placement = pp["spec"]["placement"]
    assert placement["clusterAffinity"] == {"clusterNames": ["idc-sh-01", "idc-bj-01"]}
    assert placement["replicaScheduling"]["replicaSchedulingType"] == "Divided"
    assert placement["replicaScheduling"]["weightPreference"]["staticWeightList"] == [
        {"targetCluster": {"clusterNames": ["idc-sh-01"]}, "weight": 1},
        {"targetCluster": {"clusterNames": ["idc-bj-01"]}, "weight": 3},
    ]
    assert {t["key"]: t["tolerationSeconds"] for t in placement["clusterTolerations"]} == {
        karmada.TAINT_NOT_READY: 60,
        karmada.TAINT_UNREACHABLE: 60,
    }
    op = resources["fed-prod-op-demo-nginx-registry"]
    rules = op["spec"]["overrideRules"]
    assert rules[0]["targetCluster"] == {"clusterNames": ["idc-sh-01"]}
    assert rules[0]["overriders"]["imageOverrider"] == [
        {"component": "Registry", "operator": "replace", "value": "registry.sh.example.com"}
    ]
    assert rules[1]["overriders"]["imageOverrider"][0]["component"] == "Tag"
    assert rules[1]["overriders"]["labelsOverrider"] == [{"operator": "add", "value": {"site": "bj"}}]
    workload = resources["fed-prod-workload-deployment-demo-nginx"]
    assert workload["spec"]["replicas"] == 4
    status = resources["fed-prod-pp-nginx-status"]
    assert status["bindings"] == [{"namespace": "demo", "name": "nginx-deployment"}]
    assert status["targets"] == ["idc-sh-01", "idc-bj-01"]


def test_override_policies_come_before_the_workloads_and_propagation_they_affect(federated, monkeypatch):
    dependencies: dict[str, list[str]] = {}
    register = mocks.MockMonitor.RegisterResource

    def recording(self, request):
        dependencies[request.name] = list(request.dependencies)
        return register(self, request)

    monkeypatch.setattr(mocks.MockMonitor, "RegisterResource", recording)
    registered = run_program(federated)
    override = next(urn for urn in registered if urn.endswith("::fed-prod-op-demo-nginx-registry"))
    for dependent in ("fed-prod-pp-demo-nginx", "fed-prod-workload-deployment-demo-nginx"):
        assert override in dependencies[dependent]
    assert not any(urn.endswith("-pp-demo-nginx") for urn in dependencies["fed-prod-op-demo-nginx-registry"])


def test_a_policy_naming_a_cluster_outside_the_fleet_is_refused_with_its_key(federated):
    policy = federated["fleetform:federations"][0]["policies"]["propagation"][0]
    policy["replicas"] = {"divided": {"idc-sh-01": 1, "eks-elsewhere": 0}}
    with pytest.raises(pulumi.RunError) as failure:
        run_program(federated)
    message = str(failure.value)
    assert (
        'fleetform:federations[0].policies.propagation[0].replicas.divided["eks-elsewhere"]: FF-POL-002 cluster '
        "'eks-elsewhere' in policy 'nginx' is not a member of federation 'fed-prod'"
    ) in message
    assert "FF-POL-003 weight must be a positive integer" in message
