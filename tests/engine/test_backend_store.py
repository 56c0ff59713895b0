"""The storage layer under the state document, on every backend: a write conditional on the version
read never overwrites a state another run changed, a lock names its holder and is released only by
it, a lock left by a run that is gone is taken over, and bad backend URLs are refused up front."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from engine.backends import open_backend
from engine.backends.base import BackendUrlError, StateConflictError
from engine.errors import EXIT_INVALID_INPUT, EXIT_LOCKED, StackLockedError


@pytest.fixture(params=["file", "s3", "postgres"])
def backend(request, tmp_path):
    url = None if request.param == "file" else request.getfixturevalue(f"{request.param}_url")
    return open_backend(tmp_path, "proj", url)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_write_against_a_stale_version_is_refused_and_overwrites_nothing(backend):
    first = backend.write("dev", b'{"n": 1}', None, durable=True)
    with pytest.raises(StateConflictError):
        backend.write("dev", b'{"n": "other"}', None, durable=True)  # "create" when it exists
    read_by_a, read_by_b = backend.read("dev"), backend.read("dev")
    assert read_by_a.version == read_by_b.version == first
    second = backend.write("dev", b'{"n": 2}', read_by_a.version, durable=True)
    with pytest.raises(StateConflictError, match="nothing was overwritten") as raised:
        backend.write("dev", b'{"n": "lost"}', read_by_b.version, durable=True)
    assert raised.value.exit_code == EXIT_LOCKED
    assert backend.read("dev") == type(read_by_a)(b'{"n": 2}', second)


def test_backup_list_and_remove(backend):
    assert backend.restore_hint("dev") is None
    version = backend.write("dev", b"one", None, durable=True)
    backend.backup("dev")
    backend.write("dev", b"two", version, durable=True)
    backend.write("prod", b"x", None, durable=True)
    assert backend.restore_hint("dev")
    assert backend.stacks() == ["dev", "prod"]
    backend.remove("dev")
    assert backend.read("dev") is None and backend.stacks() == ["prod"]


def test_a_held_lock_names_its_holder_and_is_released_only_by_it(backend):
    with backend.lock("dev", "up", "2026-01-01T00:00:00+00:00") as owner:
        assert backend.is_locked("dev")
        with (
            pytest.raises(StackLockedError, match=rf"locked by 'up' .*pid {owner['pid']}"),
            backend.lock("dev", "destroy", "now"),
        ):
            pass
        with pytest.raises(StackLockedError):
            backend.unlock("dev")  # a live holder's lock is never cleared
    assert not backend.is_locked("dev")
    with backend.lock("dev", "refresh", "now") as owner:
        assert owner["operation"] == "refresh"
    assert backend.unlock("dev") is None or not backend.is_locked("dev")


def test_a_lock_left_by_a_killed_s3_run_is_taken_over_and_a_live_one_elsewhere_is_not(s3_url, tmp_path):
    import boto3

    backend = open_backend(tmp_path, "proj", s3_url)
    key = backend._lock_key("dev")
    record = {"pid": _dead_pid(), "host": socket.gethostname(), "user": "x", "operation": "up", "since": "then"}
    backend._client.put_object(Bucket=backend.bucket, Key=key, Body=json.dumps(record).encode())
    assert not backend.is_locked("dev")
    stale: list[dict] = []
    with backend.lock("dev", "up", "now", on_stale=stale.append):
        pass
    assert stale == [record]
    elsewhere = {**record, "host": "runner-7", "pid": 1}  # fresh, and not a process of this host
    backend._client.put_object(Bucket=backend.bucket, Key=key, Body=json.dumps(elsewhere).encode())
    with pytest.raises(StackLockedError, match="on runner-7"), backend.lock("dev", "up", "now"):
        pass
    with pytest.raises(StackLockedError):
        backend.unlock("dev")
    assert (
        json.loads(
            boto3.client("s3", endpoint_url=backend._client.meta.endpoint_url)
            .get_object(Bucket=backend.bucket, Key=key)["Body"]
            .read()
        )
        == elsewhere
    )


def test_a_killed_postgres_run_releases_its_lock_with_its_session(postgres_url, tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from engine.backends import open_backend\n"
            f"b = open_backend(Path({str(tmp_path)!r}), 'proj', {postgres_url!r})\n"
            "with b.lock('dev', 'up', 'then'):\n    print('held', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline() == "held\n"
    backend = open_backend(tmp_path, "proj", postgres_url)
    assert backend.is_locked("dev")
    with pytest.raises(StackLockedError, match="locked by 'up'"), backend.lock("dev", "up", "now"):
        pass
    holder.kill()
    holder.wait()
    stale: list[dict] = []
    with backend.lock("dev", "destroy", "now", on_stale=stale.append):  # the server ended the session's lock
        pass
    assert [r["operation"] for r in stale] == ["up"]


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("ftp://host/x", "unknown scheme 'ftp'"),
        ("s3:///prefix", "names no bucket"),
        ("s3://bucket/p?regoin=eu-west-1", "unknown option regoin"),
    ],
)
def test_a_bad_backend_url_is_refused_naming_the_problem(url, named, tmp_path):
    with pytest.raises(BackendUrlError, match=named) as raised:
        open_backend(tmp_path, "proj", url)
    assert raised.value.exit_code == EXIT_INVALID_INPUT


def test_a_password_in_a_postgres_url_is_never_printed(files_project, monkeypatch):
    from typer.testing import CliRunner

    from engine.cli import app

    monkeypatch.setenv("FLEETFORM_BACKEND", "postgres://team:pa55word@127.0.0.1:1/state")
    for command in (["whoami"], ["stack", "ls"], ["preview", "-s", "dev"]):
        run = CliRunner().invoke(app, [*command, "--cwd", str(files_project.dir)])
        assert "pa55word" not in run.stdout + run.stderr, command
    assert (
        "postgres://team:***@127.0.0.1:1/state"
        in CliRunner().invoke(app, ["whoami", "--cwd", str(files_project.dir)]).stdout
    )


def test_the_backend_is_chosen_by_env_then_login_then_pulumi_yaml(files_project, monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from engine.cli import app

    project_file = files_project.dir / "Pulumi.yaml"
    project_file.write_text(project_file.read_text() + "backend:\n  url: file://shared\n")
    files_project.declare({"name": "a", "content": "1"})
    assert files_project.cli("up", "--yes").code == 0
    assert (files_project.dir / "shared" / "stacks" / "dev.json").exists()
    assert not (files_project.dir / ".fleetform" / "stacks").exists()

    def whoami() -> str:
        return CliRunner().invoke(app, ["whoami", "--cwd", str(files_project.dir)]).stdout

    assert "backend.url in" in whoami()
    login = CliRunner().invoke(app, ["login", f"file://{tmp_path / 'elsewhere'}", "--cwd", str(files_project.dir)])
    assert login.exit_code == 0 and "fleetform login" in whoami()
    monkeypatch.setenv("FLEETFORM_BACKEND", f"file://{tmp_path / 'env'}")
    assert "$FLEETFORM_BACKEND" in whoami()
    project_file.write_text(project_file.read_text().replace("  url: file://shared\n", "  path: x\n"))
    run = files_project.cli("preview")
    assert run.code == EXIT_INVALID_INPUT and "'backend' must be a mapping with a 'url'" in run.err
