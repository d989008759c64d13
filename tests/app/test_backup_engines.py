"""`chirp backup` on the real engines, short of destroying them (that is the drill,
tests/drills/): sets are full or incremental as their schedule says, the worker takes them,
a prune keeps every set a kept set's restore needs and lets old media versions go, and a
mix of embedded and real stores is refused with a message."""

from __future__ import annotations

import asyncio
import secrets
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from app.backup import BackupError, open_backups
from app.backup.engines import MEDIA_HISTORY, EngineBackups, restore_versions
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


def test_media_goes_back_to_its_versions_at_a_time(tmp_path: Path) -> None:
    """Versions written within one second before the time leave the current one as it is;
    a cold (GLACIER) version is copied back once S3 has restored it, or reported as pending
    (moto restores only a key's newest version, so here it stays pending)."""
    settings = engines_backup_settings(tmp_path)
    backups = open_backups(settings)
    assert isinstance(backups, EngineBackups)
    s3, media = _bucket(settings.media_url)
    s3.put_bucket_versioning(Bucket=media, VersioningConfiguration={"Status": "Enabled"})
    folder = f"media/{secrets.randbelow(10**9)}"

    def put(name: str, body: bytes, **extra: str) -> None:
        s3.put_object(Bucket=media, Key=f"{folder}/{name}", Body=body, **extra)

    put("cold.png", b"old", StorageClass="GLACIER")
    put("gone.png", b"there")
    for n in range(3):
        put("busy.png", f"{n}".encode())
    time.sleep(1.1)
    t = datetime.now(UTC)
    time.sleep(1.1)
    put("cold.png", b"new", StorageClass="GLACIER")
    put("born.png", b"later")
    s3.delete_object(Bucket=media, Key=f"{folder}/gone.png")

    pending = restore_versions(backups, t)

    def current(name: str) -> bytes | None:
        key = f"{folder}/{name}"
        try:
            return bytes(s3.get_object(Bucket=media, Key=key)["Body"].read())
        except s3.exceptions.InvalidObjectState:
            s3.restore_object(Bucket=media, Key=key, RestoreRequest={"Days": 1})
            return bytes(s3.get_object(Bucket=media, Key=key)["Body"].read())
        except s3.exceptions.NoSuchKey:
            return None

    if f"{folder}/cold.png" in pending:
        assert current("cold.png") == b"new"  # left as it is until it can be copied
    else:
        assert current("cold.png") == b"old"
    assert current("gone.png") == b"there"
    assert current("born.png") is None
    assert current("busy.png") == b"2"
    busy = s3.list_object_versions(Bucket=media, Prefix=f"{folder}/busy.png")["Versions"]
    assert len(busy) == 3  # nothing copied over the current version
