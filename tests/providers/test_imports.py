"""The dependency direction of ARCHITECTURE.md: providers never import the engine, and kubeclient
(shared by both) imports neither."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_packages(package: str) -> dict[str, set[str]]:
    """Top-level packages each module of ``package`` imports (absolute imports only; relative ones stay inside)."""
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("providers", {"engine", "components", "sandbox"}),
        ("kubeclient", {"engine", "providers", "components", "sandbox"}),
    ],
)
def test_no_forbidden_imports(package, forbidden):
    modules = imported_packages(package)
    assert modules, f"no modules found under {package}/"
    assert {path: names & forbidden for path, names in modules.items() if names & forbidden} == {}
