"""Resource providers the embedded engine can drive, behind one small interface.

Values given to providers are plain (secret wrappers removed), as the Pulumi engine does for
providers that do not accept secrets; the engine re-marks outputs as secret where their inputs were.
"""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

from .errors import EngineError
from .secrets import UNKNOWN, is_secret, unwrap_secrets, wrap_secret

DYNAMIC_PREFIX = "pulumi-python:dynamic"
PROVIDER_PREFIX = "pulumi:providers:"
DYNAMIC_PROVIDER_KEY = "__provider"


class ProviderError(EngineError):
    """A provider call failed; the message is the provider's, prefixed with the operation."""


class UnreachableError(ProviderError):
    """The provider could not reach where the resource lives (no answer, or no usable connection to it)."""


@dataclass
class DiffOutcome:
    changes: bool | None  # None: the provider does not know; the engine compares inputs
    replaces: list[str] = field(default_factory=list)
    delete_before_replace: bool = False


@dataclass
class CheckFailure:
    property: str
    reason: str


@dataclass
class Found:
    """What a provider found where an interrupted create may have left a resource: nothing (``id``
    empty), or the resource that create made."""

    id: str = ""
    outputs: dict = field(default_factory=dict)


@dataclass
class Imported:
    """An existing resource read by its id for `fleetform import`: its id as the provider records it,
    the inputs a program would declare to manage it as it is, and its outputs."""

    id: str
    inputs: dict
    outputs: dict


class Provider(Protocol):
    """The calls every provider answers. A provider may also answer ``find_created(urn, inputs) ->
    Found | None``: what an interrupted create of a resource with these inputs left behind, or None when
    it cannot tell (then the create stays unsettled until `fleetform state repair`); and
    ``read_for_import(type_, id_) -> Imported | None``: the existing resource ``id_`` of ``type_``, or None
    when there is none (as Pulumi's Read given only an id, for `pulumi import`)."""

    def check(self, urn: str, olds: dict, news: dict) -> tuple[dict, list[CheckFailure]]: ...

    def diff(self, urn: str, id_: str, old_outputs: dict, new_inputs: dict, old_inputs: dict) -> DiffOutcome: ...

    def create(self, urn: str, inputs: dict) -> tuple[str, dict]: ...

    def read(self, urn: str, id_: str, inputs: dict, outputs: dict) -> tuple[str, dict] | None: ...

    def update(self, urn: str, id_: str, old_outputs: dict, new_inputs: dict, old_inputs: dict) -> dict: ...

    def delete(self, urn: str, id_: str, outputs: dict) -> None: ...


def _resecret(outputs: dict, inputs: dict, extra_secret_keys: set[str]) -> dict:
    """Outputs with top-level keys marked secret where the input of that name was secret."""
    result = {}
    for key, value in outputs.items():
        if is_secret(value):
            result[key] = value
        elif key in extra_secret_keys or is_secret(inputs.get(key)):
            result[key] = wrap_secret(value)
        else:
            result[key] = value
    return result


