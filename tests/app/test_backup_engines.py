"""`chirp backup` on the real engines, short of destroying them (that is the drill,
tests/drills/): sets are full or incremental as their schedule says, the worker takes them,
a prune keeps every set a kept set's restore needs and lets old media versions go, and a
mix of embedded and real stores is refused with a message."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from app.backup import BackupError, open_backups
from app.backup.engines import MEDIA_HISTORY, EngineBackups
from app.metrics import METRICS
from app.settings import Backup
from storage.registry import migrate_all
from storage.s3 import parse_url
from tests.support.cli import run_chirp
from tests.support.client import embedded_settings
from tests.support.lifecycle import run_worker
from tests.support.profiles import engines_backup_settings


def _bucket(url: str) -> tuple[Any, str]:
    name, options = parse_url(url)
    return boto3.client("s3", endpoint_url=options.get("endpoint_url")), name


def test_a_mix_of_embedded_and_real_stores_is_refused(tmp_path: Path) -> None:
    settings = embedded_settings(tmp_path, media_url="s3://chirp-media?endpoint_url=http://x")
    with pytest.raises(BackupError, match="not a mix"):
        open_backups(settings)
    refused = run_chirp(settings, "backup", "list")
    assert refused.returncode == 2 and "not a mix" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_prune_keeps_the_chain_of_a_kept_set_and_expires_old_media_versions(
    tmp_path: Path,
) -> None:
    settings = engines_backup_settings(tmp_path)
    asyncio.run(migrate_all(settings))
    backups = open_backups(settings)
    assert isinstance(backups, EngineBackups)
    s3, media = _bucket(settings.media_url)
    key = f"media/{tmp_path.name[-9:].replace('_', '')}/kept.png"

    created = run_chirp(settings, "backup", "create", "--full", timeout_s=300)
    assert created.returncode == 0, created.stderr
    assert "kind full" in created.stdout and "base_backup" in created.stdout
    s3.put_object(Bucket=media, Key=key, Body=b"first", ContentType="image/png")
    first_incremental = backups.create()
    second_full = backups.create(full=True)
    s3.put_object(Bucket=media, Key=key, Body=b"second", ContentType="image/png")
    newest = backups.create()
    ours = [s for s in backups.sets() if s.started_at >= first_incremental.started_at]
    assert [s.parts["kind"] for s in ours] == ["incremental", "full", "incremental"]

    # A year and a day later only the newest set is due to stay: it needs its full set.
    later = newest.taken_at + timedelta(days=366)
    removed = backups.prune(now=later)
    kept = {s.name for s in backups.sets()}
    assert {second_full.name, newest.name} <= kept
    assert first_incremental.name not in kept
    assert first_incremental.name in {s.name for s in removed}
    assert second_full.name not in {s.name for s in removed}
    # The media key keeps its current version only: the replaced one was over the window.
    assert later - MEDIA_HISTORY > newest.taken_at
    versions = s3.list_object_versions(Bucket=media, Prefix=key)["Versions"]
    assert [v["IsLatest"] for v in versions] == [True]
    body = s3.get_object(Bucket=media, Key=key)["Body"].read()
    assert body == b"second"


def test_the_worker_takes_engine_sets_on_its_schedule(tmp_path: Path) -> None:
    settings = engines_backup_settings(tmp_path)
    settings = settings.with_overrides(
        backup=Backup(
            url=settings.backup.url,
            every_s=1.0,
            barman=settings.backup.barman,
            nodetool=settings.backup.nodetool,
            cassandra_data=settings.backup.cassandra_data,
        )
    )
    before = METRICS.backups["taken"]
    start = datetime.now(UTC)

    run_worker(settings, until=lambda: METRICS.backups["taken"] > before, limit_s=120)
    assert METRICS.backups["taken"] > before and METRICS.backups["failed"] == 0
    assert open_backups(settings).sets()[-1].started_at >= start
