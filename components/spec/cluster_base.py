"""RegisteredCluster (DOMAIN §2.3): the inputs common to every kind, and the facts every kind's model declares.

Each kind's model (clusters.py) is the one home of that kind: its identifying inputs and how they locate the
cluster in its cloud, its region label, its cloud label, its storage defaults and what it offers for ingress and
encryption. Code elsewhere asks the model instead of keeping its own table keyed by kind.
"""

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, Field, SecretStr

from .bootstrap import Bootstrap, IngressSupport, StorageDefaults
from .common import Issue, StrictModel, invalid
from .encryption import EncryptionSupport
from .scalars import Cidr, EntityName, Labels, duration


def identifier(kind: str, key: str, pattern: str, expected: str) -> Any:
    """A per-kind identifying input of §2.3; malformed values are V7 problems.

    The patterns follow each vendor's documented naming rules, loosely where a vendor documents none, so that a
    typo is caught at preview without second-guessing real identifiers.
    """
    regex = re.compile(pattern)

    def check(value: str) -> str:
        if not regex.fullmatch(value):
            raise invalid(
                f"FF-KIND-002 kind {kind} requires a well-formed {key}; got '{value}'", f"expected {expected}"
            )
        return value

    return Annotated[str, AfterValidator(check), Field(description=expected)]


class Network(StrictModel):
    vpc_cidr: Cidr | None = None
    pod_cidr: Cidr | None = None
    service_cidr: Cidr | None = None


class ClusterBase(StrictModel):
    """RegisteredCluster common inputs (§2.3). ``access_timeout`` None means the hub's default."""

    CLOUD: ClassVar[str]  # the fleetform.io/cloud label (§5.2)
    IDENTITY_FIELDS: ClassVar[tuple[str, ...]] = ()  # the inputs that locate the cluster, in the cloud API's order
    REGION_FIELD: ClassVar[str | None] = None  # the input the fleetform.io/region label comes from
    STORAGE: ClassVar[StorageDefaults]
    INGRESS: ClassVar[IngressSupport] = IngressSupport()
    ENCRYPTION: ClassVar[EncryptionSupport]

    name: EntityName
    connection_mode: Literal["direct", "agent"] = "direct"
    agent_install: Literal["engine", "manual"] = "engine"
    endpoint_preference: Literal["private", "public"] = "private"
    access_timeout: duration("5m", "72h") | None = None
    labels: Labels = {}
    network: Network | None = None
    deletion_protection: bool = True
    force_deregister: bool = False
    credential_generation: int = Field(1, ge=1)
    bootstrap_kubeconfig: SecretStr | None = None
    agent_node_selector: dict[str, str] = {}
    bootstrap: Bootstrap | None = None

    def identity(self) -> dict[str, str]:
        """The values of :attr:`IDENTITY_FIELDS`: what the cloud lookup (and the sandbox's emulated cloud, whose
        ``add_cluster`` takes these keywords) needs to find the cluster. Empty for idc."""
        return {key: getattr(self, key) for key in self.IDENTITY_FIELDS}

    def lookup_options(self) -> dict[str, Any]:
        """How the lookup reaches the cluster beyond its identity (a role to assume, an endpoint choice)."""
        return {}

    def region_label(self) -> str | None:
        """The fleetform.io/region label; None means the region the cloud reports at lookup."""
        return getattr(self, self.REGION_FIELD) if self.REGION_FIELD else None

    def encryption_issues(self) -> list[Issue]:
        """Checks of an enabled ``encryption`` block that need this kind's inputs (V38, V39, idc settings).

        What :attr:`ENCRYPTION` declares (support, a required key, irreversibility) is checked by the rules.
        """
        return []
