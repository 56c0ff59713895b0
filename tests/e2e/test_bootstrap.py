"""Day-1 initialisation end to end on the sandbox (DOMAIN §2.6, §6): ingress-nginx behind each cloud's
load balancer and the default StorageClass right for each kind, adopted or created, with the previous
default demoted and restored on destroy. The clouds' load-balancer controllers and pre-installed storage
are the sandbox's (sandbox/controllers/loadbalancers.py, sandbox/clouds/cluster_addons.py)."""

from __future__ import annotations

import ipaddress

from test_sandbox import registered_clusters

DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
# kind -> the class the cluster ends with (DOMAIN §6.3): created (eks, ctyun) or the cloud's own, adopted
EXPECTED_CLASS = {
    "eks-euw1-01": "ebs-sc",
    "gke-euw1-01": "standard-rwo",
    "aks-weu-01": "default",
    "tke-gz-01": "cbs",
    "ctyun-hd-01": "fleetform-disk",
}


def virtual_clusters(project) -> dict[str, str]:
    """Registered cluster -> the name of the sandbox's virtual cluster behind it."""
    with project.kubeapi() as emulator:
        return {name: cluster.name for name, cluster in registered_clusters(emulator).items()}


def read(project, virtual: str, api_version: str, kind: str, namespace: str | None = None) -> list[dict]:
    with project.kubeapi() as emulator:
        return emulator.clusters[virtual].objects.list(api_version, kind, namespace)


def storage_classes(project, virtual: str) -> dict[str, bool]:
    """name -> is default, in a virtual cluster (read from the saved world)."""
    return {
        sc["metadata"]["name"]: (sc["metadata"].get("annotations") or {}).get(DEFAULT_CLASS) == "true"
        for sc in read(project, virtual, "storage.k8s.io/v1", "StorageClass")
    }


def controller_service(project, virtual: str) -> dict:
    (service,) = [
        s
        for s in read(project, virtual, "v1", "Service", "ingress-nginx")
        if s["metadata"]["name"].endswith("controller")
    ]
    return service


def is_private(address: str) -> bool:
    return ipaddress.ip_address(address).is_private


def test_every_cluster_gets_ingress_and_the_default_storage_class_of_its_kind(sandbox_project):
    project = sandbox_project
    project.without_federations()  # quicker; bootstrap does not need them
    up = project.cli("up", "--yes", "--json", timeout=600)
    assert up.code == 0, up.out + up.err
    clusters = up.json()["outputs"]["clusters"]
    virtual = virtual_clusters(project)

    ingress = {name: c["ingress"] for name, c in clusters.items() if "ingress" in c}
    assert set(ingress) == {"idc-sh-02", "ctyun-hd-01", "tke-gz-01", "aks-weu-01", "ack-hz-01", *EXPECTED_CLASS}
    assert all(i["state"] == "ready" and i["class"] == "nginx" for i in ingress.values()), ingress
    assert ingress["eks-euw1-01"]["address"].endswith(".elb.eu-west-1.amazonaws.com")  # AWS gives a hostname
    for name in ("aks-weu-01", "tke-gz-01", "ctyun-hd-01"):  # exposure internal
        assert is_private(ingress[name]["address"]), (name, ingress[name])
    for name in ("gke-euw1-01", "ack-hz-01"):  # exposure public
        assert not is_private(ingress[name]["address"]), (name, ingress[name])
    host, _, port = ingress["idc-sh-02"]["address"].partition(":")  # on-prem: the nodes and the NodePort
    assert host == "127.0.0.1" and 30000 <= int(port) <= 32767
    assert controller_service(project, virtual["idc-sh-02"])["spec"]["type"] == "NodePort"
    tke = controller_service(project, virtual["tke-gz-01"])["metadata"]["annotations"]
    assert tke["service.kubernetes.io/qcloud-loadbalancer-internal-subnetid"] == "subnet-sbx0gz01"

    for name, wanted in EXPECTED_CLASS.items():
        assert clusters[name]["storageClass"] == wanted
        classes = storage_classes(project, virtual[name])
        assert [c for c, default in classes.items() if default] == [wanted], (name, classes)  # V30
    assert clusters["ack-hz-01"]["storageClass"].startswith("alicloud-disk-")  # ACK's own class, made default
    assert clusters["eks-euw1-01"]["previousDefaultStorageClass"] == "gp2"  # the legacy default, demoted
    assert "previousDefaultStorageClass" not in clusters["gke-euw1-01"] or not clusters["gke-euw1-01"].get(
        "previousDefaultStorageClass"
    )

    again = project.cli("preview", "--expect-no-changes")
    assert again.code == 0, again.out + again.err

    destroy = project.cli("destroy", "--yes", timeout=600)
    assert destroy.code == 0, destroy.out + destroy.err
    eks = storage_classes(project, virtual["eks-euw1-01"])
    assert eks.get("gp2") is True and "ebs-sc" not in eks  # created class gone, previous default restored
    assert storage_classes(project, virtual["gke-euw1-01"])["standard-rwo"] is True  # adopted: left as it was
    ack = storage_classes(project, virtual["ack-hz-01"])
    assert ack == dict.fromkeys(ack, False)  # ACK makes none default: the annotation fleetform gave is taken back


