"""The fleetform program under the Pulumi SDK's own mocks (`pulumi.runtime.set_mocks`): what the
Pulumi CLI would be asked to create, with no engine of ours involved."""

from __future__ import annotations

import asyncio
import json
import runpy
import threading
from pathlib import Path

import pulumi
import pytest
from pulumi.runtime import mocks, settings
from pulumi.runtime.rpc import _special_sig_key as SECRET_SIG
from pulumi.runtime.stack import wait_for_rpcs
from pulumi.runtime.sync_await import _sync_await

ROOT = Path(__file__).resolve().parents[2]
KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://10.0.0.1:6443", certificate-authority-data: Q0E=}}]
users: [{name: u, user: {token: not-a-real-token}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
"""


class FleetformMocks(pulumi.runtime.Mocks):
    """Dynamic resources answer with plausible outputs; everything else echoes its inputs."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        outputs = dict(args.inputs)
        if args.typ.endswith("fleetform:ClusterLookup"):
            outputs.update(
                kubernetes_version="v1.29.4",
                cluster_uid=f"uid-{args.name}",
                native_id=f"uid-{args.name}",
                endpoint="https://10.0.0.1:6443",
                ca_bundle="Q0E=",
                reachable=True,
                region="mocked",
                bootstrap_kubeconfig=KUBECONFIG,
            )
        if args.typ.endswith("fleetform:ServiceAccountCredential"):
            outputs.update(kubeconfig_out=KUBECONFIG, token="token")
        if args.typ.endswith("fleetform:RegistrationStatus"):
            outputs.update(state="running", state_reason="mocked")
        if args.typ.endswith("fleetform:ApiDiscovery"):
            rules = [{"apiGroups": [""], "resources": ["pods"]}, {"apiGroups": ["apps"], "resources": ["deployments"]}]
            outputs.update(namespaced_rules=rules, source="discovery")
        if args.typ.endswith("fleetform:ManifestWorkStatus"):
            outputs.update(state="pending", state_reason="mocked", applied=False, available=False)
        if args.typ.endswith("fleetform:KarmadaControlPlane"):
            outputs.update(
                kubeconfig=KUBECONFIG,
                api_server_url="https://10.0.0.2:5443",
                ca_bundle="Q0E=",
                observed_version=args.inputs["karmada_version"],
                state="running",
            )
        if args.typ.endswith("fleetform:FederationMemberStatus"):
            outputs.update(state="connected", ready="Ready", state_reason="mocked")
        if args.typ.endswith("fleetform:PolicyStatus"):
            outputs.update(state="scheduled", clusters={}, state_reason="mocked")
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


def run_program(config: dict[str, object]) -> dict[str, mocks.MockMonitor.ResourceRegistration]:
    """Run __main__.py on a thread of its own (fresh SDK context) and return what it registered."""
    result: dict = {}

    def target() -> None:
        asyncio.set_event_loop(asyncio.new_event_loop())
        monitor = mocks.MockMonitor(FleetformMocks())
        mocks.set_mocks(FleetformMocks(), project="fleetform", stack="dev", preview=False, monitor=monitor)
        settings.SETTINGS.outputs.clear()  # outputs left by an earlier run that failed (as pulumi.runtime.test does)
        pulumi.runtime.set_all_config({k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()})
        try:
            runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")
            _sync_await(wait_for_rpcs())
        except BaseException as exc:  # reported to the test
            result["error"] = exc
        result["resources"] = monitor.get_registered_resources()
        settings.ROOT.set(None)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["resources"]


@pytest.fixture
def stack_config(monkeypatch):
    for var in ("HUB_KUBECONFIG", "SH_KUBECONFIG", "BJ_KUBECONFIG"):
        monkeypatch.setenv(var, KUBECONFIG)
    return {
        "fleetform:hub": {
            "name": "hub-prod",
            "kubeconfig_env": "HUB_KUBECONFIG",
            "ocm": "install",
            "agent_endpoint": "https://hub.example.com:6443",
        },
        "fleetform:clusters": [
            {
                "name": "idc-sh-01",
                "kind": "idc",
                "connection_mode": "direct",
                "kubeconfig_env": "SH_KUBECONFIG",
                "region": "dc-shanghai",
            },
            {"name": "idc-bj-01", "kind": "idc", "connection_mode": "agent", "kubeconfig_env": "BJ_KUBECONFIG"},
        ],
    }


def by_name(resources) -> dict[str, dict]:
    return {
        urn.rsplit("::", 1)[-1]: {"type": urn.split("::")[2].rsplit("$", 1)[-1], **reg.state}
        for urn, reg in resources.items()
    }


def test_the_program_declares_the_registration_recipe(stack_config):
    resources = by_name(run_program(stack_config))

    managed = resources["idc-sh-01-managedcluster"]
    assert managed["type"] == "kubernetes:cluster.open-cluster-management.io/v1:ManagedCluster"
    assert managed["spec"]["hubAcceptsClient"] is True
    labels = managed["metadata"]["labels"]
    assert labels["fleetform.io/kind"] == "idc" and labels["fleetform.io/region"] == "dc-shanghai"
    assert labels["fleetform.io/connection-mode"] == "direct"
    assert labels["cluster.open-cluster-management.io/clusterset"] == "default"
    assert resources["idc-bj-01-managedcluster"]["metadata"]["labels"]["fleetform.io/region"] == "idc"

    binding = resources["idc-sh-01-hub-binding"]
    assert binding["roleRef"]["name"] == "cluster-admin"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "fleetform-hub", "namespace": "fleetform-system"}]
    assert resources["idc-sh-01-hub-token"]["type"] == "kubernetes.io/service-account-token"
    assert resources["idc-sh-01-hub-credential"]["metadata"]["name"] == "idc-sh-01-credential"

    role = resources["idc-bj-01-bootstrap-role"]
    assert role["rules"][0]["resourceNames"] == ["idc-bj-01"]  # the bootstrap credential is scoped
    agent = resources["idc-bj-01-agent"]
    assert "--cluster-name=idc-bj-01" in agent["spec"]["template"]["spec"]["containers"][0]["args"]
    assert resources["idc-bj-01-bootstrap-credential"]["server"] == "https://hub.example.com:6443"
    assert {
        "managedclusters.cluster.open-cluster-management.io",
        "managedclustersets.cluster.open-cluster-management.io",
        "managedclustersetbindings.cluster.open-cluster-management.io",
        "manifestworks.work.open-cluster-management.io",
    } == {r["metadata"]["name"] for r in resources.values() if r["type"].endswith(":CustomResourceDefinition")}
    assert "idc-sh-01-agent" not in resources and "idc-bj-01-hub-sa" not in resources


