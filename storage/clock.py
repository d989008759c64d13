"""The one clock every timestamp and every lifecycle deadline reads (`records.utcnow`).

It is the wall clock, shifted by an offset that only tests and drills move: a test posts,
travels 31 days forward and runs a lifecycle pass, instead of waiting a month. Nothing in
the product moves it. Token expiry and engine TTLs (Redis, Cassandra) keep the real time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_offset = timedelta(0)


def now() -> datetime:
    return datetime.now(tz=UTC) + _offset


def travel(delta: timedelta) -> None:
    """Move the clock forward (or back) by `delta` for everything in this process."""
    global _offset
    _offset += delta


def reset() -> None:
    global _offset
    _offset = timedelta(0)


def offset() -> timedelta:
    return _offset
