"""The federation's dynamic resources against the Kubernetes emulator: a host cluster with the Karmada
CRD and a virtual cluster standing in for the Karmada API (the Karmada CRDs created by the test), with
the test writing the status the karmada-operator, cluster controller and scheduler would."""

from __future__ import annotations

import threading

import pytest

from components import karmada
from providers.dynamic import FederationMemberStatusProvider, KarmadaControlPlaneProvider, PolicyStatusProvider
from providers.errors import ClusterAccessError, ErrorCode
from sandbox.kubeapi import ApiError, KubeApiEmulator

NAMESPACE = "fleetform-fed-fed-test"


def crd(group: str, plural: str, kind: str, version: str, scope: str) -> dict:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "names": {"plural": plural, "singular": kind.lower(), "kind": kind, "listKind": f"{kind}List"},
            "scope": scope,
            "versions": [
                {
                    "name": version,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                }
            ],
        },
    }


@pytest.fixture
def world():
    with KubeApiEmulator() as emulator:
        host = emulator.add_cluster("host", version="1.29.4")
        host.objects.create(
            {
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": {"name": karmada.KARMADA_CRD},
                "spec": karmada.karmada_crd_spec(),
            }
        )
        host.objects.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
        api = emulator.add_cluster("karmada", version="1.31.0")
        for definition in (
            crd("cluster.karmada.io", "clusters", "Cluster", "v1alpha1", "Cluster"),
            crd("policy.karmada.io", "propagationpolicies", "PropagationPolicy", "v1alpha1", "Namespaced"),
            crd("work.karmada.io", "resourcebindings", "ResourceBinding", "v1alpha2", "Namespaced"),
        ):
            api.objects.create(definition)
        api.objects.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}})
        yield host, api


def karmada_cr(host) -> None:
    host.objects.create(
        {
            "apiVersion": karmada.OPERATOR_API,
            "kind": "Karmada",
            "metadata": {"name": "fed-test", "namespace": NAMESPACE},
            "spec": karmada.karmada_spec(
                version="v1.18.2", service_type="NodePort", etcd=karmada.local_etcd(1, "3Gi", None), feature_gates={}
            ),
        }
    )


def operator_reports(host, api, ready: str = "True", version: str = "v1.18.2", reason: str = "Completed") -> None:
    """What the karmada-operator writes: the admin Secret (upstream's key) and the CR's status."""
    secret = karmada.admin_secret_name("fed-test")
    try:
        host.objects.get("v1", "Secret", secret, NAMESPACE)
    except Exception:  # not yet written
        host.objects.create(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": secret, "namespace": NAMESPACE},
                "stringData": {karmada.ADMIN_CONFIG_KEY: api.kubeconfig()},
            }
        )
    status = {
        "observedGeneration": 1,
        "secretRef": {"namespace": NAMESPACE, "name": secret},
        "karmadaVersion": version,
        "kubernetesVersion": "v1.31.0",
        "conditions": [
            {
                "type": "Ready",
                "status": ready,
                "reason": reason,
                "message": "",
                "lastTransitionTime": "2026-01-01T00:00:00Z",
            }
        ],
    }
    host.objects.patch(karmada.OPERATOR_API, "Karmada", "fed-test", {"status": status}, NAMESPACE, subresource="status")


def control_plane_props(host, **extra) -> dict:
    return {
        "federation": "fed-test",
        "mode": "operator",
        "karmada_version": "v1.18.2",
        "timeout_seconds": 10,
        "host_kubeconfig": host.kubeconfig(),
        "namespace": NAMESPACE,
        "spec_hash": "a",
        **extra,
    }


def test_the_control_plane_waits_for_ready_and_reads_the_secret_the_status_names(world):
    host, api = world
    karmada_cr(host)
    operator = threading.Timer(1.0, lambda: operator_reports(host, api))
    operator.start()
    try:
        created = KarmadaControlPlaneProvider().create(control_plane_props(host))
    finally:
        operator.join()
    outs = created.outs
    assert (outs["state"], outs["observed_version"], outs["kubernetes_version"]) == ("running", "v1.18.2", "v1.31.0")
    assert outs["kubeconfig"] == api.kubeconfig() and outs["api_server_url"] == api.url
    assert outs["ca_bundle"]


def test_an_upgrade_waits_until_the_operator_reports_the_new_version(world):
    host, api = world
    karmada_cr(host)
    operator_reports(host, api)
    provider = KarmadaControlPlaneProvider()
    created = provider.create(control_plane_props(host))
    with pytest.raises(ClusterAccessError) as caught:
        provider.update(
            created.id, created.outs, control_plane_props(host, karmada_version="v1.19.0", timeout_seconds=1)
        )
    assert caught.value.code is ErrorCode.FED_CONTROL_PLANE_FAILED
    assert "state upgrading" in str(caught.value)
    operator_reports(host, api, version="v1.19.0")
    updated = provider.update(created.id, created.outs, control_plane_props(host, karmada_version="v1.19.0"))
    assert (updated.outs["state"], updated.outs["observed_version"]) == ("running", "v1.19.0")


