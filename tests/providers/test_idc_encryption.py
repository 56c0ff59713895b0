"""IdcEncryption over real SSH: two fake control-plane hosts (sandbox/nodes, asyncssh's server side) on loopback
addresses, bound to a virtual cluster of the Kubernetes emulator, whose API servers restart when a manifest
changes and store each Secret as etcd would (so "existing Secrets rewritten" is read from etcd, not assumed).
At the end, the same hosts reached through a privileged pod per node over the exec API (node_access:
privileged-pod)."""

from __future__ import annotations

import base64
import json
import logging
import time
from contextlib import contextmanager

import asyncssh
import pytest
import yaml

from providers.dynamic import IdcEncryptionProvider
from providers.dynamic.idc_encryption import IdcEncryptionInputs, IdcEncryptionOutputs
from providers.errors import ErrorCode
from providers.idc_encryption import IdcEncryptionError, Journal, SshAccess, pods
from providers.idc_encryption.etcd import prefix
from providers.idc_encryption.transport import Hosts
from sandbox.kubeapi import KubeApiEmulator
from sandbox.nodes import ControlPlaneHosts, NodeRoot, control_plane_nodes, host_control_planes

CLUSTER = "idc-one"
NAMESPACES = ("default", "team-a")
CONFIG = "/etc/kubernetes/enc/encryption-provider.conf"
MANIFEST = "/etc/kubernetes/manifests/kube-apiserver.yaml"
JOURNAL = "/etc/kubernetes/enc/fleetform-state.json"


class Killed(BaseException):
    """Stands for the process being killed: no handler of the procedure runs (it is not an Exception)."""


class Estate:
    """A cluster whose control-plane nodes have hosts: over SSH (``hosts``), or through pods on the nodes."""

    def __init__(self, cluster, roots: dict[str, NodeRoot], hosts: ControlPlaneHosts | None = None):
        self.cluster, self.roots, self.hosts = cluster, roots, hosts
        self.nodes = sorted(roots)

    def props(self, **overrides) -> dict:
        access = {"node_access": "ssh", "ssh": self.hosts.access()} if self.hosts else {"node_access": "privileged-pod"}
        return {
            "cluster": CLUSTER,
            "kubeconfig": self.cluster.kubeconfig(),
            "provider": "aesgcm",
            "resources": ["secrets"],
            "rotation_interval_seconds": 86400,
            "kms": None,
            "ssh": None,
            "enabled": True,
            "reencrypt_existing": True,
            "etcd_backup": "engine",
            **access,
            **overrides,
        }

    def pods(self) -> list[str]:
        """The privileged pods fleetform has in the cluster now."""
        return [pod["metadata"]["name"] for pod in self.cluster.objects.list("v1", "Pod", pods.NAMESPACE)]

    def host_file(self, node: str, path: str) -> bytes | None:
        target = self.roots[node].path(path)
        return target.read_bytes() if target.exists() else None

    def key_names(self, node: str) -> list[str]:
        """The keyed providers' key names in the configuration file of ``node``, in order."""
        text = self.host_file(node, CONFIG)
        if text is None:
            return []
        providers = yaml.safe_load(text)["resources"][0]["providers"]
        return [
            key["name"] for p in providers for kind, body in p.items() if kind != "identity" for key in body["keys"]
        ]

    def host_journal(self, node: str) -> Journal:
        return Journal.loads(self.host_file(node, JOURNAL))

    def stored(self, namespace: str, name: str) -> bytes:
        return self.cluster.at_rest.etcd_get(f"/registry/secrets/{namespace}/{name}")

    def user_secrets(self) -> list[tuple[str, str]]:
        return [(ns, f"app-{n}") for ns in NAMESPACES for n in range(3)]


@contextmanager
def cluster_with_secrets():
    with KubeApiEmulator() as emulator:
        cluster = emulator.add_cluster(CLUSTER, version="1.29.4", nodes=2)
        cluster.objects.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}})
        for namespace in NAMESPACES:
            for n in range(3):
                cluster.objects.create(
                    {
                        "apiVersion": "v1",
                        "kind": "Secret",
                        "metadata": {"name": f"app-{n}", "namespace": namespace},
                        "data": {"password": base64.b64encode(f"hunter{n}".encode()).decode()},
                    }
                )
        yield cluster


