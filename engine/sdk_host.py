"""The Pulumi SDK as the embedded engine hosts it: SDK functions replaced by cheaper equivalents.

The SDK's per-resource work dominates a large run (bench/engine.py measures it: the same program
through the engine's runner against a monitor that does nothing). Each replacement keeps the SDK's
contract for what a program can observe and drops only work whose result the embedded engine never
uses (stack traces, client-side URNs, debug log requests) or does the same work more cheaply
(one output wait per batch, one pickle per provider class, one future per output property). They
apply only where the engine runs the program; under the Pulumi CLI the SDK is untouched.
"""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import Callable
from typing import Any


async def _wait_for_rpcs(await_all_outstanding_tasks: bool = True) -> None:
    """Drop-in for ``pulumi.runtime.stack.wait_for_rpcs`` that is linear in the outstanding outputs.

    The SDK's own loop waits on every outstanding output with ``FIRST_COMPLETED`` and starts over
    after each completion: O(outputs) work per completion, quadratic over a run. Under the SDK's
    mocks outputs resolve in bulk and it hardly shows; against an engine whose provider calls take
    time they resolve one by one, and at 8,000 resources that loop dominated the run. This version
    keeps the contract (RPCs first, then every tracked output, repeated until both are drained;
    the first failure re-raised) but waits for a whole batch of outputs at once.
    """
    from pulumi.runtime.settings import SETTINGS, _get_rpc_manager

    rpc_manager = _get_rpc_manager()
    while True:
        while rpc_manager.rpcs:
            await asyncio.sleep(0)
            try:
                await rpc_manager.rpcs.pop()
            except Exception as exn:
                if rpc_manager.unhandled_exception is not None:
                    cause = rpc_manager.unhandled_exception.with_traceback(rpc_manager.exception_traceback)
                    raise exn from cause
                raise
        if rpc_manager.unhandled_exception is not None:
            raise rpc_manager.unhandled_exception.with_traceback(rpc_manager.exception_traceback)
        while await_all_outstanding_tasks:
            with SETTINGS.lock:
                pending = list(SETTINGS.outputs)
                SETTINGS.outputs.clear()
            if not pending:
                break
            await asyncio.wait(pending)
            for task in pending:
                await task  # re-raises a failed output, as the SDK does
        if not rpc_manager.rpcs:
            return


def _no_stack_trace():
    """Replaces ``pulumi.runtime.resource._get_stack_trace`` in the embedded engine.

    The SDK walks the whole Python stack and turns every frame's file name into a URI for each
    registered resource, so that the Pulumi CLI can show where a resource was declared. The
    embedded engine shows no source positions; skipping the walk saves about a tenth of the SDK's
    per-resource cost."""
    from pulumi.runtime.proto import source_pb2

    return source_pb2.StackTrace()


_PLAIN = (type(None), bool, int, float, str, bytes)
_serialized_providers: dict[tuple, str] = {}
_sdk_functions: dict[str, Callable] = {}  # the SDK's own functions that adjust_sdk replaced


def _provider_key(provider) -> tuple | None:
    """What a dynamic provider's pickle depends on, when that is only its class and plain state.

    dill pickles an instance of a class that is importable by its module and name (as every
    provider in ``providers/`` is) as a reference to the class plus the instance's attributes, so
    two instances of such a class with equal plain-valued attributes pickle to the same bytes.
    Anything else (a class in ``__main__`` or nested, slots, custom pickling, attributes holding
    objects, Outputs or secrets) gets no key and is pickled by the SDK every time."""
    cls = type(provider)
    module = sys.modules.get(cls.__module__)
    if cls.__module__ == "__main__" or module is None or getattr(module, cls.__qualname__, None) is not cls:
        return None
    if any("__slots__" in vars(k) for k in cls.__mro__) or any(
        getattr(cls, name) is not getattr(object, name) for name in ("__reduce__", "__reduce_ex__", "__getstate__")
    ):
        return None
    state = vars(provider)
    if not all(type(value) in _PLAIN for value in state.values()):
        return None
    return (cls, tuple(sorted(state.items())))


def _serialize_provider_once(provider) -> str:
    """Replaces ``pulumi.dynamic.dynamic.serialize_provider`` in the embedded engine.

    The SDK dill-pickles (recursively, with a sorting pickler) the provider of every dynamic
    resource it constructs, although a program's thousands of resources use a handful of provider
    classes; the bytes of a keyed provider (:func:`_provider_key`) are computed once and reused."""
    key = _provider_key(provider)
    if key is None:
        return _sdk_functions["serialize_provider"](provider)
    cached = _serialized_providers.get(key)
    if cached is None:
        cached = _serialized_providers[key] = _sdk_functions["serialize_provider"](provider)
    return cached


