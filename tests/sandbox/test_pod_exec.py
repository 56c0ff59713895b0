"""The emulator's pods on sandbox nodes (sandbox/kubeapi/kubelet.py) and ``pods/exec`` over a WebSocket
(sandbox/kubeapi/execstream.py), spoken to at the wire level with websocket-client: the handshake, the channel
bytes, the outcome on channel 3, stdin without a close (v4) and with one (v5); and what an exec'd command reaches
of the node (sandbox/nodes/container.py). The one shell script fleetform sends is also run on a real shell, so
the sandbox is checked against what a node would do."""

from __future__ import annotations

import json
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode

import pytest
import websocket

from providers.idc_encryption import pods
from sandbox.kubeapi import KubeApiEmulator
from sandbox.nodes import NodeRoot, control_plane_nodes, host_control_planes
from sandbox.nodes.container import WRITE, Container

NAMESPACE = "ops"


@pytest.fixture
def cluster(tmp_path):
    with KubeApiEmulator() as emulator:
        virtual = emulator.add_cluster("idc-exec", version="1.29.4", nodes=2)
        host_control_planes(virtual, tmp_path / "nodes", control_plane_nodes(virtual))
        virtual.objects.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
        (tmp_path / "ca.pem").write_text(virtual.ca_pem)
        virtual.ca_file = str(tmp_path / "ca.pem")
        yield virtual


def make_pod(cluster, name: str, node: str = "idc-exec-node-1", privileged: bool = True, host: bool = True) -> dict:
    container = {"name": "shell", "image": "busybox", "command": ["sleep", "600"]}
    spec = {"nodeName": node, "containers": [container]}
    if privileged:
        container["securityContext"] = {"privileged": True}
    if host:
        container["volumeMounts"] = [{"name": "host", "mountPath": "/host"}]
        spec["volumes"] = [{"name": "host", "hostPath": {"path": "/"}}]
    cluster.objects.create(
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NAMESPACE}, "spec": spec}
    )
    return running(cluster, name) if node == "idc-exec-node-1" else cluster.objects.get("v1", "Pod", name, NAMESPACE)


def running(cluster, name: str) -> dict:
    for _ in range(200):
        pod = cluster.objects.get("v1", "Pod", name, NAMESPACE)
        if (pod.get("status") or {}).get("phase") == "Running":
            return pod
        time.sleep(0.02)
    raise AssertionError(f"pod {name} did not start: {pod.get('status')}")


def connect(cluster, pod: str, argv: list[str], protocols: str, user: str = "admin", stdin: bool = True):
    query = urlencode(
        [("command", word) for word in argv] + [("stdin", str(stdin).lower()), ("stdout", "true"), ("stderr", "true")]
    )
    url = f"wss://127.0.0.1:{cluster.port}/api/v1/namespaces/{NAMESPACE}/pods/{pod}/exec?{query}"
    ws = websocket.WebSocket(sslopt={"cert_reqs": ssl.CERT_REQUIRED, "ca_certs": cluster.ca_file})
    ws.connect(url, header=[f"Authorization: Bearer {cluster.token(user)}"], subprotocols=protocols.split(","))
    return ws


def exchange(
    cluster, pod: str, argv: list[str], stdin: bytes = b"", protocols: str = "v4.channel.k8s.io", close_stdin=False
):
    """Every message the server sends, as (channel, data), until it closes; and the chosen subprotocol."""
    ws = connect(cluster, pod, argv, protocols)
    if stdin:
        ws.send_binary(b"\x00" + stdin)
    if close_stdin:
        ws.send_binary(b"\xff\x00")
    messages = []
    while True:
        opcode, data = ws.recv_data()
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            break
        messages.append((data[0], data[1:]))
    ws.close()
    return messages, ws.subprotocol


