"""Loading a stack: Pulumi config (or a stack file) -> parsed sections -> rules -> :class:`FleetSpec`.

Two layers, so that every problem in a stack file is reported at once and under its config key:

1. **Structure** (pydantic): types, required keys, allowed values, formats (names of cloud resources, durations,
   CIDRs, URLs, labels). Each list item is validated on its own, so one broken cluster does not hide the others.
2. **DOMAIN rules** (rules.py): the preview-time static rules of DOMAIN.md §3 that relate several inputs or
   several entities (V1-V3, V7 for idc, V14, V16, V18, V25 warnings, V33, V34, V38, V39, V43, references).
   They run over whatever parsed, each problem carrying its Pulumi key path, e.g. ``fleetform:clusters[3].region``.
"""

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi
import pulumi.runtime.config as pulumi_config
from pydantic import TypeAdapter, ValidationError

from engine.yaml_input import YamlInputError, read_yaml

from .clusters import ClusterSpec
from .common import NAMESPACE, TOP_LEVEL_KEYS, Problem, StackConfigError
from .errors import problems_from, shown
from .federations import Federation
from .fleets import Fleet
from .hub import Hub
from .permissions import FleetPermission
from .report import ParsedStack, Report
from .rules import RULES
from .stack import FleetSpec

_HUB_ADAPTER = TypeAdapter(Hub)
_LIST_SECTIONS: dict[str, TypeAdapter[Any]] = {
    "clusters": TypeAdapter(ClusterSpec),
    "fleets": TypeAdapter(Fleet),
    "federations": TypeAdapter(Federation),
    "permissions": TypeAdapter(FleetPermission),
}


def _parse_stack(values: Mapping[str, Any], report: Report) -> ParsedStack:
    sandbox = _parse_sandbox(values.get("sandbox"), report)
    raw_hub = values.get("hub")
    if raw_hub is None:
        report.error(
            ("hub",),
            "field required",
            "every stack declares its hub, e.g. {name: hub-prod, kubeconfig_env: HUB_KUBECONFIG}",
        )
    hub = None if raw_hub is None else _parse_item(_HUB_ADAPTER, raw_hub, ("hub",), report)
    items, names = {}, {}
    for section, adapter in _LIST_SECTIONS.items():
        raw_items = _section_list(values.get(section), section, report)
        parsed = [(i, _parse_item(adapter, raw, (section, i), report)) for i, raw in enumerate(raw_items)]
        items[section] = [(i, item) for i, item in parsed if item is not None]
        names[section] = [(i, name) for i, raw in enumerate(raw_items) if (name := _raw_name(raw)) is not None]
    return ParsedStack(sandbox, hub, _raw_name(raw_hub), items, names)


def _raw_name(raw: object) -> str | None:
    name = raw.get("name") if isinstance(raw, dict) else None
    return name if isinstance(name, str) else None


def _parse_sandbox(value: object, report: Report) -> bool:
    if value is None:
        return False
    try:
        return TypeAdapter(bool).validate_python(value)
    except ValidationError:
        report.error(("sandbox",), f"invalid value {shown(value)}", "allowed: true, false")
        return False


def _section_list(value: object, section: str, report: Report) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        report.error((section,), "expected a list", f"write {NAMESPACE}:{section} as a YAML list of mappings")
        return []
    return value


def _parse_item(adapter: TypeAdapter[Any], raw: object, loc: tuple[str | int, ...], report: Report) -> Any:
    try:
        return adapter.validate_python(raw)
    except ValidationError as exc:
        report.errors.extend(problems_from(exc, loc))
        return None


def spec_from_config(config: Mapping[str, Any], source: str) -> FleetSpec:
    """Validate decoded config values keyed ``"fleetform:<key>"``; other namespaces are ignored.

    Raises :class:`StackConfigError` listing every problem, each prefixed with ``source`` (the stack file).
    """
    report = Report()
    values = _fleetform_values(config, report)
    stack = _parse_stack(values, report)
    for rule in RULES:
        rule(stack, report)
    if report.errors:
        raise StackConfigError(source, report.errors)
    return FleetSpec(
        sandbox=stack.sandbox,
        hub=stack.hub,
        **{section: [item for _, item in stack.items[section]] for section in _LIST_SECTIONS},
        warnings=report.warnings,
    )


def _fleetform_values(config: Mapping[str, Any], report: Report) -> dict[str, Any]:
    values = {}
    for key, value in config.items():
        namespace, _, name = key.partition(":")
        if namespace != NAMESPACE:
            continue
        if name in TOP_LEVEL_KEYS:
            values[name] = value
        else:
            report.errors.append(
                Problem(
                    key,
                    f"unknown key '{key}'",
                    "valid keys: " + ", ".join(f"{NAMESPACE}:{known}" for known in TOP_LEVEL_KEYS),
                )
            )
    return values


def spec_from_pulumi_config() -> FleetSpec:
    """The spec of the running Pulumi program's stack (object values arrive JSON-encoded)."""
    config = {}
    for key in _configured_keys():
        value = pulumi_config.get_config(key)
        if value is not None:
            config[key] = _json_or_text(value)
    return spec_from_config(config, f"stacks/Pulumi.{pulumi.get_stack()}.yaml")


def _configured_keys() -> list[str]:
    """The known keys plus every other ``fleetform:`` key that is set, so that misspelt keys are reported."""
    present = [*pulumi_config.CONFIG.get(), *pulumi_config.get_config_env()]
    known = [f"{NAMESPACE}:{key}" for key in TOP_LEVEL_KEYS]
    return known + sorted({key for key in present if key.startswith(f"{NAMESPACE}:") and key not in known})


def _json_or_text(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def load_stack_file(path: str | os.PathLike[str]) -> FleetSpec:
    """Validate a Pulumi stack file (``config:`` mapping). Keys without a namespace belong to the project."""
    source = str(path)
    try:  # the CLI's reader: plain JSON-like values within size, depth and alias limits
        document = read_yaml(Path(path))
    except YamlInputError as exc:
        raise StackConfigError(source, [Problem(exc.where or "file", exc.problem)]) from None
    config = document.get("config") if isinstance(document, dict) else None
    if not isinstance(config, dict):
        raise StackConfigError(
            source,
            [
                Problem(
                    "config",
                    "expected a mapping of config keys",
                    f"e.g. config: {{{NAMESPACE}:hub: {{name: hub-dev}}}}",
                )
            ],
        )
    return spec_from_config({_namespaced(str(key)): value for key, value in config.items()}, source)


def _namespaced(key: str) -> str:
    return key if ":" in key else f"{NAMESPACE}:{key}"
