"""What etcd stores, read on a control-plane host with ``etcdctl`` and kubeadm's etcd client certificate
(``/etc/kubernetes/pki/etcd/healthcheck-client.*``, the one kubeadm makes for such checks).

The host must offer ``etcdctl`` on its PATH: kubeadm hosts do not by default (etcd runs in a static pod); install
the distribution's ``etcd-client`` package, or the ``etcdctl`` of the etcd release the cluster runs. The command
run is, e.g.::

    ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt \\
        --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt --key=/etc/kubernetes/pki/etcd/healthcheck-client.key \\
        get /registry/secrets/fleetform-system/fleetform-encryption-canary --print-value-only
"""

from __future__ import annotations

import shlex

from .node import Node

ENDPOINT = "https://127.0.0.1:2379"
PKI = "/etc/kubernetes/pki/etcd"
SNAPSHOT_DIR = "/var/lib/fleetform/etcd-snapshots"
ENCRYPTED = b"k8s:enc:"


def etcdctl(*words: str) -> str:
    tls = (f"--cacert={PKI}/ca.crt", f"--cert={PKI}/healthcheck-client.crt", f"--key={PKI}/healthcheck-client.key")
    return "ETCDCTL_API=3 " + shlex.join(["etcdctl", f"--endpoints={ENDPOINT}", *tls, *words])


def secret_key(namespace: str, name: str) -> str:
    return f"/registry/secrets/{namespace}/{name}"


def stored(host: Node, key: str) -> bytes:
    """The value under ``key`` (empty when there is none); etcdctl ends it with a newline."""
    return host.run(etcdctl("get", key, "--print-value-only")).removesuffix(b"\n")


def prefix(value: bytes) -> str:
    """``k8s:enc:<provider>:<version>:<key>:`` of an encrypted value; "" for one stored as written."""
    if not value.startswith(ENCRYPTED):
        return ""
    return b":".join(value.split(b":", 5)[:5]).decode(errors="replace") + ":"


def snapshot(host: Node, name: str) -> str:
    """``etcdctl snapshot save`` into SNAPSHOT_DIR on ``host``; returns the snapshot's path there."""
    host.makedirs(SNAPSHOT_DIR)
    path = f"{SNAPSHOT_DIR}/{name}"
    host.run(etcdctl("snapshot", "save", path))
    return path
