"""The embedded engine's SDK host adjustments: a dynamic provider is pickled once per class and plain state,
and the reused bytes still load as the provider; URNs and unknowns come out as the SDK computes them
(engine.sdk_host)."""

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

from engine import sdk_host

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
        (dynamic, "_serialize"),
        (pulumi_stack, "wait_for_rpcs"),
        (pulumi_resource, "_get_stack_trace"),
        (pulumi_resource, "create_urn"),
        (rpc, "contains_unknowns"),
        (rpc, "transfer_properties"),
        (log, "debug"),
    ):
        monkeypatch.setattr(module, name, getattr(module, name))
    monkeypatch.setattr(sdk_host, "_serialized_providers", {})
    sdk_host.adjust_sdk()
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

    assert cached_again == cached == sdk_host._sdk_functions["serialize_provider"](OptionProvider("x"))


def test_a_cached_provider_is_reported_without_secrets(pickles):
    first = dynamic._serialize(True, dynamic.serialize_provider, OptionProvider("s"))
    again = dynamic._serialize(True, dynamic.serialize_provider, OptionProvider("s"))

    assert first == again == (dynamic.serialize_provider(OptionProvider("s")), False)
    assert len(pickles) == 1


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
        ours = sdk_host._create_urn("name", "pkg:mod:Kind", parent, "proj", "dev")
        theirs = sdk_host._sdk_functions["create_urn"]("name", "pkg:mod:Kind", parent, "proj", "dev")
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
    assert sdk_host._contains_unknowns(value) == sdk_host._sdk_functions["contains_unknowns"](value)


class _Registered:
    """Stands in for a resource: the SDK only sets attributes on it and puts it in dependency sets."""


async def _settled(transfer, values: dict, known: bool, secret: bool, failed: Exception | None) -> dict:
    res, other = _Registered(), _Registered()
    resolvers = transfer(res, {**values, "urn": None}, True)
    for name, resolve in resolvers.items():
        resolve(values[name], known, secret, {other}, failed)
    settled = {"unset": sorted({"id", "urn"} - set(vars(res)))}
    for name in resolvers:
        output = res.__dict__[name]
        try:
            data = await output._data
        except RuntimeError as exc:
            settled[name] = ("failed", str(exc))
        else:
            settled[name] = (data.value, data.is_known, data.is_secret, data.resources == {res, other})
    return settled


@pytest.mark.parametrize(
    ("known", "secret", "failed"),
    [(True, False, None), (False, False, None), (True, True, None), (True, False, RuntimeError("refused"))],
)
def test_property_outputs_settle_as_the_sdks_do(pickles, known, secret, failed):
    values = {"name": "x", "size": 3, "nested": {"a": [UNKNOWN_VALUE]}, "id": "the-id"}

    async def both() -> tuple[dict, dict]:
        ours = await _settled(sdk_host._transfer_properties, values, known, secret, failed)
        theirs = await _settled(sdk_host._sdk_functions["transfer_properties"], values, known, secret, failed)
        return ours, theirs

    ours, theirs = asyncio.run(both())

    assert ours == theirs
    assert ours["unset"] == ["id", "urn"]
    assert ours["nested"] == ("failed", "refused") if failed else ours["nested"][1] is False
