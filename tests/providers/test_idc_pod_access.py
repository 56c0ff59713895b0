"""node_access: privileged-pod, the transport alone: a privileged pod per control-plane node of a virtual cluster
whose nodes have sandbox hosts, every file operation and host command through the exec API (a WebSocket on the
emulator's HTTPS server), the pods gone afterwards whatever happened."""

from __future__ import annotations

import secrets

import pytest

from providers.errors import ErrorCode
from providers.idc_encryption import IdcEncryptionError, PodAccess, podexec, pods
from sandbox.kubeapi import KubeApiEmulator
from sandbox.nodes import control_plane_nodes, host_control_planes

CLUSTER = "idc-pods"
POD_VERBS = ["create", "get", "list", "delete"]


class Cluster:
    def __init__(self, cluster, roots):
        self.cluster, self.roots = cluster, roots
        self.nodes = sorted(roots)

    def access(self, user: str = "admin") -> PodAccess:
        return PodAccess(self.cluster.kubeconfig(user))

    def pods(self, cluster: str | None = CLUSTER) -> list[dict]:
        found = self.cluster.objects.list("v1", "Pod", pods.NAMESPACE)
        return [p for p in found if cluster is None or p["metadata"]["labels"].get(pods.CLUSTER_LABEL) == cluster]


@pytest.fixture
def cluster(tmp_path):
    with KubeApiEmulator() as emulator:
        virtual = emulator.add_cluster(CLUSTER, version="1.29.4", nodes=3)
        nodes = control_plane_nodes(virtual, 2)  # the third node is a worker: no pod goes there
        yield Cluster(virtual, host_control_planes(virtual, tmp_path / "nodes", nodes))


def test_files_and_commands_round_trip_through_the_exec_api(cluster):
    content = bytes(range(256)) + b"\n-- end"  # any byte, NUL and newlines included
    with cluster.access().connect(CLUSTER) as nodes:
        assert [node.address for node in nodes] == cluster.nodes
        running = cluster.pods()
        assert sorted(p["spec"]["nodeName"] for p in running) == cluster.nodes
        for pod in running:
            container = pod["spec"]["containers"][0]
            assert container["securityContext"] == {"privileged": True}
            assert "@sha256:" in container["image"] and pod["spec"]["restartPolicy"] == "Never"
            assert {"name": "host", "hostPath": {"path": "/", "type": "Directory"}} in pod["spec"]["volumes"]
            assert {t["key"] for t in pod["spec"]["tolerations"]} >= {"node-role.kubernetes.io/control-plane"}
        for node in nodes:
            root = cluster.roots[node.address]
            assert node.run("hostname") == f"{node.address}\n".encode()
            assert node.read("/etc/hostname") == root.path("/etc/hostname").read_bytes()
            assert node.read("/etc/kubernetes/enc/absent.conf") is None

            node.write("/etc/kubernetes/enc/file.conf", content)
            written = root.path("/etc/kubernetes/enc/file.conf")
            assert written.read_bytes() == content and written.stat().st_mode & 0o777 == 0o600
            assert written.parent.stat().st_mode & 0o777 == 0o700
            node.write("/etc/kubernetes/enc/file.conf", b"replaced", mode=0o644)
            assert written.read_bytes() == b"replaced" and written.stat().st_mode & 0o777 == 0o644
            assert [p.name for p in written.parent.iterdir()] == ["file.conf"]  # no temporary file left

            node.makedirs("/var/lib/fleetform/snapshots")
            assert root.path("/var/lib/fleetform/snapshots").stat().st_mode & 0o777 == 0o700
            node.remove("/etc/kubernetes/enc/file.conf")
            node.remove("/etc/kubernetes/enc/file.conf")  # already gone: not an error
            assert not written.exists()
            with pytest.raises(IdcEncryptionError) as failed:
                node.run("reboot")  # the host does not offer it: exits 127
            assert failed.value.code is ErrorCode.ENC_PHASE_FAILED and "exited 127" in str(failed.value)
    assert cluster.pods() == []


