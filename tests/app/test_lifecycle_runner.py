"""The lifecycle runner as it runs in production: the worker's schedule (one pass a period
across processes), `chirp lifecycle run`, the metrics, and the one clock tests move."""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app import container
from app.jobs import STREAMS
from app.lifecycle import OUTCOMES
from app.lifecycle.steps import STEPS
from app.metrics import METRICS
from app.settings import Settings, from_env
from storage import clock
from storage.records import utcnow
from storage.registry import migrate_all, open_stores
from tests.support.cli import run_chirp
from tests.support.client import embedded_settings
from tests.support.profiles import PROFILES, settings_on

STEP_NAMES = [step.name for step in STEPS]


def _scheduled(settings: Settings, every_s: float) -> Settings:
    return settings.with_overrides(lifecycle=replace(settings.lifecycle, every_s=every_s))


def test_the_clock_moves_every_timestamp_and_comes_back() -> None:
    before = utcnow()
    clock.travel(timedelta(days=31))
    moved = utcnow()
    assert timedelta(days=31) <= moved - before < timedelta(days=31, seconds=5)
    clock.reset()
    assert utcnow() - before < timedelta(seconds=5)
    assert utcnow().tzinfo == UTC and isinstance(utcnow(), datetime)


def test_thresholds_come_from_the_environment() -> None:
    defaults = from_env({}).lifecycle
    assert (defaults.tweet_grace_s, defaults.account_purge_s) == (30 * 86400, 90 * 86400)
    assert (defaults.hot_s, defaults.cold_s) == (30 * 86400, 365 * 86400)
    tuned = from_env({"CHIRP_TWEET_GRACE_S": "2.5", "CHIRP_COLD_S": "60"}).lifecycle
    assert (tuned.tweet_grace_s, tuned.cold_s) == (2.5, 60)


@pytest.mark.parametrize("profile", PROFILES)
async def test_the_worker_runs_one_pass_a_period_across_processes(
    profile: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Two processes' workers (two containers on the same stores) wake together every
    0.5 s: with a shared cache the lease gives each period's pass to one of them, so no
    period runs twice; on the embedded default each process has its own cache and runs its
    own passes (the steps are idempotent, so that only costs time). How many passes fit
    depends on how long one takes on stores other tests fill, so only periods are compared."""
    settings = _scheduled(settings_on(profile, tmp_path), every_s=0.5)
    await migrate_all(settings)
    first, second = await open_stores(settings), await open_stores(settings)
    caplog.set_level(logging.INFO, logger="chirp.lifecycle")
    try:
        workers = [container.build(settings, s).worker(STREAMS) for s in (first, second)]
        stop = asyncio.Event()
        running = [asyncio.create_task(w.run(stop, wait_s=0.1)) for w in workers]
        await asyncio.sleep(2.6)
        stop.set()
        await asyncio.gather(*running)
    finally:
        await first.close()
        await second.close()
    periods = [
        int(m.group(1))
        for r in caplog.records
        if (m := re.match(r"lifecycle pass of period (\d+):", r.getMessage()))
    ]
    assert periods, "no pass ran"
    if profile == "embedded":
        assert len(periods) >= 6  # both ran: one process wakes at most five times in 2.6 s
    else:
        assert len(periods) == len(set(periods)), periods  # one process a period


async def test_a_pass_runs_every_step_in_order_and_counts_it(tmp_path: Path) -> None:
    settings = embedded_settings(tmp_path)
    await migrate_all(settings)
    stores = await open_stores(settings)
    try:
        runner = container.build(settings, stores).lifecycle
        before = METRICS.lifecycle[("pass", "done")]
        report = await runner.run_pass()
    finally:
        await stores.close()
    assert list(report) == STEP_NAMES
    assert all(set(counts) <= set(OUTCOMES) for counts in report.values())
    assert METRICS.lifecycle[("pass", "done")] == before + 1
    rendered = METRICS.render()
    assert 'chirp_lifecycle_items_total{step="pass",outcome="done"}' in rendered


@pytest.mark.parametrize("profile", PROFILES)
def test_chirp_lifecycle_run_prints_a_summary_of_every_step(profile: str, tmp_path: Path) -> None:
    settings = settings_on(profile, tmp_path)
    asyncio.run(migrate_all(settings))
    done = run_chirp(settings, "lifecycle", "run")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == STEP_NAMES
    assert "lifecycle" in done.stderr  # the progress bar
