"""``fleetform graph``: the recorded resources as a picture someone can read.

A whole estate is hundreds of nodes, so the view narrows and groups before it draws:

* ``root`` (a URN, or a name: every resource of that name, e.g. a cluster's registration, bootstrap and
  encryption components) keeps those resources and what sits under them in the parent tree, down to
  ``depth`` levels; ``types`` keeps resources whose type matches one of the patterns (``fnmatch``, or a plain
  substring such as ``Secret``). What a kept resource needs outside the selection is drawn as a dashed "ghost"
  node, so the picture still says where its inputs come from, without pulling the rest of the graph in.
* Nodes are grouped into one box per top-level component (the resource right below the stack in the parent
  chain: a cluster, a fleet, a federation).

Edges point at what is needed first: solid for dependencies, dashed for parent/child, dotted for the provider a
resource uses. Formats: Graphviz DOT, Mermaid (``flowchart``), and SVG/PNG through Graphviz's ``dot`` when it
is installed.
"""

from __future__ import annotations

import fnmatch
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from .errors import InvalidInputError
from .graph import top_of
from .urn import URN, is_stack, provider_urn, urn_name

FORMATS = ("dot", "mermaid", "svg", "png")


@dataclass(frozen=True)
class Selection:
    root: str | None = None
    depth: int | None = None
    types: tuple[str, ...] = ()


@dataclass(frozen=True)
class View:
    """The resources to draw, the ghosts they need, each drawn resource's component, and for every resource
    below a drawn one (hidden by ``depth``) the drawn resource that stands for it."""

    resources: list
    ghosts: list
    component: dict[str, str]  # urn -> urn of its top-level component ("" for none)
    edges: list[tuple[str, str, str]]  # (from, to, style): solid dependency, dashed parent, dotted provider


def view(resources: Sequence, selection: Selection = Selection()) -> View:
    """Narrow ``resources`` (live ones; old copies awaiting delete are left out) as ``selection`` says. Edges of
    resources hidden below a drawn one are drawn from that one; what is needed from outside the selection is
    drawn as its top-level component (a ghost)."""
    live = [r for r in resources if not getattr(r, "delete", False) and not is_stack(r.urn)]
    by_urn = {r.urn: r for r in live}
    candidates = live if selection.root is None else _subtree(live, _roots(live, selection.root))
    drawn = [r for r in candidates if selection.depth is None or _level(r, by_urn, candidates) <= selection.depth]
    if selection.types:
        drawn = [r for r in drawn if any(_type_matches(r.type, pattern) for pattern in selection.types)]
    drawn_urns = {r.urn for r in drawn}
    stands_for = {r.urn: rep for r in candidates if (rep := _nearest(r, by_urn, drawn_urns))}
    edges: dict[tuple[str, str, str], None] = {}
    ghosts: dict[str, None] = {}
    for urn, source in stands_for.items():
        resource = by_urn[urn]
        needs = [(n, "solid") for n in sorted(set(resource.dependencies) | _property_urns(resource))]
        needs.append((provider_urn(resource.provider), "dotted"))
        for needed, style in needs:
            if needed not in by_urn:
                continue
            target = stands_for.get(needed)
            if target is None and needed not in stands_for and not selection.types:
                target = top_of(by_urn[needed], by_urn).urn
                ghosts[target] = None
            if target is not None and target != source:
                edges[(source, target, style)] = None
    for resource in drawn:
        if resource.parent in drawn_urns:
            edges[(resource.urn, resource.parent, "dashed")] = None
    solid = {(a, b) for a, b, style in edges if style == "solid"}
    edges = {e: None for e in edges if not (e[2] == "dotted" and e[:2] in solid)}  # one line per pair is enough
    parents = {r.parent for r in drawn}
    component = {r.urn: _component(r, by_urn, parents) for r in drawn}
    return View(drawn, [by_urn[g] for g in ghosts if g not in drawn_urns], component, list(edges))


def _property_urns(resource) -> set[str]:
    return {urn for urns in resource.property_dependencies.values() for urn in urns}


def _nearest(resource, by_urn: dict, drawn: set[str]) -> str | None:
    """The resource itself when drawn, else its nearest drawn ancestor."""
    current = resource
    while current is not None:
        if current.urn in drawn:
            return current.urn
        current = by_urn.get(current.parent)
    return None


def _roots(resources: Sequence, root: str) -> set[str]:
    found = {r.urn for r in resources if root in (r.urn, urn_name(r.urn))}
    if not found:
        raise InvalidInputError(f"--root {root}: no recorded resource has this URN or name")
    return found


