"""Whole numbers back as integers.

The SDK carries every number as a protobuf double, so a program's ``replicas: 4`` reaches the
engine as ``4.0``. Where a value leaves the engine for something that cares (an API server's
integer fields, the stack outputs a user reads), whole numbers become integers again, as Go's JSON
encoding does for pulumi-kubernetes and the Pulumi CLI.
"""

from __future__ import annotations

from typing import Any


def whole_numbers(value: Any) -> Any:
    """``value`` with every float that is a whole number turned into an int, at any depth."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [whole_numbers(v) for v in value]
    return value
