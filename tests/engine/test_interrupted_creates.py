"""What the dynamic-provider host says an interrupted create left, per provider (see
engine.providers.DynamicProvider.find_created); the engine adopts, creates again, or leaves it to repair."""

from __future__ import annotations

import base64
import sys

import dill
from pulumi.dynamic import CreateResult, ReadResult, ResourceProvider

from engine.providers import DYNAMIC_PROVIDER_KEY, DynamicProvider, Found
from providers.dynamic.cluster_lookup import ClusterLookupProvider
from providers.dynamic.idc_encryption import IdcEncryptionProvider
from providers.dynamic.registration_status import RegistrationStatusProvider


class NamedThings(ResourceProvider):
    """Things named by their ``name`` input, in a dict standing for the outside world."""

    world: dict = {}

    def create(self, props):
        NamedThings.world[props["name"]] = props["size"]
        return CreateResult(props["name"], props)

    def locate(self, props):
        return props["name"]

    def read(self, id_, props):
        if id_ not in NamedThings.world:
            return ReadResult(None, {})
        return ReadResult(id_, {**props, "size": NamedThings.world[id_]})


def _inputs(provider: ResourceProvider, **props) -> dict:
    """The inputs the SDK would send, the provider pickled by dill as the SDK does. dill walks what the provider's
    module reaches; in a test worker that already ran many other tests that walk went past Python's default
    recursion depth once (a program pickles in a fresh process), so the limit is raised around it."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20_000))
    try:
        pickled = dill.dumps(provider)
    finally:
        sys.setrecursionlimit(limit)
    return {DYNAMIC_PROVIDER_KEY: base64.b64encode(pickled).decode(), **props}


def test_a_provider_that_names_its_resources_finds_what_an_interrupted_create_made():
    host = DynamicProvider({}, "test")
    NamedThings.world.clear()
    assert host.find_created("urn", _inputs(NamedThings(), name="a", size=1)) == Found()  # nothing made yet
    NamedThings.world["a"] = 7
    found = host.find_created("urn", _inputs(NamedThings(), name="a", size=1))
    assert found.id == "a" and found.outputs["size"] == 7 and DYNAMIC_PROVIDER_KEY in found.outputs


def test_observing_providers_are_created_again_and_others_cannot_tell():
    host = DynamicProvider({}, "test")
    for observer in (ClusterLookupProvider(), RegistrationStatusProvider()):
        assert host.find_created("urn", _inputs(observer)) == Found()
    # idc encryption writes keys over SSH: a second create could write others, so it is left to the user
    assert host.find_created("urn", _inputs(IdcEncryptionProvider())) is None