class DynamicProvider:
    """Runs ``pulumi.dynamic.ResourceProvider`` objects in-process.

    The provider of each resource travels in its ``__provider`` input as a base64 dill pickle;
    unpickled providers are cached by that string, as the SDK's own dynamic-provider host does.
    """

    def __init__(self, config: dict[str, Any], project: str):
        self._config = config
        self._project = project
        self._cache: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _provider(self, props: dict) -> Any:
        pickled = props.get(DYNAMIC_PROVIDER_KEY)
        if is_secret(pickled):
            pickled = pickled.get("value")
        if not isinstance(pickled, str) or pickled == UNKNOWN:
            raise ProviderError("dynamic resource has no serialized provider in its __provider input")
        provider = self._cache.get(pickled)
        if provider is None:
            with self._lock:
                provider = self._cache.get(pickled)
                if provider is None:
                    provider = self._load(pickled)
                    self._cache[pickled] = provider
        return provider

    def _load(self, pickled: str) -> Any:
        import dill
        from pulumi.dynamic import ConfigureRequest
        from pulumi.dynamic.config import Config

        provider = dill.loads(base64.b64decode(pickled))
        provider.configure(ConfigureRequest(config=Config(raw_config=self._config, project_name=self._project)))
        return provider

    @staticmethod
    def _with_provider(values: dict, source: dict) -> dict:
        values = dict(values)
        values[DYNAMIC_PROVIDER_KEY] = source[DYNAMIC_PROVIDER_KEY]
        return values

    def check(self, urn: str, olds: dict, news: dict) -> tuple[dict, list[CheckFailure]]:
        provider = self._provider(news if news.get(DYNAMIC_PROVIDER_KEY) not in (None, UNKNOWN) else olds)
        result = provider.check(unwrap_secrets(olds), unwrap_secrets(news))
        checked = {k: (news[k] if k in news and unwrap_secrets(news[k]) == v else v) for k, v in result.inputs.items()}
        checked = self._with_provider(checked, news)
        failures = [CheckFailure(f.property, f.reason) for f in (result.failures or [])]
        return checked, failures

    def diff(self, urn: str, id_: str, old_outputs: dict, new_inputs: dict, old_inputs: dict) -> DiffOutcome:
        provider = self._provider(new_inputs)
        result = provider.diff(id_, unwrap_secrets(old_outputs), unwrap_secrets(new_inputs))
        return DiffOutcome(
            changes=result.changes,
            replaces=list(result.replaces or []),
            delete_before_replace=bool(result.delete_before_replace),
        )

    def create(self, urn: str, inputs: dict) -> tuple[str, dict]:
        provider = self._provider(inputs)
        result = provider.create(unwrap_secrets(inputs))
        outputs = _resecret(dict(result.outs or {}), inputs, set())
        return str(result.id), self._with_provider(outputs, inputs)

    def read(self, urn: str, id_: str, inputs: dict, outputs: dict) -> tuple[str, dict] | None:
        props = outputs if DYNAMIC_PROVIDER_KEY in outputs else inputs
        provider = self._provider(props)
        result = provider.read(id_, unwrap_secrets(props))
        if not result.id:
            return None
        fresh = _resecret(dict(result.outs or {}), outputs, set())
        return str(result.id), self._with_provider(fresh, props)

    def find_created(self, urn: str, inputs: dict) -> Found | None:
        """What an interrupted create left, for dynamic providers that can tell: one whose create makes
        nothing a second create would duplicate (``repeatable_create = True``: it observes, waits, or
        converges) left nothing to adopt; one that can name a resource from its inputs (``locate(props)
        -> id | None``) is read at that id. Any other cannot tell."""
        provider = self._provider(inputs)
        if getattr(provider, "repeatable_create", False) is True:
            return Found()
        locate = getattr(provider, "locate", None)
        id_ = locate(unwrap_secrets(inputs)) if locate is not None else None
        if not id_:
            return None
        result = provider.read(str(id_), unwrap_secrets(inputs))
        if not result.id:
            return Found()
        return Found(str(result.id), self._with_provider(_resecret(dict(result.outs or {}), inputs, set()), inputs))

    def update(self, urn: str, id_: str, old_outputs: dict, new_inputs: dict, old_inputs: dict) -> dict:
        provider = self._provider(new_inputs)
        result = provider.update(id_, unwrap_secrets(old_outputs), unwrap_secrets(new_inputs))
        outputs = _resecret(dict(result.outs or {}), new_inputs, set())
        return self._with_provider(outputs, new_inputs)

    def delete(self, urn: str, id_: str, outputs: dict) -> None:
        provider = self._provider(outputs)
        provider.delete(id_, unwrap_secrets(outputs))


class ProviderResourceProvider:
    """Manages explicit provider resources (``pulumi:providers:<package>``).

    A provider resource has no remote side: creating it records its configuration, and a
    configuration change is an update. Resources using it find its inputs through the registry.
    """

    def check(self, urn: str, olds: dict, news: dict) -> tuple[dict, list[CheckFailure]]:
        return news, []

    def diff(self, urn: str, id_: str, old_outputs: dict, new_inputs: dict, old_inputs: dict) -> DiffOutcome:
        return DiffOutcome(changes=None)

    def create(self, urn: str, inputs: dict) -> tuple[str, dict]:
        import uuid

        return str(uuid.uuid4()), dict(inputs)

    def read(self, urn: str, id_: str, inputs: dict, outputs: dict) -> tuple[str, dict] | None:
        return id_, outputs

    def update(self, urn: str, id_: str, old_outputs: dict, new_inputs: dict, old_inputs: dict) -> dict:
        return dict(new_inputs)

    def delete(self, urn: str, id_: str, outputs: dict) -> None:
        return None


class ProviderRegistry:
    """Finds the provider that manages a resource type.

    Packages other than dynamic providers are plugged in with :meth:`register_package`: a factory
    taking the provider resource's configuration (``None`` for the package's default provider).
    """

    def __init__(self, config: dict[str, Any], project: str):
        self.dynamic = DynamicProvider(config, project)
        self.provider_resources = ProviderResourceProvider()
        self._factories: dict[str, Any] = {}
        self._instances: dict[str, Provider] = {}
        self._lock = threading.Lock()

    def register_package(self, package: str, factory) -> None:
        self._factories[package] = factory

    def packages(self) -> list[str]:
        return sorted(self._factories)

    def for_resource(self, type_: str, provider_ref: str, provider_inputs: dict | None) -> Provider:
        if type_.startswith(PROVIDER_PREFIX):
            return self.provider_resources
        if type_.startswith(DYNAMIC_PREFIX):
            return self.dynamic
        package = type_.split(":", 1)[0]
        factory = self._factories.get(package)
        if factory is None:
            supported = ", ".join(["dynamic providers (pulumi.dynamic)"] + self.packages())
            raise EngineError(
                f"the embedded engine has no provider for package '{package}' (resource type {type_}); "
                f"it supports {supported}. Run this program with the Pulumi CLI instead."
            )
        key = provider_ref or f"default:{package}"
        with self._lock:
            instance = self._instances.get(key)
            if instance is None:
                instance = factory(unwrap_secrets(provider_inputs) if provider_inputs is not None else None)
                self._instances[key] = instance
        return instance

    def forget(self, provider_ref: str) -> None:
        """Drop a cached provider instance whose configuration changed."""
        with self._lock:
            self._instances.pop(provider_ref, None)
