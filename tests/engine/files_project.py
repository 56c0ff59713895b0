"""The file-resource test project in a temp dir, and what a CLI run of it returned. Kept apart from
conftest.py, whose module name every test folder shares, so that test modules can import it by a name
of its own."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from engine import state_doc, state_journal
from engine.cli import app

PROJECT = Path(__file__).parent / "project"


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> dict:
        return json.loads(self.out)


class FilesProject:
    """The test project, its stack file, and the directory its resources write to."""

    def __init__(self, root: Path, stack: str = "dev"):
        self.dir = root / "project"
        self.files = root / "files"
        self.stack = stack
        shutil.copytree(PROJECT, self.dir, ignore=shutil.ignore_patterns("__pycache__"))
        self.files.mkdir()

    def declare(self, *resources: dict) -> None:
        text = json.dumps(list(resources))
        self.dir.joinpath(f"Pulumi.{self.stack}.yaml").write_text(
            f"config:\n  files:dir: {json.dumps(str(self.files))}\n  files:resources: {json.dumps(text)}\n"
        )

    def cli(self, *args: str) -> Run:
        """Run the CLI in this process."""
        result = CliRunner().invoke(app, [*args, "-s", self.stack, "--cwd", str(self.dir)])
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Run(result.exit_code, result.stdout, result.stderr)

    def subprocess(self, *args: str, **kwargs) -> subprocess.Popen:
        """Start the CLI as a separate process (for kill and lock tests)."""
        return subprocess.Popen(
            [sys.executable, "-m", "engine.cli", *args, "-s", self.stack, "--cwd", str(self.dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ},
            **kwargs,
        )

    @property
    def state_file(self) -> Path:
        return self.dir / ".fleetform" / "stacks" / f"{self.stack}.json"

    def state(self) -> dict:
        """The state as the engine reads it: the last whole write plus the journal's entries since (a run
        under way, or killed), HMACs unchecked."""
        text = self.state_file.read_text()
        document = state_doc.parse(text)
        journal = self.state_file.with_name(f"{self.state_file.name}.journal")
        if journal.exists():
            state_journal.replay(document, state_doc.seal_of(text), journal.read_bytes(), None)
        return document

    def urns(self) -> set[str]:
        return {r["urn"].rsplit("::", 1)[-1] for r in self.state()["resources"] if r["custom"]}

    def all_events(self) -> list[str]:
        log = self.files / "events.log"
        return log.read_text().splitlines() if log.exists() else []

    def events(self) -> list[str]:
        """Completed provider calls, in order."""
        return [e for e in self.all_events() if not e.startswith("start-")]

    def most_at_once(self) -> int:
        """The largest number of create/update calls that were in flight together."""
        running = most = 0
        for event in self.all_events():
            if event.startswith("start-"):
                running += 1
                most = max(most, running)
            elif event.startswith(("create", "update")):
                running -= 1
        return most

    def content(self, name: str) -> str:
        return json.loads((self.files / name).read_text())["content"]
