"""`fleetform up -s sandbox` end to end: registration, no-op re-run, removal of one cluster, destroy,
and a cluster that cannot be registered failing alone."""

from __future__ import annotations

import contextlib

import pytest

from sandbox.kubeapi import ApiError, KubeApiEmulator, VirtualCluster

OCM = "cluster.open-cluster-management.io/v1"
OCM_SETS = "cluster.open-cluster-management.io/v1beta2"
KINDS = [
    ("v1", "Namespace"),
    ("v1", "ServiceAccount"),
    ("v1", "Secret"),
    ("v1", "ConfigMap"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("apps/v1", "Deployment"),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
]


def registered_clusters(emulator: KubeApiEmulator) -> dict[str, VirtualCluster]:
    """Registered cluster name -> the sandbox's virtual cluster behind it, found through the registration marker."""
    found = {}
    for cluster in emulator.clusters.values():
        try:
            marker = cluster.objects.get("v1", "ConfigMap", "fleetform-registration", "fleetform-system")
        except ApiError:
            continue
        found[marker["data"]["cluster"]] = cluster
    return found


def fleetform_objects(project) -> dict[str, set[tuple[str, str]]]:
    """Every object labelled managed-by=fleetform, per cluster, read from the emulator's saved data."""
    with project.kubeapi() as emulator:
        return {name: _fleetform_objects(cluster) for name, cluster in emulator.clusters.items()}


def _fleetform_objects(cluster) -> set[tuple[str, str]]:
    objects = set()
    for api_version, kind in KINDS:
        for obj in cluster.objects.list(api_version, kind, label_selector="app.kubernetes.io/managed-by=fleetform"):
            objects.add((kind, obj["metadata"]["name"]))
    with contextlib.suppress(ApiError, LookupError):
        objects |= {("ManagedCluster", o["metadata"]["name"]) for o in cluster.objects.list(OCM, "ManagedCluster")}
    for kind in ("ManagedClusterSet", "ManagedClusterSetBinding"):
        with contextlib.suppress(ApiError, LookupError):
            objects |= {(kind, o["metadata"]["name"]) for o in cluster.objects.list(OCM_SETS, kind)}
    return objects


def test_sandbox_lifecycle(sandbox_project):
    up = sandbox_project.cli("up", "--yes")
    assert up.code == 0, up.out + up.err
    clusters = sandbox_project.cli("stack", "output", "--json").json()["clusters"]
    declared = {c["name"]: c["kind"] for c in sandbox_project.config()["config"]["fleetform:clusters"]}
    assert {name: info["kind"] for name, info in clusters.items()} == declared
    for name, info in clusters.items():
        assert info["status"] == "running", name
        assert info["kubernetesVersion"].startswith("v1.29.4")
        assert info["endpoint"].startswith("https://127.0.0.1:")
        assert info["region"]
    assert {c["mode"] for c in clusters.values()} == {"agent", "direct"}
    assert len({c["region"] for c in clusters.values()}) >= 2

    objects = fleetform_objects(sandbox_project)
    hub = objects["hub-sandbox"]
    assert {("ManagedCluster", n) for n in clusters} <= hub
    assert ("Secret", "idc-sh-02-credential") in hub  # direct: the hub holds the member credential
    assert ("ClusterRole", "fleetform:agent:idc-sh-01") in hub  # agent: a credential scoped to one cluster
    assert {("ServiceAccount", "fleetform-hub"), ("ClusterRoleBinding", "fleetform-hub")} <= objects["idc-sh-02"]
    assert ("Deployment", "klusterlet-agent") in objects["idc-sh-01"]

    again = sandbox_project.cli("preview", "--expect-no-changes", "--json")
    assert again.code == 0, again.out + again.err
    assert again.json()["summary"]["create"] == 0

    sandbox_project.drop_cluster("idc-bj-01")
    preview = sandbox_project.cli("preview", "--json").json()
    changed = {s["urn"].rsplit("::", 1)[-1]: s["op"] for s in preview["steps"] if s["op"] != "same"}
    deleted = {name for name, op in changed.items() if op == "delete"}
    assert deleted and all("idc-bj-01" in name for name in deleted)
    # besides: the status readers of the fleet it left and of that fleet's permissions see one member less
    assert {op for name, op in changed.items() if name not in deleted} <= {"update"}
    assert all(name.endswith("-status") for name, op in changed.items() if op == "update")
    assert sandbox_project.cli("up", "--yes").code == 0
    objects = fleetform_objects(sandbox_project)
    assert objects["idc-bj-01"] == set()
    assert not {o for o in objects["hub-sandbox"] if "idc-bj-01" in o[1]}
    assert ("ManagedCluster", "idc-sh-01") in objects["hub-sandbox"]

    up_again = sandbox_project.cli("up", "--yes", "--json")
    assert up_again.code == 0 and up_again.json()["summary"]["same"] > 0
    assert {k: v for k, v in up_again.json()["summary"].items() if k != "same"} == dict.fromkeys(
        ("create", "update", "replace", "delete", "failed", "skipped"), 0
    )

    destroy = sandbox_project.cli("destroy", "--yes")
    assert destroy.code == 0, destroy.out + destroy.err
    assert all(found == set() for found in fleetform_objects(sandbox_project).values())


def _too_old(emulator):
    emulator.add_cluster("idc-bj-01", version="1.18.20")


def _unreachable(emulator):
    emulator.add_cluster("idc-bj-01").set_reachable(False)


@pytest.mark.parametrize(
    "break_cluster, message, preview_code",
    [  # a cluster that breaks a rule is invalid input (2); one that cannot be asked is a failure (1)
        (_too_old, "FF-VER-001 cluster 'idc-bj-01' runs Kubernetes v1.18.20; fleetform requires >= 1.19", 2),
        (_unreachable, "FF-CONN-002 API server https://127.0.0.1:", 1),
    ],
)
def test_a_cluster_that_cannot_be_registered_fails_alone(sandbox_project, break_cluster, message, preview_code):
    sandbox_project.keep_clusters(lambda cluster: cluster["kind"] == "idc")  # quicker; the kind does not matter
    sandbox_project.without_fleets()  # a fleet's dependents would be skipped with the cluster
    with sandbox_project.kubeapi(save=True) as emulator:
        break_cluster(emulator)

    preview = sandbox_project.cli("preview")
    assert preview.code == preview_code
    assert message in preview.out and "idc-bj-01" in preview.out

    up = sandbox_project.cli("up", "--yes", "--json")
    assert up.code == 1
    result = up.json()
    failed = {s["urn"].rsplit("::", 1)[-1] for s in result["steps"] if s["status"] == "failed"}
    assert failed == {"idc-bj-01-lookup"}
    assert all("idc-bj-01" in s["urn"] for s in result["steps"] if s["status"] == "skipped")
    clusters = result["outputs"]["clusters"]
    assert clusters["idc-sh-01"]["status"] == "running" and clusters["idc-sh-02"]["status"] == "running"


def test_a_member_that_stops_answering_shows_as_disconnected(sandbox_project):
    sandbox_project.keep_clusters(lambda cluster: cluster["kind"] == "idc")
    sandbox_project.without_fleets()  # a fleet's status would rightly see its member disconnected too
    assert sandbox_project.cli("up", "--yes").code == 0
    with sandbox_project.kubeapi(save=True) as emulator:
        emulator.cluster("idc-sh-02").set_reachable(False)  # the direct-mode member

    drift = sandbox_project.cli("refresh", "--preview-only", "--json").json()
    status = [s for s in drift["steps"] if s["urn"].endswith("::idc-sh-02-status")][0]
    changes = {d["path"]: (d["old"], d["new"]) for d in status["diffs"]}
    assert changes["state"] == ("running", "disconnected")
    others = [s for s in drift["steps"] if s["urn"].endswith("-status") and "idc-sh-02" not in s["urn"]]
    assert others and all(s["op"] == "same" for s in others)