def _serialize_dynamic(allow_secrets: bool, f: Callable, *args, **kwargs) -> tuple[Any, bool]:
    """Replaces ``_serialize`` as ``pulumi.dynamic.dynamic`` calls it (around the provider's pickling).

    The SDK pickles in a copied context that records whether a secret Output was pickled. A keyed
    provider (:func:`_provider_key`) holds only plain values, so none was: once its bytes are known
    they are returned without the context."""
    if f is _serialize_provider_once and len(args) == 1 and not kwargs:
        key = _provider_key(args[0])
        if key is not None and key in _serialized_providers:
            return _serialized_providers[key], False
    return _sdk_functions["_serialize"](allow_secrets, f, *args, **kwargs)


def _create_urn(name, type_, parent=None, project=None, stack=None):
    """Replaces ``pulumi.runtime.resource.create_urn`` in the embedded engine.

    The SDK computes every registered resource's URN client-side, although it uses it only when
    there is no monitor (the engine computes URNs itself), through a chain of Outputs and ``apply``
    tasks. When the parts are plain strings this gives the same URN as one resolved Output; any
    other input (aliases given as Outputs) goes through the SDK's own function."""
    from pulumi import Output
    from pulumi.runtime import settings

    if not (isinstance(name, str) and isinstance(type_, str) and (parent is None or isinstance(parent, str))):
        return _sdk_functions["create_urn"](name, type_, parent, project, stack)
    if parent is not None:
        prefix = parent[0 : parent.rfind("::")] + "$"
    else:
        stack = settings.get_stack() if stack is None else stack
        project = settings.get_project() if project is None else project
        prefix = "urn:pulumi:" + stack + "::" + project + "::"
    return Output.from_input(prefix + type_ + "::" + name)


def _contains_unknowns(value: Any) -> bool:
    """Replaces ``pulumi.runtime.rpc.contains_unknowns`` in the embedded engine: the same answer
    (whether an unknown sentinel is anywhere inside lists and dicts), without the SDK's per-call
    closure, set and generators, which it pays for every scalar it checks (every Output's value
    is checked when it resolves, several times per registered resource)."""
    from pulumi.runtime.known_types import is_unknown

    if not isinstance(value, (dict, list)):
        return is_unknown(value)
    seen: set[int] = set()
    todo = [value]
    while todo:
        item = todo.pop()
        if is_unknown(item):
            return True
        if isinstance(item, (dict, list)) and id(item) not in seen:
            seen.add(id(item))
            todo.extend(item.values() if isinstance(item, dict) else item)
    return False


def _transfer_properties(res, props, custom: bool) -> dict[str, Callable]:
    """Replaces ``pulumi.runtime.rpc.transfer_properties`` in the embedded engine.

    For every input property the SDK sets an Output attribute on the resource, made of four
    futures (value, known, secret, dependencies) and a task that gathers them into the Output's
    data, and returns the resolvers that settle them when the registration answers. Here each
    property gets one future holding that data, settled by its resolver with the same values (or
    the same failure), and the same Output around it: a fifth of the objects and no task."""
    from pulumi import Output

    resolvers: dict[str, Callable] = {}
    for name in props:
        if name == "urn" or (name == "id" and custom):
            continue  # the SDK sets these itself
        data: asyncio.Future = asyncio.Future()
        resolvers[name] = functools.partial(_resolve_property, res, data)
        res.__dict__[name] = Output._from_data(data)
    return resolvers


def _resolve_property(res, data: asyncio.Future, value, is_known: bool, is_secret: bool, deps, failed) -> None:
    """A resolver of :func:`_transfer_properties`, called as the SDK calls its own."""
    from pulumi.output import _OutputData

    if failed is not None:
        data.set_exception(failed)
        return
    resources = set(deps) if deps else set()
    resources.add(res)
    data.set_result(_OutputData(resources=resources, value=value, is_known=is_known, is_secret=is_secret))


def _no_debug_log(*_args, **_kwargs) -> None:
    """Replaces ``pulumi.log.debug`` in the embedded engine, whose engine log drops debug messages
    (EngineLog.Log): the SDK builds a log request for several of them per registered resource."""


def adjust_sdk() -> None:
    """The SDK host adjustments of the embedded engine (all measured by bench/engine.py)."""
    from pulumi import log
    from pulumi.dynamic import dynamic
    from pulumi.runtime import resource as pulumi_resource
    from pulumi.runtime import rpc
    from pulumi.runtime import stack as pulumi_stack

    pulumi_stack.wait_for_rpcs = _wait_for_rpcs
    pulumi_resource._get_stack_trace = _no_stack_trace
    log.debug = _no_debug_log
    for module, name, replacement in (
        (dynamic, "serialize_provider", _serialize_provider_once),
        (dynamic, "_serialize", _serialize_dynamic),
        (pulumi_resource, "create_urn", _create_urn),
        (rpc, "contains_unknowns", _contains_unknowns),
        (rpc, "transfer_properties", _transfer_properties),
    ):
        _sdk_functions.setdefault(name, getattr(module, name))
        setattr(module, name, replacement)
