"""The API-server side of the procedure, through the member's admin kubeconfig.

* A restart is over when the mirror pod of the host's kube-apiserver (``kube-system/kube-apiserver-<node>``,
  which kubelet keeps in step with the static pod) is Ready and carries the configuration just written: its
  ``fleetform.io/encryption-config-sha256`` annotation and flag (:mod:`.manifest`).
* After each reload the API answers ``/readyz`` and a read of the canary Secret succeeds (§7.3 phases 2, 4).
* The canary ``fleetform-system/fleetform-encryption-canary`` is written to verify what etcd stores (§7.3).
"""

from __future__ import annotations

import base64
from urllib.parse import quote

from kubeclient import KubeClientError

from .. import kube
from ..errors import ClusterAccessError, ErrorCode
from ._time import now_iso
from .errors import IdcEncryptionError
from .manifest import ANNOTATION, NotKubeadm, flag_of

CANARY_NAMESPACE = "fleetform-system"
CANARY = "fleetform-encryption-canary"
RESTART_SECONDS = 300.0
POLL_SECONDS = 0.2
_CANARY_PATH = f"/api/v1/namespaces/{CANARY_NAMESPACE}/secrets"


class ApiServer:
    def __init__(self, kubeconfig: str, cluster: str):
        self.cluster = cluster
        self.client = kube.api_client(kubeconfig, cluster)

    def call(self, method: str, path: str, body=None, ok=(200,), query: dict | None = None) -> tuple[int, dict]:
        try:
            status, data = self.client.request(method, path, query=query, body=body, timeout=30.0, attempts=3)
        except KubeClientError as exc:
            raise ClusterAccessError(None, str(exc)) from exc
        if status not in ok:
            message = data.get("message") if isinstance(data, dict) else data
            raise IdcEncryptionError(
                ErrorCode.ENC_PHASE_FAILED, f"{self.cluster}: {method} {path} answered HTTP {status}: {message}"
            )
        return status, data if isinstance(data, dict) else {}

    def version(self) -> tuple[int, int]:
        return kube.parse_version(self.call("GET", "/version")[1]["gitVersion"])

    def mirror_pod(self, node: str) -> dict | None:
        status, pod = self.call(
            "GET", f"/api/v1/namespaces/kube-system/pods/kube-apiserver-{quote(node)}", ok=(200, 404)
        )
        if status == 404 or (pod.get("metadata") or {}).get("labels", {}).get("component") != "kube-apiserver":
            return None
        return pod

    def await_restart(self, node: str, digest: str | None, config_file: str) -> None:
        """Until the API server of ``node`` runs with the file of sha256 ``digest`` (None: without one)."""
        seen = {"reason": "no mirror pod yet"}

        def restarted() -> bool:
            pod = self.mirror_pod(node)
            if pod is None:
                return False
            ready = next((c for c in (pod.get("status") or {}).get("conditions") or [] if c["type"] == "Ready"), {})
            seen["reason"] = f"Ready={ready.get('status')} {ready.get('reason', '')} {ready.get('message', '')}".strip()
            annotation = ((pod.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION)
            try:
                flag = flag_of(pod)
            except NotKubeadm:
                return False
            wanted = (digest, config_file if digest else None)
            return ready.get("status") == "True" and (annotation, flag) == wanted

        try:
            kube.wait_for(restarted, RESTART_SECONDS, POLL_SECONDS, f"restart of kube-apiserver on {node}")
        except TimeoutError:
            raise IdcEncryptionError(
                ErrorCode.ENC_PHASE_FAILED,
                f"the API server on node '{node}' of '{self.cluster}' did not come back with the new encryption "
                f"configuration within {RESTART_SECONDS:.0f}s (mirror pod: {seen['reason']}); check the "
                "kube-apiserver container's log on that node",
            ) from None

    def serving(self) -> None:
        """The API answers and a Secret read succeeds (the canary, or its absence)."""
        self.call("GET", "/readyz")
        self.call("GET", f"{_CANARY_PATH}/{CANARY}", ok=(200, 404))

    def write_canary(self) -> dict:
        """Write the canary Secret (created with its namespace the first time); returns the data written."""
        self.call(
            "POST", "/api/v1/namespaces", {"metadata": {"name": CANARY_NAMESPACE}}, ok=(201, 409)
        )  # 409: it exists
        data = {"checked-at": base64.b64encode(now_iso().encode()).decode()}
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": CANARY,
                "namespace": CANARY_NAMESPACE,
                "labels": {"app.kubernetes.io/managed-by": "fleetform"},
            },
            "type": "Opaque",
            "data": data,
        }
        status, _ = self.call("PUT", f"{_CANARY_PATH}/{CANARY}", secret, ok=(200, 201, 404))
        if status == 404:
            self.call("POST", _CANARY_PATH, secret, ok=(201,))
        return data

    def read_canary(self) -> dict | None:
        status, secret = self.call("GET", f"{_CANARY_PATH}/{CANARY}", ok=(200, 404))
        return secret.get("data") if status == 200 else None
