"""Which stacks exist, and commands that must not act on an invalid or unknown one: a typo in -s
never makes a stack, and destroy and refresh check the stack as preview does."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.errors import EXIT_INVALID_INPUT, EXIT_OK


def _stack_names(project) -> set[str]:
    run = CliRunner().invoke(app, ["stack", "ls", "--json", "--cwd", str(project.dir)])
    return {row["name"] for row in json.loads(run.stdout)}


@pytest.mark.parametrize(
    "command",
    [
        ("destroy", "--yes"),
        ("refresh", "--yes"),
        ("refresh", "--preview-only"),
        ("graph",),
        ("stack", "output"),
        ("stack", "rm"),
        ("stack", "history"),
    ],
)
def test_a_command_on_a_stack_that_does_not_exist_says_so(files_project, command):
    files_project.stack = "nosuch"
    run = files_project.cli(*command)
    assert run.code == EXIT_INVALID_INPUT, run.out + run.err
    assert "stack 'nosuch' does not exist" in run.err and "stack init" in run.err
    assert not files_project.state_file.exists()
    assert "nosuch" not in _stack_names(files_project)


def test_up_and_preview_need_a_configuration_file(files_project):
    files_project.stack = "typo"
    for command in (("preview",), ("up", "--yes")):
        run = files_project.cli(*command)
        assert run.code == EXIT_INVALID_INPUT and "Pulumi.typo.yaml" in run.err
    assert not files_project.state_file.exists()


@pytest.mark.parametrize("command", [("destroy", "--yes"), ("refresh", "--yes"), ("refresh", "--preview-only")])
def test_destroy_and_refresh_refuse_an_invalid_stack_before_touching_anything(files_project, command):
    files_project.declare({"name": "a", "content": "1"})
    assert files_project.cli("up", "--yes").code == EXIT_OK
    state_before = files_project.state_file.read_bytes()
    backup = files_project.state_file.with_name("dev.json.bak")
    backup_before = backup.read_bytes() if backup.exists() else None
    files_project.dir.joinpath("Pulumi.dev.yaml").write_text("config:\n  files:resources: '[]'\n")  # no files:dir
    run = files_project.cli(*command)
    assert run.code == EXIT_INVALID_INPUT, run.out + run.err
    assert "files:dir" in run.err
    assert (files_project.files / "a.txt").exists()
    assert files_project.state_file.read_bytes() == state_before
    assert (backup.read_bytes() if backup.exists() else None) == backup_before
    assert files_project.events() == ["create a.txt"]


def test_stack_init_and_rm(files_project):
    files_project.stack = "fresh"
    init = files_project.cli("stack", "init")
    assert init.code == EXIT_OK and "created stack 'fresh'" in init.out
    assert "fresh" in _stack_names(files_project)
    assert json.loads(files_project.state_file.read_text())["resources"] == []
    assert files_project.cli("stack", "init").code == EXIT_INVALID_INPUT  # already there
    assert files_project.cli("stack", "output", "--json").json() == {}
    assert files_project.cli("graph").code == EXIT_OK
    rm = files_project.cli("stack", "rm")
    assert rm.code == EXIT_OK and "removed the state of stack 'fresh'" in rm.out
    assert not files_project.state_file.exists()
    assert "fresh" not in _stack_names(files_project)


def test_stack_rm_refuses_a_stack_with_resources_unless_forced(files_project):
    files_project.declare({"name": "a", "content": "1"}, {"name": "b", "content": "2"})
    assert files_project.cli("up", "--yes").code == EXIT_OK
    refused = files_project.cli("stack", "rm")
    assert refused.code == EXIT_INVALID_INPUT and "still records 2 resources" in refused.err
    assert files_project.state_file.exists()
    forced = files_project.cli("stack", "rm", "--force")
    assert forced.code == EXIT_OK and "2 resources it recorded are no longer managed" in forced.out
    assert "was kept" in forced.out
    assert not files_project.state_file.exists()
    assert (files_project.files / "a.txt").exists()  # forgotten, not deleted


def test_validate_needs_no_passphrase_and_writes_nothing(files_project, monkeypatch):
    monkeypatch.delenv("FLEETFORM_PASSPHRASE")
    files_project.declare({"name": "a", "content": "1"})
    run = files_project.cli("validate")
    assert run.code == EXIT_OK, run.err
    assert not (files_project.dir / ".fleetform").exists()
    assert files_project.events() == []


def test_the_sandbox_stack_keeps_its_own_passphrase_whatever_is_exported(files_project, monkeypatch):
    files_project.stack = "sandbox"
    files_project.declare({"name": "a", "content": "1"})
    monkeypatch.setenv("FLEETFORM_PASSPHRASE", "for-the-other-stacks")
    assert files_project.cli("up", "--yes").code == EXIT_OK
    monkeypatch.setenv("FLEETFORM_PASSPHRASE", "another-one")
    assert files_project.cli("preview", "--expect-no-changes").code == EXIT_OK
    monkeypatch.delenv("FLEETFORM_PASSPHRASE")
    assert files_project.cli("preview", "--expect-no-changes").code == EXIT_OK