def test_a_cloud_cluster_is_looked_up_through_its_cloud_api(stack_config, monkeypatch):
    monkeypatch.setenv("FLEETFORM_EKS_ENDPOINT", "https://eks.internal.example.com")
    stack_config["fleetform:clusters"].append(
        {"name": "eks-prod-01", "kind": "eks", "region": "eu-west-1", "cluster_name": "prod-01"}
    )
    resources = by_name(run_program(stack_config))
    lookup = resources["eks-prod-01-lookup"]
    assert lookup["kind"] == "eks"
    assert lookup["identity"] == {"region": "eu-west-1", "cluster_name": "prod-01"}
    assert lookup["cloud_endpoint"] == "https://eks.internal.example.com"
    labels = resources["eks-prod-01-managedcluster"]["metadata"]["labels"]
    assert labels["fleetform.io/cloud"] == "aws" and labels["fleetform.io/region"] == "eu-west-1"
    assert labels["fleetform.io/connection-mode"] == "direct"  # the default for cloud kinds
    assert resources["eks-prod-01-hub-binding"]["roleRef"]["name"] == "cluster-admin"


def test_an_invalid_stack_names_the_key(stack_config):
    stack_config["fleetform:clusters"][0]["name"] = "Bad_Name"
    with pytest.raises(pulumi.RunError, match=r"fleetform:clusters\[0\]\.name"):
        run_program(stack_config)


def test_unreadable_kubeconfig_sources_are_all_named(stack_config, monkeypatch):
    monkeypatch.delenv("HUB_KUBECONFIG")
    monkeypatch.delenv("BJ_KUBECONFIG")
    with pytest.raises(pulumi.RunError) as failure:
        run_program(stack_config)
    lines = str(failure.value).splitlines()
    assert lines == [
        "stacks/Pulumi.dev.yaml: fleetform:hub.kubeconfig_env: environment variable HUB_KUBECONFIG (kubeconfig_env)"
        " is not set; export the kubeconfig in it or use kubeconfig_file",
        "stacks/Pulumi.dev.yaml: fleetform:clusters[1].kubeconfig_env: environment variable BJ_KUBECONFIG"
        " (kubeconfig_env) is not set; export the kubeconfig in it or use kubeconfig_file",
    ]


def test_members_of_a_federated_fleet_need_kubernetes_1_21(stack_config):
    stack_config["fleetform:federations"] = [{"name": "fed-prod", "deletion_protection": False}]
    stack_config["fleetform:fleets"] = [{"name": "fleet-prod", "members": ["idc-sh-01"], "federation": "fed-prod"}]
    resources = by_name(run_program(stack_config))
    assert resources["idc-sh-01-lookup"]["min_version"] == "1.21"
    assert resources["idc-bj-01-lookup"]["min_version"] == "1.19"


def clusterset(resources, cluster: str) -> str:
    return resources[f"{cluster}-managedcluster"]["metadata"]["labels"]["cluster.open-cluster-management.io/clusterset"]


