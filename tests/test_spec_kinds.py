"""The facts each cluster kind's model carries (components/spec/clusters.py), read off the shipped stacks."""

import dataclasses
import importlib
import inspect
from pathlib import Path

import pytest

from components.spec import (
    CLUSTER_MODELS,
    KINDS,
    ClusterBase,
    EksCluster,
    FleetSpec,
    IdcCluster,
    IngressSettings,
    StackConfigError,
    load_stack_file,
    spec_from_config,
)
from sandbox.world import CLOUD_EMULATORS

STACKS = Path(__file__).resolve().parent.parent / "stacks"
SANDBOX = load_stack_file(STACKS / "Pulumi.sandbox.yaml")
PROD = load_stack_file(STACKS / "Pulumi.prod.yaml")
HUB = {"name": "hub-test", "kubeconfig": "a2ViZWNvbmZpZw==", "agent_endpoint": "https://hub.example.com:6443"}


def one_of_each_kind(spec: FleetSpec) -> dict[str, ClusterBase]:
    """The first cluster of every kind in a stack."""
    found: dict[str, ClusterBase] = {}
    for cluster in spec.clusters:
        found.setdefault(cluster.kind, cluster)
    assert set(found) == set(KINDS)
    return found


def stack_with(*clusters: dict) -> FleetSpec:
    return spec_from_config({"fleetform:hub": HUB, "fleetform:clusters": list(clusters)}, "stacks/Pulumi.test.yaml")


# --- the registry -----------------------------------------------------------------------------------------------


def test_kinds_come_from_the_registry_in_domain_order():
    assert KINDS == tuple(CLUSTER_MODELS) == ("ctyun", "idc", "eks", "gke", "aks", "ack", "tke")
    assert all(model.model_fields["kind"].annotation.__args__ == (kind,) for kind, model in CLUSTER_MODELS.items())


@pytest.mark.parametrize("kind", KINDS)
def test_identity_fields_are_the_required_identifying_inputs(kind):
    """V7 names exactly these inputs when they are missing, so they must be the model's required ones."""
    model = CLUSTER_MODELS[kind]
    required = tuple(
        key for key, info in model.model_fields.items() if info.is_required() and key not in ("name", "kind")
    )
    assert required == model.IDENTITY_FIELDS


# --- identity and lookup ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        ("ctyun", ("region_id", "cluster_id")),
        ("eks", ("region", "cluster_name")),
        ("gke", ("project", "location", "cluster_name")),
        ("aks", ("subscription_id", "resource_group", "cluster_name")),
        ("ack", ("region_id", "cluster_id")),
        ("tke", ("region", "cluster_id")),
        ("idc", ()),
    ],
)
def test_identity_fields_in_the_cloud_api_order(kind, fields):
    assert fields == CLUSTER_MODELS[kind].IDENTITY_FIELDS


SANDBOX_IDENTITIES = {
    "ctyun-hd-01": {"region_id": "bb9fdb42056f11eda1610242ac110002", "cluster_id": "4f2b9c1de0a84b7f9e3c5a6d7b8c9d0e"},
    "tke-gz-01": {"region": "ap-guangzhou", "cluster_id": "cls-sbx7ph3tw"},
    "aks-weu-01": {
        "subscription_id": "00000000-0000-4000-8000-00000000f1ee",
        "resource_group": "rg-fleetform-sandbox",
        "cluster_name": "aks-weu-01",
    },
    "ack-hz-01": {"region_id": "cn-hangzhou", "cluster_id": "c8e6987e2961451182edacd74faf1234"},
    "eks-euw1-01": {"region": "eu-west-1", "cluster_name": "sandbox-eks"},
    "gke-euw1-01": {"project": "fleetform-sandbox", "location": "europe-west1", "cluster_name": "sandbox-gke"},
    "idc-sh-01": {},
    "idc-sh-02": {},
    "idc-bj-01": {},
}


def test_every_sandbox_cluster_yields_the_identity_of_the_stack_file():
    assert {c.name: c.identity() for c in SANDBOX.clusters} == SANDBOX_IDENTITIES
    assert all(list(c.identity()) == list(c.IDENTITY_FIELDS) for c in SANDBOX.clusters)


@pytest.mark.parametrize("cluster", [c for c in SANDBOX.clusters if c.kind != "idc"], ids=lambda c: c.name)
def test_the_sandbox_seeds_each_cloud_cluster_from_its_identity(cluster):
    """The emulated cloud's add_cluster takes the identity as keywords (sandbox/world.py seeds it that way)."""
    module, name = CLOUD_EMULATORS[cluster.kind]
    add_cluster = getattr(importlib.import_module(module), name).add_cluster
    inspect.signature(add_cluster).bind("self", **cluster.identity(), version="1.29.4")


