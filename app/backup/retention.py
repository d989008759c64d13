"""Which backup sets to keep: the original design's schedule, hourly for a day, daily for 30
days, weekly for a year. Grandfather-father-son over the sets that exist: in each of the
last 24 hours, 30 days and 52 weeks (UTC, weeks from Monday), the newest set of that period
is kept; so is the newest set of all. Every other set may go."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
WEEK = timedelta(weeks=1)
MONDAY = datetime(2001, 1, 1, tzinfo=UTC)  # a Monday: weeks are counted from it


@dataclass(frozen=True)
class Schedule:
    hourly: int = 24
    daily: int = 30
    weekly: int = 52


def _period(at: datetime, length: timedelta) -> int:
    return (at - MONDAY) // length


def kept(
    taken: Iterable[datetime], now: datetime, schedule: Schedule = Schedule()
) -> set[datetime]:
    """The times (of sets taken at `taken`) that the schedule keeps at `now`."""
    times = sorted(set(taken), reverse=True)  # newest first
    keep: set[datetime] = set(times[:1])
    for length, count in ((HOUR, schedule.hourly), (DAY, schedule.daily), (WEEK, schedule.weekly)):
        current = _period(now, length)
        seen: set[int] = set()
        for at in times:
            period = _period(at, length)
            if current - count < period <= current and period not in seen:
                seen.add(period)
                keep.add(at)
    return keep


def pruned(
    taken: Sequence[datetime], now: datetime, schedule: Schedule = Schedule()
) -> list[datetime]:
    """The times whose sets the schedule lets go, oldest first."""
    keep = kept(taken, now, schedule)
    return sorted(at for at in set(taken) if at not in keep)
