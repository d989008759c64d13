"""Backups (issue #19): consistent sets of every engine's data, kept on the design's schedule
(app/backup/retention.py) and restored to a point in time.

A set is a folder of the backup repository named by the UTC second it was started
(`20261204T101500Z/`), with one part per engine and a `manifest.json` written last: a set
without its manifest is an unfinished one, never listed, never restored, and removed by a
prune once it is an hour old. `CHIRP_BACKUP_URL` names the repository (a `backups` folder
in `CHIRP_DATA_DIR` by default).

The parts on the embedded default:

- `sqlite`: the database file (users, tweets, timelines, search, the job queue: everything
  but media), copied online with SQLite's backup API, so the server and worker go on
  writing while it runs and the copy is one consistent moment of the file;
- `media`: the local media folder, file by file; a file unchanged since the previous set is
  hard-linked to that set's copy rather than copied again.

Restoring to a time T puts back the newest set finished at or before T: everything written
before that set started is back, nothing written after T is (what was written between the
set and T is the recovery point's loss: at most the schedule's period,
`CHIRP_BACKUP_EVERY_S`, plus the time a set takes).
A restore replaces the live data, so the server and workers must be stopped first; then
the jobs and counts a set can catch half-done are rebuilt (`reconcile_restored`).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from app.backup.retention import pruned
from app.settings import Settings
from storage.sqlite.database import path_from_url

if TYPE_CHECKING:
    from app.backup.engines import EngineBackups

MANIFEST = "manifest.json"
STAMP = "%Y%m%dT%H%M%SZ"
RESTORE_MARGIN = timedelta(minutes=1)  # reconciled before a restored set's start
ABANDONED_AFTER = timedelta(hours=1)  # an unfinished set older than this is removed

Progress = Callable[[int], object] | None


class BackupError(Exception):
    """A backup or restore that cannot be done as asked (said to the user as is)."""


@dataclass(frozen=True)
class BackupSet:
    """`started_at`: everything acknowledged before it is in the set. `taken_at` (when the
    last part was done): nothing written after it is. A restore to T picks by `taken_at`."""

    started_at: datetime
    taken_at: datetime
    parts: dict[str, dict[str, object]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.started_at.strftime(STAMP)


def start_of_set(taken: set[str]) -> datetime:
    """Now, or the next second if a set was started this second already (sets are named by
    their start's second, and an incremental set can take less than one)."""
    while True:
        now = datetime.now(UTC)
        if now.strftime(STAMP) not in taken:
            return now
        time.sleep(1 - now.microsecond / 1_000_000)


def open_backups(settings: Settings) -> Backups | EngineBackups:
    """The embedded default's sets (a folder) or the real engines' (an S3 bucket)."""
    urls = (settings.users_url, settings.tweets_url, settings.search_url, settings.media_url)
    embedded = [url.startswith(("sqlite:", "file:")) for url in urls]
    if all(embedded):
        return Backups(settings)
    if any(embedded):
        raise BackupError(
            "chirp backup covers the embedded default or the real engines, not a mix of both"
        )
    from app.backup.engines import EngineBackups

    return EngineBackups(settings)


def folder_from_url(url: str) -> Path:
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc:
        raise BackupError(f"backup URL {url!r}: use file:///./folder (S3 is not supported yet)")
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    if not path:
        raise BackupError(f"backup URL {url!r} names no folder")
    return Path(path)


class Backups:
    """`chirp backup create | list | prune | restore` and the worker's schedule."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._root = folder_from_url(settings.backup.url or f"file:///{settings.data_dir}/backups")
        self._parts = _parts(settings)

    @property
    def engines(self) -> list[str]:
        return list(self._parts)

    def create(self, progress: Progress = None, full: bool = True) -> BackupSet:
        """Every embedded set is a full one."""
        started_at = start_of_set(
            {p.name for p in self._root.iterdir()} if self._root.exists() else set()
        )
        target = self._root / started_at.strftime(STAMP)
        previous = self.sets()
        target.mkdir(parents=True)
        parts = {}
        for name, part in self._parts.items():
            before = self._root / previous[-1].name / name if previous else None
            parts[name] = part.create(target / name, before, progress)
        backup = BackupSet(started_at, datetime.now(UTC), parts)
        manifest = {
            "started_at": backup.started_at.isoformat(),
            "taken_at": backup.taken_at.isoformat(),
            "parts": parts,
        }
        _write_json(target / MANIFEST, manifest)
        return backup

    def sets(self) -> list[BackupSet]:
        """Finished sets, oldest first."""
        if not self._root.exists():
            return []
        sets = []
        for folder in sorted(self._root.iterdir()):
            manifest = folder / MANIFEST
            if manifest.is_file():
                data = json.loads(manifest.read_text())
                started, taken = (
                    datetime.fromisoformat(data[k]) for k in ("started_at", "taken_at")
                )
                sets.append(BackupSet(started, taken, data["parts"]))
        return sets

    def prune(self, now: datetime | None = None) -> list[BackupSet]:
        """Remove the sets the schedule lets go, and unfinished ones; returns those removed."""
        now = now or datetime.now(UTC)
        sets = self.sets()
        going = set(pruned([s.taken_at for s in sets], now))
        removed = [s for s in sets if s.taken_at in going]
        finished = {s.name for s in sets}
        going_names = {s.name for s in removed}
        for folder in sorted(self._root.iterdir()) if self._root.exists() else []:
            if folder.name in going_names or (
                folder.name not in finished and _abandoned(folder.name, now)
            ):
                shutil.rmtree(folder)
        return removed

    def restore(self, to: datetime, progress: Progress = None) -> BackupSet:
        """Put back the newest set finished at or before `to` (stop the server first)."""
        chosen = [s for s in self.sets() if s.taken_at <= to]
        if not chosen:
            raise BackupError(f"no backup set was finished at or before {to.isoformat()}")
        backup = chosen[-1]
        missing = set(self._parts) - set(backup.parts)
        if missing:
            raise BackupError(f"the set {backup.name} has no {', '.join(sorted(missing))} part")
        for name, part in self._parts.items():
            part.restore(self._root / backup.name / name, progress)
        return backup


async def reconcile_restored(settings: Settings, backup: BackupSet) -> tuple[int, int]:
    """After a restore: a set is a moment of the data like a crash is, so a tweet written
    just before it may lack its jobs (fan-out, indexing, retraction) or its count. Rebuild
    those of the tweets since shortly before the set (app/reconcile.py), into the restored
    queue; returns (jobs enqueued, counts corrected)."""
    from app.jobs import Jobs
    from app.reconcile import RECONCILED, Reconcile
    from storage.registry import open_stores

    stores = await open_stores(settings)
    try:
        if not settings.search_url.startswith("sqlite:"):
            # The search index is derived data, rebuilt from the restored stores.
            from app.services.reindex import Reindex, ReindexUsers

            await Reindex(stores)(None)
            await ReindexUsers(stores)(None)
        reconcile = Reconcile(stores, Jobs(stores.queues), settings.reconcile_window_s)
        since = backup.started_at - RESTORE_MARGIN
        if not settings.tweets_url.startswith("sqlite:"):
            await reconcile.reattach(since)  # tables flushed one by one (app/backup/engines.py)
        jobs = [await reconcile(stream, since) for stream in RECONCILED]
        return sum(jobs), await reconcile.recount(since)
    finally:
        await stores.close()


class _Part:
    def create(self, target: Path, previous: Path | None, progress: Progress) -> dict[str, object]:
        raise NotImplementedError

    def restore(self, source: Path, progress: Progress) -> None:
        raise NotImplementedError


class _SqlitePart(_Part):
    def __init__(self, path: Path) -> None:
        self._path = path

    def create(self, target: Path, previous: Path | None, progress: Progress) -> dict[str, object]:
        if not self._path.exists():
            raise BackupError(f"no database at {self._path} (run chirp migrate)")
        target.mkdir(parents=True, exist_ok=True)
        copy = target / self._path.name
        _online_copy(self._path, copy, progress)
        return {"file": self._path.name, "bytes": copy.stat().st_size}

    def restore(self, source: Path, progress: Progress) -> None:
        copy = source / self._path.name
        self._path.parent.mkdir(parents=True, exist_ok=True)
        _online_copy(copy, self._path, progress)


class _MediaPart(_Part):
    def __init__(self, root: Path) -> None:
        self._root = root

    def create(self, target: Path, previous: Path | None, progress: Progress) -> dict[str, object]:
        files = linked = size = 0
        for path in _files(self._root):
            relative = path.relative_to(self._root)
            copy = target / relative
            copy.parent.mkdir(parents=True, exist_ok=True)
            earlier = previous / relative if previous is not None else None
            if earlier is not None and _same(earlier, path):
                os.link(earlier, copy)
                linked += 1
            else:
                shutil.copy2(path, copy)
            files, size = files + 1, size + path.stat().st_size
            if progress is not None:
                progress(1)
        target.mkdir(parents=True, exist_ok=True)
        return {"files": files, "linked": linked, "bytes": size}

    def restore(self, source: Path, progress: Progress) -> None:
        kept = {path.relative_to(source) for path in _files(source)}
        for path in _files(self._root):
            if path.relative_to(self._root) not in kept:
                path.unlink()
        for relative in sorted(kept):
            live = self._root / relative
            live.parent.mkdir(parents=True, exist_ok=True)
            if not _same(source / relative, live):
                shutil.copy2(source / relative, live)
            if progress is not None:
                progress(1)


def _parts(settings: Settings) -> dict[str, _Part]:
    """The parts of an embedded set: each SQLite file, and the media folder."""
    databases = {
        path_from_url(url).resolve()
        for url in (settings.users_url, settings.tweets_url, settings.search_url)
        if url.startswith("sqlite:")
    }
    parts: dict[str, _Part] = {}
    for n, database in enumerate(sorted(databases)):
        parts["sqlite" if n == 0 else f"sqlite{n}"] = _SqlitePart(database)
    from storage.local_media import root_from_url

    parts["media"] = _MediaPart(root_from_url(settings.media_url))
    return parts


def _online_copy(source: Path, target: Path, progress: Progress) -> None:
    """SQLite's backup API in one step: one read transaction, so the copy is the file as it
    was at one moment, and in WAL mode writers of `source` go on meanwhile. (Copying a few
    pages a step would start over at every write by another connection, and never end on a
    busy server.)"""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    if progress is not None:
        progress(1)


def _abandoned(name: str, now: datetime) -> bool:
    """An unfinished set started over ABANDONED_AFTER ago (a younger one may be being
    taken right now by another process)."""
    try:
        started = datetime.strptime(name, STAMP).replace(tzinfo=UTC)
    except ValueError:
        return False  # not a set's folder: not ours to remove
    return now - started > ABANDONED_AFTER


def _files(root: Path) -> Sequence[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _same(a: Path, b: Path) -> bool:
    if not (a.is_file() and b.is_file()):
        return False
    sa, sb = a.stat(), b.stat()
    return sa.st_size == sb.st_size and int(sa.st_mtime) == int(sb.st_mtime)


def _write_json(path: Path, data: object) -> None:
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(data, indent=2, sort_keys=True))
    partial.replace(path)