def test_a_failed_karmada_fails_at_once_with_the_operators_reason(world):
    host, api = world
    karmada_cr(host)
    operator_reports(host, api, ready="False", reason="ApplyFailed")
    with pytest.raises(ClusterAccessError, match=r"FF-FED-002 .*state failed: Ready=False \(ApplyFailed"):
        KarmadaControlPlaneProvider().create(control_plane_props(host, timeout_seconds=30))


def test_an_existing_api_without_the_karmada_groups_is_refused(world):
    host, api = world
    with pytest.raises(ClusterAccessError) as caught:
        KarmadaControlPlaneProvider().create(
            {
                "federation": "fed-test",
                "mode": "existing",
                "karmada_version": "v1.18.2",
                "timeout_seconds": 5,
                "existing_kubeconfig": host.kubeconfig(),
            }
        )
    assert caught.value.code is ErrorCode.FED_NOT_KARMADA
    assert "missing cluster.karmada.io/v1alpha1" in str(caught.value)
    adopted = KarmadaControlPlaneProvider().create(
        {
            "federation": "fed-test",
            "mode": "existing",
            "karmada_version": "v1.18.2",
            "timeout_seconds": 5,
            "existing_kubeconfig": api.kubeconfig(),
        }
    )
    assert adopted.outs["state"] == "running"


# -- members -----------------------------------------------------------------------------------------


def member_props(api, **extra) -> dict:
    return {
        "cluster": "idc-aa-01",
        "federation": "fed-test",
        "karmada_kubeconfig": api.kubeconfig(),
        "sync_mode": "Push",
        "timeout_seconds": 10,
        "labels": {"fleetform.io/fleet": "fleet-ab"},
        **extra,
    }


def cluster_object(api, labels: dict | None = None) -> None:
    api.objects.create(
        {
            "apiVersion": karmada.CLUSTER_API,
            "kind": "Cluster",
            "metadata": {"name": "idc-aa-01", "labels": labels or {}},
            "spec": {"syncMode": "Pull"},
        }
    )


def cluster_reports(api, ready: str, taints: list[str] = ()) -> None:
    """What the cluster controller writes: the Ready condition and, when not ready, the taints."""
    condition = {
        "type": "Ready",
        "status": ready,
        "reason": "ClusterReady" if ready == "True" else "ClusterNotReachable",
        "message": "",
        "lastTransitionTime": "2026-01-01T00:00:00Z",
    }
    api.objects.patch(
        karmada.CLUSTER_API, "Cluster", "idc-aa-01", {"status": {"conditions": [condition]}}, subresource="status"
    )
    api.objects.patch(
        karmada.CLUSTER_API,
        "Cluster",
        "idc-aa-01",
        {"spec": {"taints": [{"key": t, "effect": "NoSchedule"} for t in taints]}},
    )


def test_a_member_that_never_becomes_ready_is_add_failed(world):
    _, api = world
    with pytest.raises(ClusterAccessError) as caught:
        FederationMemberStatusProvider().create(member_props(api, timeout_seconds=1))
    assert caught.value.code is ErrorCode.FED_MEMBER_ADD_FAILED
    assert str(caught.value).startswith(
        "FF-FED-010 cluster 'idc-aa-01' did not become Ready in federation 'fed-test' within 1s: Cluster idc-aa-01 is not on the Karmada API"
    )


def test_a_pull_member_is_labelled_once_the_agent_registers_it_and_taints_make_it_disconnected(world):
    _, api = world
    provider = FederationMemberStatusProvider()

    def agent_joins() -> None:
        cluster_object(api)
        cluster_reports(api, "True")

    agent = threading.Timer(1.0, agent_joins)
    agent.start()
    try:
        created = provider.create(member_props(api, sync_mode="Pull"))
    finally:
        agent.join()
    assert (created.outs["state"], created.outs["ready"]) == ("connected", "Ready")
    labels = api.objects.get(karmada.CLUSTER_API, "Cluster", "idc-aa-01")["metadata"]["labels"]
    assert labels["fleetform.io/fleet"] == "fleet-ab"

    cluster_reports(api, "False", [karmada.TAINT_UNREACHABLE])
    seen = provider.read(created.id, created.outs).outs
    assert (seen["state"], seen["ready"]) == ("disconnected", "NotReady")
    assert "taints cluster.karmada.io/unreachable" in seen["state_reason"]


