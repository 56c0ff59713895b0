"""--target, --target-dependents and --exclude: a targeted run touches the selection only, says what it left, and the
next untargeted run finishes the job."""

from __future__ import annotations

import pytest

from engine.errors import EXIT_INVALID_INPUT, EXIT_OK, InvalidInputError
from engine.targets import Node, Targeting


def declare_chain(files_project, content: str) -> None:
    """a <- b <- c (each needs the one before), d alone, e and f in group g."""
    files_project.declare(
        {"name": "a", "content": content},
        {"name": "b", "content": content, "depends_on": ["a"]},
        {"name": "c", "content": content, "depends_on": ["b"]},
        {"name": "d", "content": content},
        {"name": "e", "content": content, "group": "g"},
        {"name": "f", "content": content, "group": "g"},
    )


def changed(files_project, *flags: str) -> set[str]:
    steps = files_project.cli("preview", "--json", *flags).json()["steps"]
    return {s["urn"].rsplit("::", 1)[-1] for s in steps if s["op"] != "same"}


def test_up_with_a_target_applies_it_and_what_it_needs_and_says_what_it_left(files_project):
    declare_chain(files_project, "one")

    run = files_project.cli("up", "--yes", "--target", "b")

    assert run.code == EXIT_OK, run.out + run.err
    assert sorted(files_project.events()) == ["create a.txt", "create b.txt"]
    assert "resources outside the selection were left as recorded" in run.out
    assert files_project.urns() == {"a", "b"}  # what was not created is not recorded either
    assert changed(files_project) == {"c", "d", "e", "f", "g"}  # the next untargeted run does the rest
    assert files_project.cli("up", "--yes").code == EXIT_OK
    assert files_project.urns() == {"a", "b", "c", "d", "e", "f"}


def test_targeting_a_component_takes_what_is_under_it(files_project):
    declare_chain(files_project, "one")
    files_project.cli("up", "--yes")
    declare_chain(files_project, "two")

    assert changed(files_project, "--target", "g") == {"e", "f"}
    assert changed(files_project, "--target", "a", "--target-dependents") == {"a", "b", "c"}
    assert changed(files_project, "--exclude", "b") == {"a", "d", "e", "f"}  # b and c (which needs b) left

    run = files_project.cli("up", "--yes", "--target", "g")
    assert run.code == EXIT_OK
    assert files_project.content("e.txt") == "two" and files_project.content("a.txt") == "one"


def test_destroy_with_a_target_takes_what_needs_it_never_what_it_needs(files_project):
    declare_chain(files_project, "one")
    files_project.cli("up", "--yes")

    run = files_project.cli("destroy", "--yes", "--target", "b")

    assert run.code == EXIT_OK, run.out + run.err
    assert files_project.urns() == {"a", "d", "e", "f"}
    assert not (files_project.files / "c.txt").exists() and (files_project.files / "a.txt").exists()
    kept = files_project.cli("destroy", "--yes", "--exclude", "a")
    assert kept.code == EXIT_OK and files_project.urns() == {"a"}


def test_an_unknown_target_is_invalid_input_and_touches_nothing(files_project):
    declare_chain(files_project, "one")

    run = files_project.cli("up", "--yes", "--target", "nosuch")

    assert run.code == EXIT_INVALID_INPUT and "--target nosuch: no resource of this stack" in run.err
    assert files_project.events() == []
    assert files_project.cli("preview", "--target-dependents").code == EXIT_INVALID_INPUT


def test_selection_rules_on_a_graph():
    urn = "urn:pulumi:dev::p::t:m:R::{}".format
    nodes = {
        urn("p"): Node(frozenset()),
        urn("a"): Node(frozenset({urn("p")})),
        urn("b"): Node(frozenset({urn("a")})),
        urn("comp"): Node(frozenset()),
        urn("child"): Node(frozenset({urn("comp")}), parent=urn("comp")),
        urn("user"): Node(frozenset({urn("child")})),
    }

    def names(urns: set[str]) -> set[str]:
        return {u.rsplit("::", 1)[1] for u in urns}

    assert names(Targeting(("b",)).select(nodes)) == {"b", "a", "p"}
    assert names(Targeting(("comp",)).select(nodes)) == {"comp", "child"}
    assert names(Targeting(("comp",), dependents=True).select(nodes)) == {"comp", "child", "user"}
    assert names(Targeting(("a",)).select(nodes, deleting=True)) == {"a", "b"}
    assert names(Targeting(excludes=("a",)).select(nodes)) == {"p", "comp", "child", "user"}
    assert names(Targeting(excludes=("b",)).select(nodes, deleting=True)) == {"comp", "child", "user"}
    with pytest.raises(InvalidInputError, match="--exclude zz"):
        Targeting(excludes=("zz",)).select(nodes)
