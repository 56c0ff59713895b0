"""The program code `fleetform import` prints: the declaration that owns what it recorded.

The resource must be declared with the same name, type, parent and provider (they make its URN and
where it lives) and with the recorded inputs; protect as recorded. Kubernetes types become
``pulumi_kubernetes`` classes (``kubernetes:apps/v1:Deployment`` -> ``k8s.apps.v1.Deployment``; a kind of
a group that is not Kubernetes's own -> ``k8s.apiextensions.CustomResource``). Secret values are never
printed: they show as ``pulumi.Output.secret(...)`` for the user to fill in.
"""

from __future__ import annotations

import pprint
import re

from .secrets import MASK, mask_secrets
from .state import ResourceState
from .urn import URN

_BUILT_IN_GROUPS = ("core", "apps", "batch", "policy", "autoscaling")
_SECRET = "pulumi.Output.secret(...)"


def python_code(resource: ResourceState, provider: ResourceState | None, parent: ResourceState | None) -> str:
    """The declaration of ``resource`` in a Pulumi Python program (``import pulumi``, ``pulumi_kubernetes as k8s``)."""
    name = URN.parse(resource.urn).name
    constructor, arguments = _constructor(resource.type, resource.inputs)
    lines = [f"{_identifier(name)} = {constructor}(", f"    {name!r},"]
    lines += [f"    {key}={_literal(value, len(key) + 5)}," for key, value in arguments.items()]
    options = []
    comments = []
    if provider is not None:
        variable = _identifier(URN.parse(provider.urn).name)
        options.append(f"provider={variable}")
        comments.append(f"# {variable}: the program's provider {provider.urn}")
    if parent is not None:
        variable = _identifier(URN.parse(parent.urn).name)
        options.append(f"parent={variable}")
        comments.append(f"# {variable}: the program's {parent.type} {parent.urn}")
    if resource.protect:
        options.append("protect=True")
    if options:
        lines.append(f"    opts=pulumi.ResourceOptions({', '.join(options)}),")
    lines.append(")")
    if _SECRET in "".join(lines):
        comments.append("# pulumi.Output.secret(...): a secret value, not shown; fill it in from where you keep it")
    return "\n".join([*comments, *lines]) + "\n"


def _constructor(type_: str, inputs: dict) -> tuple[str, dict]:
    package, module, kind = type_.split(":")
    fields = {k: v for k, v in inputs.items() if k not in ("apiVersion", "kind")}
    group, _, version = module.rpartition("/")
    short = group.removesuffix(".k8s.io").split(".")[0] if group.endswith(".k8s.io") else group
    if package == "kubernetes" and (group in _BUILT_IN_GROUPS or group.endswith(".k8s.io")):
        return f"k8s.{short}.{version}.{kind}", {_snake(k): v for k, v in fields.items()}
    if package == "kubernetes":
        return "k8s.apiextensions.CustomResource", {"api_version": inputs.get("apiVersion"), "kind": kind, **fields}
    return f"{package}.{module.replace('/', '.')}.{kind}", {_snake(k): v for k, v in fields.items()}


def _literal(value, column: int) -> str:
    """A Python literal of ``value`` starting at ``column``, secrets masked, continued lines aligned."""
    text = pprint.pformat(mask_secrets(value), width=max(100 - column, 40), sort_dicts=False)
    return text.replace(repr(MASK), _SECRET).replace("\n", "\n" + " " * column)


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def _identifier(name: str) -> str:
    text = re.sub(r"\W", "_", name)
    return f"_{text}" if text[:1].isdigit() else text
