"""Relay global ids: base64("Type:databaseId"). Arguments also accept a bare databaseId."""

from __future__ import annotations

import base64
import binascii

import strawberry

from app.errors import BadInput


@strawberry.interface(description="An object with a globally unique id.")
class Node:
    id: strawberry.ID


def to_global_id(type_name: str, database_id: int) -> strawberry.ID:
    return strawberry.ID(base64.b64encode(f"{type_name}:{database_id}".encode()).decode())


def from_global_id(global_id: str) -> tuple[str, int]:
    try:
        type_name, _, raw_id = base64.b64decode(global_id, validate=True).decode().partition(":")
        database_id = int(raw_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadInput(f"{global_id!r} is not a valid id.") from None
    if not type_name or database_id < 0:
        raise BadInput(f"{global_id!r} is not a valid id.")
    return type_name, database_id


def database_id_of(global_id: str, type_name: str, argument: str = "id") -> int:
    """The database id behind an id argument of the expected type."""
    if global_id.isdigit() and len(global_id) <= 20:
        return int(global_id)
    found_type, database_id = from_global_id(global_id)
    if found_type != type_name:
        raise BadInput(f"{argument} must be the id of a {type_name}.", argument=argument)
    return database_id