def test_the_cluster_set_label_follows_the_stack_fleets_and_has_one_writer(stack_config):
    stack_config["fleetform:fleets"] = [{"name": "fleet-prod", "members": ["idc-sh-01"]}]
    resources = by_name(run_program(stack_config))
    assert clusterset(resources, "idc-sh-01") == "fleet-prod"
    assert clusterset(resources, "idc-bj-01") == "default"
    managers = {
        name: r["metadata"].get("annotations", {}).get("pulumi.com/patchFieldManager")
        for name, r in resources.items()
        if r["type"].startswith("kubernetes:") and "metadata" in r
    }
    assert managers["idc-sh-01-managedcluster"] == "fleetform-registration"
    assert managers["idc-bj-01-agent"] == "fleetform-agent"
    assert managers["hub-prod-ns-fleetform-system"] == "fleetform-hub"
    assert all(managers.values()), [name for name, manager in managers.items() if not manager]


def test_a_manually_installed_agent_gets_the_same_objects_as_an_installed_one(stack_config):
    installed = by_name(run_program(stack_config))
    stack_config["fleetform:clusters"][1]["agent_install"] = "manual"
    manual = by_name(run_program(stack_config))
    assert "idc-bj-01-agent" not in manual  # nothing is applied in the member by fleetform

    def as_resource(document: dict) -> dict:  # the manifest's object as the resource declares it
        return {key: value for key, value in document.items() if key not in ("apiVersion", "kind")}

    def unsecret(value):  # the SDK's serialized form of a secret value
        if isinstance(value, dict):
            return unsecret(value["value"]) if SECRET_SIG in value else {k: unsecret(v) for k, v in value.items()}
        return value

    suffixes = ("agent-ns", "agent-sa", "agent-binding", "agent-bootstrap", "agent")
    resource_objects = []
    for suffix in suffixes:
        declared = {
            k: v for k, v in installed[f"idc-bj-01-{suffix}"].items() if k not in ("type", "apiVersion", "kind")
        }
        declared["metadata"] = {k: v for k, v in declared["metadata"].items() if k != "annotations"}
        resource_objects.append(unsecret(declared))
    work = manual["idc-bj-01-registration-work"]
    assert work["metadata"] == {**work["metadata"], "name": "fleetform-registration", "namespace": "idc-bj-01"}
    assert [m["kind"] for m in work["spec"]["workload"]["manifests"]] == ["Namespace", "ConfigMap"]
    assert manual["idc-bj-01-registration-work-status"]["work"] == "fleetform-registration"
    assert manual["idc-bj-01-hub-namespace"]["metadata"]["name"] == "idc-bj-01"

    from components.agent import agent_objects

    documents = list(
        agent_objects("idc-bj-01", KUBECONFIG, installed["idc-bj-01-agent"]["metadata"]["labels"]).values()
    )
    assert [as_resource(d) for d in documents] == resource_objects


def test_a_gateway_api_ingress_is_a_gateway_with_the_load_balancer_annotations(monkeypatch, stack_config):
    config = {**stack_config}
    clusters = [dict(c) for c in config["fleetform:clusters"]]
    clusters[0]["bootstrap"] = {
        "ingress": {"provider": "gateway-api", "gateway_class": "gke-l7-rilb", "service_type": "LoadBalancer"},
        "storage": {"enabled": False},
    }
    config["fleetform:clusters"] = clusters
    resources = by_name(run_program(config))
    gateway = resources[f"{clusters[0]['name']}-ingress-gateway"]
    assert gateway["type"] == "kubernetes:gateway.networking.k8s.io/v1:Gateway"
    assert gateway["spec"]["gatewayClassName"] == "gke-l7-rilb"
    assert not [name for name in resources if name.endswith("-ingress-controller")]  # no ingress-nginx


def test_agent_node_selector_pins_the_klusterlet_in_both_install_modes(stack_config):
    stack_config["fleetform:clusters"][1]["agent_node_selector"] = {"node-role.fleetform.io/edge": "true"}
    installed = by_name(run_program(stack_config))
    assert installed["idc-bj-01-agent"]["spec"]["template"]["spec"]["nodeSelector"] == {
        "node-role.fleetform.io/edge": "true"
    }
    unpinned = stack_config["fleetform:clusters"][0]["name"]
    assert not any(
        "nodeSelector" in r.get("spec", {}).get("template", {}).get("spec", {})
        for name, r in by_name(run_program(stack_config)).items()
        if name.startswith(f"{unpinned}-")
    )

    from components.agent import agent_objects, render_manifest

    manifest = render_manifest(list(agent_objects("idc-bj-01", "kubeconfig", {}, {"zone": "edge"}).values()))
    assert "nodeSelector:\n        zone: edge" in manifest


def test_agent_node_selector_pins_the_karmada_agent_of_a_pull_member():
    from components.karmada import agent_objects

    objects = agent_objects(
        "idc-bj-01",
        version="v1.18.2",
        karmada_kubeconfig="kubeconfig",
        endpoint="https://10.0.0.1:6443",
        provider="idc",
        region="dc-beijing",
        labels={},
        node_selector={"zone": "edge"},
    )
    assert objects["karmada-agent"]["spec"]["template"]["spec"]["nodeSelector"] == {"zone": "edge"}
