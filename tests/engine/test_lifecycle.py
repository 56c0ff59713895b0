"""A stack's life through the embedded engine: create, no-op, update, replace, delete, destroy."""

from __future__ import annotations

from engine.errors import EXIT_CHANGES_PRESENT, EXIT_FAILED, EXIT_OK

FILE = "pulumi-python:dynamic/files:File"


def ops(preview: dict) -> dict[str, str]:
    return {s["urn"].rsplit("::", 1)[-1]: s["op"] for s in preview["steps"] if s["type"] == FILE}


def test_create_then_rerun_is_a_no_op(files_project):
    files_project.declare({"name": "a", "content": "one"}, {"name": "b", "content": "two", "depends_on": ["a"]})
    preview = files_project.cli("preview", "--json").json()
    assert ops(preview) == {"a": "create", "b": "create"}
    assert preview["summary"]["create"] == 2
    assert preview["outputs"]["first_size"] == "[unknown]"  # output-only property of a resource to be created
    assert not (files_project.files / "a.txt").exists()  # preview touched nothing

    run = files_project.cli("up", "--yes")
    assert run.code == EXIT_OK, run.out + run.err
    assert files_project.content("a.txt") == "one"
    assert files_project.events() == ["create a.txt", "create b.txt"]  # b depends on a

    again = files_project.cli("preview", "--json", "--expect-no-changes")
    assert again.code == EXIT_OK
    assert again.json()["summary"]["same"] == 2
    rerun = files_project.cli("up", "--yes")
    assert rerun.code == EXIT_OK
    assert files_project.events() == ["create a.txt", "create b.txt"]  # nothing was called again
    outputs = files_project.cli("stack", "output", "--json")
    assert outputs.json()["first_size"] == 3
    assert '"first_size": 3,' in outputs.out  # a whole number, as the program gave it, not 3.0


def test_update_in_place_shows_the_changed_property(files_project):
    files_project.declare({"name": "a", "content": "one"})
    files_project.cli("up", "--yes")
    files_project.declare({"name": "a", "content": "uno"})
    result = files_project.cli("preview", "--json", "--expect-no-changes")
    assert result.code == EXIT_CHANGES_PRESENT
    (step,) = [s for s in result.json()["steps"] if s["type"] == FILE]
    assert step["op"] == "update"
    assert step["diffs"] == [{"path": "content", "kind": "update", "old": "one", "new": "uno"}]
    assert files_project.cli("up", "--yes").code == EXIT_OK
    assert files_project.content("a.txt") == "uno"
    assert files_project.events()[-1] == "update a.txt"


def test_replace_creates_before_deleting_by_default(files_project):
    files_project.declare({"name": "a", "content": "one", "path": "old.txt"})
    files_project.cli("up", "--yes")
    files_project.declare({"name": "a", "content": "one", "path": "new.txt"})
    (step,) = [s for s in files_project.cli("preview", "--json").json()["steps"] if s["type"] == FILE]
    assert step["op"] == "replace"
    assert step["replaceReasons"] == ["path (provider)"]
    assert files_project.cli("up", "--yes").code == EXIT_OK
    assert files_project.events()[-2:] == ["create new.txt", "delete old.txt"]
    assert not (files_project.files / "old.txt").exists()
    assert files_project.cli("preview", "--expect-no-changes").code == EXIT_OK
    assert not any(r["delete"] for r in files_project.state()["resources"])


def test_replace_deletes_first_when_asked(files_project):
    files_project.declare({"name": "a", "content": "one", "path": "old.txt", "dbr": True})
    files_project.cli("up", "--yes")
    files_project.declare({"name": "a", "content": "one", "path": "new.txt", "dbr": True})
    assert files_project.cli("up", "--yes").code == EXIT_OK
    assert files_project.events()[-2:] == ["delete old.txt", "create new.txt"]


def test_replace_on_changes_turns_an_update_into_a_replace(files_project):
    files_project.declare({"name": "a", "content": "one", "replace_on_changes": ["content"]})
    files_project.cli("up", "--yes")
    files_project.declare({"name": "a", "content": "two", "replace_on_changes": ["content"]})
    (step,) = [s for s in files_project.cli("preview", "--json").json()["steps"] if s["type"] == FILE]
    assert step["op"] == "replace"
    assert step["replaceReasons"] == ["content (replace_on_changes)"]


def test_ignore_changes_keeps_the_recorded_value(files_project):
    files_project.declare({"name": "a", "content": "one", "ignore_changes": ["content"]})
    files_project.cli("up", "--yes")
    files_project.declare({"name": "a", "content": "two", "ignore_changes": ["content"]})
    assert files_project.cli("preview", "--expect-no-changes").code == EXIT_OK
    files_project.cli("up", "--yes")
    assert files_project.content("a.txt") == "one"


