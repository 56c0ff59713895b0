"""The dependency graph of a stack's resources: what each needs first and the order of deletes (pictures of it:
:mod:`engine.graph_view`).

A resource needs first its ``depends_on`` dependencies, the resources its inputs came from
(property dependencies), its explicit provider and, for deletes and display, its parent.
Creates and updates are ordered by the SDK itself (a registration arrives only once what it awaits
has resolved); deletes run in the reverse order, which :func:`deletion_graph` gives the walker.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from .urn import provider_urn

K = TypeVar("K", bound=Hashable)


def needed_urns(
    dependencies: Iterable[str], property_dependencies: dict, provider_ref: str, parent: str = ""
) -> set[str]:
    """Every URN a resource needs first: its dependencies, property dependencies, provider and
    (when given) parent."""
    urns = set(dependencies)
    for property_urns in property_dependencies.values():
        urns.update(property_urns)
    urns.update(u for u in (provider_urn(provider_ref), parent) if u)
    return urns


def recorded_needs(resource) -> set[str]:
    """What a recorded resource (a :class:`~engine.state.ResourceState`) needs, parent included."""
    return needed_urns(resource.dependencies, resource.property_dependencies, resource.provider, resource.parent)


@dataclass
class Graph(Generic[K]):
    """Nodes and, for each node, the nodes that must succeed before it runs (edges to nodes
    outside ``nodes`` are ignored)."""

    nodes: list[K]
    needs: dict[K, set[K]] = field(default_factory=dict)

    def dependents(self) -> dict[K, list[K]]:
        """The reverse edges: for each node, the nodes that need it."""
        members = set(self.nodes)
        result: dict[K, list[K]] = {node: [] for node in self.nodes}
        for node in self.nodes:
            for needed in self.needs.get(node, ()):
                if needed in members and needed != node:
                    result[needed].append(node)
        return result


def deletion_graph(resources: Sequence) -> Graph[int]:
    """Deletes as a graph over positions in ``resources``: a resource is deleted only after every
    resource that needs it. A URN may appear twice (a resource and the old copy of its replacement);
    both wait for the URN's dependents."""
    positions: dict[str, list[int]] = {}
    for index, resource in enumerate(resources):
        positions.setdefault(resource.urn, []).append(index)
    needs: dict[int, set[int]] = {index: set() for index in range(len(resources))}
    for index, resource in enumerate(resources):
        for urn in recorded_needs(resource):
            for target in positions.get(urn, ()):
                if target != index:
                    needs[target].add(index)
    return Graph(list(range(len(resources))), needs)


def top_of(resource, by_urn: dict):
    """The top of ``resource``'s parent chain among ``by_urn`` (the component right under the stack), or the
    resource itself when it has no parent there."""
    while resource.parent in by_urn:
        resource = by_urn[resource.parent]
    return resource