@pytest.fixture
def estate(tmp_path):
    """Two control-plane hosts reached over SSH."""
    with cluster_with_secrets() as cluster:
        hosts = ControlPlaneHosts(cluster, tmp_path / "nodes", count=2)
        hosts.start()
        try:
            yield Estate(cluster, hosts.roots, hosts)
        finally:
            hosts.stop()


@pytest.fixture
def pod_estate(tmp_path):
    """The same two hosts, reached through a privileged pod on each node (node_access: privileged-pod)."""
    with cluster_with_secrets() as cluster:
        yield Estate(cluster, host_control_planes(cluster, tmp_path / "nodes", control_plane_nodes(cluster, 2)))


def prefixes(estate: Estate) -> set[str]:
    """The stored prefix of every user Secret ("" for one stored as written)."""
    return {prefix(estate.stored(ns, name)) for ns, name in estate.user_secrets()}


def wait_due(seconds: float) -> None:
    time.sleep(seconds + 0.1)


# --- enable --------------------------------------------------------------------------------------------------------


def test_enable_end_to_end_over_ssh(estate):
    provider = IdcEncryptionProvider()
    assert prefixes(estate) == {""}  # plain before
    created = provider.create(estate.props())
    outputs = IdcEncryptionOutputs.from_props(created.outs)
    assert (created.id, outputs.state, outputs.active_provider, outputs.key_ref, outputs.key_revision) == (
        CLUSTER,
        "enabled",
        "aesgcm",
        "key-1",
        1,
    )
    assert outputs.verified and outputs.verification == "k8s:enc:aesgcm:v1:key-1:"
    assert outputs.rotation_due is False and outputs.last_rotated_at and outputs.phase == 0
    for node in estate.nodes:
        config = yaml.safe_load(estate.host_file(node, CONFIG))
        providers = config["resources"][0]["providers"]
        assert [next(iter(p)) for p in providers] == ["aesgcm", "identity"]  # identity last
        assert estate.roots[node].path(CONFIG).stat().st_mode & 0o777 == 0o600
        manifest = yaml.safe_load(estate.host_file(node, MANIFEST))
        container = manifest["spec"]["containers"][0]
        assert f"--encryption-provider-config={CONFIG}" in container["command"]
        assert {"mountPath": "/etc/kubernetes/enc", "name": "fleetform-encryption", "readOnly": True} in container[
            "volumeMounts"
        ]
        assert any(v.get("hostPath", {}).get("path") == "/etc/kubernetes/enc" for v in manifest["spec"]["volumes"])
        pod = estate.cluster.objects.get("v1", "Pod", f"kube-apiserver-{node}", "kube-system")
        assert pod["status"]["conditions"][0]["status"] == "True"
        assert estate.cluster.at_rest.config_in_force(node).writer("", "secrets").name == "key-1"
    # every Secret that existed before was re-stored encrypted, and the API still returns it as written
    assert prefixes(estate) == {"k8s:enc:aesgcm:v1:key-1:"}
    secret = estate.cluster.objects.get("v1", "Secret", "app-2", "team-a")
    assert base64.b64decode(secret["data"]["password"]) == b"hunter2"
    assert estate.stored("fleetform-system", "fleetform-encryption-canary").startswith(b"k8s:enc:aesgcm:v1:key-1:")
    assert estate.cluster.at_rest.undecryptable() == []

    # a second apply changes nothing: no diff, and an update writes no manifest (no restart)
    assert not provider.diff(CLUSTER, created.outs, estate.props()).changes
    stamps = {node: estate.roots[node].path(MANIFEST).stat().st_mtime_ns for node in estate.nodes}
    again = IdcEncryptionOutputs.from_props(provider.update(CLUSTER, created.outs, estate.props()).outs)
    assert (again.key_ref, again.key_revision, again.state) == ("key-1", 1, "enabled")
    assert {node: estate.roots[node].path(MANIFEST).stat().st_mtime_ns for node in estate.nodes} == stamps


