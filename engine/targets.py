"""``--target``, ``--target-dependents`` and ``--exclude``: which resources a run may touch.

As Terraform's ``-target``, a targeted run touches the targets and what they need (dependencies, property
dependencies, providers, parents), so that the targets can be created or updated at all; a target that is a
component brings the resources under it. ``--target-dependents`` adds whatever needs a target, ``--exclude`` takes a
resource, what is under it and whatever needs it out again (alone, it touches everything else).

Deleting goes the other way: ``destroy --target X`` deletes X, what is under it and whatever needs it (nothing may be
left needing a deleted resource), never what X needs; ``--exclude Y`` keeps Y and what Y needs. Resources outside
the selection keep their recorded state and are named in the run's notes; a resource outside it that does not
exist yet is not created.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .errors import InvalidInputError
from .urn import urn_name


@dataclass(frozen=True)
class Node:
    needs: frozenset[str]
    parent: str = ""


@dataclass(frozen=True)
class Targeting:
    targets: tuple[str, ...] = ()  # URNs, or names (every resource of that name)
    dependents: bool = False
    excludes: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return bool(self.targets or self.excludes)

    def select(self, nodes: dict[str, Node], deleting: bool = False) -> set[str]:
        """The URNs the run may touch, from every resource it knows (the program's and the recorded ones);
        ``deleting`` for destroy, where the selection follows what needs a target instead of what it needs."""
        children: dict[str, set[str]] = {}
        needed_by: dict[str, set[str]] = {}
        for urn, node in nodes.items():
            children.setdefault(node.parent, set()).add(urn)
            for need in node.needs:
                needed_by.setdefault(need, set()).add(urn)
        needs = {urn: node.needs | {node.parent} for urn, node in nodes.items()}
        selected = set(nodes)
        if self.targets:
            chosen = _closure(self._resolve(self.targets, nodes, "--target"), children)
            if self.dependents or deleting:
                chosen = _closure(chosen, needed_by)
            selected = chosen if deleting else _closure(chosen, needs)
        if self.excludes:
            excluded = _closure(self._resolve(self.excludes, nodes, "--exclude"), children)
            selected -= _closure(excluded, needs if deleting else needed_by)
        return selected & set(nodes)

    @staticmethod
    def _resolve(wanted: Iterable[str], nodes: dict[str, Node], flag: str) -> set[str]:
        found: set[str] = set()
        for text in wanted:
            matches = {urn for urn in nodes if text in (urn, urn_name(urn))}
            if not matches:
                raise InvalidInputError(f"{flag} {text}: no resource of this stack has this URN or name")
            found |= matches
        return found


def _closure(start: set[str], edges: dict[str, set[str]] | dict[str, frozenset[str]]) -> set[str]:
    seen, frontier = set(start), list(start)
    while frontier:
        for following in edges.get(frontier.pop(), ()):
            if following and following not in seen:
                seen.add(following)
                frontier.append(following)
    return seen


def untouched_note(urns: list[str], flag_active: bool) -> str | None:
    """What a targeted run left alone, for the run's notes."""
    if not flag_active or not urns:
        return None
    names = ", ".join(urn_name(u) for u in sorted(urns)[:10]) + (", ..." if len(urns) > 10 else "")
    return f"--target/--exclude: {len(urns)} resources outside the selection were left as recorded: {names}"
