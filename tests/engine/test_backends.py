"""Remote state backends (S3 through moto's server, PostgreSQL on a real server): runs racing for one
stack never both apply, a stack applied from one working copy is a no-op from another, and a stack
exported from one backend and imported into another previews as a no-op."""

from __future__ import annotations

import json
import shutil
import time

import boto3
import pytest
from files_project import FilesProject, Run
from typer.testing import CliRunner

from engine.cli import app
from engine.errors import EXIT_LOCKED, EXIT_OK, EXIT_STATE

BACKENDS = ["s3", "postgres"]


@pytest.fixture(params=BACKENDS)
def backend_url(request) -> str:
    return request.getfixturevalue(f"{request.param}_url")


def _working_copy(first: FilesProject, root) -> FilesProject:
    """A second checkout of the same project and stack file, with no local state."""
    other = FilesProject.__new__(FilesProject)
    other.dir, other.files, other.stack = root / "other", first.files, first.stack
    shutil.copytree(first.dir, other.dir, ignore=shutil.ignore_patterns(".fleetform", "__pycache__"))
    return other


def _project_cli(copy: FilesProject, *args: str) -> Run:
    """A command that takes no stack (login, logout) in a working copy."""
    result = CliRunner().invoke(app, [*args, "--cwd", str(copy.dir)])
    return Run(result.exit_code, result.stdout, result.stderr)


def _wait_for_first_exit(runs):
    while True:
        for index, run in enumerate(runs):
            if run.poll() is not None:
                return index
        time.sleep(0.05)


def test_two_runners_racing_for_one_stack_never_both_apply(files_project, backend_url, monkeypatch, tmp_path):
    monkeypatch.setenv("FLEETFORM_BACKEND", backend_url)
    gate = tmp_path / "gate"
    files_project.declare({"name": "slow", "content": "1", "gate": str(gate)})
    runs = [files_project.subprocess("up", "--yes") for _ in range(2)]
    first = _wait_for_first_exit(runs)  # the winner waits at the gate while holding the lock
    code, out, err = runs[first].wait(), *runs[first].communicate()
    assert code == EXIT_LOCKED, out + err
    assert "locked by 'up'" in err
    gate.touch()
    winner = runs[1 - first]
    assert winner.wait(timeout=180) == EXIT_OK, winner.communicate()
    assert files_project.events() == ["create slow.txt"]
    assert not (files_project.dir / ".fleetform" / "stacks").exists()  # the state is in the backend only


def test_a_stack_applied_from_one_working_copy_is_a_no_op_from_another(files_project, backend_url, tmp_path):
    files_project.declare({"name": "a", "content": "1"}, {"name": "b", "content": "2", "secret": "hush"})
    other = _working_copy(files_project, tmp_path)
    for copy in (files_project, other):
        login = _project_cli(copy, "login", backend_url)
        assert login.code == EXIT_OK, login.err
    assert files_project.cli("up", "--yes").code == EXIT_OK
    preview = other.cli("preview", "--json", "--expect-no-changes")
    assert preview.code == EXIT_OK, preview.out + preview.err
    assert preview.json()["summary"]["create"] == 0 and preview.json()["summary"]["same"] == 2
    outputs = other.cli("stack", "output", "--json", "--show-secrets")
    assert outputs.json()["token"] == "s3cr3t-token-value"
    listing = json.loads(_project_cli(other, "stack", "ls", "--json").out)
    assert [(row["name"], row["resources"], row["lastResult"]) for row in listing] == [("dev", 3, "succeeded")]
    # the second copy changes the stack; the first sees it
    other.declare({"name": "a", "content": "changed"}, {"name": "b", "content": "2", "secret": "hush"})
    assert other.cli("up", "--yes").code == EXIT_OK
    shutil.copy(other.dir / "Pulumi.dev.yaml", files_project.dir / "Pulumi.dev.yaml")
    assert files_project.cli("preview", "--expect-no-changes").code == EXIT_OK
    assert not (files_project.dir / ".fleetform" / "stacks").exists()
    assert _project_cli(files_project, "logout").code == EXIT_OK  # back to the local directory: nothing recorded there
    assert files_project.cli("preview", "--json").json()["summary"]["create"] == 2