def test_removed_resources_are_deleted_dependents_first(files_project):
    files_project.declare(
        {"name": "a", "content": "1"},
        {"name": "b", "content": "2", "depends_on": ["a"]},
        {"name": "c", "content": "3", "depends_on": ["b"]},
        {"name": "keep", "content": "4"},
    )
    files_project.cli("up", "--yes")
    files_project.declare({"name": "keep", "content": "4"})
    preview = files_project.cli("preview", "--json").json()
    assert ops(preview) == {"a": "delete", "b": "delete", "c": "delete", "keep": "same"}
    assert preview["summary"]["delete"] == 3
    assert files_project.cli("up", "--yes").code == EXIT_OK
    deletes = [e for e in files_project.events() if e.startswith("delete")]
    assert deletes == ["delete c.txt", "delete b.txt", "delete a.txt"]
    assert files_project.urns() == {"keep"}


def test_destroy_deletes_everything_in_reverse_dependency_order(files_project):
    files_project.declare(
        {"name": "a", "content": "1", "group": "g"},
        {"name": "b", "content": "2", "depends_on": ["a"], "group": "g"},
        {"name": "c", "content": "3"},
    )
    files_project.cli("up", "--yes")
    run = files_project.cli("destroy", "--yes")
    assert run.code == EXIT_OK, run.out + run.err
    deletes = [e for e in files_project.events() if e.startswith("delete")]
    assert sorted(deletes) == ["delete a.txt", "delete b.txt", "delete c.txt"]
    assert deletes.index("delete b.txt") < deletes.index("delete a.txt")
    assert files_project.state()["resources"] == []
    assert sorted(p.name for p in files_project.files.iterdir()) == ["events.log"]


def test_retain_on_delete_forgets_without_deleting(files_project):
    files_project.declare({"name": "a", "content": "1", "retain": True}, {"name": "b", "content": "2"})
    files_project.cli("up", "--yes")
    files_project.declare({"name": "b", "content": "2"})
    assert files_project.cli("up", "--yes").code == EXIT_OK
    assert (files_project.files / "a.txt").exists()
    assert files_project.urns() == {"b"}


def test_protected_resources_are_not_deleted_or_replaced(files_project):
    files_project.declare({"name": "a", "content": "1", "protect": True})
    files_project.cli("up", "--yes")
    files_project.declare({"name": "a", "content": "1", "path": "moved.txt", "protect": True})
    replace = files_project.cli("up", "--yes")
    assert replace.code == EXIT_FAILED
    assert "protected" in replace.out
    files_project.declare()
    delete = files_project.cli("up", "--yes")
    assert delete.code == EXIT_FAILED
    assert "is protected" in delete.out
    assert (files_project.files / "a.txt").exists()
    assert files_project.urns() == {"a"}


def test_refresh_shows_drift_and_records_it_only_when_applied(files_project):
    files_project.declare({"name": "a", "content": "1"}, {"name": "b", "content": "2"})
    files_project.cli("up", "--yes")
    (files_project.files / "a.txt").unlink()
    (files_project.files / "b.txt").write_text('{"content": "changed outside"}')
    drift = files_project.cli("refresh", "--preview-only", "--json").json()
    found = {s["urn"].rsplit("::", 1)[-1]: s for s in drift["steps"]}
    assert found["a"]["op"] == "delete"
    assert found["b"]["op"] == "update"
    assert found["b"]["diffs"][0]["path"] == "content"
    assert files_project.urns() == {"a", "b"}  # nothing recorded
    assert files_project.cli("refresh", "--yes").code == EXIT_OK
    assert files_project.urns() == {"b"}
    files_project.cli("up", "--yes")
    assert files_project.content("a.txt") == "1"
    assert files_project.content("b.txt") == "2"


def test_preview_diff_prints_each_changed_property(files_project):
    files_project.declare({"name": "a", "content": "one", "path": "a.txt"})
    files_project.cli("up", "--yes")
    files_project.declare({"name": "a", "content": "uno", "path": "b.txt"})
    out = files_project.cli("preview", "--diff").out
    assert '~ content: "one" => "uno"' in out
    assert '~ path: "a.txt" => "b.txt"' in out
    assert "replace because of path (provider)" in out


def test_mutating_commands_need_yes_when_not_interactive(files_project):
    files_project.declare({"name": "a", "content": "one"})
    for command in ("up", "destroy", "refresh"):
        run = files_project.cli(command)
        assert run.code == 2 and "needs --yes" in run.err, command
    assert files_project.events() == []
