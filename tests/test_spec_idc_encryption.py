"""The idc encryption settings of the stack model (components/spec/encryption.py): SSH access to the control-plane
hosts (one private-key source, host keys always checked) and the kubeadm layout paths."""

from __future__ import annotations

import pytest

from components.spec import StackConfigError, spec_from_config

SOURCE = "stacks/Pulumi.test.yaml"
HUB = {"name": "hub-test", "kubeconfig": "a2ViZWNvbmZpZw==", "agent_endpoint": "https://hub.example.com:6443"}
PIN = "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"
SSH = {
    "hosts": ["10.0.0.11", "10.0.0.12"],
    "user": "root",
    "private_key_env": "FLEETFORM_SSH_KEY",
    "host_key_fingerprints": [PIN],
}
PREFIX = "fleetform:clusters[0].encryption.idc.ssh"


def stack(ssh: dict | None = None, **idc):
    settings = {"node_access": "ssh", "ssh": SSH if ssh is None else ssh, **idc}
    cluster = {"name": "idc-one", "kind": "idc", "kubeconfig_env": "IDC", "encryption": {"idc": settings}}
    return spec_from_config({"fleetform:hub": HUB, "fleetform:clusters": [cluster]}, SOURCE)


def problems(ssh: dict) -> dict[str, str]:
    with pytest.raises(StackConfigError) as caught:
        stack(ssh)
    return {p.path.removeprefix(PREFIX + "."): f"{p.message} ({p.hint})" for p in caught.value.problems}


def test_defaults_are_port_22_and_the_kubeadm_layout():
    ssh = stack().clusters[0].encryption.idc.ssh
    assert (ssh.port, ssh.manifest_path, ssh.config_dir) == (
        22,
        "/etc/kubernetes/manifests/kube-apiserver.yaml",
        "/etc/kubernetes/enc",
    )
    assert ssh.key_sources() == ["private_key_env"] and ssh.host_key_fingerprints == [PIN]


@pytest.mark.parametrize(
    "source",
    [{"private_key_file": "~/.ssh/fleetform_ed25519"}, {"private_key_env": "KEY"}, {"private_key": "-----BEGIN"}],
)
def test_any_one_private_key_source_is_accepted(source):
    ssh = {"hosts": ["10.0.0.11"], "user": "root", "known_hosts_file": "~/.ssh/known_hosts", **source}
    assert stack(ssh).clusters[0].encryption.idc.ssh.key_sources() == list(source)


def test_exactly_one_private_key_source():
    base = {key: value for key, value in SSH.items() if key != "private_key_env"}
    assert problems(base) == {
        "private_key": "field required (give exactly one of private_key, private_key_file or private_key_env, "
        'e.g. private_key_env: "FLEETFORM_SSH_KEY")'
    }
    both = problems({**SSH, "private_key_file": "~/.ssh/id"})
    assert list(both) == ["private_key_env"]
    assert both["private_key_env"].startswith("private_key_file, private_key_env are set together")


def test_host_keys_must_be_checked():
    unchecked = {key: value for key, value in SSH.items() if key != "host_key_fingerprints"}
    found = problems(unchecked)
    assert list(found) == ["known_hosts_file"]
    assert found["known_hosts_file"].startswith(
        "host keys must be checked: set known_hosts_file or host_key_fingerprints"
    )
    assert "ssh-keygen -lf" in found["known_hosts_file"]


def test_fingerprints_are_sha256_as_ssh_keygen_prints_them():
    found = problems({**SSH, "host_key_fingerprints": ["MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48"]})
    assert list(found) == ["host_key_fingerprints[0]"]
    assert found["host_key_fingerprints[0]"].startswith("'MD5:16:27")
    assert "SHA256 host key fingerprint" in found["host_key_fingerprints[0]"]


@pytest.mark.parametrize("port", [0, 65536])
def test_the_port_is_a_tcp_port(port):
    assert list(problems({**SSH, "port": port})) == ["port"]


def test_layout_paths_are_absolute_and_kept_out_of_the_static_pod_directory():
    found = problems(
        {**SSH, "manifest_path": "etc/kubernetes/manifests/kube-apiserver.yaml", "config_dir": "/etc/../x"}
    )
    assert set(found) == {"manifest_path", "config_dir"}
    assert found["config_dir"].startswith("'/etc/../x' is not an absolute path without '..'")
    inside = problems({**SSH, "config_dir": "/etc/kubernetes/manifests"})
    assert list(inside) == ["config_dir"] and "kubelet would read the files there as pods" in inside["config_dir"]
    not_a_manifest = problems({**SSH, "manifest_path": "/etc/kubernetes/manifests"})
    assert list(not_a_manifest) == ["manifest_path"]


def test_hosts_are_listed_once():
    assert problems({**SSH, "hosts": ["10.0.0.11", "10.0.0.11"]}) == {
        "hosts": "hosts are listed twice: 10.0.0.11 (list each host once)"
    }


def test_ssh_needs_node_access_ssh_and_the_other_way_round():
    with pytest.raises(StackConfigError) as caught:
        stack(node_access="privileged-pod")
    assert [p.path for p in caught.value.problems] == ["fleetform:clusters[0].encryption.idc.ssh"]
    with pytest.raises(StackConfigError) as missing:
        spec_from_config(
            {
                "fleetform:hub": HUB,
                "fleetform:clusters": [
                    {
                        "name": "idc-one",
                        "kind": "idc",
                        "kubeconfig_env": "IDC",
                        "encryption": {"idc": {"node_access": "ssh"}},
                    }
                ],
            },
            SOURCE,
        )
    (problem,) = missing.value.problems
    assert problem.message == "field required" and "known_hosts_file" in problem.hint


def test_the_private_key_never_appears_in_errors_or_dumps():
    secret = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
    spec = stack({**{k: v for k, v in SSH.items() if k != "private_key_env"}, "private_key": secret})
    assert "b3BlbnNzaC1rZXktdjEAAAAA" not in repr(spec) + spec.model_dump_json()
    with pytest.raises(StackConfigError) as caught:
        stack({**SSH, "private_key": secret})
    assert "b3BlbnNzaC1rZXktdjEAAAAA" not in str(caught.value)
