"""Where problems are reported: key paths in Pulumi's form, the report the rules fill, and the parsed stack the
rules read."""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .clusters import KINDS
from .common import NAMESPACE, Issue, Problem
from .hub import Hub

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def config_path(loc: Sequence[str | int]) -> str:
    """Render a key path (a pydantic ``loc``) in Pulumi's form, e.g. ``fleetform:clusters[3].region``.

    pydantic inserts keys the user never wrote: the tag of the discriminated cluster union
    (``("clusters", 3, "eks", "region")``) and ``[key]`` for a bad mapping key. Both are dropped.
    """
    text = NAMESPACE
    for position, part in enumerate(_user_keys(loc)):
        if isinstance(part, int):
            text += f"[{part}]"
        elif position == 0:
            text += f":{part}"
        elif _PLAIN_KEY.fullmatch(part):
            text += f".{part}"
        else:
            text += f'["{part}"]'
    return text


def _user_keys(loc: Sequence[str | int]) -> list[str | int]:
    parts = list(loc)
    return [part for i, part in enumerate(parts) if part != "[key]" and not is_kind_tag(parts, i)]


def is_kind_tag(parts: Sequence[str | int], i: int) -> bool:
    """Whether ``parts[i]`` is the kind tag pydantic puts after ``clusters[<n>]``."""
    return i >= 2 and parts[i - 2] == "clusters" and isinstance(parts[i - 1], int) and parts[i] in KINDS


Loc = tuple[str | int, ...]


@dataclass
class Report:
    """The problems found so far, errors and warnings apart, each under its key path."""

    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def error(self, loc: Loc, message: str, hint: str = "") -> None:
        self.errors.append(Problem(config_path(loc), message, hint))

    def warn(self, loc: Loc, message: str, hint: str = "") -> None:
        self.warnings.append(Problem(config_path(loc), message, hint))

    def issues(self, loc: Loc, issues: Iterable[Issue]) -> None:
        """Report what a model found in its own inputs, under the item at ``loc``."""
        for issue in issues:
            (self.warn if issue.warning else self.error)(loc + issue.keys, issue.message, issue.hint)


@dataclass
class ParsedStack:
    """What parsed. Items keep their list index, so rules report the right key even when neighbours failed."""

    sandbox: bool
    hub: Hub | None
    hub_name: str | None
    items: dict[str, list[tuple[int, Any]]]
    names: dict[str, list[tuple[int, str]]]  # the names written in each list, whether or not the item parsed

    def declared(self, section: str) -> list[str]:
        """Names a reference may use: an item that failed to parse still counts, to avoid follow-on errors."""
        return [name for _, name in self.names[section]]
