"""What every part of the stack model shares: reserved names, minimum versions, the strict base model, and the
problem types that carry what is wrong in a stack file back to the user."""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import pulumi
from pydantic import BaseModel, ConfigDict
from pydantic_core import PydanticCustomError

NAMESPACE = "fleetform"
TOP_LEVEL_KEYS = ("sandbox", "hub", "clusters", "fleets", "federations", "permissions")

NAME_PATTERN = re.compile(r"[a-z][a-z0-9-]{2,38}[a-z0-9]")  # N1
RESERVED_NAMES = frozenset({"default", "global"})
RESERVED_NAME_PREFIXES = ("fleetform-", "karmada-", "open-cluster-management", "kube-")
DEFAULT_CLUSTERSET = "default"  # the OCM set of clusters in no fleet (DOMAIN §5.2)

MIN_KUBERNETES_VERSION = "1.19"  # V9
FEDERATION_MIN_KUBERNETES_VERSION = "1.21"  # V10: members of a fleet bound to a federation


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or worth a warning) in a stack: where, what, and what would be right."""

    path: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" + (f" ({self.hint})" if self.hint else "")


class StackConfigError(pulumi.RunError):
    """The stack configuration is invalid; ``problems`` lists every problem found, not just the first."""

    def __init__(self, source: str, problems: Sequence[Problem]):
        self.source = source
        self.problems = list(problems)
        super().__init__("\n".join(f"{source}: {problem}" for problem in self.problems))


class Issue(NamedTuple):
    """A problem a model finds in its own inputs, keyed relative to the item (the rules add the item's path)."""

    keys: tuple[str | int, ...]
    message: str
    hint: str = ""
    warning: bool = False


def invalid(message: str, hint: str = "") -> PydanticCustomError:
    """A pydantic error whose message is already user-facing; the hint travels in the error context."""
    return PydanticCustomError("fleetform", message, {"hint": hint})


class StrictModel(BaseModel):
    """Unknown keys are errors: a misspelt key in a stack file must not be silently ignored."""

    model_config = ConfigDict(extra="forbid")
