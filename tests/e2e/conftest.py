"""A copy of the fleetform project (program + stack files) in a temp dir, run by the real CLI."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from subprocess import PIPE

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


class SandboxProject:
    """By default the world runs inside each fleetform process (``FLEETFORM_SANDBOX=in-process``): tests read and
    edit its files between runs, which a long-running sandbox would overwrite. With ``long_running=True`` runs
    attach to the long-running sandbox, as a user's do; :meth:`stop_sandbox` ends it."""

    def __init__(self, root: Path, long_running: bool = False):
        self.dir = root / "project"
        self.state = root / "state"
        self.dir.mkdir()
        shutil.copy(ROOT / "Pulumi.yaml", self.dir)
        shutil.copy(ROOT / "__main__.py", self.dir)
        shutil.copytree(ROOT / "stacks", self.dir / "stacks")
        self.env = {**os.environ, "FLEETFORM_STATE_DIR": str(self.state), "PYTHONPATH": str(ROOT)}
        self.env.pop("FLEETFORM_PASSPHRASE", None)
        if long_running:
            self.env.pop("FLEETFORM_SANDBOX", None)
        else:
            self.env["FLEETFORM_SANDBOX"] = "in-process"

    def stop_sandbox(self) -> None:
        """Stop the long-running sandbox of this project, if one runs."""
        from sandbox.client import stop

        if self.world_dir.exists():
            stop(self.world_dir)

    @property
    def stack_file(self) -> Path:
        return self.dir / "stacks" / "Pulumi.sandbox.yaml"

    def config(self) -> dict:
        return yaml.safe_load(self.stack_file.read_text())

    def write_config(self, config: dict) -> None:
        self.stack_file.write_text(yaml.safe_dump(config, sort_keys=False))

    def drop_cluster(self, name: str) -> None:
        self.keep_clusters(lambda cluster: cluster["name"] != name)

    def keep_clusters(self, wanted) -> None:
        """Keep only the declared clusters for which ``wanted(cluster)`` is true."""
        config = self.config()
        settings = config["config"]
        settings["fleetform:clusters"] = [c for c in settings["fleetform:clusters"] if wanted(c)]
        kept = {c["name"] for c in settings["fleetform:clusters"]}
        for fleet in settings.get("fleetform:fleets", []):  # a fleet lists only declared clusters (V22)
            fleet["members"] = [m for m in fleet["members"] if m in kept]
        permissions = settings.get("fleetform:permissions", [])
        settings["fleetform:permissions"] = [p for p in permissions if "fleet" in p or p.get("cluster") in kept]
        dropped = {c["name"] for c in self.config()["config"]["fleetform:clusters"]} - kept
        for federation in list(settings.get("fleetform:federations", [])):
            if dropped & _clusters_named(federation):  # its policies would name undeclared clusters (V45)
                self._drop_federation(settings, federation["name"])
        self.write_config(config)

    def without_federations(self) -> None:
        """No federation: for tests about fleets and registration, quicker without a control plane."""
        config = self.config()
        for federation in list(config["config"].get("fleetform:federations", [])):
            self._drop_federation(config["config"], federation["name"])
        self.write_config(config)

    def without_day1(self) -> None:
        """No ingress, storage or encryption: for tests about registration, fleets and federation, which
        would only wait for load balancers and keys they do not look at."""
        config = self.config()
        for cluster in config["config"]["fleetform:clusters"]:
            cluster.pop("bootstrap", None)
            cluster.pop("encryption", None)
        self.write_config(config)

    def without_fleets(self) -> None:
        """No fleets, permissions or federations: for tests about registration alone."""
        config = self.config()
        for key in ("fleetform:fleets", "fleetform:permissions", "fleetform:federations"):
            config["config"].pop(key, None)
        self.write_config(config)

    @staticmethod
    def _drop_federation(settings: dict, name: str) -> None:
        settings["fleetform:federations"] = [f for f in settings["fleetform:federations"] if f["name"] != name]
        for fleet in settings.get("fleetform:fleets", []):
            if fleet.get("federation") == name:
                del fleet["federation"]

    def cli(self, *args: str, timeout: float = 300, stack: bool = True) -> Run:
        """Run fleetform (on the sandbox stack unless ``stack=False``); past ``timeout`` fail the test with where
        each of its threads was."""
        command = [
            sys.executable,
            "-m",
            "engine.cli",
            *args,
            *(["-s", "sandbox"] if stack else []),
            "--cwd",
            str(self.dir),
        ]
        with subprocess.Popen(command, stdout=PIPE, stderr=PIPE, text=True, env=self.env) as proc:
            try:
                out, err = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGUSR1)  # the CLI prints every thread's stack (engine/cli.py)
                time.sleep(2)
                proc.kill()
                out, err = proc.communicate()
                pytest.fail(f"fleetform {' '.join(args)} ran past {timeout:.0f}s\n{out[-4000:]}\n{err[-20000:]}")
        return Run(proc.returncode, out, err)

    @property
    def world_dir(self) -> Path:
        return self.state / "sandbox"

    @contextlib.contextmanager
    def kubeapi(self, save: bool = False) -> Iterator:
        """The saved world's Kubernetes API emulator, between runs (none runs the world then). With
        ``save`` what the block changed is written back for the next run; the emulator stops either way."""
        from sandbox.kubeapi import KubeApiEmulator

        emulator = KubeApiEmulator(self.world_dir / "kubeapi")
        try:
            yield emulator
            if save:
                emulator.flush()
        finally:
            emulator.stop()

    @contextlib.contextmanager
    def cloud(self, kind: str) -> Iterator:
        """The saved world's emulator of ``kind``'s cloud API (``eks``, ``gke``, ...), between runs; what the
        block changed is written back."""
        import importlib

        from sandbox.world import CLOUD_EMULATORS

        module, name = CLOUD_EMULATORS[kind]
        with self.kubeapi(save=True) as kube:
            yield getattr(importlib.import_module(module), name)(kube, self.world_dir / kind)


def _clusters_named(federation: dict) -> set[str]:
    """Every cluster a federation's policies name (placement, weights, override targets)."""
    policies = federation.get("policies") or {}
    named: set[str] = set()
    for policy in policies.get("propagation", []):
        named |= set(policy.get("clusters") or [])
        replicas = policy.get("replicas")
        if isinstance(replicas, dict):
            named |= set(replicas.get("divided") or {})
    for policy in policies.get("override", []):
        for rule in policy.get("rules", []):
            named |= set(rule.get("clusters") or [])
    return named


@pytest.fixture
def sandbox_project(tmp_path) -> SandboxProject:
    return SandboxProject(tmp_path)
