"""The GitHub Actions workflow shipped in .github/: valid against the workflow and action JSON
schemas (schemastore's, shipped offline by check-jsonschema; actionlint has no installable build
here), and consistent with what it drives: every fleetform flag it passes exists, the comment
marker is the renderer's, the plan artifact it uploads is the one it downloads, the setup action
takes the inputs it is given, OIDC jobs may mint tokens, and every secret and variable it reads
is documented in README.md's "Use it in CI"."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
import yaml

from engine.cli import app
from engine.plan_render import marker

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "fleetform.yml"
SETUP = ROOT / ".github" / "actions" / "fleetform-setup" / "action.yml"


def schema_check(path: Path, schema: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)]
    return subprocess.run(command, capture_output=True, text=True)


def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def steps(job: str) -> list[dict]:
    return workflow()["jobs"][job]["steps"]


def test_files_validate_against_the_schemas():
    checked = schema_check(WORKFLOW, "vendor.github-workflows")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    checked = schema_check(SETUP, "vendor.github-actions")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_schema_check_refuses_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("runs-on: ubuntu-latest", "runs_on: ubuntu-latest", 1))
    assert schema_check(broken, "vendor.github-workflows").returncode != 0


def fleetform_commands() -> list[list[str]]:
    """Every fleetform invocation in the workflow's run scripts, as argument lists."""
    found = []
    for job in workflow()["jobs"].values():
        for step in job["steps"]:
            script = step.get("run", "").replace("\\\n", " ")
            for line in script.splitlines():
                words = shlex.split(line.split(">", 1)[0]) if "fleetform " in line else []
                if words and words[0] == "fleetform":
                    found.append(words[1:])
    return found


def test_every_fleetform_flag_the_workflow_passes_exists():
    commands = fleetform_commands()
    assert {c[0] for c in commands} == {"preview", "up", "refresh"}
    cli = typer.main.get_command(app)
    for words in commands:
        options = {opt for param in cli.commands[words[0]].params for opt in param.opts}
        flags = [w for w in words if w.startswith("-")]
        assert flags and set(flags) <= options, (words, set(flags) - options)
    assert {"preview", "--markdown", "--save-plan"} <= set(commands[0])
    assert any("--plan" in c and c[0] == "up" for c in commands)
    assert any({"--preview-only", "--expect-no-changes"} <= set(c) for c in commands if c[0] == "refresh")


def test_the_fallback_comment_carries_the_renderers_marker():
    script = next(s["run"] for s in steps("preview") if s.get("id") == "preview")
    assert marker("$STACK") in script
    post = next(s for s in steps("preview") if "github-script" in s.get("uses", ""))
    assert "c.body.startsWith(marker)" in post["with"]["script"]


def test_the_apply_job_downloads_the_plan_the_preview_job_uploads():
    upload = next(s for s in steps("preview") if "upload-artifact" in s.get("uses", ""))
    download = next(s for s in steps("apply") if "download-artifact" in s.get("uses", ""))
    assert upload["with"]["name"] == download["with"]["name"]
    saved = re.search(r"--save-plan \"(plans/\$STACK\.plan\.json)\"", WORKFLOW.read_text())
    applied = re.search(r"--plan \"(plans/\$STACK\.plan\.json)\"", WORKFLOW.read_text())
    assert saved and applied and saved.group(1) == applied.group(1)
    assert upload["with"]["path"] == "plans/${{ matrix.stack }}.plan.json"
    apply = workflow()["jobs"]["apply"]
    assert apply["environment"] == "${{ matrix.stack }}"  # the protected one
    assert workflow()["jobs"]["preview"]["environment"] != apply["environment"]


def test_the_setup_action_takes_what_the_jobs_give_it():
    declared = set(yaml.safe_load(SETUP.read_text())["inputs"])
    for name, job in workflow()["jobs"].items():
        setup = [s for s in job["steps"] if s.get("uses") == "./.github/actions/fleetform-setup"]
        assert len(setup) == 1, name
        assert set(setup[0]["with"]) <= declared
        assert job["permissions"]["id-token"] == "write", f"{name} logs in through OIDC"


@pytest.mark.parametrize("kind", ["secrets", "vars"])
def test_every_secret_and_variable_is_documented(kind):
    readme = ROOT.joinpath("README.md").read_text()
    section = readme[readme.index("## Use it in CI") :]
    section = section[: section.index("\n## ", 1)]
    used = set(re.findall(rf"\$\{{\{{ {kind}\.([A-Z_]+) \}}\}}", WORKFLOW.read_text()))
    assert used
    missing = {name for name in used if f"`{name}`" not in section}
    assert not missing
