"""What each cloud emulator installs in the virtual cluster behind a cluster it creates
(sandbox/clouds/cluster_addons.py): node providerIDs and topology labels, CSIDrivers and
StorageClasses; seeded once, so what a user deletes stays deleted across a reload."""

from __future__ import annotations

import re
from itertools import count

import pytest

from sandbox.clouds.ack import AckEmulator
from sandbox.clouds.aks import AksEmulator
from sandbox.clouds.ctyun import CtyunEmulator
from sandbox.clouds.eks import EksEmulator
from sandbox.clouds.gke import GkeEmulator
from sandbox.clouds.tke import TkeEmulator
from sandbox.controllers.loadbalancers import cloud_of
from sandbox.kubeapi import KubeApiEmulator, VirtualCluster

STORAGE = "storage.k8s.io/v1"
DEFAULT = "storageclass.kubernetes.io/is-default-class"
SUBSCRIPTION = "00000000-0000-4000-8000-00000000f1ee"
CTYUN_REGION = "bb9fdb42056f11eda1610242ac110002"
_counter = count(1)

EMULATORS = {
    "eks": EksEmulator,
    "gke": GkeEmulator,
    "aks": AksEmulator,
    "ack": AckEmulator,
    "tke": TkeEmulator,
    "ctyun": CtyunEmulator,
}
# kind -> (identity of a new cluster named by ``n``, its backing cluster's name)
IDENTITY = {
    "eks": lambda n: (("eu-west-1", f"st{n}"), f"eks-st{n}"),
    "gke": lambda n: (("fleetform-sandbox", "europe-west1", f"st{n}"), f"gke-st{n}"),
    "aks": lambda n: ((SUBSCRIPTION, "rg-Storage", f"st{n}"), f"aks-st{n}"),
    "ack": lambda n: (("cn-hangzhou", f"c{n}"), f"ack-c{n}"),
    "tke": lambda n: (("ap-guangzhou", f"cls-st{n}"), f"tke-cls-st{n}"),
    "ctyun": lambda n: ((CTYUN_REGION, f"st{n}"), f"ctyun-st{n}"),
}
DRIVERS = {
    "eks": {"ebs.csi.aws.com"},
    "gke": {"pd.csi.storage.gke.io"},
    "aks": {"disk.csi.azure.com", "file.csi.azure.com"},
    "ack": {"diskplugin.csi.alibabacloud.com", "nasplugin.csi.alibabacloud.com"},
    "tke": {"com.tencent.cloud.csi.cbs"},
    "ctyun": {"diskplugin.csi.ctyun.com"},
}
# kind -> {class: (provisioner, parameters, volumeBindingMode)}
CLASSES = {
    "eks": {"gp2": ("kubernetes.io/aws-ebs", {"type": "gp2", "fsType": "ext4"}, "WaitForFirstConsumer")},
    "gke": {
        "standard-rwo": ("pd.csi.storage.gke.io", {"type": "pd-balanced"}, "WaitForFirstConsumer"),
        "premium-rwo": ("pd.csi.storage.gke.io", {"type": "pd-ssd"}, "WaitForFirstConsumer"),
        "standard": ("kubernetes.io/gce-pd", {"type": "pd-standard"}, "Immediate"),
    },
    "aks": {
        "default": ("disk.csi.azure.com", {"skuname": "StandardSSD_LRS"}, "WaitForFirstConsumer"),
        "managed-csi": ("disk.csi.azure.com", {"skuname": "StandardSSD_LRS"}, "WaitForFirstConsumer"),
        "managed-csi-premium": ("disk.csi.azure.com", {"skuname": "Premium_LRS"}, "WaitForFirstConsumer"),
        "azurefile-csi": ("file.csi.azure.com", {"skuName": "Standard_LRS"}, "Immediate"),
    },
    "ack": {
        "alicloud-disk-efficiency": ("diskplugin.csi.alibabacloud.com", {"type": "cloud_efficiency"}, "Immediate"),
        "alicloud-disk-ssd": ("diskplugin.csi.alibabacloud.com", {"type": "cloud_ssd"}, "Immediate"),
        "alicloud-disk-essd": ("diskplugin.csi.alibabacloud.com", {"type": "cloud_essd"}, "Immediate"),
        "alicloud-disk-topology-alltype": (
            "diskplugin.csi.alibabacloud.com",
            {"type": "cloud_essd,cloud_ssd,cloud_efficiency"},
            "WaitForFirstConsumer",
        ),
    },
    "tke": {"cbs": ("com.tencent.cloud.csi.cbs", {}, "WaitForFirstConsumer")},
    "ctyun": {},
}
DEFAULTS = {"eks": ["gp2"], "gke": ["standard-rwo"], "aks": ["default"], "ack": [], "tke": ["cbs"], "ctyun": []}
PROVIDER_IDS = {
    "eks": r"aws:///eu-west-1a/i-0[0-9a-f]{16}",
    "gke": r"gce://fleetform-sandbox/europe-west1-b/gke-st\d+-node-1",
    "aks": (
        rf"azure:///subscriptions/{SUBSCRIPTION}/resourceGroups/mc_rg-storage_st\d+_eastus/providers/"
        r"Microsoft\.Compute/virtualMachineScaleSets/aks-nodepool1-\d{8}-vmss/virtualMachines/0"
    ),
    "ack": r"cn-hangzhou\.i-[0-9a-z]{20}",
    "tke": r"qcloud:///100003/ins-[0-9a-z]{8}",
    "ctyun": rf"ctyun:///{CTYUN_REGION}/[0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{12}}",
}
TOPOLOGY = {
    "eks": ("eu-west-1", "eu-west-1a"),
    "gke": ("europe-west1", "europe-west1-b"),
    "aks": ("eastus", "eastus-1"),
    "ack": ("cn-hangzhou", "cn-hangzhou-a"),
    "tke": ("gz", "100003"),
    "ctyun": (CTYUN_REGION, "az1"),
}
KINDS = list(EMULATORS)


