"""Kubeconfig YAML read and written through libyaml (PyYAML's wheels are built with it; the pure-Python classes
stand in where it is missing). A run parses and renders a kubeconfig for every cluster it reaches, several
times over for cloud clusters (their credential plugin answers through a token kubeconfig), and the pure-Python
reader and writer spend milliseconds on each one's long base64 certificate lines."""

from __future__ import annotations

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def load(text: str) -> object:
    """``yaml.safe_load``, faster; raises ``yaml.YAMLError`` alike."""
    return yaml.load(text, Loader=_LOADER)


def dump(document: object) -> str:
    """``yaml.safe_dump(document, sort_keys=False)``, faster: the same text for the mappings of printable ASCII
    fleetform renders (libyaml escapes control and astral characters, and writes empty keys, its own way)."""
    return yaml.dump(document, Dumper=_DUMPER, sort_keys=False)