def test_leaving_is_refused_while_a_policy_names_the_member_unless_drained(world):
    _, api = world
    cluster_object(api)
    api.objects.create(
        {
            "apiVersion": karmada.POLICY_API,
            "kind": "PropagationPolicy",
            "metadata": {"name": "web", "namespace": "demo"},
            "spec": {"resourceSelectors": [], "placement": {"clusterAffinity": {"clusterNames": ["idc-aa-01"]}}},
        }
    )
    provider = FederationMemberStatusProvider()
    with pytest.raises(ClusterAccessError) as caught:
        provider.delete("fed-test/idc-aa-01", member_props(api))
    assert caught.value.code is ErrorCode.FED_MEMBER_STILL_TARGETED
    assert "PropagationPolicy demo/web" in str(caught.value)
    provider.delete("fed-test/idc-aa-01", member_props(api, drain_workloads=True))


def test_a_pull_member_leaving_deletes_its_cluster_and_waits_until_it_is_gone(world):
    _, api = world
    cluster_object(api)
    api.objects.patch(karmada.CLUSTER_API, "Cluster", "idc-aa-01", {"metadata": {"finalizers": ["test/agent"]}})

    def agent_cleans_up() -> None:  # what the agent and the cluster controller do before the Cluster goes
        api.objects.patch(karmada.CLUSTER_API, "Cluster", "idc-aa-01", {"metadata": {"finalizers": None}})

    released = threading.Timer(1.0, agent_cleans_up)
    released.start()
    try:
        FederationMemberStatusProvider().delete("fed-test/idc-aa-01", member_props(api, sync_mode="Pull"))
    finally:
        released.join()
    with pytest.raises(ApiError) as missing:
        api.objects.get(karmada.CLUSTER_API, "Cluster", "idc-aa-01")
    assert missing.value.code == 404


def test_a_pull_member_whose_cluster_stays_fails_to_leave_with_its_finalizers(world):
    _, api = world
    cluster_object(api)
    api.objects.patch(karmada.CLUSTER_API, "Cluster", "idc-aa-01", {"metadata": {"finalizers": ["test/agent"]}})
    with pytest.raises(ClusterAccessError) as caught:
        FederationMemberStatusProvider().delete(
            "fed-test/idc-aa-01", member_props(api, sync_mode="Pull", timeout_seconds=1)
        )
    assert caught.value.code is ErrorCode.FED_MEMBER_UNJOIN_FAILED
    assert str(caught.value).startswith(
        "FF-FED-013 cluster 'idc-aa-01' is still in federation 'fed-test' 1s after its Cluster was deleted "
        "(finalizers: ['test/agent']"
    )


def test_a_push_member_leaving_leaves_its_cluster_to_its_own_resource(world):
    _, api = world
    cluster_object(api)
    FederationMemberStatusProvider().delete("fed-test/idc-aa-01", member_props(api))
    assert api.objects.get(karmada.CLUSTER_API, "Cluster", "idc-aa-01")["metadata"]["name"] == "idc-aa-01"


# -- policies ------------------------------------------------------------------------------------------


def policy_props(api, **extra) -> dict:
    return {
        "policy": "web",
        "federation": "fed-test",
        "karmada_kubeconfig": api.kubeconfig(),
        "bindings": [{"namespace": "demo", "name": "web-deployment"}],
        "targets": ["idc-aa-01", "idc-bb-01"],
        "timeout_seconds": 0,
        **extra,
    }


def binding(api, clusters: dict[str, int], applied: list[str]) -> None:
    """What the scheduler and the binding controller write on ResourceBinding web-deployment."""
    body = {
        "apiVersion": karmada.WORK_API,
        "kind": "ResourceBinding",
        "metadata": {"name": "web-deployment", "namespace": "demo"},
        "spec": {"clusters": [{"name": c, "replicas": r} for c, r in clusters.items()]},
    }
    try:
        api.objects.get(karmada.WORK_API, "ResourceBinding", "web-deployment", "demo")
        api.objects.patch(karmada.WORK_API, "ResourceBinding", "web-deployment", {"spec": body["spec"]}, "demo")
    except Exception:  # first write
        api.objects.create(body)
    status = {"aggregatedStatus": [{"clusterName": c, "applied": True} for c in applied]}
    api.objects.patch(
        karmada.WORK_API, "ResourceBinding", "web-deployment", {"status": status}, "demo", subresource="status"
    )


def test_policy_states_follow_the_resource_binding(world):
    _, api = world
    provider = PolicyStatusProvider()
    created = provider.create(policy_props(api))
    assert (created.outs["state"], created.outs["clusters"]) == ("unscheduled", {})
    assert "no ResourceBinding schedules web-deployment" in created.outs["state_reason"]

    binding(api, {"idc-aa-01": 2}, ["idc-aa-01"])
    partial = provider.read(created.id, created.outs).outs
    assert (partial["state"], partial["clusters"]) == ("partially-applied", {"idc-aa-01": 2})

    binding(api, {"idc-aa-01": 2, "idc-bb-01": 2}, ["idc-aa-01", "idc-bb-01"])
    scheduled = provider.read(created.id, created.outs).outs
    assert (scheduled["state"], scheduled["clusters"]) == ("scheduled", {"idc-aa-01": 2, "idc-bb-01": 2})