@pytest.fixture(scope="module")
def kube():
    with KubeApiEmulator() as emulator:
        yield emulator


def create(kube: KubeApiEmulator, kind: str, version: str = "1.29.4") -> VirtualCluster:
    identity, backing = IDENTITY[kind](next(_counter))
    EMULATORS[kind](kube).add_cluster(*identity, version=version)
    return kube.cluster(backing)


def names(cluster: VirtualCluster, kind: str) -> list[str]:
    return sorted(o["metadata"]["name"] for o in cluster.objects.list(STORAGE, kind))


def defaults(cluster: VirtualCluster) -> list[str]:
    return sorted(
        c["metadata"]["name"]
        for c in cluster.objects.list(STORAGE, "StorageClass")
        if (c["metadata"].get("annotations") or {}).get(DEFAULT) == "true"
    )


@pytest.mark.parametrize("kind", KINDS)
def test_the_cloud_csi_drivers_and_storage_classes_are_there(kube, kind):
    cluster = create(kube, kind)
    assert set(names(cluster, "CSIDriver")) == DRIVERS[kind]
    classes = {c["metadata"]["name"]: c for c in cluster.objects.list(STORAGE, "StorageClass")}
    assert set(classes) == set(CLASSES[kind])
    for name, (provisioner, parameters, binding) in CLASSES[kind].items():
        found = classes[name]
        assert (found["provisioner"], found.get("parameters") or {}, found["volumeBindingMode"]) == (
            provisioner,
            parameters,
            binding,
        ), name
        assert found["reclaimPolicy"] == "Delete"
    assert defaults(cluster) == DEFAULTS[kind]


@pytest.mark.parametrize("kind", KINDS)
def test_the_nodes_carry_the_cloud_provider_id_and_topology(kube, kind):
    cluster = create(kube, kind)
    nodes = cluster.objects.list("v1", "Node")
    assert nodes
    for node in nodes:
        assert re.fullmatch(PROVIDER_IDS[kind], node["spec"]["providerID"]), node["spec"]
        labels = node["metadata"]["labels"]
        assert (labels["topology.kubernetes.io/region"], labels["topology.kubernetes.io/zone"]) == TOPOLOGY[kind]
    assert cloud_of(cluster) is not None


def test_eks_from_1_30_marks_no_default_class(kube):
    cluster = create(kube, "eks", version="1.30.2")
    assert names(cluster, "StorageClass") == ["gp2"]
    assert defaults(cluster) == []


def test_a_gke_zonal_cluster_puts_its_nodes_in_its_zone(kube):
    n = next(_counter)
    GkeEmulator(kube).add_cluster("fleetform-sandbox", "us-central1-c", f"zonal{n}")
    (node,) = kube.cluster(f"gke-zonal{n}").objects.list("v1", "Node")
    assert node["spec"]["providerID"] == f"gce://fleetform-sandbox/us-central1-c/{node['metadata']['name']}"
    assert node["metadata"]["labels"]["topology.kubernetes.io/region"] == "us-central1"


def test_a_plain_virtual_cluster_gets_nothing(kube):
    cluster = kube.add_cluster(f"idc-{next(_counter)}")
    assert names(cluster, "CSIDriver") == names(cluster, "StorageClass") == []
    assert all("providerID" not in (n.get("spec") or {}) for n in cluster.objects.list("v1", "Node"))


@pytest.mark.parametrize("kind", KINDS)
def test_reloading_does_not_seed_again(tmp_path, kind):
    identity, backing = IDENTITY[kind](next(_counter))
    with KubeApiEmulator(tmp_path / "kube") as kube:
        EMULATORS[kind](kube, tmp_path / kind).add_cluster(*identity)
        cluster = kube.cluster(backing)
        drivers = names(cluster, "CSIDriver")
        deleted_driver = drivers[0]
        cluster.objects.delete(STORAGE, "CSIDriver", deleted_driver)
        classes = names(cluster, "StorageClass")
        deleted_class = (DEFAULTS[kind] or classes or [None])[0]
        if deleted_class:
            cluster.objects.delete(STORAGE, "StorageClass", deleted_class)
        provider_ids = sorted(n["spec"]["providerID"] for n in cluster.objects.list("v1", "Node"))

    with KubeApiEmulator(tmp_path / "kube") as kube:
        emulator = EMULATORS[kind](kube, tmp_path / kind)
        emulator.add_cluster(*identity)  # declared again: the existing cluster is kept as it is
        cluster = kube.cluster(backing)
        assert names(cluster, "CSIDriver") == [d for d in drivers if d != deleted_driver]
        assert names(cluster, "StorageClass") == [c for c in classes if c != deleted_class]
        assert sorted(n["spec"]["providerID"] for n in cluster.objects.list("v1", "Node")) == provider_ids

        emulator.remove_cluster(*identity)  # gone from the cloud; a new cluster of that name is new
        emulator.add_cluster(*identity)
        assert names(kube.cluster(backing), "CSIDriver") == drivers
        assert names(kube.cluster(backing), "StorageClass") == classes
