"""The sandbox's libraries (moto, PyJWT, jsonpatch) are the ``sandbox`` extra: a plain install runs real
stacks without them, and the sandbox stack says what to install instead of failing on an import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import SandboxProject

ROOT = Path(__file__).resolve().parent.parent
SANDBOX_ONLY = ("moto", "jwt", "jsonpatch")


def without_sandbox_extra(tmp_path: Path) -> str:
    """A PYTHONPATH under which importing any of the sandbox extra's modules fails, as on a plain install."""
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    blocked = ", ".join(f"{name}=None" for name in SANDBOX_ONLY)
    (blocker / "sitecustomize.py").write_text(f"import sys\nsys.modules.update({blocked})\n")
    return f"{blocker}{os.pathsep}{ROOT}"


def test_every_product_module_imports_without_the_sandbox_extra(tmp_path):
    script = (
        "import importlib, pkgutil, sys\n"
        "for package in ('engine', 'providers', 'components', 'kubeclient'):\n"
        "    root = importlib.import_module(package)\n"
        "    for module in pkgutil.walk_packages(root.__path__, package + '.'):\n"
        "        importlib.import_module(module.name)\n"
        f"assert not any(name in sys.modules and sys.modules[name] for name in {SANDBOX_ONLY!r})\n"
        "print('imported')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": without_sandbox_extra(tmp_path)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (result.returncode, result.stdout.strip()) == (0, "imported"), result.stderr


def test_the_sandbox_stack_without_the_extra_names_what_to_install(tmp_path):
    project = SandboxProject(tmp_path)
    env = {**project.env, "PYTHONPATH": without_sandbox_extra(tmp_path)}

    result = subprocess.run(
        [sys.executable, "-m", "engine.cli", "preview", "-s", "sandbox", "--cwd", str(project.dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 2, result.stdout + result.stderr
    assert "pip install -e '.[sandbox]'" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert not (project.state / "sandbox").exists()  # no emulator was started, no world written


def test_the_sandbox_commands_without_the_extra_name_what_to_install(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "engine.cli", "sandbox", "status", "--cwd", str(tmp_path)],
        env={**os.environ, "PYTHONPATH": without_sandbox_extra(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 2, result.stdout + result.stderr
    assert "pip install -e '.[sandbox]'" in result.stderr and "Traceback" not in result.stderr
