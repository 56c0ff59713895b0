"""The sandbox's fake control-plane hosts (sandbox/nodes) and the emulator's encryption at rest
(sandbox/kubeapi/encryption.py): SSH with host keys, SFTP confined to the host's root, the commands a host
answers, restarts on a manifest change, and what etcd stores for each write."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import asyncssh
import pytest
import yaml
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sandbox.kubeapi import KubeApiEmulator
from sandbox.nodes import ControlPlaneHosts
from sandbox.world import SandboxWorld

MANIFEST = "/etc/kubernetes/manifests/kube-apiserver.yaml"
CONFIG = "/etc/kubernetes/enc/config.yaml"
KEY = bytes(range(32))
ETCDCTL = (
    "ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt "
    "--cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt --key=/etc/kubernetes/pki/etcd/healthcheck-client.key"
)


@pytest.fixture
def cluster():
    with KubeApiEmulator() as emulator:
        yield emulator.add_cluster("idc-one", version="1.29.4", nodes=2)


@pytest.fixture
def hosts(cluster, tmp_path):
    hosts = ControlPlaneHosts(cluster, tmp_path / "nodes", count=2)
    hosts.start()
    yield hosts
    hosts.stop()


def ssh(access: dict, address: str, *commands: str, user: str = "root", known_hosts: str | None = None) -> list:
    """Run ``commands`` on one host; returns their results (stdout as bytes)."""

    async def go():
        async with asyncssh.connect(
            address,
            access["port"],
            username=user,
            client_keys=[asyncssh.import_private_key(access["private_key"])],
            known_hosts=asyncssh.import_known_hosts(known_hosts or access["known_hosts"]),
            agent_path=None,
            config=None,
        ) as conn:
            return [await conn.run(command, encoding=None) for command in commands]

    return asyncio.run(go())


def wait_until(condition, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
    return value


def secret(cluster, name: str, value: bytes = b"s3cret") -> dict:
    return cluster.objects.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": "default"},
            "data": {"v": base64.b64encode(value).decode()},
        }
    )


def encrypt_node(hosts: ControlPlaneHosts, node: str, keys: list[tuple[str, bytes]], mount: bool = True) -> None:
    """What the engine does on a host, written straight into its root: an aesgcm configuration, the flag and
    (unless ``mount`` is False) the hostPath mount of the file."""
    root = hosts.roots[node]
    config = {
        "apiVersion": "apiserver.config.k8s.io/v1",
        "kind": "EncryptionConfiguration",
        "resources": [
            {
                "resources": ["secrets"],
                "providers": [
                    {"aesgcm": {"keys": [{"name": n, "secret": base64.b64encode(k).decode()} for n, k in keys]}},
                    {"identity": {}},
                ],
            }
        ],
    }
    root.path(CONFIG).parent.mkdir(parents=True, exist_ok=True)
    root.path(CONFIG).write_text(yaml.safe_dump(config))
    manifest = yaml.safe_load(root.path(MANIFEST).read_text())
    container = manifest["spec"]["containers"][0]
    container["command"] = [a for a in container["command"] if "encryption" not in a] + [
        f"--encryption-provider-config={CONFIG}"
    ]
    if mount:
        container["volumeMounts"].append({"mountPath": "/etc/kubernetes/enc", "name": "enc", "readOnly": True})
        manifest["spec"]["volumes"].append({"hostPath": {"path": "/etc/kubernetes/enc"}, "name": "enc"})
    manifest["metadata"]["annotations"]["test/revision"] = str(time.monotonic())
    root.path(MANIFEST).write_text(yaml.safe_dump(manifest))


def ready(cluster, node: str, annotation: str | None = None) -> bool:
    pod = cluster.objects.get("v1", "Pod", f"kube-apiserver-{node}", "kube-system")
    current = pod["metadata"]["annotations"].get("test/revision")
    return pod["status"]["conditions"][0]["status"] == "True" and (annotation is None or current == annotation)


def restarted(cluster, hosts, node: str) -> None:
    revision = yaml.safe_load(hosts.roots[node].path(MANIFEST).read_text())["metadata"]["annotations"]["test/revision"]
    wait_until(lambda: ready(cluster, node, revision))


# --- SSH -----------------------------------------------------------------------------------------------------------


def test_each_host_answers_over_ssh_with_its_own_host_key(hosts):
    access = hosts.access()
    assert access["hosts"] == ["127.0.0.1", "127.0.0.2"] and access["user"] == "root"
    assert len({line.split()[-1] for line in access["known_hosts"].splitlines()}) == 2
    for address, node in zip(access["hosts"], hosts.nodes, strict=True):
        name, other = ssh(access, address, "hostname", "ls /etc")
        assert name.stdout == f"{node}\n".encode()
        assert other.exit_status == 127 and b"not offered" in other.stderr


def test_a_wrong_user_or_host_key_is_refused(hosts):
    access = hosts.access()
    with pytest.raises(asyncssh.PermissionDenied):
        ssh(access, "127.0.0.1", "hostname", user="admin")
    swapped = access["known_hosts"].splitlines()
    forged = f"{swapped[0].split()[0]} {' '.join(swapped[1].split()[1:])}\n"  # host 2's key for host 1
    with pytest.raises(asyncssh.HostKeyNotVerifiable):
        ssh(access, "127.0.0.1", "hostname", known_hosts=forged)


def test_sftp_is_confined_to_the_hosts_root(hosts):
    access = hosts.access()

    async def go():
        async with (
            asyncssh.connect(
                "127.0.0.2",
                access["port"],
                username="root",
                client_keys=[asyncssh.import_private_key(access["private_key"])],
                known_hosts=asyncssh.import_known_hosts(access["known_hosts"]),
                agent_path=None,
                config=None,
            ) as conn,
            conn.start_sftp_client() as sftp,
        ):
            await sftp.makedirs("/etc/kubernetes/enc", exist_ok=True)
            async with sftp.open("/etc/kubernetes/enc/.x.tmp", "wb") as handle:
                await handle.write(b"data")
            await sftp.posix_rename("/etc/kubernetes/enc/.x.tmp", "/etc/kubernetes/enc/x")
            return sorted(await sftp.listdir("/../../..")), await sftp.exists("/etc/passwd")

    top, passwd = asyncio.run(go())
    assert top == [".", "..", "etc"] and not passwd
    assert hosts.roots[hosts.nodes[1]].path("/etc/kubernetes/enc/x").read_bytes() == b"data"
    assert not hosts.roots[hosts.nodes[0]].path("/etc/kubernetes/enc/x").exists()


def test_port_keys_and_roots_are_kept_from_run_to_run(cluster, tmp_path):
    first = ControlPlaneHosts(cluster, tmp_path / "nodes", count=2)
    first.start()
    access = first.access()
    first.stop()
    second = ControlPlaneHosts(cluster, tmp_path / "nodes", count=2)
    second.start()
    try:
        assert second.access() == access
        assert ssh(access, "127.0.0.2", "hostname")[0].stdout == b"idc-one-node-2\n"
    finally:
        second.stop()


def test_the_world_hands_out_ssh_access_to_an_idc_cluster(tmp_path):
    world = SandboxWorld(tmp_path / "world", "hub-one")
    world.start()
    try:
        access = world.ssh_access("idc-one")
        assert world.ssh_access("idc-one") == access and access["hosts"] == ["127.0.0.1"]
        assert ssh(access, "127.0.0.1", "hostname")[0].stdout == b"idc-one-node-1\n"
        assert (tmp_path / "world/nodes/idc-one/idc-one-node-1/ssh_host_ed25519_key").stat().st_mode & 0o777 == 0o600
    finally:
        world.stop()
    with pytest.raises(OSError):
        ssh(access, "127.0.0.1", "hostname")  # the server stopped with the world


# --- the API servers and etcd --------------------------------------------------------------------------------------


def test_a_manifest_change_restarts_the_server_which_then_stores_writes_encrypted(cluster, hosts):
    before = secret(cluster, "before")
    for node in hosts.nodes:
        encrypt_node(hosts, node, [("k1", KEY)])
    for node in hosts.nodes:
        restarted(cluster, hosts, node)
    secret(cluster, "after")
    stored = cluster.at_rest.etcd_get("/registry/secrets/default/after")
    prefix = b"k8s:enc:aesgcm:v1:k1:"
    assert stored.startswith(prefix)
    nonce, sealed = stored[len(prefix) : len(prefix) + 12], stored[len(prefix) + 12 :]
    plain = AESGCM(KEY).decrypt(nonce, sealed, b"/registry/secrets/default/after")  # real AES-GCM, etcd key as AAD
    assert json.loads(plain)["metadata"]["name"] == "after"
    # an existing Secret keeps its plain value until written again; an unchanged write re-stores it
    assert cluster.at_rest.etcd_get("/registry/secrets/default/before").startswith(b"{")
    rewritten = cluster.objects.update(cluster.objects.get("v1", "Secret", "before", "default"))
    assert rewritten["metadata"]["resourceVersion"] != before["metadata"]["resourceVersion"]
    assert cluster.at_rest.etcd_get("/registry/secrets/default/before").startswith(prefix)
    unchanged = cluster.objects.update(cluster.objects.get("v1", "Secret", "before", "default"))
    assert unchanged["metadata"]["resourceVersion"] == rewritten["metadata"]["resourceVersion"]  # not stale now


def test_writes_alternate_between_servers_so_a_host_left_behind_shows(cluster, hosts):
    encrypt_node(hosts, hosts.nodes[0], [("k1", KEY)])
    restarted(cluster, hosts, hosts.nodes[0])
    for n in range(8):
        secret(cluster, f"s{n}")
    stored = {cluster.at_rest.etcd_get(f"/registry/secrets/default/s{n}")[:21] for n in range(8)}
    assert stored == {b"k8s:enc:aesgcm:v1:k1:", b'{"apiVersion": "v1", '}


def test_a_configuration_that_is_not_mounted_crash_loops_the_server(cluster, hosts):
    node = hosts.nodes[0]
    encrypt_node(hosts, node, [("k1", KEY)], mount=False)
    revision = yaml.safe_load(hosts.roots[node].path(MANIFEST).read_text())["metadata"]["annotations"]["test/revision"]

    def crashed():
        pod = cluster.objects.get("v1", "Pod", f"kube-apiserver-{node}", "kube-system")
        condition = pod["status"]["conditions"][0]
        return pod["metadata"]["annotations"].get("test/revision") == revision and condition["reason"] == (
            "CrashLoopBackOff"
        )

    wait_until(crashed)
    assert cluster.at_rest.config_in_force(node) is None


def test_etcdctl_reads_the_stored_value_and_saves_snapshots_in_the_root(cluster, hosts):
    for node in hosts.nodes:
        encrypt_node(hosts, node, [("k1", KEY)])
        restarted(cluster, hosts, node)
    secret(cluster, "app")
    access = hosts.access()
    value, plain, snapshot, missing = ssh(
        access,
        "127.0.0.1",
        f"{ETCDCTL} get /registry/secrets/default/app --print-value-only",
        f"{ETCDCTL} get /registry/namespaces/default --print-value-only",
        f"{ETCDCTL} snapshot save /etc/kubernetes/snap.db",
        f"{ETCDCTL.replace('ca.crt', 'nope.crt')} get /registry/secrets/default/app",
    )
    assert value.exit_status == 0 and value.stdout.startswith(b"k8s:enc:aesgcm:v1:k1:") and value.stdout[-1:] == b"\n"
    assert json.loads(plain.stdout)["metadata"]["name"] == "default"
    assert snapshot.stdout == b"Snapshot saved at /etc/kubernetes/snap.db\n"
    saved = json.loads(hosts.roots[hosts.nodes[0]].path("/etc/kubernetes/snap.db").read_bytes())
    assert base64.b64decode(saved["/registry/secrets/default/app"]).startswith(b"k8s:enc:aesgcm:v1:k1:")
    assert missing.exit_status == 1 and b"nope.crt: no such file" in missing.stderr


def test_values_no_server_can_read_are_listed(cluster, hosts):
    for node in hosts.nodes:
        encrypt_node(hosts, node, [("k1", KEY)])
        restarted(cluster, hosts, node)
    secret(cluster, "app")
    assert cluster.at_rest.undecryptable() == []
    encrypt_node(hosts, hosts.nodes[1], [("k2", bytes(32))])  # k1 dropped before anything was rewritten
    restarted(cluster, hosts, hosts.nodes[1])
    assert cluster.at_rest.undecryptable() == [f"/registry/secrets/default/app on {hosts.nodes[1]}"]


def test_bindings_and_stored_values_survive_a_restart_of_the_emulator(tmp_path):
    data = tmp_path / "kubeapi"
    with KubeApiEmulator(data) as emulator:
        cluster = emulator.add_cluster("idc-one", version="1.29.4", nodes=1)
        hosts = ControlPlaneHosts(cluster, tmp_path / "nodes", count=1)
        hosts.start()
        encrypt_node(hosts, hosts.nodes[0], [("k1", KEY)])
        restarted(cluster, hosts, hosts.nodes[0])
        secret(cluster, "app")
        stored = cluster.at_rest.etcd_get("/registry/secrets/default/app")
        hosts.stop()
    with KubeApiEmulator(data) as emulator:
        cluster = emulator.cluster("idc-one")
        assert cluster.at_rest.etcd_get("/registry/secrets/default/app") == stored
        assert cluster.at_rest.config_in_force("idc-one-node-1").writer("", "secrets").name == "k1"  # booted from disk
