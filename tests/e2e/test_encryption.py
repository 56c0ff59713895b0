"""Secrets encrypted at rest on the sandbox's cloud clusters through each (emulated) cloud's own API:
enabled and read back, no-op the second time, the irreversible EKS key and an unsupported kind refused
at preview, and a key changed outside fleetform found by refresh and put back by `up`."""

from __future__ import annotations

import base64

import yaml

CLOUD_ENCRYPTED = {
    "eks-euw1-01": "aws-kms",
    "gke-euw1-01": "gcp-kms",
    "aks-weu-01": "azure-keyvault",
    "ack-hz-01": "alibaba-kms",
    "tke-gz-01": "tencent-kms",
}
GKE_KEY = "projects/fleetform-sandbox/locations/europe-west1/keyRings/sandbox/cryptoKeys/etcd"


def only_cloud_clusters(project) -> None:
    project.keep_clusters(lambda cluster: cluster["name"] in CLOUD_ENCRYPTED)
    project.without_fleets()


def cluster_entry(project, name: str) -> dict:
    (entry,) = [c for c in project.config()["config"]["fleetform:clusters"] if c["name"] == name]
    return entry


def edit_cluster(project, name: str, change) -> None:
    config = project.config()
    (entry,) = [c for c in config["config"]["fleetform:clusters"] if c["name"] == name]
    change(entry)
    project.write_config(config)


def test_each_cloud_encrypts_secrets_with_the_declared_key(sandbox_project):
    project = sandbox_project
    only_cloud_clusters(project)
    up = project.cli("up", "--yes", "--json", timeout=600)
    assert up.code == 0, up.out + up.err
    clusters = up.json()["outputs"]["clusters"]
    for name, provider in CLOUD_ENCRYPTED.items():
        encryption = clusters[name]["encryption"]
        assert (encryption["state"], encryption["provider"]) == ("enabled", provider), (name, encryption)
        declared_key = next(iter(cluster_entry(project, name)["encryption"]["key"].values()))
        assert encryption["keyRef"] == declared_key
    again = project.cli("preview", "--expect-no-changes")
    assert again.code == 0, again.out + again.err

    # EKS: a key once associated can never change (V36)
    edit_cluster(
        project,
        "eks-euw1-01",
        lambda c: c["encryption"]["key"].update(key_arn="arn:aws:kms:eu-west-1:111122223333:key/ffffffff-0000-1111"),
    )
    refused = project.cli("preview")
    assert refused.code == 2, refused.out + refused.err
    assert "FF-ENC-002" in refused.out + refused.err and "eks-euw1-01" in refused.out + refused.err


def test_a_key_changed_outside_fleetform_is_found_and_put_back(sandbox_project):
    project = sandbox_project
    project.keep_clusters(lambda cluster: cluster["name"] == "gke-euw1-01")
    project.without_fleets()
    assert project.cli("up", "--yes", timeout=600).code == 0

    with project.cloud("gke") as gke:
        gke.set_database_encryption("fleetform-sandbox", "europe-west1", "sandbox-gke", None)  # someone decrypted it

    drift = project.cli("refresh", "--preview-only", "--json")
    ops = {s["urn"].rsplit("::", 1)[-1]: s["op"] for s in drift.json()["steps"]}
    assert ops["gke-euw1-01-encryption"] == "update"
    assert project.cli("refresh", "--yes").code == 0
    preview = project.cli("preview", "--json")
    ops = {s["urn"].rsplit("::", 1)[-1]: s["op"] for s in preview.json()["steps"] if s["op"] != "same"}
    assert ops == {"gke-euw1-01-encryption": "update"}  # only the encryption is put back

    up = project.cli("up", "--yes", "--json", timeout=600)
    assert up.code == 0, up.out + up.err
    encryption = up.json()["outputs"]["clusters"]["gke-euw1-01"]["encryption"]
    assert (encryption["state"], encryption["keyRef"]) == ("enabled", GKE_KEY)


def test_a_kind_without_encryption_is_refused_at_preview(sandbox_project):
    project = sandbox_project
    only_cloud_clusters(project)
    config = project.config()
    config["config"]["fleetform:clusters"].append(
        {
            "name": "ctyun-hd-01",
            "kind": "ctyun",
            "region_id": "bb9fdb42056f11eda1610242ac110002",
            "cluster_id": "4f2b9c1de0a84b7f9e3c5a6d7b8c9d0e",
            "deletion_protection": False,
            "encryption": {"enabled": True},
        }
    )
    project.write_config(config)
    preview = project.cli("preview")
    assert preview.code == 2
    assert "FF-ENC-001" in preview.err and "ctyun-hd-01" in preview.err


