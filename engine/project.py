"""The Pulumi project on disk: ``Pulumi.yaml`` and the per-stack config files it points to."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InvalidInputError
from .yaml_input import read_yaml


@dataclass
class Project:
    dir: Path
    name: str
    main: Path
    stack_config_dir: Path
    backend_url: str | None = None  # `backend: {url: …}` (engine.backends picks the backend)

    def stack_file(self, stack: str) -> Path:
        return self.stack_config_dir / f"Pulumi.{stack}.yaml"

    def declared_stacks(self) -> list[str]:
        files = self.stack_config_dir.glob("Pulumi.*.yaml")
        return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in files)


@dataclass
class StackConfig:
    """A stack's configuration as the SDK takes it: ``project:key`` -> string (JSON for objects)."""

    path: Path | None
    values: dict[str, str] = field(default_factory=dict)
    secret_keys: list[str] = field(default_factory=list)


def load_project(directory: Path) -> Project:
    directory = directory.resolve()
    path = directory / "Pulumi.yaml"
    if not path.exists():
        raise InvalidInputError(
            f"{directory} is not a Pulumi project: no Pulumi.yaml there. Pass the project directory with --cwd"
        )
    data = read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise InvalidInputError(f"{path}: 'name' is required (the project name, e.g. name: fleetform)")
    runtime = data.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if runtime_name != "python":
        raise InvalidInputError(
            f"{path}: runtime is '{runtime_name}'; the embedded engine runs Python programs only (runtime: python)"
        )
    main = directory / str(data.get("main", "."))
    if main.is_dir():
        main = main / "__main__.py"
    if not main.exists():
        raise InvalidInputError(
            f"{path}: the program entry point {main} does not exist (set 'main' or add __main__.py)"
        )
    config_dir = directory / str(data.get("stackConfigDir", "."))
    backend = data.get("backend")
    if backend is not None and not (isinstance(backend, dict) and isinstance(backend.get("url"), str)):
        raise InvalidInputError(
            f"{path}: 'backend' must be a mapping with a 'url' text, e.g. backend: {{url: s3://bucket/prefix}}"
        )
    return Project(directory, data["name"], main, config_dir, backend["url"] if backend else None)


def _encode(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def load_stack_config(project: Project, stack: str, required: bool = True) -> StackConfig:
    path = project.stack_file(stack)
    if not path.exists():
        if not required:
            return StackConfig(None)
        known = ", ".join(project.declared_stacks()) or "none"
        raise InvalidInputError(
            f"stack '{stack}' has no configuration file {path} (stacks in this project: {known}); "
            f"create it or pick another stack with -s"
        )
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise InvalidInputError(f"{path}: expected a mapping with a 'config:' key")
    config = data.get("config") or {}
    if not isinstance(config, dict):
        raise InvalidInputError(f"{path}: 'config' must be a mapping of 'namespace:key' to values")
    values: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in config.items():
        full = key if ":" in str(key) else f"{project.name}:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            raise InvalidInputError(
                f"{path}: {full}: encrypted 'secure:' values are not read by the embedded engine yet; "
                f"give the secret through a file or environment variable the program reads"
            )
        values[full] = _encode(value)
    return StackConfig(path, values, secret_keys)