def test_a_pod_on_a_sandbox_node_runs_and_others_stay_pending(cluster):
    pod = make_pod(cluster, "on-host")
    assert pod["status"]["containerStatuses"][0]["ready"] and pod["status"]["podIP"]
    elsewhere = make_pod(cluster, "on-worker", node="idc-exec-node-2")  # a node without a sandbox host
    unbound = cluster.objects.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "unbound", "namespace": NAMESPACE},
            "spec": {"containers": [{"name": "c", "image": "x"}]},
        }
    )
    make_pod(cluster, "later")  # a pod started after both: they had their chance
    for name in (elsewhere["metadata"]["name"], unbound["metadata"]["name"]):
        assert (cluster.objects.get("v1", "Pod", name, NAMESPACE).get("status") or {}).get("phase") != "Running"


def test_exec_speaks_the_channel_protocol(cluster, tmp_path):
    make_pod(cluster, "shell")
    messages, protocol = exchange(
        cluster, "shell", ["cat", "/host/etc/hostname"], protocols="v5.channel.k8s.io,v4.channel.k8s.io"
    )
    assert protocol == "v5.channel.k8s.io"  # the client's first choice
    assert messages[0] == (1, b"")  # ready: an empty stdout message first, as kubelet sends
    assert (1, b"idc-exec-node-1\n") in messages
    assert messages[-1] == (3, json.dumps({"metadata": {}, "status": "Success"}).encode())

    messages, _ = exchange(cluster, "shell", ["cat", "/host/nowhere"])
    channel, status = messages[-1]
    status = json.loads(status)
    assert channel == 3 and (status["status"], status["reason"]) == ("Failure", "NonZeroExitCode")
    assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "1"}]
    assert any(channel == 2 and b"No such file" in data for channel, data in messages)
    messages, _ = exchange(cluster, "shell", ["reboot"])
    assert json.loads(messages[-1][1])["details"]["causes"][0]["message"] == "127"


@pytest.mark.parametrize(("protocol", "close_stdin"), [("v4.channel.k8s.io", False), ("v5.channel.k8s.io", True)])
def test_stdin_reaches_the_write_script_over_v4_and_v5(cluster, tmp_path, protocol, close_stdin):
    make_pod(cluster, "writer")
    content = b"line one\nline two\x00\xff"
    argv = [
        "sh",
        "-c",
        WRITE,
        "w",
        str(len(content)),
        "/host/etc/kubernetes/enc/.f.tmp",
        "/host/etc/kubernetes/enc/f",
        "640",
    ]
    messages, chosen = exchange(cluster, "writer", argv, stdin=content, protocols=protocol, close_stdin=close_stdin)
    assert chosen == protocol and json.loads(messages[-1][1])["status"] == "Success"
    written = root_of(cluster).path("/etc/kubernetes/enc/f")
    assert written.read_bytes() == content and written.stat().st_mode & 0o777 == 0o640


def root_of(cluster, node: str = "idc-exec-node-1") -> NodeRoot:
    return NodeRoot(cluster.at_rest.host_root(node))


@pytest.mark.parametrize(("privileged", "host"), [(False, True), (True, False)])
def test_a_pod_without_privilege_or_the_host_mount_does_not_reach_the_node(cluster, privileged, host):
    make_pod(cluster, "confined", privileged=privileged, host=host)
    manifest = root_of(cluster).path(pods.KUBEADM_MANIFEST)
    before = manifest.read_bytes()
    for argv, stdin in (
        (["cat", "/host/etc/hostname"], b""),
        (["chroot", "/host", "sh", "-c", "hostname"], b""),
        (
            ["sh", "-c", WRITE, "w", "3", "/host/etc/kubernetes/manifests/.t", "/host" + pods.KUBEADM_MANIFEST, "600"],
            b"bad",
        ),
        (["rm", "-f", "/host" + pods.KUBEADM_MANIFEST], b""),
    ):
        messages, _ = exchange(cluster, "confined", argv, stdin=stdin)
        assert json.loads(messages[-1][1])["status"] == "Failure" or argv[0] == "rm", argv
    assert manifest.read_bytes() == before