def test_a_host_without_a_kubeadm_manifest_is_refused_before_anything_is_written(estate):
    estate.roots[estate.nodes[1]].path(MANIFEST).write_text("not: a kube-apiserver\n")
    with pytest.raises(IdcEncryptionError) as refused:
        IdcEncryptionProvider().create(estate.props())
    assert refused.value.code is ErrorCode.ENC_NOT_KUBEADM
    assert "has no container named kube-apiserver" in str(refused.value)
    assert estate.host_file(estate.nodes[0], CONFIG) is None  # nothing was written anywhere


def test_a_configuration_lost_on_a_host_is_found_by_refresh_and_written_back(estate):
    provider = IdcEncryptionProvider()
    created = provider.create(estate.props()).outs
    estate.roots[estate.nodes[1]].path(CONFIG).unlink()
    read = provider.read(CLUSTER, created).outs
    assert (read["state"], read["verified"]) == ("failed", False)
    assert read["state_reason"] == "the configuration file differs from fleetform's on 127.0.0.2"
    assert provider.diff(CLUSTER, read, estate.props()).changes
    repaired = provider.update(CLUSTER, read, estate.props()).outs
    assert (repaired["state"], repaired["key_ref"]) == ("enabled", "key-1")
    assert estate.host_file(estate.nodes[1], CONFIG) == estate.host_file(estate.nodes[0], CONFIG)


# --- rotation ------------------------------------------------------------------------------------------------------


def test_rotation_when_due_adds_promotes_rewrites_and_prunes(estate):
    seen: dict[int, list[str]] = {}

    def record(phase: int, point: str) -> None:
        if point == "acted":
            seen[phase] = estate.key_names(estate.nodes[1])

    provider = IdcEncryptionProvider(fault=record)
    created = provider.create(estate.props(rotation_interval_seconds=2))
    first = IdcEncryptionOutputs.from_props(created.outs)
    assert seen == {1: ["key-1"], 2: ["key-1"], 3: ["key-1"], 4: ["key-1"], 5: ["key-1"], 6: ["key-1"]}
    assert not provider.diff(CLUSTER, created.outs, estate.props(rotation_interval_seconds=2)).changes
    wait_due(2)
    assert provider.diff(CLUSTER, created.outs, estate.props(rotation_interval_seconds=2)).changes
    seen.clear()
    rotated = IdcEncryptionOutputs.from_props(
        provider.update(CLUSTER, created.outs, estate.props(rotation_interval_seconds=2)).outs
    )
    # new key added second, promoted first, then the old one removed
    assert seen == {
        1: ["key-1", "key-2"],
        2: ["key-1", "key-2"],
        3: ["key-2", "key-1"],
        4: ["key-2", "key-1"],
        5: ["key-2", "key-1"],
        6: ["key-2"],
    }
    assert (rotated.key_ref, rotated.key_revision, rotated.state, rotated.rotation_due) == (
        "key-2",
        2,
        "enabled",
        False,
    )
    assert rotated.last_rotated_at > first.last_rotated_at
    assert prefixes(estate) == {"k8s:enc:aesgcm:v1:key-2:"}
    assert all(estate.key_names(node) == ["key-2"] for node in estate.nodes)
    snapshots = estate.roots[estate.nodes[0]].path("/var/lib/fleetform/etcd-snapshots")
    assert len(list(snapshots.iterdir())) == 1  # V42: a snapshot before key-1 was dropped
    assert [e["name"] for e in rotated.keys["entries"]] == ["key-2", "identity"]


