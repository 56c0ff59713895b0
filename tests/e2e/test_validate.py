"""Invalid stacks are rejected before anything is touched, by `validate` and by every other command."""

from __future__ import annotations

import pytest


def test_the_shipped_sandbox_stack_is_valid(sandbox_project):
    run = sandbox_project.cli("validate")
    assert run.code == 0, run.err
    assert "stack 'sandbox' is valid" in run.out


@pytest.mark.parametrize("command", [("validate",), ("preview",), ("up", "--yes")])
def test_an_invalid_stack_names_file_key_and_fix(sandbox_project, command):
    config = sandbox_project.config()
    config["config"]["fleetform:clusters"][1]["name"] = "Bad_Name"
    config["config"]["fleetform:clusters"][2]["kind"] = "openshift"
    sandbox_project.write_config(config)

    run = sandbox_project.cli(*command)
    assert run.code == 2
    assert "stacks/Pulumi.sandbox.yaml: fleetform:clusters[1].name: FF-NAME-001" in run.err
    assert "fleetform:clusters[2].kind: FF-KIND-001 unknown cluster kind 'openshift'" in run.err
    assert "Traceback" not in run.err
    assert not (sandbox_project.state / "stacks" / "sandbox.json").exists()  # no state written
    assert not sandbox_project.world_dir.exists()  # the emulators were never started
