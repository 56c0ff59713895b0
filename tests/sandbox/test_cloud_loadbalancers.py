"""Each cloud's load-balancer controller (sandbox/controllers/loadbalancers.py) on clusters created
through the cloud emulators, whose nodes carry the cloud's providerIDs.

The controller is driven pass by pass (``assign_addresses``); "nothing happened" is stated about
completed passes.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from itertools import count

import pytest
import yaml
from kubernetes import client, config

from sandbox.clouds.ack import AckEmulator
from sandbox.clouds.aks import AksEmulator
from sandbox.clouds.ctyun import CtyunEmulator
from sandbox.clouds.eks import EksEmulator
from sandbox.clouds.gke import GkeEmulator
from sandbox.clouds.tke import TkeEmulator
from sandbox.controllers import SandboxControllers
from sandbox.controllers import loadbalancers as lb
from sandbox.kubeapi import ApiError, KubeApiEmulator, VirtualCluster

_counter = count(1)
AWS_REGION = "us-west-2"


@dataclass(frozen=True)
class Case:
    """How one cloud is asked for an internal or a public load balancer, and a wrong request."""

    internal: dict
    public: dict
    wrong: dict = field(default_factory=dict)  # annotations the cloud rejects ({} when it rejects none)
    wrong_annotation: str = ""
    reason: str = lb.SYNC_FAILED
    hostname: bool = False  # the address is a DNS name (AWS), not an IP


LBC = {lb.AWS_TYPE: "external", lb.AWS_TARGET_TYPE: "ip"}
CASES = {
    "eks": Case(
        internal={**LBC, lb.AWS_SCHEME: "internal"},
        public={**LBC, lb.AWS_SCHEME: "internet-facing"},
        wrong={**LBC, lb.AWS_SCHEME: "internel"},
        wrong_annotation=lb.AWS_SCHEME,
        reason=lb.BUILD_MODEL_FAILED,
        hostname=True,
    ),
    "gke": Case(internal={lb.GKE_TYPE: "Internal"}, public={}),
    "aks": Case(internal={lb.AZURE_INTERNAL: "true"}, public={}),
    "ack": Case(
        internal={lb.ALIBABA_ADDRESS_TYPE: "intranet"},
        public={lb.ALIBABA_ADDRESS_TYPE: "internet"},
        wrong={lb.ALIBABA_ADDRESS_TYPE: "intranett"},
        wrong_annotation=lb.ALIBABA_ADDRESS_TYPE,
    ),
    "tke": Case(
        internal={lb.TENCENT_SUBNET: "subnet-5d2k9f1a"},
        public={},
        wrong={lb.TENCENT_SUBNET: "subnet-5D2K9F1A-x"},
        wrong_annotation=lb.TENCENT_SUBNET,
    ),
    "ctyun": Case(
        internal={lb.CTYUN_ADDRESS_TYPE: "intranet"},
        public={lb.CTYUN_ADDRESS_TYPE: "internet"},
        wrong={lb.CTYUN_ADDRESS_TYPE: "Internet"},  # values are case-sensitive
        wrong_annotation=lb.CTYUN_ADDRESS_TYPE,
    ),
}
FAILING = [kind for kind, case in CASES.items() if case.wrong]


def new_cloud_cluster(kube: KubeApiEmulator, kind: str) -> VirtualCluster:
    """A cluster created in ``kind``'s emulated cloud (a new name each time); its backing cluster."""
    n = next(_counter)
    if kind == "eks":
        EksEmulator(kube).add_cluster(AWS_REGION, f"lb{n}")
        return kube.cluster(f"eks-lb{n}")
    if kind == "gke":
        GkeEmulator(kube).add_cluster("fleetform-sandbox", "europe-west1", f"lb{n}")
        return kube.cluster(f"gke-lb{n}")
    if kind == "aks":
        AksEmulator(kube).add_cluster("00000000-0000-4000-8000-00000000f1ee", "rg-lb", f"lb{n}")
        return kube.cluster(f"aks-lb{n}")
    if kind == "ack":
        AckEmulator(kube).add_cluster("cn-hangzhou", f"c{n}")
        return kube.cluster(f"ack-c{n}")
    if kind == "tke":
        TkeEmulator(kube).add_cluster("ap-guangzhou", f"cls-lb{n}")
        return kube.cluster(f"tke-cls-lb{n}")
    CtyunEmulator(kube).add_cluster("bb9fdb42056f11eda1610242ac110002", f"lb{n}")
    return kube.cluster(f"ctyun-lb{n}")