def test_an_idc_cluster_is_encrypted_over_ssh_and_its_keys_never_show(sandbox_project):
    project = sandbox_project
    project.keep_clusters(lambda cluster: cluster["name"] == "idc-sh-02")
    project.without_fleets()
    up = project.cli("up", "--yes", "--json", timeout=600)
    assert up.code == 0, up.out + up.err
    encryption = up.json()["outputs"]["clusters"]["idc-sh-02"]["encryption"]
    assert {k: encryption[k] for k in ("state", "provider", "keyRef", "keyRevision", "verified", "rotationDue")} == {
        "state": "enabled",
        "provider": "aesgcm",
        "keyRef": "key-1",
        "keyRevision": 1,
        "verified": True,  # the canary Secret is stored under key-1's prefix
        "rotationDue": False,
    }
    assert encryption["lastRotatedAt"]
    refresh = project.cli("refresh", "--preview-only", "--json").json()  # read back from the hosts and etcd
    (step,) = [s for s in refresh["steps"] if s["urn"].endswith("::idc-sh-02-encryption")]
    assert step["op"] == "same", step

    (config,) = (project.world_dir / "nodes" / "idc-sh-02").rglob("encryption-provider.conf")
    document = yaml.safe_load(config.read_text())  # on the sandbox's control-plane host, written over SSH
    keys = [
        k["secret"] for r in document["resources"] for p in r["providers"] for k in p.get("aesgcm", {}).get("keys", [])
    ]
    assert keys and all(len(base64.b64decode(key)) == 32 for key in keys)

    seen = [up.out, up.err]
    seen += [project.cli("preview", "--diff").out, project.cli("stack", "output", "--json").out]
    seen += [path.read_text() for path in (project.state / "stacks").glob("*.json")]
    for key in keys:
        assert not any(key in text for text in seen)  # secret in state (encrypted), never printed

    edit_cluster(project, "idc-sh-02", lambda c: c["encryption"].update(enabled=False))  # turned off, not forgotten
    up = project.cli("up", "--yes", "--json", timeout=600)
    assert up.code == 0, up.out + up.err
    encryption = up.json()["outputs"]["clusters"]["idc-sh-02"]["encryption"]
    assert (encryption["state"], encryption["provider"], encryption["keyRef"]) == ("disabled", "identity", "")


def test_an_idc_cluster_is_encrypted_through_privileged_pods_and_none_is_left(sandbox_project):
    project = sandbox_project
    project.keep_clusters(lambda cluster: cluster["name"] == "idc-sh-01")  # node_access: privileged-pod
    project.without_fleets()
    up = project.cli("up", "--yes", "--json", timeout=600)
    assert up.code == 0, up.out + up.err
    encryption = up.json()["outputs"]["clusters"]["idc-sh-01"]["encryption"]
    assert {k: encryption[k] for k in ("state", "provider", "keyRef", "keyRevision", "verified")} == {
        "state": "enabled",
        "provider": "aesgcm",
        "keyRef": "key-1",
        "keyRevision": 1,
        "verified": True,
    }
    again = project.cli("up", "--yes", "--json", timeout=600)  # a second up changes nothing
    assert again.code == 0, again.out + again.err
    assert {k: v for k, v in again.json()["summary"].items() if k != "same"} == dict.fromkeys(
        ("create", "update", "replace", "delete", "failed", "skipped"), 0
    )

    with project.kubeapi() as kube:
        cluster = kube.cluster("idc-sh-01")
        secrets = cluster.objects.list("v1", "Secret")
        stored = {
            (s["metadata"]["namespace"], s["metadata"]["name"]): cluster.at_rest.etcd_get(
                f"/registry/secrets/{s['metadata']['namespace']}/{s['metadata']['name']}"
            )
            for s in secrets
        }
        left = cluster.objects.list("v1", "Pod", "fleetform-node-access")
    assert len(stored) > 1 and all(value.startswith(b"k8s:enc:aesgcm:v1:key-1:") for value in stored.values()), {
        key: value[:24] for key, value in stored.items()
    }  # every Secret, the klusterlet's included, rewritten under the key
    assert left == []  # no privileged pod outlives a run

    (config,) = (project.world_dir / "nodes" / "idc-sh-01").rglob("encryption-provider.conf")  # written by exec
    keys = [
        k["secret"]
        for r in yaml.safe_load(config.read_text())["resources"]
        for p in r["providers"]
        for k in p.get("aesgcm", {}).get("keys", [])
    ]
    assert keys
    seen = [up.out, up.err, again.out, again.err, project.cli("stack", "output", "--json").out]
    seen += [path.read_text() for path in (project.state / "stacks").glob("*.json")]
    assert not any(key in text for key in keys for text in seen)
