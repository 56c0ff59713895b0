"""ClusterBootstrap's dynamic resources against the Kubernetes emulator: the default StorageClass
algorithm of DOMAIN §6.4 (adopt, create, demote, restore), the ingress status and its reasons, and the
admission webhook's certificate."""

from __future__ import annotations

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from test_federation_status import crd  # a schema-less CRD, as an implementation's installer makes one

from providers.dynamic import DefaultStorageClassProvider, IngressStatusProvider
from providers.dynamic.storage_class import StorageInputs, plan
from providers.dynamic.webhook_certificate import WebhookCertificateProvider, issue, renewal_due
from providers.errors import ClusterAccessError, ErrorCode
from sandbox.kubeapi import KubeApiEmulator

DEFAULT = "storageclass.kubernetes.io/is-default-class"
GATEWAY_GROUP = "gateway.networking.k8s.io"


def storage_class(name, provisioner, parameters=None, default=False, binding="WaitForFirstConsumer") -> dict:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": name, "annotations": {DEFAULT: "true"} if default else {}},
        "provisioner": provisioner,
        "parameters": parameters or {},
        "reclaimPolicy": "Delete",
        "volumeBindingMode": binding,
    }


def csi_driver(name: str) -> dict:
    return {"apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver", "metadata": {"name": name}, "spec": {}}


@pytest.fixture
def cluster():
    with KubeApiEmulator() as emulator:
        yield emulator.add_cluster("member")


def eks_inputs(cluster, **changes) -> dict:
    return {
        "cluster": "member",
        "kubeconfig": cluster.kubeconfig(),
        "class_name": "ebs-sc",
        "provisioner": "ebs.csi.aws.com",
        "parameters": {"type": "gp3"},
        "make_default": True,
        "adopt_existing": True,
        "adopt": [],
        "create": True,
        **changes,
    }


def defaults(cluster) -> dict[str, bool]:
    return {
        sc["metadata"]["name"]: (sc["metadata"].get("annotations") or {}).get(DEFAULT) == "true"
        for sc in cluster.objects.list("storage.k8s.io/v1", "StorageClass")
    }


def test_a_created_class_takes_the_default_and_destroy_gives_it_back(cluster):
    cluster.objects.create(storage_class("gp2", "kubernetes.io/aws-ebs", {"type": "gp2"}, default=True))
    cluster.objects.create(csi_driver("ebs.csi.aws.com"))
    provider = DefaultStorageClassProvider()
    props = eks_inputs(cluster)
    created = provider.create(props)
    assert (created.outs["storage_class"], created.outs["created"], created.outs["previous_default"]) == (
        "ebs-sc",
        True,
        "gp2",
    )
    assert created.outs["state"] == "ready"
    assert defaults(cluster) == {"gp2": False, "ebs-sc": True}  # exactly one default (V30)
    provider.delete(created.id, created.outs)
    assert defaults(cluster) == {"gp2": True}


def test_an_adopted_class_is_only_marked_and_unmarked(cluster):
    for name in ("alicloud-disk-ssd", "alicloud-disk-essd"):
        cluster.objects.create(storage_class(name, "diskplugin.csi.alibabacloud.com"))
    provider = DefaultStorageClassProvider()
    props = eks_inputs(
        cluster,
        class_name="fleetform-disk",
        provisioner="diskplugin.csi.alibabacloud.com",
        adopt=["alicloud-disk-*"],
    )
    created = provider.create(props)
    assert (created.outs["storage_class"], created.outs["adopted"], created.outs["state"]) == (
        "alicloud-disk-essd",  # the first match by name
        True,
        "adopted",
    )
    assert defaults(cluster) == {"alicloud-disk-ssd": False, "alicloud-disk-essd": True}
    provider.delete(created.id, created.outs)
    assert defaults(cluster) == {"alicloud-disk-ssd": False, "alicloud-disk-essd": False}  # left as found


def test_a_class_with_the_name_but_other_parameters_is_refused_at_preview(cluster):
    cluster.objects.create(storage_class("ebs-sc", "ebs.csi.aws.com", {"type": "io2"}))
    cluster.objects.create(csi_driver("ebs.csi.aws.com"))
    checked = DefaultStorageClassProvider().check({}, eks_inputs(cluster))
    (failure,) = checked.failures
    assert "FF-STOR-002" in failure.reason and "parameters" in failure.reason and "ebs-sc" in failure.reason


