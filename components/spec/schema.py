"""The JSON Schema of a stack file (``stacks/Pulumi.<stack>.yaml``), generated from the stack model.

It describes the structure only (types, required keys, allowed values, formats); the rules across entities
(DOMAIN §3) are checked by ``fleetform preview``/``validate``. Secret fields carry ``writeOnly: true`` (pydantic's
``SecretStr``), which ``fleetform config set`` uses to refuse writing a secret into the file in plain text.

The generated schema is shipped as ``stacks/fleetform-stack.schema.json`` and every shipped stack file names it on
its first line (``# yaml-language-server: $schema=fleetform-stack.schema.json``), so editors complete and check
stack files. Regenerate it after a model change with ``python -m components.spec.schema``; a test fails while
the shipped file is stale.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from .clusters import ClusterSpec
from .common import NAMESPACE, TOP_LEVEL_KEYS
from .federations import Federation
from .fleets import Fleet
from .hub import Hub
from .permissions import FleetPermission

SCHEMA_FILE = "fleetform-stack.schema.json"
SHIPPED = Path(__file__).resolve().parents[2] / "stacks" / SCHEMA_FILE

_SECTIONS: dict[str, Any] = {
    "sandbox": bool,
    "hub": Hub,
    "clusters": list[ClusterSpec],
    "fleets": list[Fleet],
    "federations": list[Federation],
    "permissions": list[FleetPermission],
}
_DESCRIPTIONS = {
    "sandbox": "Run on the local emulators (the sandbox stack) instead of real clouds.",
    "hub": "The OCM hub every cluster registers into.",
    "clusters": "The clusters you already run, one entry per cluster; `kind` selects the model.",
    "fleets": "Groups of clusters (OCM ManagedClusterSets), optionally spanned by a federation.",
    "federations": "Karmada control planes over fleets, with workloads and policies.",
    "permissions": "RBAC granted on the members of a fleet or on one cluster.",
}
# Pulumi's own stack-file keys next to `config`.
_PULUMI_KEYS = {
    "secretsprovider": {"type": "string"},
    "encryptedkey": {"type": "string"},
    "encryptionsalt": {"type": "string"},
    "environment": {"type": ["array", "object"]},
}


def stack_file_schema() -> dict[str, Any]:
    """The schema of a whole stack file (draft 2020-12); other namespaces' config keys are left open."""
    definitions: dict[str, Any] = {}
    config: dict[str, Any] = {}
    for key in TOP_LEVEL_KEYS:  # a new top-level key without a model here fails loudly
        schema = TypeAdapter(_SECTIONS[key]).json_schema(mode="validation", ref_template="#/$defs/{model}")
        definitions.update(schema.pop("$defs", {}))
        schema["description"] = _DESCRIPTIONS[key]
        config[f"{NAMESPACE}:{key}"] = schema
        config[key] = {"$ref": f"#/properties/config/properties/{NAMESPACE}:{key}"}  # bare keys are the project's
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://fleetform.dev/schemas/{SCHEMA_FILE}",
        "title": "fleetform stack file",
        "description": "stacks/Pulumi.<stack>.yaml: the estate of one environment.",
        "type": "object",
        "properties": {
            **_PULUMI_KEYS,
            "config": {
                "type": "object",
                "properties": config,
                # other namespaces' keys are theirs; any other key of the project's (with or without `fleetform:`)
                # is a typo
                "patternProperties": {f"^(?!{NAMESPACE}:)[^:]+:.+$": {}},
                "additionalProperties": False,
                "anyOf": [{"required": [f"{NAMESPACE}:hub"]}, {"required": ["hub"]}],
            },
        },
        "required": ["config"],
        "additionalProperties": False,
        "$defs": dict(sorted(definitions.items())),
    }


def rendered() -> str:
    """The schema as the shipped file holds it."""
    return json.dumps(stack_file_schema(), indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    SHIPPED.write_text(rendered())
    print(f"wrote {SHIPPED}")
