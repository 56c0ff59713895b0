"""One module per cluster kind behind the protocol in :mod:`providers.clouds.base`.

``source_for(kind, identity, endpoint)`` finds the kind's module (``providers.clouds.<kind>``) and
returns its ClusterSource; ``kind_problems(kind, description, name)`` runs the kind's own preview
rules. Which kinds exist, and which identity fields each needs, is the stack model's knowledge: a
kind is valid here when its module exists, and a missing identity field is reported by name.
"""

from __future__ import annotations

import importlib

from ..errors import ErrorCode, Problem
from .base import CloudError, ClusterDescription, ClusterSource


def _module(kind: str):
    """The kind's module: one that exists under this package and defines ``source``."""
    name = f"{__name__}.{kind}"
    try:
        module = importlib.import_module(name) if kind.isidentifier() else None
    except ModuleNotFoundError as exc:
        if exc.name != name:  # the kind exists but one of its SDKs is missing: say so
            raise
        module = None
    if not hasattr(module, "source"):
        raise CloudError("invalid", f"unknown cluster kind '{kind}'", ErrorCode.KIND_UNKNOWN)
    return module


def source_for(kind: str, identity: dict, endpoint: str | None = None) -> ClusterSource:
    try:
        return _module(kind).source(identity, endpoint or None)
    except KeyError as exc:  # the stack model validates identities; this guards direct callers
        raise CloudError(
            "invalid", f"kind {kind} requires {exc.args[0]}; missing: {exc.args[0]}", ErrorCode.KIND_IDENTITY_MISSING
        ) from exc


def kind_problems(kind: str, description: ClusterDescription, name: str) -> list[Problem]:
    check = getattr(_module(kind), "check", None)
    return list(check(description, name)) if check else []