PROD_LOOKUPS = {
    "ctyun-prod-hd1": {
        "region_id": "bb9fdb42056f11eda1610242ac110002",
        "cluster_id": "9e4b2c7d1a3f4e6b8c0d2e4f6a8b0c1d",
        "public": False,
    },
    "ack-prod-hz": {"region_id": "cn-hangzhou", "cluster_id": "c82e6987e2961451182edacd74faf1234"},
    "tke-prod-gz": {"region": "ap-guangzhou", "cluster_id": "cls-7ph3twqe"},
    "idc-prod-sh": {},
    "idc-prod-bj": {},
    "eks-prod-euw1": {
        "region": "eu-west-1",
        "cluster_name": "payments-prod",
        "assume_role_arn": "arn:aws:iam::111122223333:role/fleetform-prod",
    },
    "gke-prod-euw1": {"project": "acme-platform-prod", "location": "europe-west1", "cluster_name": "web-prod"},
    "aks-prod-weu": {
        "subscription_id": "3f2504e0-4f89-41d3-9a0c-0305e82c3301",
        "resource_group": "rg-aks-prod-weu",
        "cluster_name": "aks-prod-weu",
    },
}


def test_identity_and_lookup_options_of_every_prod_cluster():
    assert {c.name: c.identity() | c.lookup_options() for c in PROD.clusters} == PROD_LOOKUPS


def test_lookup_options_follow_the_inputs():
    ctyun = {
        "name": "ctyun-one",
        "kind": "ctyun",
        "region_id": "bb9fdb42056f11eda1610242ac110002",
        "cluster_id": "4f2b9c1de0a84b7f9e3c5a6d7b8c9d0e",
        "endpoint_preference": "public",
    }
    eks = {"name": "eks-one", "kind": "eks", "region": "eu-west-1", "cluster_name": "payments"}
    public_ctyun, plain_eks = stack_with(ctyun, eks).clusters
    assert public_ctyun.lookup_options() == {"public": True}
    assert plain_eks.lookup_options() == {}


# --- labels -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "field", "label"),
    [
        ("ctyun", "region_id", "bb9fdb42056f11eda1610242ac110002"),
        ("eks", "region", "eu-west-1"),
        ("gke", "location", "europe-west1"),
        ("aks", None, None),
        ("ack", "region_id", "cn-hangzhou"),
        ("tke", "region", "ap-guangzhou"),
        ("idc", "region", "dc-shanghai"),
    ],
)
def test_region_label_of_each_kind(kind, field, label):
    cluster = one_of_each_kind(PROD)[kind]
    assert field == cluster.REGION_FIELD
    assert cluster.region_label() == label


def test_an_idc_cluster_without_a_region_is_labelled_idc():
    (idc,) = stack_with({"name": "idc-nat", "kind": "idc"}).clusters
    assert isinstance(idc, IdcCluster) and idc.region is None and idc.region_label() == "idc"


@pytest.mark.parametrize(
    ("kind", "cloud"),
    [
        ("ctyun", "ctyun"),
        ("idc", "idc"),
        ("eks", "aws"),
        ("gke", "gcp"),
        ("aks", "azure"),
        ("ack", "alibaba"),
        ("tke", "tencent"),
    ],
)
def test_cloud_label_of_each_kind(kind, cloud):
    assert cloud == CLUSTER_MODELS[kind].CLOUD
    assert cloud == one_of_each_kind(SANDBOX)[kind].CLOUD


# --- storage, ingress, encryption -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "provisioner", "parameters"),
    [
        ("eks", "ebs.csi.aws.com", {"type": "gp3", "csi.storage.k8s.io/fstype": "ext4", "encrypted": "true"}),
        ("gke", "pd.csi.storage.gke.io", {"type": "pd-balanced"}),
        ("aks", "disk.csi.azure.com", {"skuname": "StandardSSD_LRS"}),
        ("ack", "diskplugin.csi.alibabacloud.com", {"type": "cloud_essd"}),
        ("tke", "com.tencent.cloud.csi.cbs", {}),
        ("ctyun", "diskplugin.csi.ctyun.com", None),
        ("idc", None, None),
    ],
)
def test_storage_defaults_of_each_kind(kind, provisioner, parameters):
    storage = CLUSTER_MODELS[kind].STORAGE
    assert storage.provisioner == provisioner
    assert (None if storage.parameters is None else dict(storage.parameters)) == parameters


def test_storage_defaults_cannot_be_changed():
    storage = EksCluster.STORAGE
    with pytest.raises(dataclasses.FrozenInstanceError):
        storage.provisioner = "ebs.csi.example.com"
    with pytest.raises(TypeError):
        storage.parameters["type"] = "gp2"


@pytest.mark.parametrize(
    ("provider", "kinds"),
    [
        ("nginx", KINDS),
        ("gateway-api", KINDS),
        ("none", KINDS),
        ("cloud-native", ("eks", "gke", "aks")),
        ("ctyun-plugin", ("ctyun",)),
    ],
)
def test_ingress_providers_offered_per_kind(provider, kinds):
    assert tuple(kind for kind, model in CLUSTER_MODELS.items() if model.INGRESS.offers(provider)) == kinds


