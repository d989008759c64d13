"""Enum values with a description, typed as the plain value they become."""

from __future__ import annotations

from typing import cast

import strawberry


def described(value: str, *, description: str) -> str:
    """An enum member's value that GraphQL documents. `strawberry.enum` turns the definition
    back into `value` on the member, so `.value` is the plain string, as mypy is told."""
    return cast(str, strawberry.enum_value(value, description=description))
