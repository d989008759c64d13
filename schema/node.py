"""Relay global ids: base64("Type:databaseId"). Arguments also accept a bare databaseId."""

from __future__ import annotations

import base64
import binascii

import strawberry

from app.errors import BadInput
from app.ids import MAX_ID, parse_id


@strawberry.interface(
    description="An object with a globally unique id, which `node(id:)` fetches again (a "
    "Tweet or a User)."
)
class Node:
    id: strawberry.ID = strawberry.field(
        description="The global id: opaque and stable. An argument that takes the id of one "
        "type (a tweet's `id`, a `userId`) also accepts the databaseId."
    )


def to_global_id(type_name: str, database_id: int) -> strawberry.ID:
    return strawberry.ID(base64.b64encode(f"{type_name}:{database_id}".encode()).decode())


def from_global_id(global_id: str, argument: str = "id") -> tuple[str, int]:
    try:
        type_name, _, raw_id = base64.b64decode(global_id, validate=True).decode().partition(":")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        type_name, raw_id = "", ""
    database_id = parse_id(raw_id)
    if not type_name or database_id is None:
        raise BadInput(f"{global_id!r} is not a valid id.", argument=argument)
    return type_name, database_id


def database_id_of(global_id: str, type_name: str, argument: str = "id") -> int:
    """The database id behind an id argument of the expected type: a global id, or a bare
    databaseId (all digits: no global id is, since every type name starts with a letter)."""
    if global_id.isascii() and global_id.isdigit():
        database_id = parse_id(global_id)
        if database_id is None:
            raise BadInput(
                f"{argument} must be a databaseId from 1 to {MAX_ID}.", argument=argument
            )
        return database_id
    found_type, database_id = from_global_id(global_id, argument)
    if found_type != type_name:
        raise BadInput(f"{argument} must be the id of a {type_name}.", argument=argument)
    return database_id
