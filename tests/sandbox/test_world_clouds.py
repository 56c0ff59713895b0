"""The world names each cloud cluster's backing virtual cluster as that cloud's emulator does (what
`fleetform sandbox kubeconfig` maps cloud credentials by), whatever the case or order of its identity."""

from __future__ import annotations

from sandbox.world import SandboxWorld

IDENTITIES = {
    "eks": {"region": "eu-west-1", "cluster_name": "prod-eks"},
    "gke": {"project": "p-1", "location": "europe-west1", "cluster_name": "prod-gke"},
    "aks": {"subscription_id": "00000000-0000-4000-8000-000000000001", "resource_group": "rg", "cluster_name": "a1"},
    "ack": {"region_id": "cn-hangzhou", "cluster_id": "C0123456789ABCDEF0123456789ABCDEF"},  # ids ignore case
    "tke": {"region": "ap-guangzhou", "cluster_id": "cls-abcd1234"},
    "ctyun": {"region_id": "bb9fdb42056f11eda1610242ac110002", "cluster_id": "0" * 31 + "7"},
}


def test_every_cloud_clusters_backing_is_a_virtual_cluster_of_the_world(tmp_path):
    world = SandboxWorld(tmp_path / "world", "hub-one")
    world.start()
    try:
        for kind, identity in IDENTITIES.items():
            world.cloud_cluster(kind, identity)
        backings = {entry["kind"]: entry["backing"] for entry in world.cloud_clusters()}
        assert set(backings) == set(IDENTITIES)
        assert set(backings.values()) <= set(world.cluster_names())
        assert backings["ack"] == "ack-c0123456789abcdef0123456789abcdef"
    finally:
        world.stop()