def test_exec_needs_a_websocket_upgrade_and_the_right_to_exec(cluster):
    make_pod(cluster, "shell")
    request = urllib.request.Request(
        f"https://127.0.0.1:{cluster.port}/api/v1/namespaces/{NAMESPACE}/pods/shell/exec?command=hostname&stdout=true",
        headers={"Authorization": f"Bearer {cluster.token()}"},
    )
    with pytest.raises(urllib.error.HTTPError) as plain:
        urllib.request.urlopen(request, context=ssl.create_default_context(cafile=cluster.ca_file))
    assert plain.value.code == 400 and b"Upgrade request required" in plain.value.read()

    cluster.add_user("viewer")
    with pytest.raises(websocket.WebSocketBadStatusException) as forbidden:
        connect(cluster, "shell", ["hostname"], "v4.channel.k8s.io", user="viewer")
    assert forbidden.value.status_code == 403


def test_the_write_script_does_on_a_real_shell_what_the_sandbox_does(tmp_path):
    assert pods.WRITE == WRITE  # the sandbox answers exactly the script fleetform sends
    outcomes = {}
    for where in ("shell", "sandbox"):
        base = tmp_path / where
        (base / "etc").mkdir(parents=True)
        (base / "etc" / "kept").write_bytes(b"old")
        results = []
        for length, data, name in ((5, b"hello", "new/file"), (10, b"short", "kept")):
            temporary, target = base / "etc" / f".{name.replace('/', '-')}.tmp", base / "etc" / name
            if where == "shell":
                args = ["sh", "-c", WRITE, "w", str(length), str(temporary), str(target), "640"]
                status = subprocess.run(args, input=data, capture_output=True).returncode
            else:
                stream = iter([data])  # read once: the rest is the end of input
                mounts = {"/host": (NodeRoot(base), "/")}
                args = [
                    "sh",
                    "-c",
                    WRITE,
                    "w",
                    str(length),
                    f"/host/etc/.{name.replace('/', '-')}.tmp",
                    f"/host/etc/{name}",
                    "640",
                ]
                status = Container(mounts, etcd=None).run(args, lambda n, chunks=stream: next(chunks, b"")[:n]).status
            results.append(
                (
                    status == 0,
                    target.read_bytes(),
                    oct(target.stat().st_mode & 0o777) if status == 0 else None,
                    oct(target.parent.stat().st_mode & 0o777),
                    temporary.exists(),
                )
            )
        outcomes[where] = results
    assert outcomes["shell"] == outcomes["sandbox"]
    assert outcomes["shell"] == [(True, b"hello", "0o640", "0o700", False), (False, b"old", None, "0o755", False)]


@pytest.mark.parametrize(("version", "allowed"), [("1.29.4", True), ("1.35.0", False)])
def test_a_websocket_exec_needs_create_from_1_35(tmp_path, version, allowed):
    """Upstream's AuthorizePodWebsocketUpgradeCreatePermission (beta, on, in 1.35): the GET that opens the
    WebSocket is authorized as create; before, as get."""
    with KubeApiEmulator() as emulator:
        cluster = emulator.add_cluster("idc-rbac", version=version)
        host_control_planes(cluster, tmp_path / "nodes", control_plane_nodes(cluster))
        cluster.objects.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
        (tmp_path / "ca.pem").write_text(cluster.ca_pem)
        cluster.ca_file = str(tmp_path / "ca.pem")
        make_pod(cluster, "shell", node="idc-rbac-node-1")
        running(cluster, "shell")
        cluster.add_user("getter")
        rbac = "rbac.authorization.k8s.io/v1"
        rule = {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["get"]}
        cluster.objects.create({"apiVersion": rbac, "kind": "ClusterRole", "metadata": {"name": "g"}, "rules": [rule]})
        subject = {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "getter"}
        role = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "g"}
        binding = {"metadata": {"name": "g"}, "roleRef": role, "subjects": [subject]}
        cluster.objects.create({"apiVersion": rbac, "kind": "ClusterRoleBinding", **binding})
        if allowed:
            connect(cluster, "shell", ["hostname"], "v4.channel.k8s.io", user="getter").close()
        else:
            with pytest.raises(websocket.WebSocketBadStatusException) as forbidden:
                connect(cluster, "shell", ["hostname"], "v4.channel.k8s.io", user="getter")
            assert forbidden.value.status_code == 403
