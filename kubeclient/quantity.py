"""Kubernetes resource quantities (``500m``, ``4``, ``16Gi``, ``1e3``): parse to an exact Decimal,
add, and write back in the quantity's own style, so that summed capacities read like kubectl's."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
DECIMAL = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "k": 10**3, "M": 10**6, "G": 10**9}
DECIMAL |= {"T": 10**12, "P": 10**15, "E": 10**18}


def parse(quantity: str | int | float) -> Decimal:
    """The quantity's value; raises ValueError on a malformed one."""
    text = str(quantity).strip()
    for suffix in (*BINARY, *DECIMAL):
        if text.endswith(suffix) and len(text) > len(suffix):  # an exponent (1e3) never ends in a letter
            text, factor = text[: -len(suffix)], BINARY.get(suffix) or DECIMAL[suffix]
            break
    else:
        factor = 1
    try:
        return Decimal(text) * factor
    except ArithmeticError as exc:
        raise ValueError(f"not a Kubernetes quantity: {quantity!r}") from exc


def format_quantity(value: Decimal, binary: bool) -> str:
    """``binary``: the largest binary suffix that divides the value exactly (``48Gi``); otherwise a
    whole number, or millis (``1500m``) when it has a fraction."""
    if binary and value == value.to_integral():
        for suffix, factor in reversed(BINARY.items()):
            if value and value % factor == 0:
                return f"{value // factor}{suffix}"
    if value == value.to_integral():
        return str(int(value))
    return f"{int((value * 1000).to_integral())}m"


def summed(resource_lists: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """Resource lists (``{"cpu": "4", "memory": "16Gi"}``) added up per resource name."""
    totals: dict[str, Decimal] = {}
    binary: dict[str, bool] = {}
    for resources in resource_lists:
        for name, quantity in (resources or {}).items():
            totals[name] = totals.get(name, Decimal(0)) + parse(quantity)
            binary[name] = binary.get(name, False) or str(quantity).endswith(tuple(BINARY))
    return {name: format_quantity(total, binary[name]) for name, total in sorted(totals.items())}