@pytest.fixture(scope="module")
def kube():
    with KubeApiEmulator() as emulator:
        yield emulator


@pytest.fixture
def cluster(request, kube):
    """A cloud cluster of the kind the test is parametrized with."""
    return new_cloud_cluster(kube, request.param)


def service(cluster: VirtualCluster, annotations: dict, *, kind: str = "LoadBalancer", name: str = "web") -> dict:
    return cluster.objects.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": "default", "annotations": annotations},
            "spec": {"type": kind, "selector": {"app": name}, "ports": [{"port": 80}]},
        }
    )


def passes(cluster: VirtualCluster, n: int = 3) -> None:
    for _ in range(n):
        lb.assign_addresses(cluster)


def ingress(cluster: VirtualCluster, name: str = "web") -> list[dict]:
    live = cluster.objects.get("v1", "Service", name, "default")
    return ((live.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []


def events_for(cluster: VirtualCluster, name: str = "web") -> list[dict]:
    try:
        events = cluster.objects.list("v1", "Event", "default")
    except ApiError as err:
        assert err.code == 404  # the type is not served: no Event was ever recorded
        return []
    return [e for e in events if e["involvedObject"]["name"] == name]


def set_annotations(cluster: VirtualCluster, annotations: dict, name: str = "web") -> None:
    cluster.objects.patch("v1", "Service", name, {"metadata": {"annotations": annotations}}, "default")


def assert_shape(kind: str, found: list[dict], internal: bool) -> str:
    """The one address in ``found``, checked for the cloud's shape and scheme; returned."""
    assert len(found) == 1, found
    if CASES[kind].hostname:
        assert set(found[0]) == {"hostname"}
        hostname = found[0]["hostname"]
        assert re.fullmatch(
            rf"k8s-default-web-[0-9a-f]{{10}}-[0-9a-f]{{16}}\.elb\.{AWS_REGION}\.amazonaws\.com", hostname
        )
        return hostname
    assert set(found[0]) == {"ip"}
    address = ipaddress.ip_address(found[0]["ip"])
    if internal:
        assert address.is_private, address
    else:
        assert address.is_global, address
    return str(address)


# --- every cloud --------------------------------------------------------------------------------


@pytest.mark.parametrize("cluster", list(CASES), indirect=True)
def test_the_cluster_cloud_comes_from_the_node_provider_ids(cluster):
    expected = {"eks": "aws", "gke": "gce", "aks": "azure", "ack": "alibaba", "tke": "tencent", "ctyun": "ctyun"}
    kind = cluster.name.split("-")[0]
    assert lb.cloud_of(cluster).name == expected[kind]


@pytest.mark.parametrize("cluster", list(CASES), indirect=True)
def test_internal_and_public_addresses_have_the_cloud_shape(cluster):
    kind = cluster.name.split("-")[0]
    case = CASES[kind]
    service(cluster, case.internal, name="web")
    service(cluster, case.public, name="pub")
    passes(cluster)
    internal = assert_shape(kind, ingress(cluster, "web"), internal=True)
    if case.hostname:
        public = ingress(cluster, "pub")[0]["hostname"]
        assert public.startswith("k8s-default-pub-") and public.endswith(f".elb.{AWS_REGION}.amazonaws.com")
    else:
        public = assert_shape(kind, ingress(cluster, "pub"), internal=False)
    assert internal != public
    assert events_for(cluster, "web") == events_for(cluster, "pub") == []


@pytest.mark.parametrize("cluster", list(CASES), indirect=True)
def test_addresses_are_stable_for_the_same_service(cluster):
    kind = cluster.name.split("-")[0]
    service(cluster, CASES[kind].public)
    passes(cluster)
    first = ingress(cluster)
    cluster.objects.delete("v1", "Service", "web", "default")
    service(cluster, CASES[kind].public)
    passes(cluster)
    assert ingress(cluster) == first != []


@pytest.mark.parametrize("cluster", list(CASES), indirect=True)
def test_switching_internal_to_public_changes_the_address(cluster):
    kind = cluster.name.split("-")[0]
    case = CASES[kind]
    service(cluster, case.internal)
    passes(cluster)
    internal = ingress(cluster)
    assert_shape(kind, internal, internal=True)
    removed = {k: None for k in case.internal if k not in case.public}
    set_annotations(cluster, {**removed, **case.public})
    passes(cluster)
    public = ingress(cluster)
    assert public != internal
    if not case.hostname:
        assert_shape(kind, public, internal=False)


@pytest.mark.parametrize("cluster", list(CASES), indirect=True)
def test_a_node_port_service_is_left_alone(cluster):
    kind = cluster.name.split("-")[0]
    created = service(cluster, CASES[kind].internal, kind="NodePort")
    passes(cluster)
    live = cluster.objects.get("v1", "Service", "web", "default")
    assert live["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    assert ingress(cluster) == [] and events_for(cluster) == []


@pytest.mark.parametrize("cluster", list(CASES), indirect=True)
def test_a_service_no_longer_of_type_load_balancer_loses_its_address(cluster):
    kind = cluster.name.split("-")[0]
    service(cluster, CASES[kind].public)
    passes(cluster)
    assert ingress(cluster)
    cluster.objects.patch("v1", "Service", "web", {"spec": {"type": "NodePort"}}, "default")
    passes(cluster)
    assert ingress(cluster) == []


# --- wrong annotations --------------------------------------------------------------------------


@pytest.mark.parametrize("cluster", FAILING, indirect=True)
def test_a_wrong_annotation_gets_no_address_and_one_warning_event(cluster):
    kind = cluster.name.split("-")[0]
    case = CASES[kind]
    created = service(cluster, case.wrong)
    passes(cluster, 5)
    assert ingress(cluster) == []
    events = events_for(cluster)
    assert len(events) == 1, events
    event = events[0]
    assert event["type"] == "Warning" and event["reason"] == case.reason and event["count"] == 1
    assert event["involvedObject"] == {
        "apiVersion": "v1",
        "kind": "Service",
        "namespace": "default",
        "name": "web",
        "uid": created["metadata"]["uid"],
        "resourceVersion": created["metadata"]["resourceVersion"],
    }
    bad_value = case.wrong[case.wrong_annotation]
    assert case.wrong_annotation in event["message"] and f'"{bad_value}"' in event["message"]

    set_annotations(cluster, case.internal)  # fixed
    passes(cluster)
    assert_shape(kind, ingress(cluster), internal=True)
    assert len(events_for(cluster)) == 1


def test_the_alibaba_message_reads_as_the_cloud_controller_writes_it(kube):
    cluster = new_cloud_cluster(kube, "ack")
    service(cluster, {lb.ALIBABA_ADDRESS_TYPE: "intranett"})
    passes(cluster)
    (event,) = events_for(cluster)
    assert event["message"] == (
        'Error syncing load balancer: failed to ensure load balancer: invalid value "intranett" for annotation '
        "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type (want intranet or internet)"
    )


def test_a_wrong_annotation_on_a_provisioned_service_keeps_its_address(kube):
    """A failed update leaves the existing load balancer (and the status) as they were."""
    cluster = new_cloud_cluster(kube, "ctyun")
    service(cluster, {lb.CTYUN_ADDRESS_TYPE: "internet"})
    passes(cluster)
    before = ingress(cluster)
    set_annotations(cluster, {lb.CTYUN_ADDRESS_TYPE: "INTERNET"})
    passes(cluster)
    assert ingress(cluster) == before
    assert [e["reason"] for e in events_for(cluster)] == [lb.SYNC_FAILED]


@pytest.mark.parametrize(
    ("kind", "annotations"),
    [
        ("gke", {lb.GKE_TYPE: "Intrenal"}),
        ("gke", {lb.GKE_TYPE: "External"}),
        ("aks", {lb.AZURE_INTERNAL: "yes"}),
        ("aks", {lb.AZURE_INTERNAL: "false"}),
    ],
)
def test_gke_and_aks_take_any_other_value_for_public_without_an_event(kube, kind, annotations):
    cluster = new_cloud_cluster(kube, kind)
    service(cluster, annotations)
    passes(cluster)
    assert_shape(kind, ingress(cluster), internal=False)
    assert events_for(cluster) == []


@pytest.mark.parametrize(
    ("kind", "annotations"),
    [
        ("gke", {lb.GKE_TYPE_DEPRECATED: "internal"}),
        ("aks", {lb.AZURE_INTERNAL: "True"}),
        ("ctyun", {}),  # CTyun's default is intranet
    ],
)
def test_other_internal_spellings(kube, kind, annotations):
    cluster = new_cloud_cluster(kube, kind)
    service(cluster, annotations)
    passes(cluster)
    assert_shape(kind, ingress(cluster), internal=True)


# --- AWS: the legacy provider and the AWS Load Balancer Controller ------------------------------


@pytest.mark.parametrize(
    ("annotations", "pattern"),
    [
        ({}, rf"a[0-9a-f]{{31}}-\d{{10}}\.{AWS_REGION}\.elb\.amazonaws\.com"),
        ({lb.AWS_INTERNAL: "true"}, rf"internal-a[0-9a-f]{{31}}-\d{{10}}\.{AWS_REGION}\.elb\.amazonaws\.com"),
        ({lb.AWS_INTERNAL: "0.0.0.0/0"}, rf"internal-a[0-9a-f]{{31}}-\d{{10}}\.{AWS_REGION}\.elb\.amazonaws\.com"),
        ({lb.AWS_TYPE: "nbl"}, rf"a[0-9a-f]{{31}}-\d{{10}}\.{AWS_REGION}\.elb\.amazonaws\.com"),
        ({lb.AWS_TYPE: "nlb"}, rf"a[0-9a-f]{{31}}-[0-9a-f]{{16}}\.elb\.{AWS_REGION}\.amazonaws\.com"),
        (
            {lb.AWS_TYPE: "nlb", lb.AWS_INTERNAL: "true"},
            rf"a[0-9a-f]{{31}}-[0-9a-f]{{16}}\.elb\.{AWS_REGION}\.amazonaws\.com",
        ),
        (
            {lb.AWS_TYPE: "nlb", lb.AWS_SCHEME: "bogus"},
            rf"a[0-9a-f]{{31}}-[0-9a-f]{{16}}\.elb\.{AWS_REGION}\.amazonaws\.com",
        ),
    ],
)
def test_aws_legacy_provider_hostnames(kube, annotations, pattern):
    cluster = new_cloud_cluster(kube, "eks")
    service(cluster, annotations)
    passes(cluster)
    (found,) = ingress(cluster)
    assert re.fullmatch(pattern, found["hostname"]), found
    assert events_for(cluster) == []


def test_aws_nlb_internal_and_public_differ_without_an_internal_prefix(kube):
    cluster = new_cloud_cluster(kube, "eks")
    service(cluster, {lb.AWS_TYPE: "nlb", lb.AWS_INTERNAL: "true"})
    passes(cluster)
    (private,) = ingress(cluster)
    set_annotations(cluster, {lb.AWS_INTERNAL: None})
    passes(cluster)
    (public,) = ingress(cluster)
    assert not private["hostname"].startswith("internal-") and private != public
    assert private["hostname"].split("-")[0] == public["hostname"].split("-")[0]  # same LB name, new LB


def test_aws_load_balancer_controller_defaults_to_internal(kube):
    cluster = new_cloud_cluster(kube, "eks")
    service(cluster, {lb.AWS_TYPE: "external"})
    passes(cluster)
    default = ingress(cluster)
    set_annotations(cluster, {lb.AWS_SCHEME: "internal"})
    passes(cluster)
    assert ingress(cluster) == default
    set_annotations(cluster, {lb.AWS_SCHEME: None, lb.AWS_INTERNAL: "false"})  # the deprecated flag
    passes(cluster)
    legacy_public = ingress(cluster)
    set_annotations(cluster, {lb.AWS_SCHEME: "internet-facing", lb.AWS_INTERNAL: None})
    passes(cluster)
    assert ingress(cluster) == legacy_public != default


@pytest.mark.parametrize(
    ("annotations", "bad"),
    [
        ({lb.AWS_TYPE: "external", lb.AWS_TARGET_TYPE: "pod"}, lb.AWS_TARGET_TYPE),
        ({lb.AWS_TYPE: "external", lb.AWS_INTERNAL: "yes"}, lb.AWS_INTERNAL),
    ],
)
def test_aws_load_balancer_controller_rejects_bad_values(kube, annotations, bad):
    cluster = new_cloud_cluster(kube, "eks")
    service(cluster, annotations)
    passes(cluster)
    assert ingress(cluster) == []
    (event,) = events_for(cluster)
    assert event["reason"] == lb.BUILD_MODEL_FAILED and bad in event["message"]
    assert event["message"].startswith("Failed build model due to ")


def test_a_foreign_load_balancer_class_is_left_to_its_controller(kube):
    cluster = new_cloud_cluster(kube, "gke")
    cluster.objects.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"type": "LoadBalancer", "loadBalancerClass": "example.com/lb", "ports": [{"port": 80}]},
        }
    )
    passes(cluster)
    assert ingress(cluster) == [] and events_for(cluster) == []