def only_ack(project) -> None:
    project.keep_clusters(lambda cluster: cluster["name"] == "ack-hz-01")
    project.without_fleets()


def set_ingress(project, **changes) -> None:
    config = project.config()
    (cluster,) = config["config"]["fleetform:clusters"]
    cluster["bootstrap"]["ingress"].update(changes)
    project.write_config(config)


def test_changing_exposure_changes_one_annotation_on_one_service(sandbox_project):
    project = sandbox_project
    only_ack(project)
    up = project.cli("up", "--yes", "--json")
    assert up.code == 0, up.out + up.err
    public = up.json()["outputs"]["clusters"]["ack-hz-01"]["ingress"]["address"]
    assert not is_private(public)

    set_ingress(project, exposure="internal")
    preview = project.cli("preview", "--diff", "--json")
    assert preview.code == 0, preview.out + preview.err
    changed = [s for s in preview.json()["steps"] if s["op"] != "same"]
    kinds = sorted(s["urn"].rsplit("::", 1)[-1] for s in changed)
    assert kinds == ["ack-hz-01-ingress-service", "ack-hz-01-ingress-status"]  # the Service, and its address
    text = project.cli("preview", "--diff").out
    assert "alibaba-cloud-loadbalancer-address-type" in text and '"internet"' in text and '"intranet"' in text

    up = project.cli("up", "--yes", "--json")
    assert up.code == 0, up.out + up.err
    ingress = up.json()["outputs"]["clusters"]["ack-hz-01"]["ingress"]
    assert ingress["state"] == "ready" and is_private(ingress["address"])  # the cloud re-provisioned it


def test_an_annotation_the_cloud_refuses_ends_degraded_with_its_message(sandbox_project):
    project = sandbox_project
    only_ack(project)
    set_ingress(
        project,
        lb_timeout="5s",
        extra_annotations={"service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type": "intranett"},
    )
    up = project.cli("up", "--yes", "--json")
    assert up.code == 0, up.out + up.err  # the rest of the estate is applied; the ingress reports its state
    ingress = up.json()["outputs"]["clusters"]["ack-hz-01"]["ingress"]
    assert ingress["state"] == "degraded" and ingress["address"] == ""
    reason = ingress["reason"]  # the cloud controller's own complaint, as a user would find it in events
    assert "FF-ING-003" in reason and "alibaba-cloud-loadbalancer-address-type" in reason and "intranett" in reason

    set_ingress(project, extra_annotations={})  # fixed: the address comes
    up = project.cli("up", "--yes", "--json")
    assert up.code == 0, up.out + up.err
    assert up.json()["outputs"]["clusters"]["ack-hz-01"]["ingress"]["state"] == "ready"
