"""The filesystem of a fake control-plane host: a directory standing for ``/``, seeded as kubeadm leaves a node.

Everything a host's SSH server touches (SFTP, commands) resolves inside its root, so the engine's writes land in
the sandbox's data directory and nowhere else.
"""

from __future__ import annotations

from pathlib import Path

import yaml

MANIFEST = "/etc/kubernetes/manifests/kube-apiserver.yaml"
ETCD_PKI = ("/etc/kubernetes/pki/etcd/ca.crt", "/etc/kubernetes/pki/etcd/healthcheck-client.crt")
ETCD_CLIENT_KEY = "/etc/kubernetes/pki/etcd/healthcheck-client.key"


class NodeRoot:
    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def path(self, host_path: str) -> Path:
        """Where ``host_path`` (absolute, as on the host) lives; a path leaving the root is refused."""
        resolved = (self.directory / host_path.lstrip("/")).resolve()
        if resolved != self.directory.resolve() and self.directory.resolve() not in resolved.parents:
            raise PermissionError(f"{host_path}: outside the host's filesystem")
        return resolved

    @property
    def hostname(self) -> str:
        return self.path("/etc/hostname").read_text().strip()

    def seed(self, node: str, version: str) -> None:
        """A kubeadm control-plane node named ``node``: its hostname, the kube-apiserver static-pod manifest and
        the etcd client certificates etcdctl needs (placeholders: the fake etcdctl only checks they exist).
        An existing root is left as it is (it holds what earlier runs wrote)."""
        if self.path(MANIFEST).exists():
            return
        for host_path, text in (
            ("/etc/hostname", f"{node}\n"),
            (MANIFEST, yaml.safe_dump(kubeadm_manifest(version), sort_keys=False)),
            *((path, "sandbox placeholder: not a certificate\n") for path in ETCD_PKI),
            (ETCD_CLIENT_KEY, "sandbox placeholder: not a key\n"),
        ):
            target = self.path(host_path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)


def kubeadm_manifest(version: str) -> dict:
    """The kube-apiserver static pod as ``kubeadm init`` writes it (the flags that matter here)."""
    pki = "/etc/kubernetes/pki"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "annotations": {"kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint": "127.0.0.1:6443"},
            "labels": {"component": "kube-apiserver", "tier": "control-plane"},
            "name": "kube-apiserver",
            "namespace": "kube-system",
        },
        "spec": {
            "containers": [
                {
                    "command": [
                        "kube-apiserver",
                        "--advertise-address=127.0.0.1",
                        "--allow-privileged=true",
                        "--authorization-mode=Node,RBAC",
                        f"--client-ca-file={pki}/ca.crt",
                        "--enable-admission-plugins=NodeRestriction",
                        f"--etcd-cafile={pki}/etcd/ca.crt",
                        f"--etcd-certfile={pki}/apiserver-etcd-client.crt",
                        f"--etcd-keyfile={pki}/apiserver-etcd-client.key",
                        "--etcd-servers=https://127.0.0.1:2379",
                        "--secure-port=6443",
                        "--service-cluster-ip-range=10.96.0.0/12",
                        f"--tls-cert-file={pki}/apiserver.crt",
                        f"--tls-private-key-file={pki}/apiserver.key",
                    ],
                    "image": f"registry.k8s.io/kube-apiserver:v{version.lstrip('v')}",
                    "imagePullPolicy": "IfNotPresent",
                    "name": "kube-apiserver",
                    "volumeMounts": [
                        {"mountPath": "/etc/ssl/certs", "name": "ca-certs", "readOnly": True},
                        {"mountPath": pki, "name": "k8s-certs", "readOnly": True},
                    ],
                }
            ],
            "hostNetwork": True,
            "priority": 2000001000,
            "priorityClassName": "system-node-critical",
            "volumes": [
                {"hostPath": {"path": "/etc/ssl/certs", "type": "DirectoryOrCreate"}, "name": "ca-certs"},
                {"hostPath": {"path": pki, "type": "DirectoryOrCreate"}, "name": "k8s-certs"},
            ],
        },
        "status": {},
    }
