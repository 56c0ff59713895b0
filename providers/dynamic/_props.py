"""Typed inputs and outputs of the dynamic resources, to and from the props dict of the Pulumi
dynamic-provider interface (which passes plain dicts: inputs on create, inputs plus outputs after)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any, TypeVar

P = TypeVar("P", bound="Props")


class Props:
    """Mixin for a dataclass of props: ``from_props`` takes its fields from a props dict (others are
    ignored; a missing or None value takes the field's default), ``to_props`` gives them back."""

    @classmethod
    def from_props(cls: type[P], props: dict[str, Any]) -> P:
        values = {}
        for field in dataclasses.fields(cls):  # type: ignore[arg-type]
            if props.get(field.name) is not None:
                values[field.name] = props[field.name]
            elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                raise ValueError(f"{cls.__name__}: input '{field.name}' is required")
        return cls(**values)

    def to_props(self) -> dict[str, Any]:
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}  # type: ignore[arg-type]

    def changed(self, other: Props) -> list[str]:
        """Names of the fields whose values differ from ``other``'s."""
        return [f.name for f in dataclasses.fields(self) if getattr(self, f.name) != getattr(other, f.name)]  # type: ignore[arg-type]

    @classmethod
    def placeholders(cls) -> dict[str, None]:
        """Every field as None: the outputs a Resource declares before the provider fills them."""
        return {field.name: None for field in dataclasses.fields(cls)}  # type: ignore[arg-type]


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