def _subtree(resources: Sequence, roots: set[str]) -> list:
    children: dict[str, list] = {}
    for resource in resources:
        children.setdefault(resource.parent, []).append(resource)
    kept, frontier = [], [r for r in resources if r.urn in roots]
    while frontier:
        kept += frontier
        frontier = [child for r in frontier for child in children.get(r.urn, [])]
    return kept


def _level(resource, by_urn: dict, within: Sequence) -> int:
    """How many ancestors of ``resource`` are among ``within`` (0 for the tops of the selection)."""
    inside = {r.urn for r in within}
    level, parent = 0, resource.parent
    while parent in by_urn:
        level += parent in inside
        parent = by_urn[parent].parent
    return level


def _component(resource, by_urn: dict, parents_drawn: set[str]) -> str:
    """The box ``resource`` is drawn in: the top of its parent chain below the stack; "" (no box) for a top
    drawn without any of its children."""
    top = top_of(resource, by_urn)
    return top.urn if top is not resource or resource.urn in parents_drawn else ""


def _type_matches(type_: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(type_, pattern) if any(c in pattern for c in "*?[") else pattern in type_


def _group_label(component: str) -> str:
    """``eks-euw1-01 (ClusterBootstrap)``: one cluster has several components of the same name."""
    return f"{urn_name(component)} ({URN.parse(component).type.rsplit(':', 1)[-1]})"


# --- formats ------------------------------------------------------------------------------------------------


def to_dot(picture: View) -> str:
    lines = ["digraph fleetform {", "  rankdir=LR;", "  compound=true;", "  node [shape=box, fontsize=10];"]
    groups: dict[str, list] = {}
    for resource in picture.resources:
        groups.setdefault(picture.component[resource.urn], []).append(resource)
    for number, (component, members) in enumerate(groups.items()):
        indent = "  "
        if component:
            lines += [
                f"  subgraph cluster_{number} {{",
                f'    label="{_group_label(component)}";',
                "    style=rounded;",
            ]
            indent = "    "
        lines += [f'{indent}"{r.urn}" [label="{urn_name(r.urn)}\\n{r.type}"];' for r in members]
        if component:
            lines.append("  }")
    for ghost in picture.ghosts:
        lines.append(f'  "{ghost.urn}" [label="{urn_name(ghost.urn)}\\n{ghost.type}", style=dashed];')
    for source, target, style in picture.edges:
        attributes = "" if style == "solid" else f" [style={style}]"
        lines.append(f'  "{source}" -> "{target}"{attributes};')
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_mermaid(picture: View) -> str:
    ids = {r.urn: f"n{i}" for i, r in enumerate([*picture.resources, *picture.ghosts])}

    def node(resource) -> str:
        label = f"{urn_name(resource.urn)}<br/><small>{resource.type}</small>".replace('"', "#quot;")
        return f'{ids[resource.urn]}["{label}"]'

    lines = ["flowchart LR"]
    groups: dict[str, list] = {}
    for resource in picture.resources:
        groups.setdefault(picture.component[resource.urn], []).append(resource)
    for number, (component, members) in enumerate(groups.items()):
        if component:
            lines.append(f'  subgraph g{number}["{_group_label(component)}"]')
        lines += [f"    {node(r)}" for r in members]
        if component:
            lines.append("  end")
    lines += [f"  {node(g)}" for g in picture.ghosts]
    arrows = {"solid": "-->", "dashed": "-.->", "dotted": "-.-o"}
    lines += [f"  {ids[source]} {arrows[style]} {ids[target]}" for source, target, style in picture.edges]
    lines += [f"  style {ids[g.urn]} stroke-dasharray: 5 5" for g in picture.ghosts]
    return "\n".join(lines) + "\n"


def rendered(picture: View, format_: str) -> bytes:
    """The picture in ``format_``; SVG and PNG need Graphviz's ``dot`` on PATH."""
    if format_ == "mermaid":
        return to_mermaid(picture).encode()
    dot = to_dot(picture)
    if format_ == "dot":
        return dot.encode()
    program = shutil.which("dot")
    if program is None:
        raise InvalidInputError(
            f"--format {format_} needs Graphviz's dot, which is not installed (Debian: apt-get install graphviz); "
            "--format dot or --format mermaid need nothing"
        )
    result = subprocess.run([program, f"-T{format_}"], input=dot.encode(), capture_output=True, timeout=300)
    if result.returncode != 0:
        raise InvalidInputError(f"Graphviz's dot failed: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout
