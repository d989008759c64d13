"""Opaque cursors over a connection's clustering order."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from app.errors import BadInput
from app.ids import parse_id
from storage.ports import Position
from storage.records import UserHit, ms_from_utc, utc_from_ms


def _encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _invalid() -> BadInput:
    return BadInput("The cursor is not valid for this connection.", argument="after")


def _decode(cursor: str, kind: str) -> list[int]:
    """The cursor's numbers: ids, and milliseconds, which follow the same rule."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise _invalid() from None
    prefix, *parts = raw.split(":")
    numbers = [number for part in parts if (number := parse_id(part)) is not None]
    if prefix != kind or not numbers or len(numbers) != len(parts):
        raise _invalid()
    return numbers


# Before every tweet (a millisecond after the epoch; ids start at 1). An empty first home
# page ends here, so a subscription given its cursor replays whatever reached the timeline
# after the page was read, and paging on from it finds nothing older.
ORIGIN: Position = (utc_from_ms(1), 1)


def position_cursor(position: Position) -> str:
    created_at, tweet_id = position
    return _encode(f"t:{ms_from_utc(created_at)}:{tweet_id}")


def decode_position(cursor: str | None) -> Position | None:
    if cursor is None:
        return None
    numbers = _decode(cursor, "t")
    if len(numbers) != 2:
        raise _invalid()
    try:
        return (utc_from_ms(numbers[0]), numbers[1])
    except (ValueError, OverflowError, OSError):  # past what a datetime holds
        raise _invalid() from None


def id_cursor(entity_id: int) -> str:
    return _encode(f"i:{entity_id}")


def decode_id_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    numbers = _decode(cursor, "i")
    if len(numbers) != 1:
        raise _invalid()
    return numbers[0]


_KINDS = {"tweet": 1, "user": 2}  # a queue cursor's target kind, as a number


def queue_cursor(position: tuple[datetime, str, int]) -> str:
    """Where a moderation queue page ends: (first reported, target kind, target id)."""
    first_at, kind, target_id = position
    return _encode(f"q:{ms_from_utc(first_at)}:{_KINDS[kind]}:{target_id}")


def decode_queue_cursor(cursor: str | None) -> tuple[datetime, str, int] | None:
    if cursor is None:
        return None
    numbers = _decode(cursor, "q")
    kinds = {number: kind for kind, number in _KINDS.items()}
    if len(numbers) != 3 or numbers[1] not in kinds:
        raise _invalid()
    try:
        return (utc_from_ms(numbers[0]), kinds[numbers[1]], numbers[2])
    except (ValueError, OverflowError, OSError):
        raise _invalid() from None


def notification_cursor(recipient_id: int, position: Position) -> str:
    """Where a notification sits in its recipient's list (a group's latest time and id);
    it names its recipient, so no one marks read with a cursor of someone else's."""
    latest_at, group_id = position
    return _encode(f"n:{recipient_id}:{ms_from_utc(latest_at)}:{group_id}")


def decode_notification_cursor(
    cursor: str | None, viewer_id: int, argument: str = "after"
) -> Position | None:
    if cursor is None:
        return None
    try:
        numbers = _decode(cursor, "n")
        if len(numbers) != 3:
            raise _invalid()
        position = (utc_from_ms(numbers[1]), numbers[2])
    except (BadInput, ValueError, OverflowError, OSError):
        raise BadInput("The cursor is not valid for notifications.", argument=argument) from None
    if numbers[0] != viewer_id:
        raise BadInput("The cursor is not one of your notifications.", argument=argument)
    return position


def thread_cursor(index: int, tweet_id: int) -> str:
    """Where a conversation page ends: the last reply's place in the layout, and its id."""
    return _encode(f"c:{index + 1}:{tweet_id}")


def decode_thread_cursor(cursor: str | None) -> tuple[int, int] | None:
    """(index, tweet id) of the last reply seen."""
    if cursor is None:
        return None
    numbers = _decode(cursor, "c")
    if len(numbers) != 2:
        raise _invalid()
    return numbers[0] - 1, numbers[1]


def people_cursor(hit: UserHit) -> str:
    """Where a people-search page ends: its last hit's rank (exact username or not,
    followers) and id; each number is stored one up, since a cursor's numbers start at 1."""
    return _encode(f"p:{int(hit.exact) + 1}:{hit.followers_count + 1}:{hit.user_id}")


def decode_people_cursor(cursor: str | None) -> UserHit | None:
    if cursor is None:
        return None
    numbers = _decode(cursor, "p")
    if len(numbers) != 3 or numbers[0] > 2:
        raise _invalid()
    return UserHit(user_id=numbers[2], exact=numbers[0] == 2, followers_count=numbers[1] - 1)