@pytest.mark.parametrize(
    ("phase", "point"),
    [(1, "persisted"), (2, "persisted"), (3, "persisted"), (4, "persisted"), (5, "persisted"), (6, "persisted")]
    + [(2, "acted"), (5, "acted"), (6, "acted")],
)
def test_a_rotation_killed_in_a_phase_resumes_there_and_never_loses_a_key(estate, phase, point):
    provider = IdcEncryptionProvider()
    props = estate.props(rotation_interval_seconds=1)
    before = provider.create(props).outs
    wait_due(1)

    def kill(at_phase: int, at_point: str) -> None:
        if (at_phase, at_point) == (phase, point):
            raise Killed(f"killed in phase {phase}")

    with pytest.raises(Killed):
        IdcEncryptionProvider(fault=kill).update(CLUSTER, before, props)
    journals = {node: estate.host_journal(node) for node in estate.nodes}
    assert {j.transition.phase for j in journals.values()} == {phase}
    # every Secret is readable by every API server, and its key is in the persisted journal
    assert estate.cluster.at_rest.undecryptable() == []
    kept = {e.name for e in journals[estate.nodes[0]].entries} | {journals[estate.nodes[0]].transition.target.name}
    in_use = {p.split(":")[4] for p in prefixes(estate) if p}
    assert in_use <= kept

    # refresh (and the engine settling an interrupted update) reports the phase; diff asks to go on
    read = provider.read(CLUSTER, before)
    assert (read.outs["state"], read.outs["phase"]) == (f"rotating({phase}/6)", phase)
    assert provider.diff(CLUSTER, read.outs, props).changes

    resumed_from: list[int] = []
    resumed = IdcEncryptionProvider(fault=lambda p, _: resumed_from.append(p)).update(CLUSTER, before, props).outs
    assert resumed_from[0] == phase  # resumed there, not from the start
    outputs = IdcEncryptionOutputs.from_props(resumed)
    assert (outputs.key_ref, outputs.key_revision, outputs.state) == ("key-2", 2, "enabled")  # no third key
    assert prefixes(estate) == {"k8s:enc:aesgcm:v1:key-2:"}
    assert estate.cluster.at_rest.undecryptable() == []
    assert all(estate.key_names(node) == ["key-2"] for node in estate.nodes)


def test_an_enable_killed_in_create_is_resumed_by_the_next_create(estate):
    def kill(phase: int, point: str) -> None:
        if (phase, point) == (3, "acted"):
            raise Killed("killed")

    with pytest.raises(Killed):
        IdcEncryptionProvider(fault=kill).create(estate.props())
    key = estate.host_journal(estate.nodes[0]).transition.target
    created = IdcEncryptionProvider().create(estate.props())  # no outputs were recorded: the hosts' journal has it
    outputs = IdcEncryptionOutputs.from_props(created.outs)
    assert (outputs.key_ref, outputs.key_revision, outputs.state) == ("key-1", 1, "enabled")
    assert created.outs["keys"]["entries"][0]["secret"] == key.secret  # the same key, not a new one
    assert prefixes(estate) == {"k8s:enc:aesgcm:v1:key-1:"}


def test_the_old_key_stays_when_the_etcd_snapshot_fails(estate):
    provider = IdcEncryptionProvider()
    props = estate.props(rotation_interval_seconds=1)
    before = provider.create(props).outs
    wait_due(1)
    etcd_key = estate.roots[estate.nodes[0]].path("/etc/kubernetes/pki/etcd/healthcheck-client.key")
    kept = etcd_key.read_bytes()

    def break_etcdctl(phase: int, point: str) -> None:
        if (phase, point) == (6, "persisted"):  # phase 5 verified the canary with etcdctl; now it fails
            etcd_key.unlink()

    with pytest.raises(IdcEncryptionError) as refused:
        IdcEncryptionProvider(fault=break_etcdctl).update(CLUSTER, before, props)
    assert refused.value.code is ErrorCode.ENC_BACKUP_NOT_CONFIRMED
    assert str(refused.value).startswith("FF-ENC-011 refusing to drop key key-1 on 'idc-one' before an etcd snapshot")
    assert all(estate.key_names(node) == ["key-2", "key-1"] for node in estate.nodes)
    assert estate.cluster.at_rest.undecryptable() == []
    read = provider.read(CLUSTER, before).outs
    assert (read["state"], read["phase"], read["verified"]) == ("failed", 6, False)
    assert "FF-ENC-011" in read["state_reason"]
    etcd_key.write_bytes(kept)
    confirmed = provider.update(CLUSTER, before, {**props, "etcd_backup": "confirmed"}).outs
    assert confirmed["state"] == "enabled" and all(estate.key_names(n) == ["key-2"] for n in estate.nodes)
    assert not any(estate.roots[estate.nodes[0]].path("/var/lib/fleetform/etcd-snapshots").iterdir())


