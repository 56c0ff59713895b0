"""Pulumi URNs and provider references as values, parsed in one place.

A URN is ``urn:pulumi:<stack>::<project>::<qualified type>::<name>``. The qualified type is the
resource's own type prefixed by its parent's qualified type chain, joined with ``$``, except that
the root stack's type (``pulumi:pulumi:Stack``) is never part of the chain. The name is everything
after the third ``::`` (a name may itself contain ``::``; a type cannot), as in Pulumi.

A provider reference is ``<provider URN>::<provider id>``; the id is what follows the last ``::``.
"""

from __future__ import annotations

from dataclasses import dataclass

STACK_TYPE = "pulumi:pulumi:Stack"
_PREFIX = "urn:pulumi:"
_SEP = "::"


@dataclass(frozen=True, slots=True)
class URN:
    stack: str
    project: str
    qualified_type: str
    name: str

    @classmethod
    def parse(cls, text: str) -> URN:
        parts = text[len(_PREFIX) :].split(_SEP, 3) if text.startswith(_PREFIX) else []
        if len(parts) != 4 or not parts[2]:
            raise ValueError(f"not a Pulumi URN: {text!r} (expected urn:pulumi:<stack>::<project>::<type>::<name>)")
        return cls(*parts)

    @classmethod
    def new(cls, stack: str, project: str, parent: str | URN | None, type_: str, name: str) -> URN:
        """The URN Pulumi gives a resource of ``type_`` named ``name`` under ``parent`` (a URN or "")."""
        qualified = type_
        if parent:
            parent_type = (parent if isinstance(parent, URN) else cls.parse(parent)).qualified_type
            if parent_type != STACK_TYPE:
                qualified = f"{parent_type}${type_}"
        return cls(stack, project, qualified, name)

    @property
    def type(self) -> str:
        """The resource's own type: the last ``$``-separated part of the qualified type."""
        return self.qualified_type.rsplit("$", 1)[-1]

    @property
    def parent_type(self) -> str:
        """The parent's qualified type chain ("" for a resource directly under the stack)."""
        head, sep, _ = self.qualified_type.rpartition("$")
        return head if sep else ""

    def __str__(self) -> str:
        return f"{_PREFIX}{self.stack}{_SEP}{self.project}{_SEP}{self.qualified_type}{_SEP}{self.name}"


def urn_name(urn: str) -> str:
    """The name part of a URN string (what a person calls the resource)."""
    return URN.parse(urn).name


def is_stack(urn: str) -> bool:
    """Whether ``urn`` is the root stack resource's."""
    return URN.parse(urn).qualified_type == STACK_TYPE


@dataclass(frozen=True, slots=True)
class ProviderRef:
    """A reference to an explicit provider resource: ``<provider URN>::<provider id>``."""

    urn: str
    id: str

    @classmethod
    def parse(cls, text: str) -> ProviderRef | None:
        """The reference in ``text``; None for "" (the package's default provider)."""
        if not text:
            return None
        urn, sep, id_ = text.rpartition(_SEP)
        if not sep or not urn.startswith(_PREFIX):
            raise ValueError(f"not a provider reference: {text!r} (expected <provider URN>::<provider id>)")
        return cls(urn, id_)

    def __str__(self) -> str:
        return f"{self.urn}{_SEP}{self.id}"


def provider_urn(provider_ref: str) -> str:
    """The provider URN in a provider reference ("" for none)."""
    ref = ProviderRef.parse(provider_ref)
    return ref.urn if ref else ""
