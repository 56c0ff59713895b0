"""Unit tests of the URN type, the dependency graph and the walker."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.graph import Graph, deletion_graph, needed_urns
from engine.graph_view import to_dot, view
from engine.state import ResourceState
from engine.steps import Status
from engine.urn import STACK_TYPE, URN, ProviderRef, is_stack, provider_urn, urn_name
from engine.walk import Walker

STACK = f"urn:pulumi:dev::proj::{STACK_TYPE}::proj-dev"
FILE = "pulumi-python:dynamic/files:File"


# -- URNs ------------------------------------------------------------------------------------------
def test_a_urn_parses_into_its_parts_and_back():
    text = "urn:pulumi:dev::proj::test:index:Group$pulumi-python:dynamic/files:File::a"
    urn = URN.parse(text)
    assert (urn.stack, urn.project, urn.name) == ("dev", "proj", "a")
    assert urn.qualified_type == "test:index:Group$pulumi-python:dynamic/files:File"
    assert urn.type == FILE
    assert urn.parent_type == "test:index:Group"
    assert str(urn) == text
    assert URN.parse(text) == urn and hash(URN.parse(text)) == hash(urn)


def test_a_name_may_contain_the_separator():
    urn = URN.parse("urn:pulumi:dev::proj::x:y:Z::ns::name")
    assert urn.name == "ns::name" and urn.type == "x:y:Z" and urn.parent_type == ""
    assert urn_name(str(urn)) == "ns::name"


@pytest.mark.parametrize("text", ["", "urn:pulumi:dev::proj::x:y:Z", "arn:aws:s3:::b", "urn:pulumi:dev::proj::::n"])
def test_what_is_not_a_urn_is_refused(text):
    with pytest.raises(ValueError, match="not a Pulumi URN"):
        URN.parse(text)


def test_construction_follows_the_parent_type_chain_except_the_stack():
    top = URN.new("dev", "proj", STACK, "test:index:Group", "g")
    assert str(top) == "urn:pulumi:dev::proj::test:index:Group::g"
    child = URN.new("dev", "proj", str(top), "test:index:Inner", "i")
    assert child.qualified_type == "test:index:Group$test:index:Inner"
    leaf = URN.new("dev", "proj", child, FILE, "f")
    assert str(leaf) == f"urn:pulumi:dev::proj::test:index:Group$test:index:Inner${FILE}::f"
    assert leaf.parent_type == child.qualified_type
    assert str(URN.new("dev", "proj", "", STACK_TYPE, "proj-dev")) == STACK
    assert is_stack(STACK) and not is_stack(str(leaf))


def test_a_provider_reference_is_parsed_at_its_last_separator():
    provider = "urn:pulumi:dev::proj::pulumi:providers:kubernetes::cluster"
    ref = ProviderRef.parse(f"{provider}::04da6b54-80e4-46f7-96ec-b56ff0331ba9")
    assert ref.urn == provider and ref.id == "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    assert str(ref) == f"{provider}::{ref.id}"
    assert ProviderRef.parse("") is None and provider_urn("") == ""
    with pytest.raises(ValueError, match="not a provider reference"):
        ProviderRef.parse("kubernetes@4.34.2")


# -- the graph -------------------------------------------------------------------------------------
def _res(name: str, **fields) -> ResourceState:
    return ResourceState(urn=f"urn:pulumi:dev::proj::{FILE}::{name}", type=FILE, custom=True, **fields)


def _urn(name: str) -> str:
    return f"urn:pulumi:dev::proj::{FILE}::{name}"


def test_a_resource_needs_its_dependencies_property_dependencies_provider_and_parent():
    provider = "urn:pulumi:dev::proj::pulumi:providers:kubernetes::k"
    assert needed_urns([_urn("a")], {"x": [_urn("b")]}, f"{provider}::id", _urn("p")) == {
        _urn("a"),
        _urn("b"),
        provider,
        _urn("p"),
    }
    assert needed_urns([], {}, "") == set()


def test_deletes_go_dependents_first_and_an_old_copy_waits_like_its_replacement():
    a = _res("a")
    b = _res("b", dependencies=[_urn("a")])
    old_a = _res("a", delete=True)
    c = _res("c", property_dependencies={"content": [_urn("b")]}, parent=_urn("a"))
    graph = deletion_graph([a, b, old_a, c])
    assert graph.needs == {0: {1, 3}, 1: {3}, 2: {1, 3}, 3: set()}


def test_dot_shows_dependencies_parents_and_providers():
    provider = ResourceState(
        urn="urn:pulumi:dev::proj::pulumi:providers:kubernetes::k", type="pulumi:providers:kubernetes", custom=True
    )
    a = _res("a", provider=f"{provider.urn}::id")
    b = _res("b", dependencies=[_urn("a"), "urn:pulumi:dev::proj::x:y:Z::gone"], parent=_urn("a"))
    dot = to_dot(view([provider, a, b]))
    assert dot.startswith("digraph fleetform {\n  rankdir=LR;\n")
    assert f'"{_urn("b")}" [label="b\\n{FILE}"];' in dot
    assert f'"{_urn("b")}" -> "{_urn("a")}";' in dot
    assert f'"{_urn("b")}" -> "{_urn("a")}" [style=dashed];' in dot
    assert f'"{_urn("a")}" -> "{provider.urn}" [style=dotted];' in dot
    assert "gone" not in dot
    assert dot.endswith("}\n")


# -- the walker ------------------------------------------------------------------------------------
def _expected(n: int, needs: dict[int, set[int]], failing: set[int]) -> dict[int, Status]:
    """Nodes in index order (every edge points to a lower index): a node runs iff all it needs succeeded."""
    status: dict[int, Status] = {}
    for node in range(n):
        if all(status[d] == Status.DONE for d in needs[node]):
            status[node] = Status.FAILED if node in failing else Status.DONE
        else:
            status[node] = Status.SKIPPED
    return status


@st.composite
def dags(draw):
    n = draw(st.integers(min_value=0, max_value=40))
    needs = {j: {i for i in range(j) if draw(st.booleans()) and draw(st.booleans())} for j in range(n)}
    failing = {i for i in range(n) if draw(st.integers(0, 5)) == 0}
    order = draw(st.permutations(list(range(n))))
    return n, needs, failing, order


@settings(max_examples=150, deadline=None)
@given(dag=dags(), parallel=st.sampled_from([1, 2, 8, 64]))
def test_every_node_ends_done_failed_or_skipped_and_only_runs_after_what_it_needs(dag, parallel):
    n, needs, failing, order = dag
    lock = threading.Lock()
    visited: list[int] = []
    skipped: dict[int, int | None] = {}
    succeeded: set[int] = set()

    def visit(node: int) -> bool:
        with lock:
            assert needs[node] <= succeeded, f"{node} ran before {needs[node] - succeeded}"
            visited.append(node)
        if node in failing:
            return False
        with lock:
            succeeded.add(node)
        return True

    def skip(node: int, cause: int | None) -> None:
        assert node not in skipped
        skipped[node] = cause

    outcome = Walker(parallel).walk(Graph(list(order), needs), visit, skip)
    expected = _expected(n, needs, failing)
    assert outcome == expected
    assert sorted(visited) == sorted(k for k, s in expected.items() if s != Status.SKIPPED)  # each once
    assert set(skipped) == {k for k, s in expected.items() if s == Status.SKIPPED}
    for node, cause in skipped.items():
        assert expected[cause] == Status.FAILED and cause in _ancestors(node, needs)


def _ancestors(node: int, needs: dict[int, set[int]]) -> set[int]:
    seen: set[int] = set()
    stack = list(needs[node])
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(needs[current])
    return seen


def test_a_cycle_is_skipped_and_the_rest_still_runs():
    needs = {"a": {"b"}, "b": {"a"}, "c": {"a"}, "d": set(), "e": {"d"}}
    skipped = {}
    outcome = Walker(2).walk(
        Graph(list(needs), needs), lambda node: True, lambda node, cause: skipped.update({node: cause})
    )
    assert outcome == {
        "a": Status.SKIPPED,
        "b": Status.SKIPPED,
        "c": Status.SKIPPED,
        "d": Status.DONE,
        "e": Status.DONE,
    }
    assert skipped == {"a": None, "b": None, "c": None}


def test_an_exception_from_a_visit_fails_the_node_and_is_raised_once_the_walk_is_over():
    needs = {1: set(), 2: {1}, 3: set()}
    ran = []

    def visit(node):
        ran.append(node)
        if node == 1:
            raise RuntimeError("bug")
        return True

    skipped = []
    with pytest.raises(RuntimeError, match="bug"):
        Walker(1).walk(Graph([1, 2, 3], needs), visit, lambda node, cause: skipped.append((node, cause)))
    assert sorted(ran) == [1, 3] and skipped == [(2, 1)]


@pytest.mark.parametrize("parallel", [1, 3])
def test_a_graph_walk_keeps_provider_calls_within_the_bound(parallel):
    walker = Walker(parallel)
    lock = threading.Lock()
    running = most = 0

    def visit(node):
        nonlocal running, most

        def provider_call():
            nonlocal running, most
            with lock:
                running += 1
                most = max(most, running)
            time.sleep(0.02)
            with lock:
                running -= 1

        walker.call(provider_call)
        return True

    walker.walk(Graph(list(range(12))), visit, lambda node, cause: None)
    assert most == parallel


def test_registrations_learn_which_of_their_needs_failed():
    walker = Walker(4)
    walker.mark_failed(_urn("b"))
    walker.mark_failed(_urn("a"))
    assert walker.blocked_by({_urn("a"), _urn("b"), _urn("c")}) == [_urn("a"), _urn("b")]
    assert walker.blocked_by([_urn("c")]) == []
    assert walker.sdk_threads > walker.parallel
    with pytest.raises(ValueError):
        Walker(0)