def test_file_content_travels_on_stdin_never_in_a_command_line(cluster, monkeypatch):
    material = secrets.token_hex(16).encode()
    command_lines = []
    real = podexec.run

    def recording(client, namespace, pod, container, argv, stdin, timeout):
        command_lines.append(" ".join(argv))
        return real(client, namespace, pod, container, argv, stdin, timeout)

    monkeypatch.setattr(podexec, "run", recording)
    with cluster.access().connect(CLUSTER) as nodes:
        nodes[0].write("/etc/kubernetes/enc/keys.conf", material)
        assert nodes[0].read("/etc/kubernetes/enc/keys.conf") == material
    assert command_lines and not any(material.decode() in line for line in command_lines)


def test_the_pods_are_deleted_when_the_run_fails(cluster):
    with pytest.raises(RuntimeError), cluster.access().connect(CLUSTER):
        assert len(cluster.pods()) == 2
        raise RuntimeError("a phase failed")
    assert cluster.pods() == []


def test_pods_left_by_a_killed_run_are_removed_by_the_next(cluster):
    killed = pods.Pods(cluster.access(), CLUSTER)
    killed.__enter__()  # the process died before its with-block ended: nothing deleted them
    left = {p["metadata"]["name"] for p in cluster.pods()}
    other = pods.pod_manifest("another-cluster", cluster.nodes[0], pods.IMAGE)  # not this cluster's
    cluster.cluster.objects.create(other)
    with cluster.access().connect(CLUSTER) as nodes:
        now = {p["metadata"]["name"] for p in cluster.pods()}
        assert len(now) == 2 and not now & left
        assert nodes[0].run("hostname")
    assert cluster.pods() == []
    assert [p["metadata"]["name"] for p in cluster.pods(cluster="another-cluster")] == [other["metadata"]["name"]]


@pytest.mark.parametrize(
    ("pod_verbs", "refused"), [(["list", "get", "delete"], "may not create a pod"), (POD_VERBS, "exec into pod")]
)
def test_a_user_who_may_not_run_the_pods_gets_a_clear_error_and_nothing_is_left(cluster, pod_verbs, refused):
    objects = cluster.cluster.objects
    cluster.cluster.add_user("auditor")
    rules = [
        {"apiGroups": [""], "resources": ["nodes"], "verbs": ["list"]},
        {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["create"]},
        {"apiGroups": [""], "resources": ["pods"], "verbs": pod_verbs},  # pods/exec never
    ]
    objects.create(
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"}, "rules": rules}
    )
    objects.create(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "r"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "r"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "auditor"}],
        }
    )
    with pytest.raises(IdcEncryptionError) as error, cluster.access("auditor").connect(CLUSTER) as nodes:
        nodes[0].run("hostname")
    message = str(error.value)
    assert error.value.code is ErrorCode.ENC_NODE_ACCESS_UNAVAILABLE
    assert refused in message and "pods/exec" in message and "node_access: ssh" in message
    assert cluster.pods(cluster=None) == []


def test_a_cluster_without_labelled_control_plane_nodes_is_refused(cluster):
    with KubeApiEmulator() as emulator:
        bare = emulator.add_cluster("idc-bare", version="1.29.4")  # its node carries no control-plane label
        with pytest.raises(IdcEncryptionError) as refused, PodAccess(bare.kubeconfig()).connect("idc-bare"):
            pass
    assert refused.value.code is ErrorCode.ENC_NOT_KUBEADM and pods.CONTROL_PLANE_LABEL in str(refused.value)


def test_a_pod_that_never_runs_fails_its_node_and_no_pod_stays(cluster, monkeypatch):
    worker = f"{CLUSTER}-node-3"  # labelled control-plane, but the sandbox gives it no host: its pod stays Pending
    node = cluster.cluster.objects.get("v1", "Node", worker)
    node["metadata"]["labels"][pods.CONTROL_PLANE_LABEL] = ""
    cluster.cluster.objects.update(node)
    monkeypatch.setattr(pods, "START_SECONDS", 0.5)
    with pytest.raises(IdcEncryptionError) as unreachable, cluster.access().connect(CLUSTER):
        pass
    assert unreachable.value.code is ErrorCode.ENC_NODE_UNREACHABLE
    assert f"'{worker}'" in str(unreachable.value) and "Pending" in str(unreachable.value)
    assert cluster.pods() == []
