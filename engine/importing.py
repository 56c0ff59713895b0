"""`fleetform import TYPE NAME ID`: record an existing object in the state, as `pulumi import` does.

The object is read through its provider (the default one of its package, or ``--provider``, a recorded
provider resource such as one cluster's ``pulumi:providers:kubernetes``) and recorded under the URN the
program will give it: ``NAME`` of ``TYPE`` under ``--parent`` (a recorded component; the stack by
default), since a URN is its parent chain plus type plus name. Its inputs are what a program declares
to manage the object as it is (the provider's ``read_for_import``), so that the program, once it
declares the resource as printed (same name, parent and provider), previews as a no-op, or as exactly
the declared differences. The edit holds the stack lock and goes through :meth:`StateEditor.editing`
(backup kept, history entry); every refusal leaves the state untouched.

A package may import its own types (entry point group ``fleetform.importers``: a type token -> a function
``(StackOperations, name, id) -> ImportedDeclaration``), e.g. fleetform's clusters, which a stack file
declares: such an importer declares the object where that package's program reads it and proves it with a
preview, instead of recording state the program would not own.

Other dynamic resources are refused: their provider is a pickled object the program supplies in their
inputs, so an id alone cannot be read (Pulumi does not import them either).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points

from .errors import EngineError, InvalidInputError
from .operations import StackOperations, default_registry
from .project import load_stack_config
from .providers import DYNAMIC_PREFIX, PROVIDER_PREFIX, Imported
from .state import LiveState, ResourceState
from .state_edit import StateEditor
from .urn import STACK_TYPE, URN, ProviderRef


@dataclass
class Adopted:
    """What an import recorded, and what the program must declare to own it."""

    resource: ResourceState
    provider: ResourceState | None  # the explicit provider resource used (None: the package's default)
    parent: ResourceState | None  # the recorded parent (None: the stack, or a stack not yet recorded)


@dataclass
class ImportedDeclaration:
    """What a package's importer declared (where, and as what) and what the preview of it plans."""

    message: str
    declared: dict = field(default_factory=dict)


def package_importer(type_: str) -> Callable[[StackOperations, str, str], ImportedDeclaration] | None:
    """The importer an installed package offers for ``type_`` (entry point group ``fleetform.importers``)."""
    entry = next((e for e in entry_points(group="fleetform.importers") if e.name == type_), None)
    return entry.load() if entry is not None else None


def import_resource(
    ops: StackOperations, type_: str, name: str, id_: str, provider: str | None, parent: str | None, protect: bool
) -> Adopted:
    """Read ``id_`` of ``type_`` and record it as ``name``; InvalidInputError (nothing touched) when the type
    cannot be imported, the URN is already recorded, the provider or parent is not recorded, or the
    object does not exist."""
    ops.require_exists()
    package = _package(type_)
    registry = default_registry(load_stack_config(ops.project, ops.stack, required=False), ops.project)
    editor = StateEditor(ops.store, ops.project.name, ops.stack)
    with editor.editing("import") as (live, run):
        parent_resource = editor.find(live, parent) if parent else None
        parent_urn = parent_resource.urn if parent_resource else _stack_urn(live, ops)
        urn = str(URN.new(ops.stack, ops.project.name, parent_urn, type_, name))
        if live.get(urn) is not None:
            raise InvalidInputError(
                f"stack '{ops.stack}' already records {urn}; choose another NAME or --parent, or forget the "
                f"recorded one first (`fleetform state delete`)"
            )
        provider_resource = editor.find(live, provider) if provider else None
        if provider_resource is not None and provider_resource.type != f"{PROVIDER_PREFIX}{package}":
            raise InvalidInputError(
                f"--provider {provider}: {provider_resource.urn} is a {provider_resource.type}, not a "
                f"{PROVIDER_PREFIX}{package} provider"
            )
        ref = str(ProviderRef(provider_resource.urn, provider_resource.id)) if provider_resource else ""
        found = _read(registry, type_, id_, ref, provider_resource)
        resource = ResourceState(
            urn=urn,
            type=type_,
            custom=True,
            id=found.id,
            parent=parent_urn,
            provider=ref,
            inputs=found.inputs,
            outputs=found.outputs,
            protect=protect,
        )
        live.put(resource)
        run["summary"], run["detail"] = {"import": 1}, urn
    return Adopted(resource, provider_resource, parent_resource)


def _package(type_: str) -> str:
    """The package of a resource type token (``package:module:Kind``), refusing what cannot be imported."""
    parts = type_.split(":")
    if len(parts) != 3 or not all(parts):
        raise InvalidInputError(
            f"'{type_}' is not a resource type (expected package:module:Kind, e.g. kubernetes:core/v1:Namespace)"
        )
    if type_ == STACK_TYPE or type_.startswith(PROVIDER_PREFIX):
        raise InvalidInputError(
            f"{type_} is not imported: declare it in the program, and the next up records it (a provider has no "
            f"remote object to adopt)"
        )
    if type_.startswith(DYNAMIC_PREFIX):
        raise InvalidInputError(
            f"{type_} is a dynamic resource: its provider comes from the program, so an id alone cannot be read. "
            f"Declare it in the program instead; fleetform's lookups only observe, and the next up records them "
            f"without creating anything"
        )
    return parts[0]


def _stack_urn(live: LiveState, ops: StackOperations) -> str:
    """The stack resource's URN: the parent of everything a program declares at its top level."""
    recorded = next((r.urn for r in live.resources() if r.type == STACK_TYPE), None)
    return recorded or str(URN.new(ops.stack, ops.project.name, "", STACK_TYPE, f"{ops.project.name}-{ops.stack}"))


def _read(registry, type_: str, id_: str, ref: str, provider_resource: ResourceState | None) -> Imported:
    where = f"through {provider_resource.urn}" if provider_resource else "through the default provider"
    try:
        provider = registry.for_resource(type_, ref, provider_resource.inputs if provider_resource else None)
    except EngineError as exc:
        raise InvalidInputError(str(exc)) from None
    reader = getattr(provider, "read_for_import", None)
    if reader is None:
        raise InvalidInputError(f"the provider of {type_} cannot read an existing resource by its id")
    try:
        found = reader(type_, id_)
    except EngineError as exc:
        raise InvalidInputError(f"could not read {type_} '{id_}' {where}: {exc}; nothing was recorded") from None
    if found is None:
        raise InvalidInputError(f"{type_} '{id_}' does not exist ({where}); nothing was recorded")
    return found
