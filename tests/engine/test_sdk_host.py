"""The embedded engine's SDK host adjustments: a dynamic provider is pickled once per class and plain state,
and the reused bytes still load as the provider; URNs and unknowns come out as the SDK computes them
(engine.program.adjust_sdk)."""

from __future__ import annotations

import asyncio
import base64
import threading

import dill
import pytest
from pulumi import log
from pulumi.dynamic import ResourceProvider, dynamic
from pulumi.output import Unknown
from pulumi.runtime import resource as pulumi_resource
from pulumi.runtime import rpc
from pulumi.runtime import stack as pulumi_stack

from engine import program

UNKNOWN_VALUE = Unknown()


class PlainProvider(ResourceProvider):
    def create(self, props):
        raise NotImplementedError


class OptionProvider(ResourceProvider):
    def __init__(self, mode: str = "normal", fault: None = None):
        self.mode, self.fault = mode, fault


class HoldingProvider(ResourceProvider):
    def __init__(self):
        self.lock = threading.Lock()  # state that is not a plain value: its pickle may differ


@pytest.fixture
def pickles(monkeypatch) -> list[object]:
    """Apply the engine's adjustments for this test only; the list records what dill pickled."""
    for module, name in (
        (dynamic, "serialize_provider"),
        (pulumi_stack, "wait_for_rpcs"),
        (pulumi_resource, "_get_stack_trace"),
        (pulumi_resource, "create_urn"),
        (rpc, "contains_unknowns"),
        (log, "debug"),
    ):
        monkeypatch.setattr(module, name, getattr(module, name))
    monkeypatch.setattr(program, "_serialized_providers", {})
    program.adjust_sdk()
    pickled: list[object] = []
    real_dumps = dill.dumps

    def counting_dumps(obj, *args, **kwargs):
        pickled.append(obj)
        return real_dumps(obj, *args, **kwargs)

    monkeypatch.setattr(dill, "dumps", counting_dumps)
    return pickled


def _load(serialized: str):
    return dill.loads(base64.b64decode(serialized))


def test_each_provider_class_and_state_is_pickled_once(pickles):
    plain = [dynamic.serialize_provider(PlainProvider()) for _ in range(50)]
    normal = [dynamic.serialize_provider(OptionProvider()) for _ in range(50)]
    other = [dynamic.serialize_provider(OptionProvider("other")) for _ in range(50)]

    assert len(pickles) == 3
    assert len(set(plain)) == len(set(normal)) == len(set(other)) == 1
    assert type(_load(plain[0])) is PlainProvider
    assert vars(_load(normal[0])) == {"mode": "normal", "fault": None}
    assert vars(_load(other[0])) == {"mode": "other", "fault": None}


def test_reused_bytes_are_what_the_sdk_itself_writes(pickles):
    cached = dynamic.serialize_provider(OptionProvider("x"))
    cached_again = dynamic.serialize_provider(OptionProvider("x"))

    assert cached_again == cached == program._sdk_functions["serialize_provider"](OptionProvider("x"))


def test_providers_whose_pickle_may_differ_are_pickled_every_time(pickles):
    for _ in range(5):
        dynamic.serialize_provider(HoldingProvider())
    local = type("LocalProvider", (ResourceProvider,), {"__module__": "__main__"})
    for _ in range(5):
        dynamic.serialize_provider(local())

    assert len(pickles) == 10


@pytest.mark.parametrize(
    "parent",
    [None, "urn:pulumi:dev::proj::pkg:index:Parent::p", "urn:pulumi:dev::proj::a:b:C$pkg:index:Parent::p"],
)
def test_urns_are_the_ones_the_sdk_computes(pickles, parent):
    async def both() -> tuple[str, str]:
        ours = program._create_urn("name", "pkg:mod:Kind", parent, "proj", "dev")
        theirs = program._sdk_functions["create_urn"]("name", "pkg:mod:Kind", parent, "proj", "dev")
        return await ours.future(), await theirs.future()

    ours, theirs = asyncio.run(both())

    assert ours == theirs


def _cyclic() -> dict:
    value: dict = {"a": [1, "x"]}
    value["self"] = value
    return value


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        None,
        UNKNOWN_VALUE,
        {"a": 1, "b": ["x", {"c": 2}]},
        {"a": 1, "b": ["x", {"c": UNKNOWN_VALUE}]},
        [[[], {}], [UNKNOWN_VALUE]],
        _cyclic(),
    ],
)
def test_unknowns_are_found_as_the_sdk_finds_them(pickles, value):
    assert program._contains_unknowns(value) == program._sdk_functions["contains_unknowns"](value)
