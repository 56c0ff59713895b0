"""The stack file's JSON Schema: generated from the model, shipped next to the stack files, naming them all valid
and refusing the structural mistakes the spec loader refuses."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from components.spec import StackConfigError, load_stack_file
from components.spec.schema import SCHEMA_FILE, SHIPPED, rendered, stack_file_schema

STACKS = Path(__file__).resolve().parent.parent / "stacks"
SANDBOX = yaml.safe_load((STACKS / "Pulumi.sandbox.yaml").read_text())


def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(stack_file_schema())


def test_the_shipped_schema_is_the_generated_one():
    assert SHIPPED.read_text() == rendered(), "regenerate it: python -m components.spec.schema"


def test_the_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(json.loads(SHIPPED.read_text()))


@pytest.mark.parametrize("stack", ["sandbox", "dev", "staging", "prod"])
def test_every_shipped_stack_file_names_the_schema_and_satisfies_it(stack):
    path = STACKS / f"Pulumi.{stack}.yaml"
    assert path.read_text().splitlines()[0] == f"# yaml-language-server: $schema={SCHEMA_FILE}"
    assert list(validator().iter_errors(yaml.safe_load(path.read_text()))) == []


def _broken(change) -> dict:
    document = copy.deepcopy(SANDBOX)
    change(document["config"])
    return document


BROKEN = {
    "unknown top-level key": lambda c: c.__setitem__("fleetform:clustres", []),
    "unknown kind (V6)": lambda c: c["fleetform:clusters"][0].__setitem__("kind", "openshift"),
    "unknown field in the hub": lambda c: c["fleetform:hub"].__setitem__("colour", "red"),
    "value outside the allowed ones": lambda c: c["fleetform:hub"].__setitem__("ocm", "maybe"),
    "unknown permission role (FF-PERM-001)": lambda c: c["fleetform:permissions"][0].__setitem__("role", "root"),
    "text where a boolean belongs": lambda c: c["fleetform:clusters"][0].__setitem__("deletion_protection", "maybe"),
    "no hub": lambda c: c.pop("fleetform:hub"),
    "a cluster without a name": lambda c: c["fleetform:clusters"][0].pop("name"),
}


@pytest.mark.parametrize("mistake", BROKEN)
def test_structural_mistakes_are_refused_by_the_schema_and_the_loader_alike(mistake, tmp_path):
    document = _broken(BROKEN[mistake])

    assert list(validator().iter_errors(document)), f"the schema accepts: {mistake}"
    path = tmp_path / "Pulumi.broken.yaml"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(StackConfigError):
        load_stack_file(path)


def test_secrets_are_marked_write_only_for_editors_and_config_set():
    definitions = stack_file_schema()["$defs"]
    hub = stack_file_schema()["properties"]["config"]["properties"]["fleetform:hub"]
    hub_fields = definitions[hub["$ref"].rsplit("/", 1)[1]]["properties"] if "$ref" in hub else hub["properties"]
    assert any(branch.get("writeOnly") for branch in hub_fields["kubeconfig"]["anyOf"])
    assert not any(
        branch.get("writeOnly") for branch in hub_fields["kubeconfig_env"].get("anyOf", [hub_fields["kubeconfig_env"]])
    )
