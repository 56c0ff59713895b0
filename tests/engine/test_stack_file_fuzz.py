"""Stack files cannot crash or hang fleetform: YAML outside plain JSON-like values is refused with its
key path, encoding problems with their line, and mutants of the shipped stacks end in exit 2 or 0.

Both parsing paths are exercised: the engine's reading of the stack file (engine/project.py) and the
fleetform program's parsing of the ``fleetform:*`` values it receives (components/spec/loading.py)."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from components.spec import spec_from_config
from components.spec.common import StackConfigError
from engine.errors import EXIT_INVALID_INPUT, EXIT_OK, InvalidInputError
from engine.project import load_project, load_stack_config

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "stacks").glob("Pulumi.*.yaml"))
MUTANTS_PER_STACK = 120
# A hang guard, not a speed target (those live in bench/): an alias bomb or a runaway nesting check would take
# minutes; a parse takes milliseconds, so even a machine loaded many times over stays far below this.
HANG_SECONDS = 30.0

SNIPPETS = [
    "2024-01-01",
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "!!python/object:os.system ls",
    "&x [1, 2]",
    "*x",
    "*nosuch",
    "<<: {a: 1}",
    ".nan",
    "-.inf",
    "9" * 5000,
    "[" * 300 + "]" * 300,
    "{" * 70 + "}" * 70,
    "'unterminated",
    "\t- tab",
    "? [complex, key]\n  : 1",
    "\x07",
    "null",
    "[]",
    "~",
    "yes",
    "0o777",
    "1e999",
    "!!str 5",
    "!custom tag",
]
BOMB = "\n".join(
    ["  fleetform:x0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    + [f"  other:x{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
)


def mutate(text: bytes, rng: random.Random) -> bytes:
    """One random change: a flipped bit, a latin-1 byte, a line dropped, doubled or re-indented, or a
    YAML construct from SNIPPETS put in place of a value."""
    lines = text.split(b"\n")
    choice = rng.randrange(7)
    if choice == 0:
        data = bytearray(text)
        position = rng.randrange(len(data))
        data[position] ^= 1 << rng.randrange(8)
        return bytes(data)
    index = rng.randrange(len(lines))
    if choice == 1:
        lines[index] = lines[index] + b" caf\xe9"
    elif choice == 2:
        del lines[index]
    elif choice == 3:
        lines.insert(index, lines[index])
    elif choice == 4:
        lines[index] = b" " * rng.randrange(1, 5) + lines[index]
    else:
        head, sep, _value = lines[index].partition(b": ")
        snippet = rng.choice(SNIPPETS).encode()
        lines[index] = head + b": " + snippet if sep else lines[index] + b"\n" + snippet
    return b"\n".join(lines)


def parse_both_ways(project_dir: Path, stack: str) -> str:
    """'ok' or 'invalid', as `fleetform validate` would decide before touching anything; any other
    exception is a bug and propagates."""
    project = load_project(project_dir)
    try:
        config = load_stack_config(project, stack)
    except InvalidInputError:
        return "invalid"
    decoded = {}
    for key, value in config.values.items():  # as spec_from_pulumi_config decodes them
        try:
            decoded[key] = json.loads(value)
        except ValueError:
            decoded[key] = value
    try:
        spec_from_config(decoded, f"stacks/Pulumi.{stack}.yaml")
    except StackConfigError:
        return "invalid"
    return "ok"


@pytest.fixture
def project_copy(tmp_path) -> Path:
    (tmp_path / "stacks").mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path)
    (tmp_path / "__main__.py").write_text("")
    return tmp_path


@pytest.mark.parametrize("shipped", SHIPPED, ids=[p.name for p in SHIPPED])
def test_mutants_of_the_shipped_stacks_parse_or_are_refused(project_copy, shipped):
    stack = shipped.name[len("Pulumi.") : -len(".yaml")]
    target = project_copy / "stacks" / shipped.name
    original = shipped.read_bytes()
    target.write_bytes(original)
    assert parse_both_ways(project_copy, stack) == "ok"
    rng = random.Random(f"fleetform-{stack}")
    outcomes = []
    for _ in range(MUTANTS_PER_STACK):
        mutant = mutate(original, rng)
        target.write_bytes(mutant)
        started = time.monotonic()
        outcomes.append(parse_both_ways(project_copy, stack))
        assert time.monotonic() - started < HANG_SECONDS, mutant[:200]
    assert "invalid" in outcomes  # the mutations do reach the checks


REFUSED = {
    "a date": ("  fleetform:hub: 2024-01-01\n", "line 2: config.fleetform:hub: a YAML date"),
    "binary": ("  fleetform:hub: !!binary aGVsbG8=\n", "config.fleetform:hub: YAML binary data"),
    "a set": ("  fleetform:hub: !!set {a}\n", "config.fleetform:hub: a YAML set"),
    "latin-1": ("  fleetform:hub: caf\xe9\n", "line 2: byte 0xe9 is not UTF-8"),
    "deep": ("  fleetform:hub: " + "[" * 500 + "]" * 500 + "\n", "line 2: nested more than 64 levels"),
    "alias bomb elsewhere": (BOMB + "\n", "more than 100000 values"),
    "duplicate key": ("  fleetform:hub: 1\n  fleetform:hub: 2\n", "line 3: config.fleetform:hub: this key appears"),
    "not finite": ("  fleetform:hub: .inf\n", "'.inf' is not a finite number"),
}


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_yaml_beyond_json_values_is_refused_with_its_place(project_copy, case):
    body, message = REFUSED[case]
    target = project_copy / "stacks" / "Pulumi.dev.yaml"
    target.write_bytes(("config:\n" + body).encode("latin-1" if case == "latin-1" else "utf-8"))
    started = time.monotonic()
    with pytest.raises(InvalidInputError) as raised:
        load_stack_config(load_project(project_copy), "dev")
    assert time.monotonic() - started < HANG_SECONDS
    assert str(target) in str(raised.value) and message in str(raised.value), str(raised.value)


def test_fleetform_validate_on_mutants_exits_2_or_0(tmp_path):
    """End to end, in a process of its own: the documented exit codes, no traceback, no hang."""
    project = tmp_path / "project"
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(".*", "tests", "bench", "__pycache__", "*.egg-info"))
    target = project / "stacks" / "Pulumi.prod.yaml"
    original = target.read_bytes()
    rng = random.Random("fleetform-cli")
    for case in range(5):
        mutants = {0: original, 1: original + b"\n" + BOMB.encode()}
        target.write_bytes(mutants.get(case) or mutate(original, rng))
        run = subprocess.run(
            [sys.executable, "-m", "engine.cli", "validate", "-s", "prod", "--cwd", str(project)],
            capture_output=True,
            text=True,
            timeout=120,
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)},
        )
        assert run.returncode in (EXIT_INVALID_INPUT, EXIT_OK), run.stderr
        assert "Traceback" not in run.stderr, run.stderr
        if case == 0:  # the program ran and found what this machine lacks (no passphrase was needed)
            assert run.returncode == EXIT_INVALID_INPUT and "FLEETFORM_HUB_KUBECONFIG" in run.stderr
        if case == 1:
            assert run.returncode == EXIT_INVALID_INPUT and "more than 100000 values" in run.stderr
