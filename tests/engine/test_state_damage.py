"""A state file that is not a valid state of this project and stack stops every command with exit 5,
a message naming the file and the problem, and the file left exactly as it was."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import EXIT_OK, EXIT_STATE, StateError
from engine.state import StateStore


@pytest.fixture
def applied(files_project):
    """A stack applied twice (so a .bak exists), with a secret in its state."""
    files_project.declare({"name": "a", "content": "1", "secret": "pw"}, {"name": "b", "content": "2"})
    assert files_project.cli("up", "--yes").code == EXIT_OK
    files_project.declare({"name": "a", "content": "1", "secret": "pw"}, {"name": "b", "content": "3"})
    assert files_project.cli("up", "--yes").code == EXIT_OK
    return files_project


def _unsealed(document: dict, **changes) -> str:
    """The document as a format-1 (unsealed) file, so that checks behind the seal are reached."""
    legacy = {k: v for k, v in document.items() if k != "integrity"}
    return json.dumps({**legacy, "version": 1, **changes})


def _first_secret(document: dict) -> tuple[int, str]:
    for index, resource in enumerate(document["resources"]):
        if "secret" in resource["inputs"]:
            return index, resource["inputs"]["secret"]["ciphertext"]
    raise AssertionError("no secret in the state")


def _flip_ciphertext(document: dict) -> str:
    index, token = _first_secret(document)
    version, nonce, data = token.split(":")
    raw = bytearray(base64.b64decode(data))
    raw[0] ^= 1
    resources = json.loads(json.dumps(document["resources"]))
    resources[index]["inputs"]["secret"]["ciphertext"] = f"{version}:{nonce}:{base64.b64encode(raw).decode()}"
    return _unsealed(document, resources=resources)


def _with_resource(document: dict, change) -> str:
    resources = json.loads(json.dumps(document["resources"]))
    change(resources[-1])
    return _unsealed(document, resources=resources)


DAMAGE = {
    "empty": (lambda d, text: "", "empty"),
    "null": (lambda d, text: "null", "holds null"),
    "list": (lambda d, text: "[]", "holds a list"),
    "string": (lambda d, text: '"state"', "holds a string"),
    "truncated": (lambda d, text: text[: len(text) // 2], "not valid JSON"),
    "latin-1": (lambda d, text: text.replace('"content":"3"', '"content":"\xe9"'), "cannot be read"),
    "no secrets header": (lambda d, text: _unsealed({k: v for k, v in d.items() if k != "secrets"}), "'secrets'"),
    "salt not base64": (lambda d, text: _unsealed(d, secrets={**d["secrets"], "salt": "%%%"}), "secrets.salt"),
    "short salt": (
        lambda d, text: _unsealed(d, secrets={**d["secrets"], "salt": base64.b64encode(b"x" * 8).decode()}),
        "secrets.salt",
    ),
    "salt missing": (
        lambda d, text: _unsealed(d, secrets={k: v for k, v in d["secrets"].items() if k != "salt"}),
        "secrets.salt",
    ),
    "another stack": (lambda d, text: _unsealed(d, stack="prod"), "stack 'prod'"),
    "another project": (lambda d, text: _unsealed(d, project="other"), "project 'other'"),
    "unknown version": (lambda d, text: _unsealed(d, version=7), "'version' is 7"),
    "seal removed": (lambda d, text: json.dumps({k: v for k, v in d.items() if k != "integrity"}), "seal is missing"),
    "sealed and edited": (lambda d, text: text.replace('"content":"3"', '"content":"4"'), "integrity seal"),
    "resources not a list": (lambda d, text: _unsealed(d, resources={"a": 1}), "'resources' is an object"),
    "resource not an object": (lambda d, text: _unsealed(d, resources=["x"]), "'resources[0]' is a string"),
    "resource without urn": (lambda d, text: _with_resource(d, lambda r: r.pop("urn")), "has no 'urn'"),
    "resource of another stack": (
        lambda d, text: _with_resource(d, lambda r: r.update(urn=r["urn"].replace(":dev::", ":prod::"))),
        "names stack 'prod'",
    ),
    "inputs not an object": (lambda d, text: _with_resource(d, lambda r: r.update(inputs=[])), ".inputs' is a list"),
    "custom not a boolean": (lambda d, text: _with_resource(d, lambda r: r.update(custom="yes")), ".custom'"),
    "flipped ciphertext": (lambda d, text: _flip_ciphertext(d), "does not authenticate"),
    "pending not a list": (lambda d, text: _unsealed(d, pending_operations={"x": 1}), "'pending_operations'"),
    "pending of unknown kind": (
        lambda d, text: _unsealed(
            d, pending_operations=[{"urn": d["resources"][0]["urn"], "type": "t", "operation": "exploding"}]
        ),
        "'pending_operations[0].operation'",
    ),
    "last run not an object": (lambda d, text: _unsealed(d, last_run=[1]), "'last_run' is a list"),
    "history not a list": (lambda d, text: _unsealed(d, history={"kind": "up"}), "'history' is an object"),
    "history entry without kind": (lambda d, text: _unsealed(d, history=[{"result": "ok"}]), "'history[0]' has no"),
}


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_a_damaged_state_is_refused_and_left_alone(applied, damage):
    make, problem = DAMAGE[damage]
    text = applied.state_file.read_text()
    damaged = make(json.loads(text), text)
    assert damaged != text
    if damage == "latin-1":
        applied.state_file.write_bytes(damaged.encode("latin-1"))
    else:
        applied.state_file.write_text(damaged)
    before = applied.state_file.read_bytes()
    for command in (("preview",), ("up", "--yes"), ("refresh", "--yes"), ("destroy", "--yes"), ("stack", "output")):
        run = applied.cli(*command)
        assert run.code == EXIT_STATE, (command, run.out, run.err)
        assert str(applied.state_file) in run.err and "dev.json.bak" in run.err
        if problem:
            assert problem in run.err, run.err
        assert applied.state_file.read_bytes() == before, command
    assert applied.events().count("create a.txt") == 1  # nothing was applied again


def test_the_backup_restores_the_stack(applied):
    backup = applied.state_file.with_name("dev.json.bak")
    applied.state_file.write_text("null")
    assert applied.cli("preview").code == EXIT_STATE
    applied.state_file.write_bytes(backup.read_bytes())
    preview = applied.cli("preview", "--json").json()
    assert {s["op"] for s in preview["steps"]} == {"same", "update"}  # b's last change is not in the backup


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_flipped_bit_in_a_real_state_is_detected(applied, data):
    store = StateStore.for_project(applied.dir)
    original = applied.state_file.read_bytes()
    live, _box = store.load("dev", "filestest")  # the undamaged file loads
    assert len(live.resources()) == 3
    position = data.draw(st.integers(0, len(original) * 8 - 1))
    damaged = bytearray(original)
    damaged[position // 8] ^= 1 << (position % 8)
    applied.state_file.write_bytes(bytes(damaged))
    try:
        with pytest.raises(StateError, match="is not a usable state|passphrase does not open"):
            store.load("dev", "filestest")
    finally:
        applied.state_file.write_bytes(original)
