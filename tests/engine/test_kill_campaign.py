"""A bounded kill campaign: a dozen SIGKILLs at random moments of up, update and destroy of a program whose
resources are files created exclusively (a duplicate create is recorded, never silent).

After every kill: the state loads (never corrupt), the same command run once more converges (an interrupted
create is looked up and adopted, not repeated), preview then expects no changes, the files are exactly what
the program declares, and no file was ever created twice. The moments are drawn from a fixed seed, counted
in provider calls rather than seconds: the k-th call to start, plus a fraction of its duration."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.state import StateStore

PROGRAM = Path(__file__).parent / "killproject"
COUNT = 6
SLEEP = 0.05  # seconds each provider call pauses before and after its write
KILLS = 12
SEED = 20261127


class KillProject:
    def __init__(self, root: Path):
        self.dir = root / "project"
        self.files = root / "files"
        shutil.copytree(PROGRAM, self.dir, ignore=shutil.ignore_patterns("__pycache__"))
        self.files.mkdir()

    def declare(self, content: str) -> None:
        lines = [
            "config:",
            f"  kill:dir: {json.dumps(str(self.files))}",
            f"  kill:count: {json.dumps(str(COUNT))}",
            f"  kill:content: {json.dumps(content)}",
            f"  kill:sleep: {json.dumps(str(SLEEP))}",
        ]
        (self.dir / "Pulumi.dev.yaml").write_text("\n".join(lines) + "\n")

    def cli(self, *args: str) -> tuple[int, str]:
        result = CliRunner().invoke(app, [*args, "-s", "dev", "--cwd", str(self.dir)])
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.output

    def started_calls(self) -> int:
        log = self.files / "events.log"
        return log.read_text().count("start-") if log.exists() else 0

    def kill_during(self, command: str, nth_call: int, fraction: float) -> None:
        """Run ``command`` in a process of its own and SIGKILL it once its ``nth_call``-th provider call (counted
        from now) has run for ``fraction`` of a call, or let it end if it makes fewer calls."""
        before = self.started_calls()
        proc = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", command, "--yes", "-s", "dev", "--cwd", str(self.dir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=dict(os.environ),
        )
        try:
            while proc.poll() is None and self.started_calls() - before < nth_call:
                time.sleep(0.005)
            time.sleep(fraction * 2 * SLEEP)
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.wait(timeout=120)

    def ledger_files(self) -> dict[str, str]:
        return {p.name: p.read_text() for p in self.files.iterdir() if p.name.startswith("l")}

    def recorded(self) -> set[str]:
        live, _box = StateStore.for_project(self.dir).load("dev", "killtest")  # raises on a damaged state
        return {r.urn.rsplit("::", 1)[-1] for r in live.resources() if r.custom}


@pytest.fixture
def project(tmp_path, monkeypatch) -> KillProject:
    monkeypatch.setenv("FLEETFORM_PASSPHRASE", "kill-campaign")
    monkeypatch.delenv("FLEETFORM_STATE_DIR", raising=False)
    return KillProject(tmp_path)


def test_a_dozen_kills_leave_a_readable_state_that_converges_in_one_run_without_duplicates(project):
    rng = random.Random(SEED)
    declared = {f"l{i}" for i in range(COUNT)}
    version = 0
    project.declare(f"v{version}")
    for kill in range(KILLS):
        phase = ("up", "update", "destroy")[kill % 3]
        if phase == "update":
            version += 1
            project.declare(f"v{version}")
        command = "destroy" if phase == "destroy" else "up"
        project.kill_during(command, nth_call=rng.randint(1, COUNT), fraction=rng.random())

        project.recorded()  # loads: the state survived the kill
        code, output = project.cli(command, "--yes")
        assert code == 0, f"kill {kill} ({phase}): {output}"
        if phase == "destroy":
            assert project.recorded() == set() and project.ledger_files() == {}
        else:
            code, output = project.cli("preview", "--expect-no-changes")
            assert code == 0, f"kill {kill} ({phase}): {output}"
            assert project.recorded() == declared
            assert project.ledger_files() == dict.fromkeys(declared, f"v{version}")
        assert not (project.files / "duplicates.log").exists(), (project.files / "duplicates.log").read_text()
