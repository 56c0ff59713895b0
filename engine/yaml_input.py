"""Reading YAML a person wrote (``Pulumi.yaml``, stack files) into plain JSON-like values, within limits.

Only what JSON can say is accepted: mappings with string keys, lists, strings, integers, finite
floats, booleans and null. Anything else YAML can express (dates, ``!!binary``, ``!!set``, custom
tags, merge keys, duplicate keys) is refused with its key path, because the value would otherwise
reach the program as something it cannot encode or does not expect. The document is composed into
nodes first (aliases stay shared, so this is linear in the text) and then built by a walk that
counts every node it produces, which bounds alias expansion ("billion laughs") and nesting; a size
limit comes before everything. Every problem is an :class:`InvalidInputError` naming the file, the
line and, where there is one, the key path.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import InvalidInputError

MAX_BYTES = 1 << 20
MAX_DEPTH = 64
MAX_NODES = 100_000

_TAG = "tag:yaml.org,2002:"
_PLAIN_TAGS = {f"{_TAG}{name}" for name in ("str", "int", "float", "bool", "null")}
_TAG_NAMES = {
    "timestamp": "a YAML date or time",
    "binary": "YAML binary data (!!binary)",
    "set": "a YAML set (!!set)",
    "omap": "a YAML ordered map (!!omap)",
    "pairs": "YAML pairs (!!pairs)",
    "merge": "a YAML merge key (<<)",
    "value": "a YAML value key (=)",
}
_ALLOWED = "only text, numbers, true/false, null, lists and mappings are allowed (quote a value to keep it as text)"


class YamlInputError(InvalidInputError):
    """A problem with a YAML file: ``where`` is its line (and key path), empty when it is the whole file."""

    def __init__(self, path: Path, where: str, problem: str):
        super().__init__(f"{path}: {where}: {problem}" if where else f"{path}: {problem}")
        self.path, self.where, self.problem = path, where, problem


def read_yaml(path: Path) -> Any:
    """The document in ``path`` as plain values ({} for an empty file)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise YamlInputError(path, "", f"cannot be read ({exc.strerror})") from exc
    if len(data) > MAX_BYTES:
        raise YamlInputError(path, "", f"{len(data)} bytes; a stack or project file is limited to {MAX_BYTES}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise YamlInputError(
            path, f"line {line}", f"byte 0x{data[exc.start]:02x} is not UTF-8; save the file as UTF-8"
        ) from None
    return parse_yaml(text, path)


def parse_yaml(text: str, path: Path | str) -> Any:
    """``text`` (a document, or a value given on the command line) as plain values; ``path`` names it in errors."""
    loader = None
    try:
        _check_nesting(path, text)
        loader = yaml.SafeLoader(text)
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise YamlInputError(path, where, f"not valid YAML ({exc.problem or exc.context})") from None
    except yaml.YAMLError as exc:  # a reader error: a character YAML does not allow
        position = getattr(exc, "position", None)
        where = f"line {text[:position].count(chr(10)) + 1}" if isinstance(position, int) else ""
        detail = getattr(exc, "reason", None) or str(exc).splitlines()[0]
        raise YamlInputError(path, where, f"not valid YAML ({detail})") from None
    finally:
        if loader is not None:
            loader.dispose()
    if node is None:
        return {}
    return _Builder(path, loader).build(node, "", 0)


def _check_nesting(path: Path | str, text: str) -> None:
    """Refuse deep nesting before composing (the composer recurses once per level)."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1
                raise YamlInputError(path, f"line {line}", f"nested more than {MAX_DEPTH} levels deep")
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


class _Builder:
    """Builds plain values from composed nodes, counting every value produced."""

    def __init__(self, path: Path | str, loader: yaml.SafeLoader):
        self.path, self.loader, self.nodes = path, loader, 0

    def _fail(self, node: Node, where: str, problem: str) -> YamlInputError:
        line = f"line {node.start_mark.line + 1}"
        return YamlInputError(self.path, f"{line}: {where}" if where else line, problem)

    def build(self, node: Node, where: str, depth: int) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self._fail(node, where, f"more than {MAX_NODES} values (are aliases expanding?)")
        if depth > MAX_DEPTH:
            raise self._fail(node, where, f"nested more than {MAX_DEPTH} levels deep (through aliases)")
        if isinstance(node, MappingNode):
            return self._mapping(node, where, depth)
        if isinstance(node, SequenceNode):
            if node.tag != f"{_TAG}seq":
                raise self._fail(node, where, self._refusal(node.tag))
            return [self.build(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(node.value)]
        return self._scalar(node, where)

    def _mapping(self, node: MappingNode, where: str, depth: int) -> dict:
        if node.tag != f"{_TAG}map":
            raise self._fail(node, where, self._refusal(node.tag))
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == f"{_TAG}merge":
                raise self._fail(key_node, where, self._refusal(key_node.tag))
            key = self._scalar(key_node, where) if isinstance(key_node, ScalarNode) else None
            if not isinstance(key, str):
                raise self._fail(key_node, where, "a key must be text (quote it)")
            path = f"{where}.{key}" if where else key
            if key in result:
                raise self._fail(key_node, path, "this key appears twice; keep one")
            result[key] = self.build(value_node, path, depth + 1)
        return result

    def _scalar(self, node: Node, where: str) -> Any:
        if not isinstance(node, ScalarNode) or node.tag not in _PLAIN_TAGS:
            raise self._fail(node, where, self._refusal(node.tag))
        try:
            value = self.loader.construct_object(node)
        except (ValueError, yaml.YAMLError) as exc:
            raise self._fail(node, where, f"not a valid {node.tag.removeprefix(_TAG)} ({exc})") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise self._fail(node, where, f"{node.value!r} is not a finite number")
        return value

    @staticmethod
    def _refusal(tag: str) -> str:
        name = tag.removeprefix(_TAG)
        return f"{_TAG_NAMES.get(name, f'a value tagged {tag}')} is not allowed; {_ALLOWED}"
