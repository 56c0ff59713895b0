"""What the embedded engine does not implement is refused by name, with what to use instead."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.errors import EXIT_FAILED

PROJECT = Path(__file__).parent / "unsupportedproject"


@pytest.fixture
def preview(tmp_path, monkeypatch):
    monkeypatch.setenv("FLEETFORM_PASSPHRASE", "test-passphrase")
    monkeypatch.delenv("FLEETFORM_STATE_DIR", raising=False)
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("__pycache__"))

    def run(use: str, *args: str):
        project.joinpath("Pulumi.dev.yaml").write_text(f"config:\n  case:use: {use}\n")
        result = CliRunner().invoke(app, ["preview", "-s", "dev", "--cwd", str(project), *args])
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    return run


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("use", "named"),
    [
        ("configgroup", "kubernetes:yaml/v2:ConfigGroup 'manifests' is a remote component"),
        ("chart", "kubernetes:helm.sh/v4:Chart 'ingress' is a remote component"),
        ("invoke", "does not implement invoke 'kubernetes:helm:template'"),
        ("call", "does not implement method calls ('test:index:Plain/describe'"),
        ("import", "fleetform import kubernetes:core/v1:Namespace adopted demo"),
    ],
)
def test_preview_refuses_what_the_engine_does_not_implement(preview, use, named):
    run = preview(use)
    assert run.exit_code == EXIT_FAILED
    (line,) = [line for line in run.stderr.splitlines() if line.startswith("error: ")]
    assert named in line, line
    assert "run this program with the Pulumi CLI" in line
    if use in ("configgroup", "chart"):
        assert "typed resources" in line
    assert "Traceback" not in run.stderr


@pytest.mark.timeout(120)
def test_the_refusal_is_in_the_json_document(preview):
    run = preview("chart", "--json")
    assert run.exit_code == EXIT_FAILED
    assert "kubernetes:helm.sh/v4:Chart 'ingress' is a remote component" in run.stdout
