"""``labelSelector`` and ``fieldSelector`` query parameters: parsing and matching.

Label requirements (comma-separated, ANDed): ``k=v``, ``k==v``, ``k!=v``, ``k in (a,b)``,
``k notin (a,b)``, ``k`` (exists), ``!k`` (does not exist). Field selectors support ``=``,
``==`` and ``!=`` on the labels each resource has (:mod:`fieldlabels`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from . import errors
from .fieldlabels import labels_for

Matcher = Callable[[dict], bool]

_SET_OP = re.compile(r"^\s*(!?)\s*([^\s!=(),]+)\s+(in|notin)\s*\(([^)]*)\)\s*$")
_EQ_OP = re.compile(r"^\s*([^\s!=(),]+)\s*(==|=|!=)\s*([^\s!=(),]*)\s*$")
_EXISTS = re.compile(r"^\s*(!?)\s*([^\s!=(),]+)\s*$")


def _split(selector: str) -> list[str]:
    """Split on commas that are not inside ``( )``."""
    parts, depth, current = [], 0, ""
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p for p in parts if p.strip()]


def _label_requirement(text: str) -> Callable[[dict], bool]:
    if m := _SET_OP.match(text):
        if m.group(1):
            raise errors.bad_request(f"unable to parse requirement: {text!r}")
        key, op = m.group(2), m.group(3)
        values = {v.strip() for v in m.group(4).split(",") if v.strip()}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if m := _EQ_OP.match(text):
        key, op, value = m.groups()
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if m := _EXISTS.match(text):
        negate, key = m.groups()
        if negate:
            return lambda labels: key not in labels
        return lambda labels: key in labels
    raise errors.bad_request(f"unable to parse requirement: {text!r}")


def label_matcher(selector: str | None) -> Matcher:
    requirements = [_label_requirement(p) for p in _split(selector or "")]
    return lambda obj: all(r(obj.get("metadata", {}).get("labels") or {}) for r in requirements)


def field_matcher(selector: str | None, key: tuple[str, str] | None = None) -> Matcher:
    """Matcher for a field selector on the resource with storage ``key`` (see :mod:`fieldlabels`)."""
    supported = labels_for(key)
    checks = []
    for part in _split(selector or ""):
        m = re.match(r"^\s*([^!=\s]+)\s*(==|=|!=)\s*(.*?)\s*$", part)
        if not m or m.group(1) not in supported:
            field = m.group(1) if m else part
            raise errors.bad_request(f"field label not supported: {field}")
        checks.append((supported[m.group(1)], m.group(2) == "!=", m.group(3)))
    return lambda obj: all((get(obj) != value) if negate else (get(obj) == value) for get, negate, value in checks)


def name_from_field_selector(selector: str | None) -> str | None:
    """The name pinned by ``metadata.name=<n>`` (used to authorize by resourceNames)."""
    for part in _split(selector or ""):
        m = re.match(r"^\s*metadata\.name\s*(==|=)\s*(.*?)\s*$", part)
        if m:
            return m.group(2)
    return None
