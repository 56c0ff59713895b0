"""`fleetform config get/set/rm`, `schema`, `--version` and completion on a copy of the shipped project."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from engine.cli import app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path) -> Path:
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path)
    shutil.copy(ROOT / "__main__.py", tmp_path)
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks")
    return tmp_path


def run(project: Path, *args: str):
    return CliRunner().invoke(app, [*args, "--cwd", str(project)])


def stack_file(project: Path) -> Path:
    return project / "stacks" / "Pulumi.sandbox.yaml"


def test_get_prints_a_key_or_a_path_into_it(project):
    assert run(project, "config", "get", "fleetform:hub", "-s", "sandbox").output.startswith("name: hub-sandbox\n")
    labels = run(project, "config", "get", "clusters[1].labels", "--path", "--json", "-s", "sandbox")
    assert json.loads(labels.output) == {"env": "sandbox", "site": "shanghai"}
    assert run(project, "config", "get", "fleetform:sandbox", "-s", "sandbox").output == "true\n"


def test_set_changes_one_value_and_keeps_comments_and_everything_else(project):
    before = stack_file(project).read_text()

    result = run(project, "config", "set", "fleetform:clusters[1].labels.tier", "gold", "--path", "-s", "sandbox")

    assert result.exit_code == 0, result.output
    after = stack_file(project).read_text()
    expected = yaml.safe_load(before)
    expected["config"]["fleetform:clusters"][1]["labels"]["tier"] = "gold"
    assert yaml.safe_load(after) == expected
    comments = [line for line in before.splitlines() if line.lstrip().startswith("#")]
    assert comments and all(line in after.splitlines() for line in comments)


def test_set_then_rm_gives_back_the_same_file(project):
    before = stack_file(project).read_text()

    assert run(project, "config", "set", "hub.deletion_protection", "true", "--path", "-s", "sandbox").exit_code == 0
    assert yaml.safe_load(stack_file(project).read_text())["config"]["fleetform:hub"]["deletion_protection"] is True
    assert run(project, "config", "set", "hub.deletion_protection", "false", "--path", "-s", "sandbox").exit_code == 0
    assert run(project, "config", "set", "kubernetes:context", "lab", "-s", "sandbox").exit_code == 0
    assert run(project, "config", "rm", "kubernetes:context", "-s", "sandbox").exit_code == 0

    assert stack_file(project).read_text() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["fleetform:hub.kubeconfig", "apiVersion: v1", "--path"], "fleetform:hub.kubeconfig is a secret"),
        (["fleetform:hub", "{name: hub-x, kubeconfig: abc}"], "fleetform:hub.kubeconfig is a secret"),
        (["hub.ocm", "maybe", "--path"], "'maybe' is not one of ['install', 'existing']"),
        (["fleetform:clustres", "[]"], "unknown key 'fleetform:clustres'"),
        (["clusters[40].name", "x", "--path"], "the list has 9 items"),
        (["hub.labels", "{a: !!binary aGk=}", "--path"], "YAML binary data (!!binary) is not allowed"),
    ],
)
def test_refused_changes_exit_2_and_leave_the_file_untouched(project, args, message):
    before = stack_file(project).read_bytes()

    result = run(project, "config", "set", *args, "-s", "sandbox")

    assert result.exit_code == 2
    assert message in result.output
    assert stack_file(project).read_bytes() == before


def test_secrets_in_the_file_are_masked_unless_asked_for(project):
    document = yaml.safe_load(stack_file(project).read_text())
    document["config"]["fleetform:hub"]["kubeconfig"] = "apiVersion: v1\nkind: Config\n"
    stack_file(project).write_text(
        f"# yaml-language-server: $schema=fleetform-stack.schema.json\n{yaml.safe_dump(document)}"
    )

    masked = run(project, "config", "get", "fleetform:hub", "--json", "-s", "sandbox")
    listed = run(project, "config", "-s", "sandbox", "--json")
    shown = run(project, "config", "get", "hub.kubeconfig", "--path", "--show-secrets", "-s", "sandbox")

    assert json.loads(masked.output)["kubeconfig"] == "[secret]"
    assert json.loads(listed.output)["fleetform:hub"]["kubeconfig"] == "[secret]"
    assert "kind: Config" not in masked.output + listed.output
    assert shown.output == "apiVersion: v1\nkind: Config\n\n"


def test_unknown_keys_and_stacks_exit_2(project):
    assert run(project, "config", "get", "fleetform:nothing", "-s", "sandbox").exit_code == 2
    assert run(project, "config", "rm", "hub.colour", "--path", "-s", "sandbox").exit_code == 2
    missing = run(project, "config", "get", "hub", "-s", "nosuch")
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_schema_prints_the_schema_the_stack_files_name(project):
    printed = json.loads(run(project, "schema").output)

    assert printed == json.loads((ROOT / "stacks" / "fleetform-stack.schema.json").read_text())


def test_version_and_shell_completion():
    assert CliRunner().invoke(app, ["--version"]).output == f"fleetform {version('fleetform')}\n"
    completion = subprocess.run(
        [sys.executable, "-m", "engine.cli"],
        env={
            **os.environ,
            "_FLEETFORM_COMPLETE": "complete_bash",
            "COMP_WORDS": "fleetform config s",
            "COMP_CWORD": "2",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completion.stdout.split() == ["set"]


@pytest.mark.parametrize("command", [[], ["preview"], ["up"], ["destroy"], ["refresh"], ["config", "set"]])
def test_help_names_flags_without_type_placeholders(command):
    shown = CliRunner().invoke(app, [*command, "--help"], prog_name="fleetform").output

    assert "Usage: fleetform" in shown and "--help" in shown
    assert "<bool>" not in shown
