"""Opaque cursors over a connection's clustering order."""

from __future__ import annotations

import base64
import binascii

from app.errors import BadInput
from storage.ports import Position
from storage.records import ms_from_utc, utc_from_ms


def _encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(cursor: str, kind: str) -> list[int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, *numbers = raw.split(":")
        if prefix != kind or not numbers:
            raise ValueError(raw)
        return [int(number) for number in numbers]
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadInput("The cursor is not valid for this connection.", argument="after") from None


def position_cursor(position: Position) -> str:
    created_at, tweet_id = position
    return _encode(f"t:{ms_from_utc(created_at)}:{tweet_id}")


def decode_position(cursor: str | None) -> Position | None:
    if cursor is None:
        return None
    numbers = _decode(cursor, "t")
    if len(numbers) != 2:
        raise BadInput("The cursor is not valid for this connection.", argument="after")
    return (utc_from_ms(numbers[0]), numbers[1])


def id_cursor(entity_id: int) -> str:
    return _encode(f"i:{entity_id}")


def decode_id_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    numbers = _decode(cursor, "i")
    if len(numbers) != 1:
        raise BadInput("The cursor is not valid for this connection.", argument="after")
    return numbers[0]