def test_only_tke_needs_a_subnet_for_an_internal_load_balancer():
    assert [kind for kind, model in CLUSTER_MODELS.items() if model.INGRESS.internal_lb_needs_subnet] == ["tke"]


AWS, AZURE, ALIBABA, CTYUN = (
    "service.beta.kubernetes.io/aws-load-balancer-",
    "service.beta.kubernetes.io/azure-load-balancer-",
    "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type",
    "service.beta.kubernetes.io/ctyun-loadbalancer-address-type",
)
HEALTH_PROBE = {f"{AZURE}health-probe-request-path": "/healthz"}


@pytest.mark.parametrize(
    ("kind", "internal", "public"),
    [  # DOMAIN §6.2
        ("eks", {f"{AWS}type": "nlb", f"{AWS}internal": "true"}, {f"{AWS}type": "nlb"}),
        ("gke", {"networking.gke.io/load-balancer-type": "Internal"}, {}),
        ("aks", {**HEALTH_PROBE, f"{AZURE}internal": "true"}, HEALTH_PROBE),
        ("ack", {ALIBABA: "intranet"}, {ALIBABA: "internet"}),
        ("tke", {"service.kubernetes.io/qcloud-loadbalancer-internal-subnetid": "subnet-8x3k2p1q"}, {}),
        ("ctyun", {CTYUN: "intranet"}, {CTYUN: "internet"}),
        ("idc", {}, {}),  # NodePort: no cloud load balancer
    ],
)
def test_each_kind_asks_its_cloud_for_an_internal_or_a_public_load_balancer(kind, internal, public):
    support = CLUSTER_MODELS[kind].INGRESS
    settings = {"lb_subnet_id": "subnet-8x3k2p1q"}
    assert support.service_annotations(IngressSettings(exposure="internal", **settings)) == internal
    assert support.service_annotations(IngressSettings(exposure="public", **settings)) == public
    assert support.service_type(IngressSettings()) == ("NodePort" if kind == "idc" else "LoadBalancer")


def test_extra_annotations_win_over_the_kind_defaults():
    support = CLUSTER_MODELS["ack"].INGRESS
    settings = IngressSettings(exposure="public", extra_annotations={ALIBABA: "intranet", "x/y": "z"})
    assert support.service_annotations(settings) == {ALIBABA: "intranet", "x/y": "z"}


@pytest.mark.parametrize(
    ("kind", "supported", "reversible", "key_required", "tier"),
    [
        ("ctyun", False, True, False, None),
        ("idc", True, True, False, None),
        ("eks", True, False, False, None),
        ("gke", True, True, True, None),
        ("aks", True, True, True, None),
        ("ack", True, True, True, "ack.pro.small"),
        ("tke", True, True, True, None),
    ],
)
def test_encryption_support_of_each_kind(kind, supported, reversible, key_required, tier):
    support = CLUSTER_MODELS[kind].ENCRYPTION
    assert (support.supported, support.reversible, support.key_required, support.required_tier) == (
        supported,
        reversible,
        key_required,
        tier,
    )


def test_unsupported_encryption_gives_the_reason_in_the_error():
    ctyun = {
        "name": "ctyun-one",
        "kind": "ctyun",
        "region_id": "bb9fdb42056f11eda1610242ac110002",
        "cluster_id": "4f2b9c1de0a84b7f9e3c5a6d7b8c9d0e",
        "encryption": {},
    }
    with pytest.raises(StackConfigError) as caught:
        stack_with(ctyun)
    (problem,) = caught.value.problems
    assert CLUSTER_MODELS["ctyun"].ENCRYPTION.unsupported_reason in problem.message


def test_the_shipped_encryption_keys_have_no_issues():
    assert {c.name: c.encryption_issues() for c in PROD.clusters if c.encryption} == {
        "ack-prod-hz": [],
        "tke-prod-gz": [],
        "idc-prod-sh": [],
        "eks-prod-euw1": [],
        "gke-prod-euw1": [],
        "aks-prod-weu": [],
    }


def test_an_eks_key_of_another_region_is_an_issue_of_the_cluster():
    key = {"key_arn": "arn:aws:kms:us-east-1:111122223333:key/1234abcd"}
    cluster = EksCluster(
        name="eks-one",
        kind="eks",
        region="eu-west-1",
        cluster_name="payments",
        encryption={"key": key, "allow_irreversible": True},
    )
    (issue,) = cluster.encryption_issues()
    assert issue.keys == ("key", "key_arn") and "region eu-west-1" in issue.message and not issue.warning


def test_the_weakest_idc_provider_is_a_warning_not_an_error():
    idc = {"name": "idc-one", "kind": "idc", "kubeconfig_env": "IDC", "encryption": {"idc": {"provider": "aescbc"}}}
    spec = stack_with(idc)
    assert [(w.path, w.message) for w in spec.warnings] == [
        ("fleetform:clusters[0].encryption.idc.provider", "aescbc is the weakest local provider")
    ]
