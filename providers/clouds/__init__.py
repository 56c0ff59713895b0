"""One module per cluster kind behind the protocol in :mod:`providers.clouds.base`.

``source_for(kind, identity, endpoint)`` finds the kind's module and returns its ClusterSource;
``kind_problems(kind, description, name)`` runs the kind's own preview rules.
"""

from __future__ import annotations

import importlib

from .base import ClusterDescription, ClusterSource

KINDS = ("ctyun", "idc", "eks", "gke", "aks", "ack", "tke")


def _module(kind: str):
    if kind not in KINDS:
        raise ValueError(f"FF-KIND-001 unknown cluster kind '{kind}' (expected {', '.join(KINDS)})")
    return importlib.import_module(f"{__name__}.{kind}")


def source_for(kind: str, identity: dict, endpoint: str | None = None) -> ClusterSource:
    return _module(kind).source(identity, endpoint or None)


def kind_problems(kind: str, description: ClusterDescription, name: str) -> list[str]:
    check = getattr(_module(kind), "check", None)
    return list(check(description, name)) if check else []
