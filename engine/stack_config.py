"""Reading and editing one key of a stack file (``fleetform config get/set/rm``), as ``pulumi config`` does.

* Keys are ``namespace:name``; a key without a namespace belongs to the project. With ``path=True`` the key is a
  path into the value: ``fleetform:clusters[0].labels.env``, ``fleetform:hub["odd.key"]``.
* The file is edited round-trip (ruamel.yaml): comments, key order and quoting stay as the author wrote them.
  It is replaced atomically and keeps its mode.
* When the stack file names a JSON Schema on its first lines (``# yaml-language-server: $schema=FILE``, what
  editors read too), the edited document must satisfy it before anything is written, and a value the schema
  marks ``writeOnly`` (a secret: kubeconfigs, keys, tokens) is never written into the file in plain text and
  never printed unless asked for.
"""

from __future__ import annotations

import io
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from .errors import InvalidInputError

_MODELINE = re.compile(r"#\s*yaml-language-server:\s*\$schema=(\S+)")
_SEGMENT = re.compile(r'\.([^.\[\]"]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]')
SECRET_MASK = "[secret]"


def _round_trip() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


@dataclass(frozen=True)
class ConfigPath:
    """A config key and, with ``--path``, the way into its value."""

    key: str
    steps: tuple[str | int, ...] = ()

    @classmethod
    def parse(cls, text: str, project: str, path: bool) -> ConfigPath:
        if not path:
            return cls(_namespaced(text, project))
        head = re.match(r'[^.\[\]"]+', text)
        if head is None:
            raise InvalidInputError(f"config path {text!r}: start with the key, e.g. {project}:clusters[0].region")
        steps: list[str | int] = []
        position = head.end()
        while position < len(text):
            match = _SEGMENT.match(text, position)
            if match is None:
                raise InvalidInputError(
                    f"config path {text!r}: cannot read it from {text[position:]!r}; "
                    'write fields as .name, list items as [0] and odd keys as ["a.b"]'
                )
            name, index, quoted = match.groups()
            steps.append(int(index) if index is not None else name if name is not None else json.loads(f'"{quoted}"'))
            position = match.end()
        return cls(_namespaced(head.group(), project), tuple(steps))

    def __str__(self) -> str:
        return self.key + "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in self.steps)


def _namespaced(key: str, project: str) -> str:
    return key if ":" in key else f"{project}:{key}"


