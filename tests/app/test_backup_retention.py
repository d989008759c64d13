"""The backup schedule of the original design: hourly sets for a day, daily for 30 days,
weekly for a year; what falls outside goes, and the boundaries are exact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.backup.retention import kept, pruned

NOW = datetime(2026, 12, 4, 10, 7, tzinfo=UTC)  # a Friday


def every(step: timedelta, span: timedelta) -> list[datetime]:
    return [NOW - step * n for n in range(int(span / step))]


def test_a_set_every_15_minutes_for_two_years_keeps_about_a_hundred() -> None:
    taken = every(timedelta(minutes=15), timedelta(days=730))
    keep = kept(taken, NOW)
    # 24 hours + 30 days + 52 weeks, less the periods that share their newest set
    # (the current hour's newest is also today's and this week's, and so on).
    assert 24 + 30 + 52 - 10 <= len(keep) <= 24 + 30 + 52
    assert NOW in keep  # the newest is always kept
    assert min(keep) > NOW - timedelta(weeks=53)
    assert set(pruned(taken, NOW)) == set(taken) - keep


def test_each_of_the_last_24_hours_keeps_its_newest_set() -> None:
    taken = every(timedelta(minutes=15), timedelta(days=2))
    keep = kept(taken, NOW)
    for hours in range(24):
        hour = NOW.replace(minute=0) - timedelta(hours=hours)
        in_hour = [t for t in taken if hour <= t < hour + timedelta(hours=1)]
        assert max(in_hour) in keep
        assert all(t not in keep for t in in_hour if t != max(in_hour))  # hour 0's are 10:07
    assert NOW.replace(minute=0) - timedelta(hours=24, minutes=-7) not in keep


def test_days_and_weeks_keep_their_newest_and_a_year_ago_goes() -> None:
    daily = [NOW - timedelta(days=d, hours=3) for d in range(1, 40)]  # at 07:07 each day
    keep = kept(daily, NOW)
    day_29 = NOW - timedelta(days=29, hours=3)
    day_31 = NOW - timedelta(days=31, hours=3)
    assert day_29 in keep  # within the 30 days
    assert (day_31 in keep) == (day_31.isocalendar()[:2] != day_29.isocalendar()[:2])

    weekly = [NOW - timedelta(weeks=w) for w in range(60)]
    keep = kept(weekly, NOW)
    assert NOW - timedelta(weeks=51) in keep
    assert NOW - timedelta(weeks=52) not in keep  # 53 weekly periods ago counting this one
    assert pruned(weekly, NOW) == sorted(NOW - timedelta(weeks=w) for w in range(52, 60))


def test_nothing_taken_keeps_nothing() -> None:
    assert kept([], NOW) == set() and pruned([], NOW) == []