# --- disable, refusals ---------------------------------------------------------------------------------------------


def test_delete_disables_rewrites_plain_and_removes_the_configuration(estate):
    provider = IdcEncryptionProvider()
    created = provider.create(estate.props())
    provider.delete(CLUSTER, created.outs)
    assert prefixes(estate) == {""}
    for node in estate.nodes:
        assert estate.host_file(node, CONFIG) is None
        manifest = estate.host_file(node, MANIFEST).decode()
        assert "encryption-provider-config" not in manifest and "fleetform" not in manifest
        assert estate.host_journal(node).entries == ()  # no key left on the hosts
    assert estate.cluster.at_rest.undecryptable() == []


def test_an_unknown_host_key_is_refused(estate):
    access = estate.hosts.access()
    stranger = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().split()[:2]
    forged = "".join(f"[{host}]:{access['port']} {' '.join(stranger)}\n" for host in access["hosts"])
    with pytest.raises(IdcEncryptionError) as refused:
        IdcEncryptionProvider().create(estate.props(ssh={**access, "known_hosts": forged}))
    assert refused.value.code is ErrorCode.ENC_HOST_KEY_UNTRUSTED
    assert "SHA256:" in str(refused.value) and "known_hosts_file or host_key_fingerprints" in str(refused.value)
    assert all(estate.host_file(node, CONFIG) is None for node in estate.nodes)


def test_pinned_fingerprints_trust_exactly_those_keys(estate):
    access = estate.hosts.access()
    pins = [server.host_key.get_fingerprint("sha256") for server in estate.hosts.servers]
    pinned = SshAccess.from_dict({**access, "known_hosts": "", "host_key_fingerprints": pins})
    with Hosts(pinned, CLUSTER) as hosts:
        assert [host.run("hostname").decode().strip() for host in hosts] == estate.nodes
    only_first = SshAccess.from_dict({**access, "known_hosts": "", "host_key_fingerprints": pins[:1]})
    with pytest.raises(IdcEncryptionError) as refused, Hosts(only_first, CLUSTER):
        pass
    assert refused.value.code is ErrorCode.ENC_HOST_KEY_UNTRUSTED and pins[1] in str(refused.value)


def test_check_refuses_unverified_host_keys_and_dropped_resources(estate):
    provider = IdcEncryptionProvider()
    unverified = {**estate.hosts.access(), "known_hosts": ""}
    failures = provider.check({}, estate.props(ssh=unverified)).failures
    assert [(f.property, f.reason) for f in failures] == [
        ("ssh", "host keys must be checked: give known_hosts or host_key_fingerprints")
    ]
    shrinking = provider.check(estate.props(resources=["secrets", "configmaps"]), estate.props()).failures
    assert [f.property for f in shrinking] == ["resources"] and "FF-ENC-033" in shrinking[0].reason


# --- secrets -------------------------------------------------------------------------------------------------------


def test_no_key_material_in_outputs_or_logs(estate, caplog):
    caplog.set_level(logging.DEBUG)
    provider = IdcEncryptionProvider()
    props = estate.props(rotation_interval_seconds=1)
    created = provider.create(props)
    wait_due(1)
    rotated = provider.update(CLUSTER, created.outs, props)
    material = {e["secret"] for outs in (created.outs, rotated.outs) for e in outs["keys"]["entries"] if "secret" in e}
    assert len(material) == 2
    private_key = props["ssh"]["private_key"]
    key_body = private_key.splitlines()[1]  # a line of the key itself, not its armour
    shown = [
        caplog.text,
        str(IdcEncryptionOutputs.from_props(rotated.outs)),
        repr(IdcEncryptionInputs.from_props(rotated.outs)),
        str(Journal.from_dict(rotated.outs["keys"])),
        json.dumps({k: v for k, v in rotated.outs.items() if k not in ("keys", "ssh", "kubeconfig")}),
    ]
    assert "phase 3/6 (promote)" in caplog.text  # the log does say what happened
    for text in shown:
        assert not any(secret in text for secret in material)
        assert key_body not in text


