"""`fleetform graph`: narrowing (root, depth, type), grouping by component, edges lifted from hidden resources,
and the DOT, Mermaid and SVG formats."""

from __future__ import annotations

import shutil

import pytest

from engine.errors import InvalidInputError
from engine.graph_view import Selection, rendered, to_dot, to_mermaid, view
from engine.state import ResourceState

STACK = "urn:pulumi:dev::proj::pulumi:pulumi:Stack::proj-dev"


def urn(type_: str, name: str, parent_types: str = "") -> str:
    qualified = f"{parent_types}${type_}" if parent_types else type_
    return f"urn:pulumi:dev::proj::{qualified}::{name}"


HUB = urn("test:index:Hub", "hub")
HUB_CRD = urn("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition", "crd", "test:index:Hub")
CLUSTER = urn("test:index:Cluster", "c1")
LOOKUP = urn("test:dynamic:Lookup", "c1-lookup", "test:index:Cluster")
SECRET = urn("kubernetes:core/v1:Secret", "c1-token", "test:index:Cluster")
BOOT = urn("test:index:Bootstrap", "c1")
INGRESS = urn("kubernetes:apps/v1:Deployment", "c1-ingress", "test:index:Bootstrap")
PROVIDER = urn("pulumi:providers:kubernetes", "c1-member", "test:index:Cluster")


def estate() -> list[ResourceState]:
    def res(u, parent, type_, **fields):
        return ResourceState(urn=u, type=type_, custom=True, parent=parent, **fields)

    return [
        ResourceState(urn=STACK, type="pulumi:pulumi:Stack", custom=False),
        res(HUB, STACK, "test:index:Hub"),
        res(HUB_CRD, HUB, "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"),
        res(CLUSTER, STACK, "test:index:Cluster"),
        res(LOOKUP, CLUSTER, "test:dynamic:Lookup"),
        res(PROVIDER, CLUSTER, "pulumi:providers:kubernetes", property_dependencies={"kubeconfig": [LOOKUP]}),
        res(SECRET, CLUSTER, "kubernetes:core/v1:Secret", dependencies=[HUB_CRD], provider=f"{PROVIDER}::id"),
        res(BOOT, STACK, "test:index:Bootstrap"),
        res(INGRESS, BOOT, "kubernetes:apps/v1:Deployment", dependencies=[SECRET], provider=f"{PROVIDER}::id"),
        res(urn("test:index:Cluster", "c1-old"), STACK, "test:index:Cluster", delete=True),
    ]


def test_everything_is_drawn_grouped_by_top_level_component():
    picture = view(estate())

    assert {r.urn for r in picture.resources} == {HUB, HUB_CRD, CLUSTER, LOOKUP, PROVIDER, SECRET, BOOT, INGRESS}
    assert picture.component[SECRET] == CLUSTER and picture.component[CLUSTER] == CLUSTER
    assert picture.component[INGRESS] == BOOT and picture.ghosts == []
    assert (SECRET, HUB_CRD, "solid") in picture.edges and (INGRESS, PROVIDER, "dotted") in picture.edges
    assert (SECRET, CLUSTER, "dashed") in picture.edges
    dot = to_dot(picture)
    assert 'label="c1 (Cluster)";' in dot and 'label="c1 (Bootstrap)";' in dot and "c1-old" not in dot


def test_depth_zero_is_the_estate_overview_with_edges_lifted_to_components():
    picture = view(estate(), Selection(depth=0))

    assert {r.urn for r in picture.resources} == {HUB, CLUSTER, BOOT}
    assert set(picture.edges) == {(CLUSTER, HUB, "solid"), (BOOT, CLUSTER, "solid")}
    assert all(component == "" for component in picture.component.values())  # no box around a lone node


def test_root_by_name_takes_every_component_of_that_name_and_draws_outside_needs_as_ghosts():
    picture = view(estate(), Selection(root="c1"))

    assert {r.urn for r in picture.resources} == {CLUSTER, LOOKUP, PROVIDER, SECRET, BOOT, INGRESS}
    assert [g.urn for g in picture.ghosts] == [HUB]  # the CRD it needs, as its component
    assert (SECRET, HUB, "solid") in picture.edges
    assert "stroke-dasharray" in to_mermaid(picture)


def test_root_with_depth_and_type_filters():
    one_level = view(estate(), Selection(root=CLUSTER, depth=0))
    assert [r.urn for r in one_level.resources] == [CLUSTER]
    assert (CLUSTER, HUB, "solid") in one_level.edges  # lifted from the Secret below it

    secrets = view(estate(), Selection(types=("Secret",)))
    assert [r.urn for r in secrets.resources] == [SECRET]
    deployments = view(estate(), Selection(types=("kubernetes:apps/*",)))
    assert [r.urn for r in deployments.resources] == [INGRESS]


def test_an_unknown_root_is_invalid_input():
    with pytest.raises(InvalidInputError, match="--root nothing: no recorded resource"):
        view(estate(), Selection(root="nothing"))


def test_mermaid_is_a_flowchart_with_one_subgraph_per_component():
    text = to_mermaid(view(estate()))

    assert text.startswith("flowchart LR\n")
    assert text.count("  subgraph ") == 3 and text.count("  end\n") == 3
    assert "-.-o" in text and "-.->" in text and "-->" in text


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed (Debian: graphviz)")
def test_svg_through_graphviz():
    svg = rendered(view(estate()), "svg")
    assert svg.lstrip().startswith(b"<?xml") and b"<svg" in svg and b"c1 (Bootstrap)" in svg


def test_svg_without_graphviz_names_what_to_install(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    with pytest.raises(InvalidInputError, match="apt-get install graphviz"):
        rendered(view(estate()), "png")


def test_the_graph_command_filters_a_recorded_stack(files_project, tmp_path):
    files_project.declare(
        {"name": "a", "content": "1", "group": "g"},
        {"name": "b", "content": "2", "depends_on": ["a"]},
    )
    assert files_project.cli("up", "--yes").code == 0

    overview = files_project.cli("graph", "--depth", "0", "--format", "mermaid")
    assert overview.code == 0 and overview.out.startswith("flowchart LR\n")
    assert "g<br/>" in overview.out and "b<br/>" in overview.out and "a<br/>" not in overview.out
    bad = files_project.cli("graph", "--format", "gif")
    assert bad.code == 2 and "choose one of dot, mermaid, svg, png" in bad.err