# --- clusters without a cloud -------------------------------------------------------------------


def test_a_cluster_without_a_cloud_gives_no_address(kube):
    cluster = kube.add_cluster(f"idc-{next(_counter)}")
    assert lb.cloud_of(cluster) is None
    created = service(cluster, {lb.ALIBABA_ADDRESS_TYPE: "nonsense"})
    passes(cluster)
    live = cluster.objects.get("v1", "Service", "web", "default")
    assert live["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    assert ingress(cluster) == [] and events_for(cluster) == []


@pytest.mark.parametrize(
    ("annotations", "spec"),
    [
        ({"metallb.universe.tf/loadBalancerIPs": "192.0.2.10"}, {}),
        ({"metallb.io/loadBalancerIPs": "192.0.2.10,192.0.2.11"}, {}),
        ({}, {"loadBalancerIP": "192.0.2.10"}),
    ],
)
def test_a_cluster_without_a_cloud_honours_an_address_asked_for(kube, annotations, spec):
    cluster = kube.add_cluster(f"idc-{next(_counter)}")
    cluster.objects.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "namespace": "default", "annotations": annotations},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80}], **spec},
        }
    )
    passes(cluster)
    assert ingress(cluster) == [{"ip": "192.0.2.10"}]


# --- wiring -------------------------------------------------------------------------------------


def test_the_sandbox_controllers_run_it_and_events_are_listed_over_https(kube):
    cluster = new_cloud_cluster(kube, "tke")
    service(cluster, {lb.TENCENT_SUBNET: "subnet-bad"})
    SandboxControllers(kube, hub="no-such-hub").reconcile()
    configuration = client.Configuration()
    config.load_kube_config_from_dict(yaml.safe_load(cluster.kubeconfig()), client_configuration=configuration)
    with client.ApiClient(configuration) as api:
        events = client.CoreV1Api(api).list_namespaced_event("default").items
    assert [(e.reason, e.type, e.involved_object.name) for e in events] == [(lb.SYNC_FAILED, "Warning", "web")]
