"""Fleet (DOMAIN §2.4): a set of registered clusters, one OCM ManagedClusterSet on the hub."""

from pydantic import Field

from .common import StrictModel
from .scalars import EntityName, Labels


class Fleet(StrictModel):
    """DOMAIN §2.4. ``members`` and ``federation`` name clusters and federations of the same stack."""

    name: EntityName
    description: str = Field("", max_length=256)
    members: list[str] = []
    federation: str | None = None
    deletion_protection: bool = False
    labels: Labels = {}

    @property
    def cluster_set(self) -> str:
        """The name of the fleet's ManagedClusterSet (and of its ManagedClusterSetBinding): the fleet's own name."""
        return self.name