# --- node_access: privileged-pod -----------------------------------------------------------------------------------


def test_enable_and_rotation_through_a_privileged_pod_per_node(pod_estate):
    estate = pod_estate
    provider = IdcEncryptionProvider()
    props = estate.props(rotation_interval_seconds=1)
    outs = provider.create(props).outs
    created = IdcEncryptionOutputs.from_props(outs)
    assert (created.state, created.key_ref, created.verified) == ("enabled", "key-1", True)
    assert prefixes(estate) == {"k8s:enc:aesgcm:v1:key-1:"}  # every Secret rewritten, read back from etcd
    assert all(estate.key_names(node) == ["key-1"] for node in estate.nodes)
    config = estate.roots[estate.nodes[0]].path(CONFIG)
    assert config.stat().st_mode & 0o777 == 0o600
    assert estate.pods() == []  # none left once the run is over

    wait_due(1)
    rotated = IdcEncryptionOutputs.from_props(provider.update(CLUSTER, outs, props).outs)
    assert (rotated.state, rotated.key_ref, rotated.key_revision) == ("enabled", "key-2", 2)
    assert prefixes(estate) == {"k8s:enc:aesgcm:v1:key-2:"}
    assert all(estate.key_names(node) == ["key-2"] for node in estate.nodes)
    snapshots = estate.roots[estate.nodes[0]].path("/var/lib/fleetform/etcd-snapshots")
    assert len(list(snapshots.iterdir())) == 1  # etcdctl ran on the host, through chroot in the pod
    assert estate.pods() == []


@pytest.mark.parametrize(("phase", "point"), [(3, "persisted"), (5, "acted")])
def test_a_rotation_killed_with_its_pods_left_behind_resumes_there(pod_estate, monkeypatch, phase, point):
    estate = pod_estate
    props = estate.props(rotation_interval_seconds=1)
    before = IdcEncryptionProvider().create(props).outs
    wait_due(1)

    def kill(at_phase: int, at_point: str) -> None:
        if (at_phase, at_point) == (phase, point):
            raise Killed(f"killed in phase {phase}")

    with monkeypatch.context() as killed:  # a killed process deletes nothing: its pods stay
        killed.setattr(pods.Pods, "__exit__", lambda self, *exc: None)
        with pytest.raises(Killed):
            IdcEncryptionProvider(fault=kill).update(CLUSTER, before, props)
    left = estate.pods()
    assert len(left) == 2
    assert {estate.host_journal(node).transition.phase for node in estate.nodes} == {phase}
    assert estate.cluster.at_rest.undecryptable() == []

    resumed_from: list[int] = []
    resumed = IdcEncryptionProvider(fault=lambda p, _: resumed_from.append(p)).update(CLUSTER, before, props).outs
    assert resumed_from[0] == phase
    assert (resumed["key_ref"], resumed["key_revision"], resumed["state"]) == ("key-2", 2, "enabled")
    assert prefixes(estate) == {"k8s:enc:aesgcm:v1:key-2:"}
    assert estate.pods() == []  # the leftovers removed, and this run's own pods too


def test_privileged_pod_access_needs_no_ssh_settings(pod_estate):
    props = pod_estate.props()
    assert (props["node_access"], props["ssh"]) == ("privileged-pod", None)
    assert IdcEncryptionProvider().check({}, props).failures == []


def test_delete_through_pods_disables_and_removes_the_configuration(pod_estate):
    estate = pod_estate
    provider = IdcEncryptionProvider()
    created = provider.create(estate.props())
    provider.delete(CLUSTER, created.outs)
    assert prefixes(estate) == {""}
    assert all(estate.host_file(node, CONFIG) is None for node in estate.nodes)
    assert estate.pods() == []
    namespaces = {ns["metadata"]["name"]: ns["metadata"] for ns in estate.cluster.objects.list("v1", "Namespace")}
    assert "deletionTimestamp" in namespaces.get(pods.NAMESPACE, {"deletionTimestamp": "gone"})  # deleted, or going
