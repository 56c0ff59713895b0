"""ClusterLookupProvider against emulated clusters: V4 (one registration per physical cluster) and
V5 (the hub is not its own member), at preview (check) and apply (create); a preview reads the hub once."""

from __future__ import annotations

import shutil
import sys

import pytest
import yaml

from components.ocm import CRDS, MANAGED_CLUSTER_API
from kubeclient import new_run
from providers import kube
from providers.clouds.idc import IdcSource
from providers.credential_exec import COMMAND, exec_kubeconfig
from providers.dynamic import ClusterLookupProvider
from providers.dynamic.cluster_lookup import MANAGED_CLUSTERS
from providers.errors import ClusterAccessError
from sandbox.kubeapi import KubeApiEmulator


@pytest.fixture
def estate():
    with KubeApiEmulator() as emulator:
        hub = emulator.add_cluster("hub", version="1.29.4")
        member = emulator.add_cluster("member", version="1.29.4")
        for crd in CRDS:
            hub.objects.create(
                {
                    "apiVersion": "apiextensions.k8s.io/v1",
                    "kind": "CustomResourceDefinition",
                    "metadata": {"name": crd.name},
                    "spec": crd.spec(),
                }
            )
        yield hub, member


def props(name: str, cluster, hub) -> dict:
    return {
        "cluster": name,
        "kind": "idc",
        "identity": {},
        "kubeconfig": cluster.kubeconfig(),
        "context": "",
        "cloud_endpoint": "",
        "min_version": "1.19",
        "hub_kubeconfig": hub.kubeconfig(),
    }


def test_a_fresh_cluster_is_looked_up(estate):
    hub, member = estate
    created = ClusterLookupProvider().create(props("member-a", member, hub))
    assert created.id == member.kube_system_uid
    assert created.outs["kubernetes_version"] == "v1.29.4" and created.outs["endpoint"] == member.url


def test_a_cluster_registered_under_another_name_is_refused(estate):
    hub, member = estate
    new_run()
    hub.objects.create(
        {
            "apiVersion": MANAGED_CLUSTER_API,
            "kind": "ManagedCluster",
            "metadata": {"name": "member-old", "annotations": {"fleetform.io/cluster-uid": member.kube_system_uid}},
            "spec": {"hubAcceptsClient": True},
        }
    )
    expected = f"FF-REG-001 cluster uid {member.kube_system_uid} is already registered as 'member-old' on the hub"
    check = ClusterLookupProvider().check({}, props("member-new", member, hub))
    assert [f.reason for f in check.failures] == [expected]
    with pytest.raises(ClusterAccessError, match=expected):
        ClusterLookupProvider().create(props("member-new", member, hub))
    new_run()  # a stack that declares it once, as 'member-old'
    assert ClusterLookupProvider().check({}, props("member-old", member, hub)).failures == []  # its own record


def test_the_hub_cannot_register_itself(estate):
    hub, _member = estate
    check = ClusterLookupProvider().check({}, props("hub-again", hub, hub))
    assert [f.reason for f in check.failures] == [
        "FF-REG-002 cluster 'hub-again' is the hub cluster itself and cannot be registered"
    ]


def test_the_minimum_version_comes_from_the_component(estate):
    hub, member = estate
    federated = {**props("member-a", member, hub), "min_version": "1.30", "federated": True}
    assert [f.reason for f in ClusterLookupProvider().check({}, federated).failures] == [
        "FF-VER-002 cluster 'member-a' runs Kubernetes v1.29.4; federation members require >= 1.30"
    ]
    assert ClusterLookupProvider().check({}, {**federated, "min_version": "1.29"}).failures == []
    with pytest.raises(ValueError, match="input 'min_version' is required"):
        ClusterLookupProvider().create({k: v for k, v in props("member-a", member, hub).items() if k != "min_version"})


def test_a_cloud_kubeconfig_names_the_credential_plugin_not_this_machines_interpreter(monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin")
    text = exec_kubeconfig("c", "eks", {"region": "eu-west-1", "cluster_name": "c"}, None, "https://k", "Y2E=")
    exec_ = yaml.safe_load(text)["users"][0]["user"]["exec"]
    assert exec_["command"] == COMMAND == "fleetform-credential" and sys.executable not in text
    assert shutil.which(COMMAND)  # found by name: the package's scripts directory is on PATH now


def test_a_run_reads_the_hub_once_for_all_members_at_preview_and_apply(estate, monkeypatch):
    hub, member = estate
    reads: list[str] = []
    request = kube.request_json

    def counted(client, method, path, *args, **kwargs):
        if client.server == hub.url:
            reads.append(path)
        return request(client, method, path, *args, **kwargs)

    monkeypatch.setattr(kube, "request_json", counted)
    new_run()
    assert ClusterLookupProvider().check({}, props("member-a", member, hub)).failures == []
    ClusterLookupProvider().create(props("member-a", member, hub))
    assert reads == ["/version", "/api/v1/namespaces/kube-system", MANAGED_CLUSTERS]


def test_two_entries_naming_one_cluster_in_a_run_are_refused_before_either_is_registered(estate):
    hub, member = estate
    new_run()
    ClusterLookupProvider().create(props("member-a", member, hub))
    expected = (
        f"FF-REG-001 cluster uid {member.kube_system_uid} is also declared as 'member-a' in this stack; "
        "register each physical cluster once (remove 'member-b' or 'member-a')"
    )
    assert [f.reason for f in ClusterLookupProvider().check({}, props("member-b", member, hub)).failures] == [expected]
    with pytest.raises(ClusterAccessError, match="also declared as 'member-a'"):
        ClusterLookupProvider().create(props("member-b", member, hub))
    assert ClusterLookupProvider().check({}, props("member-a", member, hub)).failures == []  # its own claim


def test_a_run_describes_a_cluster_once_for_its_check_and_create(estate, monkeypatch):
    hub, member = estate
    described: list[str] = []
    describe = IdcSource.describe

    def counted(source):
        described.append(source.name)
        return describe(source)

    monkeypatch.setattr(IdcSource, "describe", counted)
    new_run()
    assert ClusterLookupProvider().check({}, props("member-a", member, hub)).failures == []
    ClusterLookupProvider().create(props("member-a", member, hub))
    assert described == ["member-a"]
    new_run()
    ClusterLookupProvider().create(props("member-a", member, hub))
    assert described == ["member-a", "member-a"]  # the next run asks again