class StackFile:
    """One stack file, loaded for reading or editing."""

    def __init__(self, path: Path, project: str):
        self.path, self.project = path, project
        self._yaml = _round_trip()
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InvalidInputError(f"{path} does not exist; create the stack's configuration file first") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInputError(f"{path}: cannot be read ({exc})") from None
        try:
            self.document = self._yaml.load(text) or CommentedMap()
        except Exception as exc:  # ruamel raises many error types; all mean the file is not YAML we can edit
            raise InvalidInputError(f"{path}: not valid YAML ({exc})") from None
        if not isinstance(self.document, dict):
            raise InvalidInputError(f"{path}: expected a mapping with a 'config:' key")
        self.schema = self._schema(text)

    def _schema(self, text: str) -> dict | None:
        match = next((m for line in text.splitlines()[:5] if (m := _MODELINE.match(line.strip()))), None)
        if match is None:
            return None
        location = (self.path.parent / match.group(1)).resolve()
        try:
            return json.loads(location.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidInputError(f"{self.path}: its schema {location} cannot be read ({exc})") from None

    @property
    def config(self) -> CommentedMap:
        config = self.document.get("config")
        if config is None:
            config = self.document["config"] = CommentedMap()
        if not isinstance(config, dict):
            raise InvalidInputError(f"{self.path}: 'config' must be a mapping of 'namespace:key' to values")
        return config

    def _stored_key(self, key: str) -> str | None:
        """The key as the file spells it (a project key may be written without its namespace)."""
        bare = key.removeprefix(f"{self.project}:")
        return next((k for k in (key, bare) if k in self.config), None)

    # --- reading --------------------------------------------------------------------------------

    def get(self, where: ConfigPath) -> Any:
        stored = self._stored_key(where.key)
        if stored is None:
            raise InvalidInputError(f"{where.key} is not set in {self.path}")
        value = self.config[stored]
        for depth, step in enumerate(where.steps):
            value = _child(value, step, ConfigPath(where.key, where.steps[: depth + 1]))
        return _plain(value)

    def items(self) -> list[tuple[str, Any]]:
        return [(_namespaced(str(k), self.project), _plain(v)) for k, v in self.config.items()]

    def masked(self, where: ConfigPath, value: Any) -> tuple[Any, list[str]]:
        """``value`` (at ``where``) with every secret the schema marks replaced by ``[secret]``, and their paths."""
        if self.schema is None:
            return value, []
        schemas = _descend(self.schema, self.schema, ["config", where.key, *where.steps])
        return _masking(self.schema, schemas, value, str(where))

    # --- editing --------------------------------------------------------------------------------

    def set(self, where: ConfigPath, value: Any) -> None:
        _, secrets = self.masked(where, value)
        if secrets:
            raise InvalidInputError(
                f"{', '.join(secrets)} is a secret: the stack file would hold it in plain text; give it through "
                "the file or environment variable setting next to it (e.g. kubeconfig_file, kubeconfig_env, "
                "private_key_file, private_key_env)"
            )
        if not where.steps:
            self.config[self._stored_key(where.key) or where.key] = value
            return
        stored = self._stored_key(where.key) or where.key
        if stored not in self.config:
            self.config[stored] = CommentedSeq() if isinstance(where.steps[0], int) else CommentedMap()
        parent = self.config[stored]
        for depth, step in enumerate(where.steps[:-1]):
            following = where.steps[depth + 1]
            parent = _child(parent, step, ConfigPath(where.key, where.steps[: depth + 1]), create=following)
        _assign(parent, where.steps[-1], value, where)

    def remove(self, where: ConfigPath) -> None:
        stored = self._stored_key(where.key)
        if stored is None:
            raise InvalidInputError(f"{where.key} is not set in {self.path}")
        if not where.steps:
            del self.config[stored]
            return
        parent = self.config[stored]
        for depth, step in enumerate(where.steps[:-1]):
            parent = _child(parent, step, ConfigPath(where.key, where.steps[: depth + 1]))
        last = where.steps[-1]
        _child(parent, last, where)  # it must exist
        del parent[last]

    def save(self) -> None:
        """Check the edited document against the schema, then replace the file atomically (same mode)."""
        if self.schema is not None:
            validator = jsonschema.Draft202012Validator(self.schema)
            errors = sorted(validator.iter_errors(_plain(self.document)), key=lambda e: list(e.absolute_path))
            if errors:
                shown = "; ".join(f"{_shown_path(e.absolute_path)}: {_described(e)}" for e in errors[:5])
                raise InvalidInputError(f"{self.path}: the change would not match the stack file's schema: {shown}")
        buffer = io.StringIO()
        self._yaml.dump(self.document, buffer)
        mode = self.path.stat().st_mode & 0o777
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(buffer.getvalue(), encoding="utf-8")
        tmp.chmod(mode)
        os.replace(tmp, self.path)


def _child(value: Any, step: str | int, where: ConfigPath, create: str | int | None = None) -> Any:
    """The item ``step`` of ``value``; with ``create`` (the step after it), a missing map entry is made."""
    if isinstance(step, int):
        if not isinstance(value, list):
            raise InvalidInputError(f"{where}: not a list, so it has no item [{step}]")
        if step >= len(value):
            raise InvalidInputError(f"{where}: the list has {len(value)} items (the first is [0])")
        return value[step]
    if not isinstance(value, dict):
        raise InvalidInputError(f"{where}: not a mapping, so it has no field {step!r}")
    if step not in value:
        if create is None:
            raise InvalidInputError(f"{where} is not set")
        value[step] = CommentedSeq() if isinstance(create, int) else CommentedMap()
    return value[step]


def _assign(parent: Any, step: str | int, value: Any, where: ConfigPath) -> None:
    if isinstance(step, str):
        if not isinstance(parent, dict):
            raise InvalidInputError(f"{where}: its parent is not a mapping")
        parent[step] = value
    elif not isinstance(parent, list):
        raise InvalidInputError(f"{where}: its parent is not a list")
    elif step < len(parent):
        parent[step] = value
    elif step == len(parent):
        parent.append(value)
    else:
        raise InvalidInputError(f"{where}: the list has {len(parent)} items; add at [{len(parent)}] to append")


def _plain(value: Any) -> Any:
    """ruamel's commented containers and scalars as plain JSON-like values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


def _described(error: jsonschema.ValidationError) -> str:
    """The schema's complaint; for keys it does not allow, which keys and which it knows there."""
    if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
        return error.message
    known = error.schema.get("properties", {})
    patterns = [re.compile(p) for p in error.schema.get("patternProperties", {})]
    unknown = [k for k in error.instance if k not in known and not any(p.search(k) for p in patterns)]
    return f"unknown key {', '.join(map(repr, unknown))} (known here: {', '.join(known)})"


def _shown_path(path) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(path))


# --- the schema along a path ------------------------------------------------------------------------------


def _resolve(root: dict, schema: Any) -> list[dict]:
    """``schema`` with ``$ref`` followed and ``anyOf``/``oneOf``/``allOf`` branches spread out."""
    if not isinstance(schema, dict):
        return []
    if "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        return _resolve(root, target)
    branches = [b for key in ("anyOf", "oneOf", "allOf") for b in schema.get(key, [])]
    return [schema] + [s for branch in branches for s in _resolve(root, branch)]


def _descend(root: dict, schema: dict, steps: list[str | int]) -> list[dict]:
    """Every schema that may apply at ``steps`` below ``schema`` (any branch of a union may be the one)."""
    current = _resolve(root, schema)
    for step in steps:
        following: list[dict] = []
        for node in current:
            if isinstance(step, int) and "items" in node:
                following += _resolve(root, node["items"])
            elif isinstance(step, str) and step in node.get("properties", {}):
                following += _resolve(root, node["properties"][step])
        current = following
    return current


def _masking(root: dict, schemas: list[dict], value: Any, where: str) -> tuple[Any, list[str]]:
    """``value`` with every secret the schemas mark replaced by ``[secret]``, and the paths of those secrets."""
    if any(node.get("writeOnly") for node in schemas) and value not in (None, ""):
        return SECRET_MASK, [where]
    if isinstance(value, dict):
        steps = [(key, f"{where}.{key}") for key in value]
    elif isinstance(value, list):
        steps = [(index, f"{where}[{index}]") for index in range(len(value))]
    else:
        return value, []
    shown, found = {}, []
    for step, at in steps:
        shown[step], inner = _masking(root, _descend(root, {"anyOf": schemas}, [step]), value[step], at)
        found += inner
    return (shown if isinstance(value, dict) else list(shown.values())), found
