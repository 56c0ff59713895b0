"""Property-level differences between two input trees, and the path syntax they use.

Paths follow Pulumi's property-path syntax: ``spec.replicas``, ``containers[0].image``,
``metadata.labels["app.kubernetes.io/name"]``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .secrets import MASK, UNKNOWN, is_secret, mask_secrets

_SIMPLE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_PATH_TOKEN = re.compile(r'\.?([A-Za-z_][A-Za-z0-9_-]*|\*)|\[(\d+|\*)\]|\["((?:[^"\\]|\\.)*)"\]')


@dataclass(frozen=True)
class PropertyChange:
    path: str
    kind: str  # "add" | "delete" | "update"
    old: Any = None
    new: Any = None

    def for_display(self) -> dict:
        """Old/new values with secrets masked and unknowns spelled out."""
        return {
            "path": self.path,
            "kind": self.kind,
            "old": mask_secrets(self.old),
            "new": mask_secrets(self.new),
        }


def join_path(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    if _SIMPLE_KEY.match(key):
        return f"{parent}.{key}" if parent else key
    escaped = key.replace("\\", "\\\\").replace('"', '\\"')
    return f'{parent}["{escaped}"]'


def parse_path(path: str) -> list[str | int]:
    """``a.b[0]["c.d"]`` -> ``["a", "b", 0, "c.d"]``; ``*`` matches any key or index."""
    tokens: list[str | int] = []
    pos = 0
    while pos < len(path):
        match = _PATH_TOKEN.match(path, pos)
        if not match or match.end() == pos:
            raise ValueError(f"invalid property path '{path}' at position {pos}")
        name, index, quoted = match.groups()
        if name is not None:
            tokens.append(name)
        elif index is not None:
            tokens.append("*" if index == "*" else int(index))
        else:
            tokens.append(quoted.replace('\\"', '"').replace("\\\\", "\\"))
        pos = match.end()
    return tokens


def _plain(value: Any) -> Any:
    return value.get("value") if is_secret(value) else value


def diff_properties(old: Any, new: Any, path: str = "") -> list[PropertyChange]:
    """Every leaf-level difference between ``old`` and ``new``.

    Secret-wrapped values compare by content, and a value that became or stopped being secret
    counts as a change.
    """
    return list(_walk(old, new, path))


def _walk(old: Any, new: Any, path: str) -> Iterator[PropertyChange]:
    if is_secret(old) or is_secret(new):
        if is_secret(old) != is_secret(new) or _plain(old) != _plain(new):
            yield PropertyChange(path, "update", old, new)
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(old.keys() | new.keys()):
            sub = join_path(path, key)
            if key not in new:
                yield PropertyChange(sub, "delete", old[key], None)
            elif key not in old:
                yield PropertyChange(sub, "add", None, new[key])
            else:
                yield from _walk(old[key], new[key], sub)
        return
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            yield from _walk(a, b, join_path(path, index))
        return
    if old != new or new == UNKNOWN:
        yield PropertyChange(path, "update", old, new)


def restrict_to(shape: Any, value: Any) -> Any:
    """``value`` with only the map keys that ``shape`` has, recursively (lists are kept whole).

    Used to compare what a program manages of an object (its inputs' shape) while ignoring what the
    server adds around it (status, resource versions, defaults)."""
    if is_secret(value):
        return value
    if isinstance(shape, dict) and isinstance(value, dict):
        return {k: restrict_to(shape[k], v) for k, v in value.items() if k in shape}
    return value


def path_matches(pattern: str, path: str) -> bool:
    """Whether the change at ``path`` falls under ``pattern`` (equal to it or below it)."""
    want, have = parse_path(pattern), parse_path(path)
    if len(have) < len(want):
        return False
    return all(w == "*" or w == h for w, h in zip(want, have, strict=False))  # have may go deeper


def apply_ignore_changes(old: dict, new: dict, patterns: list[str]) -> dict:
    """``new`` with the values under each ignored path taken from ``old`` (as Pulumi does)."""
    if not patterns:
        return new
    result = _copy(new)
    for pattern in patterns:
        _copy_path(old, result, parse_path(pattern))
    return result


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _copy_path(source: Any, target: Any, tokens: list[str | int]) -> None:
    head, rest = tokens[0], tokens[1:]
    if head == "*":
        keys = (
            list(source.keys()) if isinstance(source, dict) else range(len(source)) if isinstance(source, list) else []
        )
    else:
        keys = [head]
    for key in keys:
        src_has = _has(source, key)
        if not rest:
            if src_has:
                _set(target, key, _copy(source[key]))
            elif _has(target, key) and isinstance(target, dict):
                del target[key]
        elif src_has and _has(target, key):
            _copy_path(source[key], target[key], rest)
        elif src_has and isinstance(target, dict):
            target[key] = _copy(source[key])


def _has(container: Any, key: str | int) -> bool:
    if isinstance(container, dict):
        return key in container
    if isinstance(container, list) and isinstance(key, int):
        return 0 <= key < len(container)
    return False


def _set(container: Any, key: str | int, value: Any) -> None:
    if isinstance(container, dict) or (isinstance(container, list) and isinstance(key, int) and key < len(container)):
        container[key] = value


__all__ = [
    "MASK",
    "PropertyChange",
    "apply_ignore_changes",
    "diff_properties",
    "join_path",
    "parse_path",
    "path_matches",
    "restrict_to",
]