def test_a_missing_csi_driver_is_named_with_the_fix(cluster):
    checked = DefaultStorageClassProvider().check({}, eks_inputs(cluster))
    (failure,) = checked.failures
    assert "FF-STOR-003" in failure.reason and "aws-ebs-csi-driver" in failure.reason


def test_plan_without_a_class_to_adopt_or_create_reports_degraded():
    inputs = StorageInputs.from_props(
        {"cluster": "idc", "kubeconfig": "", "class_name": "fleetform-disk", "provisioner": "", "parameters": {}}
        | {"adopt_default": True, "create": False}
    )
    decided = plan(inputs, {"local": storage_class("local", "rancher.io/local-path")}, set())
    assert decided.class_name == "" and ErrorCode.STOR_NO_DEFAULT.value in decided.reason
    adopted = plan(inputs, {"local": storage_class("local", "rancher.io/local-path", default=True)}, set())
    assert (adopted.class_name, adopted.create, adopted.mark_default, adopted.demote) == ("local", False, False, [])


def test_plan_refuses_a_different_class_even_when_asked_to_adopt_by_name():
    inputs = StorageInputs.from_props(
        {"cluster": "c", "kubeconfig": "", "class_name": "ebs-sc", "provisioner": "ebs.csi.aws.com"}
        | {"parameters": {"type": "gp3"}}
    )
    with pytest.raises(ClusterAccessError) as refused:
        plan(
            inputs, {"ebs-sc": storage_class("ebs-sc", "ebs.csi.aws.com", {"type": "gp3"}, binding="Immediate")}, set()
        )
    assert refused.value.code is ErrorCode.STOR_CLASS_DIFFERS and "volumeBindingMode" in str(refused.value)


def ingress_inputs(cluster, **changes) -> dict:
    return {
        "cluster": "member",
        "kubeconfig": cluster.kubeconfig(),
        "namespace": "ingress-nginx",
        "service": "ingress-nginx-controller",
        "workload": "Deployment/ingress-nginx-controller",
        "class_name": "nginx",
        "service_type": "LoadBalancer",
        "timeout_seconds": 1,
        **changes,
    }


def install_controller(cluster, service_type="LoadBalancer") -> dict:
    cluster.objects.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ingress-nginx"}})
    cluster.objects.create(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IngressClass",
            "metadata": {"name": "nginx"},
            "spec": {"controller": "k8s.io/ingress-nginx"},
        }
    )
    labels = {"app": "controller"}
    cluster.objects.create(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "ingress-nginx-controller", "namespace": "ingress-nginx"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "i"}]}},
            },
        }
    )
    return cluster.objects.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "ingress-nginx-controller", "namespace": "ingress-nginx"},
            "spec": {"type": service_type, "selector": labels, "ports": [{"name": "http", "port": 80}]},
        }
    )


def test_ingress_without_an_address_is_degraded_with_the_cloud_controllers_complaint(cluster):
    service = install_controller(cluster)
    cluster.objects.create(
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "refused", "namespace": "ingress-nginx"},
            "involvedObject": {
                "kind": "Service",
                "name": service["metadata"]["name"],
                "uid": service["metadata"]["uid"],
            },
            "type": "Warning",
            "reason": "SyncLoadBalancerFailed",
            "message": 'invalid value "intranett" for annotation address-type',
        }
    )
    created = IngressStatusProvider().create(ingress_inputs(cluster))
    assert created.outs["state"] == "degraded" and created.outs["address"] == ""
    reason = created.outs["state_reason"]
    assert reason.startswith("FF-ING-003") and "SyncLoadBalancerFailed" in reason and "intranett" in reason

    cluster.objects.patch(
        "v1",
        "Service",
        "ingress-nginx-controller",
        {"status": {"loadBalancer": {"ingress": [{"hostname": "lb.example.com"}]}}},
        "ingress-nginx",
        subresource="status",
    )
    found = IngressStatusProvider().read(created.id, created.outs)
    assert (found.outs["state"], found.outs["address"]) == ("ready", "lb.example.com")


def test_a_node_port_ingress_is_reached_on_the_nodes(cluster):
    install_controller(cluster, "NodePort")
    created = IngressStatusProvider().create(ingress_inputs(cluster, service_type="NodePort"))
    assert created.outs["state"] == "ready"
    host, port = created.outs["address"].split(":")
    assert host == "127.0.0.1" and 30000 <= int(port) <= 32767


