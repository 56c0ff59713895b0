"""The Hub (DOMAIN §2.2): the OCM hub cluster every cluster of the stack registers into."""

from datetime import timedelta
from typing import Literal

from .kubeconfig import KubeconfigSource
from .scalars import AgentEndpoint, EntityName, Labels, LabelValue, SemVer, duration


class Hub(KubeconfigSource):
    """DOMAIN §2.2. ``kubeconfig`` (or a file/env source) is required unless the stack is a sandbox."""

    name: EntityName
    ocm: Literal["install", "existing"] = "existing"
    ocm_version: SemVer | None = None
    agent_endpoint: AgentEndpoint | None = None
    bootstrap_token_ttl: duration("1h", "72h") = timedelta(hours=24)
    default_access_timeout: duration("5m", "72h") = timedelta(minutes=30)
    region: LabelValue | None = None
    deletion_protection: bool = True
    labels: Labels = {}
