"""On-prem clusters (kind ``idc``): the user's kubeconfig is both the lookup and the credential."""

from __future__ import annotations

from dataclasses import dataclass

from .. import kube
from ..errors import ClusterAccessError
from .base import CloudError, ClusterDescription


@dataclass(frozen=True)
class IdcSource:
    name: str
    kubeconfig: str
    context: str | None = None

    def describe(self) -> ClusterDescription:
        try:
            info = kube.probe_once(self.kubeconfig, self.name, context=self.context)
        except ClusterAccessError as exc:
            raise CloudError("unavailable", exc.message, exc.code) from exc
        return ClusterDescription(
            kind="idc",
            native_id=info.kube_system_uid,
            region="idc",
            state="reachable",
            running=True,
            kubernetes_version=info.git_version,
            endpoint=info.server,
            ca_data=info.ca_data,
            flags={"cluster_uid": info.kube_system_uid},
        )

    def credentials(self) -> str:
        return self.kubeconfig

    def encryption_status(self) -> dict:
        raise CloudError("invalid", "idc encryption is managed on the control-plane nodes, not through a cloud API")

    def enable_encryption(self, key: dict) -> dict:
        raise CloudError("invalid", "idc encryption is managed on the control-plane nodes, not through a cloud API")


def source(identity: dict, endpoint: str | None = None) -> IdcSource:
    return IdcSource(identity["cluster"], identity["kubeconfig"], identity.get("context") or None)