def test_export_then_import_into_another_backend_previews_as_a_no_op(files_project, request, tmp_path):
    """From the local directory to PostgreSQL (S3 is the target of the next test)."""
    backend_url = request.getfixturevalue("postgres_url")
    files_project.declare({"name": "a", "content": "1"}, {"name": "b", "content": "2", "secret": "hush"})
    assert files_project.cli("up", "--yes").code == EXIT_OK  # on the default local directory
    exported = tmp_path / "dev.deployment.json"
    assert files_project.cli("stack", "export", "--file", str(exported)).code == EXIT_OK
    assert exported.stat().st_mode & 0o777 == 0o600
    text = exported.read_text()
    assert "hush" not in text and "s3cr3t-token-value" not in text
    deployment = json.loads(text)
    assert deployment["version"] == 3
    assert deployment["deployment"]["secrets_providers"]["type"] == "passphrase"
    secret = next(r for r in deployment["deployment"]["resources"] if r["urn"].endswith("::b"))["inputs"]["secret"]
    assert secret["4dabf18193072939515e22adb298388d"] == "1b47061264138c4ac30d75fd1eb44270"
    assert secret["ciphertext"].startswith("v1:")

    other = _working_copy(files_project, tmp_path)
    assert _project_cli(other, "login", backend_url).code == EXIT_OK
    imported = other.cli("stack", "import", "--file", str(exported))
    assert imported.code == EXIT_OK, imported.err
    assert "imported 2 resources" in imported.out
    preview = other.cli("preview", "--json", "--expect-no-changes")
    assert preview.code == EXIT_OK, preview.out + preview.err
    assert (
        other.cli("stack", "output", "--json", "--show-secrets").json()
        == files_project.cli("stack", "output", "--json", "--show-secrets").json()
    )
    again = other.cli("stack", "import", "--file", str(exported))
    assert again.code == 2 and "--force" in again.err  # a stack that records resources is not replaced silently
    assert other.cli("stack", "import", "--file", str(exported), "--force").code == EXIT_OK


def test_a_damaged_remote_state_stops_the_run_and_names_the_backup(files_project, request, monkeypatch):
    url = request.getfixturevalue("s3_url")
    monkeypatch.setenv("FLEETFORM_BACKEND", url)
    files_project.declare({"name": "a", "content": "1"})
    assert files_project.cli("up", "--yes").code == EXIT_OK
    files_project.declare({"name": "a", "content": "2"})
    assert files_project.cli("up", "--yes").code == EXIT_OK
    bucket, endpoint = url[5:].split("/", 1)[0], url.split("endpoint=")[1].split("&")[0]
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    key = "team/state/filestest/stacks/dev.json"
    assert len(client.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]) >= 2  # history kept
    body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    client.put_object(Bucket=bucket, Key=key, Body=body.replace(b'"content"', b'"contenT"', 1))
    run = files_project.cli("preview")
    assert run.code == EXIT_STATE
    assert f"s3://{bucket}/{key}" in run.err and f"{key}.bak" in run.err


def test_pending_operations_and_secrets_survive_export_and_import(files_project, s3_url, tmp_path, monkeypatch):
    from engine import state_doc
    from engine.state import Checkpointer, PendingOperation, StateStore

    files_project.declare({"name": "a", "content": "1", "secret": "hush"})
    assert files_project.cli("up", "--yes").code == EXIT_OK
    store = StateStore.for_project(files_project.dir)  # a create interrupted after the last checkpoint
    live, box = store.load("dev", "filestest")
    urn = "urn:pulumi:dev::filestest::files:index:File::late"
    live.begin(PendingOperation(urn, "files:index:File", "creating"))
    Checkpointer(store, "dev", live, state_doc.header("filestest", "dev", box), box).close()
    exported = tmp_path / "dev.json"
    assert files_project.cli("stack", "export", "--file", str(exported)).code == EXIT_OK
    assert json.loads(exported.read_text())["deployment"]["pending_operations"][0]["type"] == "creating"

    other = _working_copy(files_project, tmp_path)
    monkeypatch.setenv("FLEETFORM_PASSPHRASE", "another-passphrase")
    refused = other.cli("stack", "import", "--file", str(exported))
    assert refused.code == 2 and "secrets_providers" in refused.err and "nothing was imported" in refused.err
    monkeypatch.setenv("FLEETFORM_PASSPHRASE", "test-passphrase")
    monkeypatch.setenv("FLEETFORM_BACKEND", s3_url)
    assert other.cli("stack", "import", "--file", str(exported)).code == EXIT_OK
    remote = other.cli("preview", "--json", "--expect-no-changes")
    monkeypatch.delenv("FLEETFORM_BACKEND")
    local = files_project.cli("preview", "--json", "--expect-no-changes")
    for preview in (local, remote):  # the interrupted create still awaits `state repair`, on both
        assert preview.code == 3 and urn in preview.out, preview.out + preview.err
    monkeypatch.setenv("FLEETFORM_BACKEND", s3_url)
    assert other.cli("stack", "output", "--json", "--show-secrets").code == EXIT_OK
    imported = StateStore.for_project(other.dir).load("dev", "filestest")[0]
    assert [r.inputs["secret"]["value"] for r in imported.resources() if r.urn.endswith("::a")] == ["hush"]


def test_stack_commands_work_on_every_backend(files_project, backend_url, monkeypatch):
    monkeypatch.setenv("FLEETFORM_BACKEND", backend_url)
    files_project.stack = "fresh"
    created = files_project.cli("stack", "init")
    assert created.code == EXIT_OK and "created stack 'fresh'" in created.out
    assert files_project.cli("stack", "init").code == 2  # it exists now, in the backend
    listing = _project_cli(files_project, "stack", "ls").out
    assert [line.split()[:2] for line in listing.splitlines()[1:]] == [["fresh", "0"]]  # known from its state alone
    assert files_project.cli("stack", "unlock").out.strip() == "stack 'fresh' was not locked"
    assert files_project.cli("stack", "rm").code == EXIT_OK
    assert "fresh" not in _project_cli(files_project, "stack", "ls").out
    assert not (files_project.dir / ".fleetform" / "stacks").exists()
