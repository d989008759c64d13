"""The data lifecycle: what happens to data as it ages (the design's "Data Retention and
Archival", with the thresholds of `Settings.lifecycle`).

A pass runs each step of STEPS in order. A step finds its own work (what is due on the one
clock, storage/clock.py), does it in batches and tallies what it moved, purged or skipped.
Every step is idempotent and resumable: a pass killed midway leaves nothing half-visible,
and the next pass finishes the job. The worker runs a pass every `every_s` (one process per
period, by a lease in the cache); `chirp lifecycle run` runs one by hand.

Adding a step is one module with a class (see `Step`) and one line in STEPS.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Protocol

from app.jobs import Jobs
from app.metrics import METRICS
from app.periods import leased_periods
from app.readthrough import ReadThrough
from app.settings import Lifecycle as Thresholds
from storage.records import TweetRecord, UserRecord, utcnow
from storage.registry import Stores

log = logging.getLogger("chirp.lifecycle")

OUTCOMES = ("moved", "purged", "skipped")


@dataclass(frozen=True)
class LifecycleDeps:
    """What steps are built from (by the container, once per process)."""

    stores: Stores
    thresholds: Thresholds
    tweet_cache: ReadThrough[TweetRecord]
    user_cache: ReadThrough[UserRecord]
    jobs: Jobs


@dataclass
class Tally:
    """What one step did in a pass, by outcome; `progress` hears of each item as it goes."""

    step: str
    counts: Counter[str] = field(default_factory=Counter)
    progress: Callable[[int], object] | None = None

    def add(self, outcome: str, count: int = 1) -> None:
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown lifecycle outcome {outcome!r}")
        if count <= 0:
            return
        self.counts[outcome] += count
        METRICS.lifecycle[(self.step, outcome)] += count
        if self.progress is not None:
            self.progress(count)


class Step(Protocol):
    name: ClassVar[str]

    def __init__(self, deps: LifecycleDeps) -> None: ...

    async def __call__(self, now: datetime, tally: Tally) -> None:
        """Do what is due at `now`, a batch at a time, tallying each item."""


def _steps() -> tuple[type[Step], ...]:
    from app.lifecycle.steps import STEPS

    return STEPS


class LifecycleRunner:
    """Runs passes: on the worker's schedule (a Periodic beside the job streams) or by hand."""

    def __init__(self, deps: LifecycleDeps) -> None:
        self._deps = deps
        self._every_s = deps.thresholds.every_s
        self.steps: list[Step] = [step(deps) for step in _steps()]

    async def run_pass(
        self, progress: Callable[[int], object] | None = None, now: datetime | None = None
    ) -> dict[str, Counter[str]]:
        """One pass of every step, in order; what each did, by step name."""
        now = now or utcnow()
        report: dict[str, Counter[str]] = {}
        for step in self.steps:
            tally = Tally(step.name, progress=progress)
            await step(now, tally)
            report[step.name] = tally.counts
        METRICS.lifecycle[("pass", "done")] += 1
        return report

    async def run(self, stop: asyncio.Event) -> None:
        cache = self._deps.stores.cache
        async for period in leased_periods(stop, self._every_s, cache, "lifecycle:pass"):
            try:
                summary = summarize(await self.run_pass())
                log.info("lifecycle pass of period %d: %s", period, summary)
            except Exception:
                METRICS.lifecycle[("pass", "failed")] += 1
                log.exception("lifecycle pass failed; the next one picks up where it stopped")

    async def flush(self) -> None:
        """Nothing: a pass runs on its schedule or with `chirp lifecycle run`, never as part
        of draining the job streams."""


def summarize(report: Mapping[str, Counter[str]]) -> str:
    parts = []
    for step, counts in report.items():
        done = ", ".join(f"{counts[o]} {o}" for o in OUTCOMES if counts[o])
        parts.append(f"{step}: {done or 'nothing to do'}")
    return "; ".join(parts)
