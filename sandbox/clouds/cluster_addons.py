"""What each cloud puts in a cluster it creates: node identities, CSI drivers, StorageClasses.

:meth:`CloudEmulator._backing_cluster <sandbox.clouds.emulator.CloudEmulator._backing_cluster>`
calls :func:`seed` once, when it creates the virtual cluster behind a cloud cluster (never when it
finds one, e.g. reloaded from the data directory), so objects a user deleted stay deleted.
:func:`seed`

* sets each Node's ``spec.providerID`` the way that cloud's cloud-controller-manager writes it, and
  the ``topology.kubernetes.io/region``/``zone`` labels when absent. The sandbox's load-balancer
  controller (:mod:`sandbox.controllers.loadbalancers`) tells a cluster's cloud from these
  providerIDs, as nothing else in a cluster names its cloud;
* creates the ``storage.k8s.io/v1`` ``CSIDriver`` objects and StorageClasses the cloud installs.

Per kind (:data:`ADDONS`; ``<h…>`` are hex or base-36 digits derived from the cluster and node names,
so they are stable):

==========  ==================================================================  =======================
kind        ``spec.providerID``                                                 default StorageClass
==========  ==================================================================  =======================
``eks``     ``aws:///<region>a/i-0<16 h>``                                      ``gp2`` (before 1.30)
``gke``     ``gce://<project>/<zone>/<node name>``                              ``standard-rwo``
``aks``     ``azure:///subscriptions/<sub>/resourceGroups/mc_<rg>_<cluster>_     ``default``
            <location>/providers/Microsoft.Compute/virtualMachineScaleSets/
            aks-nodepool1-<8 digits>-vmss/virtualMachines/<n>``
``ack``     ``<region>.i-<20 h>``                                               none
``tke``     ``qcloud:///<zone id>/ins-<8 h>``                                   ``cbs``
``ctyun``   ``ctyun:///<region id>/<instance uuid>`` (the sandbox's choice)     none
==========  ==================================================================  =======================

Sources and choices, per kind:

* ``eks``: CSIDriver ``ebs.csi.aws.com`` *as if the aws-ebs-csi-driver add-on were installed* (EKS
  does not install it by default, and the sandbox has no knob for its absence);
  ``efs.csi.aws.com`` is not seeded. StorageClass ``gp2`` on the in-tree name
  ``kubernetes.io/aws-ebs`` (``type: gp2``, ``fsType: ext4``, WaitForFirstConsumer, Delete, no
  expansion), annotated default on clusters created before Kubernetes 1.30: EKS stopped marking
  it default for new 1.30+ clusters. Zone ``<region>a``.
* ``gke``: CSIDriver ``pd.csi.storage.gke.io`` (the Compute Engine PD CSI driver, on by default;
  Filestore's is not seeded). ``standard-rwo`` (default; pd-balanced, WFFC, expansion),
  ``premium-rwo`` (pd-ssd, WFFC, expansion), ``standard`` (in-tree ``kubernetes.io/gce-pd``,
  pd-standard, Immediate, expansion). A location that is a region gets zone ``<region>-b``.
* ``aks``: CSIDrivers ``disk.csi.azure.com`` and ``file.csi.azure.com``; ``default`` (default) and
  ``managed-csi`` (``skuname: StandardSSD_LRS``), ``managed-csi-premium`` (``Premium_LRS``), all
  WFFC with expansion; ``azurefile-csi`` (``skuName: Standard_LRS``, Immediate, expansion). Zonal
  clusters on 1.29+ use ZRS SKUs in reality; the sandbox always uses LRS. Zone ``<location>-1``; the
  node resource group is lowercased in the providerID, as AKS shows it.
* ``ack``: CSIDrivers ``diskplugin.csi.alibabacloud.com`` and ``nasplugin.csi.alibabacloud.com``;
  the four classes the ACK documentation lists as created by default, none of them default:
  ``alicloud-disk-efficiency``, ``alicloud-disk-ssd``, ``alicloud-disk-essd`` (``type``
  ``cloud_efficiency``/``cloud_ssd``/``cloud_essd``; no binding mode, so Immediate) and
  ``alicloud-disk-topology-alltype`` (``type: cloud_essd,cloud_ssd,cloud_efficiency``, WFFC); all
  with expansion, Delete. Zone ``<region>-a`` (the sandbox's choice).
* ``tke``: CSIDriver ``com.tencent.cloud.csi.cbs`` (the CBS add-on, pre-installed); ``cbs``
  (default, provisioner ``com.tencent.cloud.csi.cbs``, no parameters, WFFC, Delete: the binding
  mode is not verified). Node labels as TKE writes them: the region as its short code (``gz``) and
  the zone as its numeric id (``100003``) for the regions of :data:`_TKE_ZONES`; other regions get
  the region name and zone id ``100001`` (the sandbox's choice).
* ``ctyun``: CSIDriver ``diskplugin.csi.ctyun.com`` (the cstor-csi plugin; whether CCSE installs it
  by default is unknown: the sandbox assumes it does), no StorageClass. CTyun's providerID format
  is not public: ``ctyun:///<region id>/<uuid>`` is the sandbox's choice, and so is the zone
  label ``az1``.

The CSIDriver ``spec`` fields (attachRequired, podInfoOnMount, fsGroupPolicy, lifecycle modes) are
plausible values, not checked against each driver's release. Not seeded: node instance-type labels,
the drivers' Deployments/DaemonSets, VolumeSnapshotClasses, and anything but storage.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sandbox.kubeapi import ApiError, VirtualCluster
from sandbox.kubeapi.discovery import parse_version

log = logging.getLogger("sandbox.clouds.addons")

STORAGE_API = "storage.k8s.io/v1"
DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
REGION_LABEL = "topology.kubernetes.io/region"
ZONE_LABEL = "topology.kubernetes.io/zone"
WFFC = "WaitForFirstConsumer"
IMMEDIATE = "Immediate"


@dataclass(frozen=True)
class Driver:
    """A ``CSIDriver`` as the cloud installs it."""

    name: str
    attach_required: bool = True
    pod_info_on_mount: bool = False
    fs_group_policy: str = "ReadWriteOnceWithFSType"
    lifecycle_modes: tuple[str, ...] = ("Persistent",)

    def manifest(self) -> dict:
        return {
            "apiVersion": STORAGE_API,
            "kind": "CSIDriver",
            "metadata": {"name": self.name},
            "spec": {
                "attachRequired": self.attach_required,
                "podInfoOnMount": self.pod_info_on_mount,
                "fsGroupPolicy": self.fs_group_policy,
                "volumeLifecycleModes": list(self.lifecycle_modes),
            },
        }


@dataclass(frozen=True)
class Class:
    """A StorageClass as the cloud creates it; ``default_before`` limits the default annotation to
    clusters created on a Kubernetes minor below it."""

    name: str
    provisioner: str
    parameters: Mapping[str, str]
    binding: str = WFFC
    expansion: bool | None = True
    default: bool = False
    default_before: int | None = None

    def manifest(self, minor: int) -> dict:
        metadata: dict = {"name": self.name}
        if self.default and (self.default_before is None or minor < self.default_before):
            metadata["annotations"] = {DEFAULT_CLASS: "true"}
        manifest = {
            "apiVersion": STORAGE_API,
            "kind": "StorageClass",
            "metadata": metadata,
            "provisioner": self.provisioner,
            "parameters": dict(self.parameters),
            "reclaimPolicy": "Delete",
            "volumeBindingMode": self.binding,
        }
        if self.expansion is not None:
            manifest["allowVolumeExpansion"] = self.expansion
        return manifest


@dataclass(frozen=True)
class Node:
    """Where the cloud says a node runs."""

    provider_id: str
    region: str
    zone: str


# (node name, node index from 0, placement, backing cluster name) -> Node
NodeIdentity = Callable[[str, int, Mapping[str, str], str], Node]


@dataclass(frozen=True)
class CloudAddons:
    node: NodeIdentity
    drivers: tuple[Driver, ...]
    classes: tuple[Class, ...]
    placement: tuple[str, ...]  # the placement keys the emulator must give


def _hex(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _base36(*parts: str, length: int) -> str:
    number = int(_hex(*parts), 16)
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = []
    for _ in range(length):
        number, rest = divmod(number, 36)
        out.append(digits[rest])
    return "".join(out)


def _eks_node(node: str, index: int, placement: Mapping[str, str], cluster: str) -> Node:
    region = placement["region"]
    zone = f"{region}a"
    return Node(f"aws:///{zone}/i-0{_hex(cluster, node)[:16]}", region, zone)


def _gke_node(node: str, index: int, placement: Mapping[str, str], cluster: str) -> Node:
    location = placement["location"]
    if re.search(r"-[a-z]$", location):  # a zonal cluster's location is its zone
        zone, region = location, location[:-2]
    else:
        zone, region = f"{location}-b", location
    return Node(f"gce://{placement['project']}/{zone}/{node}", region, zone)


def _aks_node(node: str, index: int, placement: Mapping[str, str], cluster: str) -> Node:
    location = placement["location"]
    group = f"mc_{placement['resource_group']}_{placement['cluster_name']}_{location}".lower()
    scale_set = f"aks-nodepool1-{int(_hex(cluster)[:8], 16) % 10**8:08d}-vmss"
    provider_id = (
        f"azure:///subscriptions/{placement['subscription_id']}/resourceGroups/{group}"
        f"/providers/Microsoft.Compute/virtualMachineScaleSets/{scale_set}/virtualMachines/{index}"
    )
    return Node(provider_id, location, f"{location}-1")


def _ack_node(node: str, index: int, placement: Mapping[str, str], cluster: str) -> Node:
    region = placement["region_id"]
    return Node(f"{region}.i-{_base36(cluster, node, length=20)}", region, f"{region}-a")


# TKE region -> (the short region code its node labels carry, the numeric id of one zone)
_TKE_ZONES = {
    "ap-guangzhou": ("gz", "100003"),
    "ap-shanghai": ("sh", "200002"),
    "ap-beijing": ("bj", "800003"),
    "ap-chengdu": ("cd", "160001"),
    "ap-nanjing": ("nj", "330001"),
    "ap-hongkong": ("hk", "300002"),
    "ap-singapore": ("sg", "900001"),
}


def _tke_node(node: str, index: int, placement: Mapping[str, str], cluster: str) -> Node:
    region, zone_id = _TKE_ZONES.get(placement["region"], (placement["region"], "100001"))
    return Node(f"qcloud:///{zone_id}/ins-{_base36(cluster, node, length=8)}", region, zone_id)


def _ctyun_node(node: str, index: int, placement: Mapping[str, str], cluster: str) -> Node:
    region = placement["region_id"]
    instance = uuid.UUID(_hex(cluster, node)[:32])
    return Node(f"ctyun:///{region}/{instance}", region, "az1")


ADDONS: dict[str, CloudAddons] = {
    "eks": CloudAddons(
        node=_eks_node,
        drivers=(Driver("ebs.csi.aws.com"),),
        classes=(
            Class(
                "gp2",
                "kubernetes.io/aws-ebs",
                {"type": "gp2", "fsType": "ext4"},
                expansion=None,
                default=True,
                default_before=30,
            ),
        ),
        placement=("region",),
    ),
    "gke": CloudAddons(
        node=_gke_node,
        drivers=(Driver("pd.csi.storage.gke.io"),),
        classes=(
            Class("standard-rwo", "pd.csi.storage.gke.io", {"type": "pd-balanced"}, default=True),
            Class("premium-rwo", "pd.csi.storage.gke.io", {"type": "pd-ssd"}),
            Class("standard", "kubernetes.io/gce-pd", {"type": "pd-standard"}, binding=IMMEDIATE),
        ),
        placement=("project", "location"),
    ),
    "aks": CloudAddons(
        node=_aks_node,
        drivers=(
            Driver("disk.csi.azure.com", fs_group_policy="File"),
            Driver(
                "file.csi.azure.com",
                attach_required=False,
                pod_info_on_mount=True,
                lifecycle_modes=("Persistent", "Ephemeral"),
            ),
        ),
        classes=(
            Class("default", "disk.csi.azure.com", {"skuname": "StandardSSD_LRS"}, default=True),
            Class("managed-csi", "disk.csi.azure.com", {"skuname": "StandardSSD_LRS"}),
            Class("managed-csi-premium", "disk.csi.azure.com", {"skuname": "Premium_LRS"}),
            Class("azurefile-csi", "file.csi.azure.com", {"skuName": "Standard_LRS"}, binding=IMMEDIATE),
        ),
        placement=("subscription_id", "resource_group", "cluster_name", "location"),
    ),
    "ack": CloudAddons(
        node=_ack_node,
        drivers=(
            Driver("diskplugin.csi.alibabacloud.com", pod_info_on_mount=True),
            Driver("nasplugin.csi.alibabacloud.com", attach_required=False, pod_info_on_mount=True),
        ),
        classes=(
            Class(
                "alicloud-disk-efficiency",
                "diskplugin.csi.alibabacloud.com",
                {"type": "cloud_efficiency"},
                binding=IMMEDIATE,
            ),
            Class("alicloud-disk-ssd", "diskplugin.csi.alibabacloud.com", {"type": "cloud_ssd"}, binding=IMMEDIATE),
            Class("alicloud-disk-essd", "diskplugin.csi.alibabacloud.com", {"type": "cloud_essd"}, binding=IMMEDIATE),
            Class(
                "alicloud-disk-topology-alltype",
                "diskplugin.csi.alibabacloud.com",
                {"type": "cloud_essd,cloud_ssd,cloud_efficiency"},
            ),
        ),
        placement=("region_id",),
    ),
    "tke": CloudAddons(
        node=_tke_node,
        drivers=(Driver("com.tencent.cloud.csi.cbs"),),
        classes=(Class("cbs", "com.tencent.cloud.csi.cbs", {}, expansion=None, default=True),),
        placement=("region",),
    ),
    "ctyun": CloudAddons(
        node=_ctyun_node,
        drivers=(Driver("diskplugin.csi.ctyun.com"),),
        classes=(),
        placement=("region_id",),
    ),
}


def seed(cluster: VirtualCluster, kind: str, placement: Mapping[str, str]) -> None:
    """Make a newly created backing cluster look as ``kind``'s cloud leaves a new cluster:
    providerIDs and topology labels on its nodes, the cloud's CSIDrivers and StorageClasses.
    ``placement`` holds the keys :attr:`CloudAddons.placement` names (region, project, ...)."""
    addons = ADDONS[kind]
    missing = [key for key in addons.placement if not placement.get(key)]
    if missing:
        raise ValueError(f"{kind}: seeding a cluster needs {', '.join(missing)}")
    objects = cluster.objects
    nodes = sorted(objects.list("v1", "Node"), key=lambda n: n["metadata"]["name"])
    for index, node in enumerate(nodes):
        name = node["metadata"]["name"]
        where = addons.node(name, index, placement, cluster.name)
        labels = node["metadata"].get("labels") or {}
        patch: dict = {}
        if not (node.get("spec") or {}).get("providerID"):
            patch["spec"] = {"providerID": where.provider_id}
        added = {k: v for k, v in ((REGION_LABEL, where.region), (ZONE_LABEL, where.zone)) if k not in labels}
        if added:
            patch["metadata"] = {"labels": added}
        if patch:
            objects.patch("v1", "Node", name, patch)
    minor = parse_version(cluster.version)[1]
    for manifest in [d.manifest() for d in addons.drivers] + [c.manifest(minor) for c in addons.classes]:
        try:
            objects.create(manifest)
        except ApiError as err:
            if err.code != 409:  # already there (another emulator seeded it first): keep it
                raise
            log.debug("%s: %s %s exists", cluster.name, manifest["kind"], manifest["metadata"]["name"])
