"""URNs, the parallelism bound, `stack ls`, and the graph (the live view: test_live_view.py)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from engine.cli import app


def test_urns_carry_the_parent_type_chain(files_project):
    files_project.declare({"name": "a", "content": "1", "group": "g"}, {"name": "b", "content": "2"})
    files_project.cli("up", "--yes")
    urns = {r["urn"] for r in files_project.state()["resources"]}
    assert "urn:pulumi:dev::filestest::test:index:Group$pulumi-python:dynamic/files:File::a" in urns
    assert "urn:pulumi:dev::filestest::pulumi-python:dynamic/files:File::b" in urns
    (child,) = [r for r in files_project.state()["resources"] if r["urn"].endswith("::a")]
    assert child["parent"] == "urn:pulumi:dev::filestest::test:index:Group::g"


def test_provider_calls_respect_the_parallel_bound(files_project):
    files_project.declare(*({"name": f"r{i}", "content": "x", "sleep": 0.3} for i in range(6)))
    assert files_project.cli("up", "--yes", "--parallel", "2").code == 0
    assert files_project.most_at_once() == 2


def test_independent_resources_run_concurrently(files_project):
    files_project.declare(*({"name": f"r{i}", "content": "x", "sleep": 0.5} for i in range(4)))
    assert files_project.cli("up", "--yes", "--parallel", "4").code == 0
    assert files_project.most_at_once() >= 2


def test_stack_ls_lists_config_and_state(files_project):
    files_project.declare({"name": "a", "content": "1"})
    files_project.cli("up", "--yes")
    listing = CliRunner().invoke(app, ["stack", "ls", "--json", "--cwd", str(files_project.dir)])
    (row,) = json.loads(listing.stdout)
    assert row["name"] == "dev" and row["config"] is True
    assert row["resources"] == 2  # the stack and the file
    assert row["lastResult"] == "succeeded" and row["locked"] is False


def test_graph_prints_dependencies_parents_and_providers(files_project):
    files_project.declare(
        {"name": "a", "content": "1", "group": "g"}, {"name": "b", "content": "2", "depends_on": ["a"]}
    )
    files_project.cli("up", "--yes")
    dot = files_project.cli("graph").out
    file_type = "pulumi-python:dynamic/files:File"
    a = f"urn:pulumi:dev::filestest::test:index:Group${file_type}::a"
    b = f"urn:pulumi:dev::filestest::{file_type}::b"
    assert dot.startswith("digraph fleetform {")
    assert f'"{b}" -> "{a}";' in dot
    assert f'"{a}" -> "urn:pulumi:dev::filestest::test:index:Group::g" [style=dashed];' in dot