def test_the_webhook_certificate_is_signed_by_its_ca_for_the_service_names():
    names = ["svc.ns.svc", "svc.ns.svc.cluster.local"]
    issued = issue(names)
    ca = x509.load_pem_x509_certificate(issued.ca_pem.encode())
    cert = x509.load_pem_x509_certificate(issued.cert_pem.encode())
    ca.public_key().verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
    assert (
        cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
        == names
    )
    assert "PRIVATE KEY" in issued.key_pem


def test_the_webhook_certificate_is_replaced_when_its_names_change_or_it_nears_expiry():
    provider = WebhookCertificateProvider()
    created = provider.create({"dns_names": ["a.svc"]})
    assert not provider.diff(created.id, created.outs, {"dns_names": ["a.svc"]}).changes
    assert provider.diff(created.id, created.outs, {"dns_names": ["b.svc"]}).replaces == ["dns_names"]
    soon = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=30)).isoformat()
    assert renewal_due(soon) and not renewal_due(created.outs["not_after"])
    assert provider.diff(created.id, {**created.outs, "not_after": soon}, {"dns_names": ["a.svc"]}).changes


def test_a_second_default_ingress_class_is_reported_never_left_silent(cluster):
    install_controller(cluster, "NodePort")
    cluster.objects.create(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IngressClass",
            "metadata": {"name": "traefik", "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}},
            "spec": {"controller": "traefik.io/ingress-controller"},
        }
    )
    created = IngressStatusProvider().create(ingress_inputs(cluster, service_type="NodePort", make_default=True))
    assert created.outs["state"] == "degraded"
    assert "FF-ING-006" in created.outs["state_reason"] and "traefik" in created.outs["state_reason"]
    alone = IngressStatusProvider().create(ingress_inputs(cluster, service_type="NodePort", make_default=False))
    assert alone.outs["state"] == "ready"


def test_a_gateway_is_ready_once_programmed_with_an_address(cluster):
    cluster.objects.create(crd(GATEWAY_GROUP, "gateways", "Gateway", "v1", "Namespaced"))
    cluster.objects.create(crd(GATEWAY_GROUP, "gatewayclasses", "GatewayClass", "v1", "Cluster"))
    cluster.objects.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ingress-gateway"}})
    gateway = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "fleetform-gateway", "namespace": "ingress-gateway"},
        "spec": {"gatewayClassName": "gke-l7-rilb", "listeners": [{"name": "http", "protocol": "HTTP", "port": 80}]},
    }
    cluster.objects.create(gateway)
    inputs = ingress_inputs(
        cluster,
        namespace="ingress-gateway",
        service="",
        workload="",
        class_name="gke-l7-rilb",
        gateway="fleetform-gateway",
    )
    missing = IngressStatusProvider().create(inputs)
    assert missing.outs["state"] == "degraded" and "GatewayClass 'gke-l7-rilb'" in missing.outs["state_reason"]

    cluster.objects.create(
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "GatewayClass",
            "metadata": {"name": "gke-l7-rilb"},
            "spec": {"controllerName": "networking.gke.io/gateway"},
        }
    )
    cluster.objects.patch(
        "gateway.networking.k8s.io/v1",
        "Gateway",
        "fleetform-gateway",
        {
            "status": {
                "addresses": [{"type": "IPAddress", "value": "10.132.0.9"}],
                "conditions": [{"type": "Programmed", "status": "True", "reason": "Programmed", "message": ""}],
            }
        },
        "ingress-gateway",
        subresource="status",
    )
    ready = IngressStatusProvider().create(inputs)
    assert (ready.outs["state"], ready.outs["address"]) == ("ready", "10.132.0.9")


def test_undoing_on_a_cluster_that_is_gone_is_forgotten_only_when_asked(cluster, monkeypatch):
    cluster.objects.create(csi_driver("ebs.csi.aws.com"))
    provider = DefaultStorageClassProvider()
    created = provider.create(eks_inputs(cluster))
    cluster.set_reachable(False)
    monkeypatch.delenv("PULUMI_K8S_DELETE_UNREACHABLE", raising=False)
    with pytest.raises(ClusterAccessError) as refused:
        provider.delete(created.id, created.outs)
    assert refused.value.unreachable  # the engine then asks whether the cluster is gone from its cloud
    monkeypatch.setenv("PULUMI_K8S_DELETE_UNREACHABLE", "true")
    provider.delete(created.id, created.outs)  # done: its objects went with the cluster
