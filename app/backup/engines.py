"""Backups of the real engines (issue #19): sets in an S3 bucket, `CHIRP_BACKUP_URL`
(`s3://<media bucket>-backups` on the media endpoint by default).

What each engine contributes:

- **PostgreSQL** (the users' cluster): a base backup with `barman-cloud-backup` in every
  full set, and its WAL archived continuously by PostgreSQL's `archive_command`
  (`barman-cloud-wal-archive`, set up by `scripts/services`; see the README). A restore
  replays WAL up to the exact time asked (`restore_postgres`), so PostgreSQL loses at most
  what `archive_timeout` had not shipped yet.
- **Cassandra** (the keyspace of `CHIRP_TWEETS_URL`): `nodetool flush` (the derived tables,
  then the tweets: see `_Cassandra.create`), then in a full set a
  `nodetool snapshot` shipped table by table, and in every set the sstables that
  `incremental_backups: true` hard-linked under each table's `backups/` since the last set
  (shipped, then removed there). A restore imports the newest full set at or before the
  time and every incremental set after it (`nodetool import --copy-data`), so Cassandra
  loses at most what was written since the last set: the schedule's period.
- **S3 media**: the media bucket is versioned; a restore puts back, key by key, the newest
  version written at or before the time, and deletes keys written after it.
- **Elasticsearch**: derived data, rebuilt from the restored stores (`chirp reindex`'s code)
  rather than snapshotted: Elasticsearch 8.5.3's integ-test build has no S3 repository.
- **Redis**: caches and job queues, emptied by a restore; the jobs a set can catch half-done
  are rebuilt from the restored stores (`app.backup.reconcile_restored`).

The bucket's layout: `sets/<name>/manifest.json` (written last), `cassandra/<name>/<full or
incremental>/<table>/<file>`, and barman-cloud's own `postgres/chirp/...`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from app.backup.retention import pruned
from app.settings import Settings
from storage.s3 import parse_url

MANIFEST = "manifest.json"
STAMP = "%Y%m%dT%H%M%SZ"
SERVER = "chirp"  # barman-cloud's server name for the users' cluster
RESTORE_WAIT_S = 10.0  # for a cold media version's restore, before it is left pending
PROMOTION_WAIT_S = 600.0  # a restored PostgreSQL replays WAL before it takes writes
# How far back the media bucket's versions go: the design's point-in-time window. A prune
# deletes versions replaced (or deleted) longer ago, so purged media leaves S3 for good; a
# restore to an older time leaves the media as it is (and says so).
MEDIA_HISTORY = timedelta(days=7)
# Cassandra's tables of record; every other table of the keyspace is derived from them.
PRIMARY_TABLES = frozenset({"tweets", "archived_tweets"})
log = logging.getLogger("chirp.backup")
_S3 = Config(signature_version="s3v4", s3={"addressing_style": "path"})


def _error(message: str) -> Exception:
    from app.backup import BackupError

    return BackupError(message)


class _Bucket:
    """The backup bucket, through boto3 (backups run in a thread, off the event loop)."""

    def __init__(self, url: str) -> None:
        self.name, options = parse_url(url)
        self.endpoint = options.get("endpoint_url")
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=options.get("region", "us-east-1"),
            config=_S3,
        )

    def keys(self, prefix: str) -> Iterator[dict[str, Any]]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.name, Prefix=prefix):
            yield from page.get("Contents", [])

    def folders(self, prefix: str) -> set[str]:
        """The names of the "folders" right under `prefix`."""
        paginator = self.client.get_paginator("list_objects_v2")
        found = set()
        for page in paginator.paginate(Bucket=self.name, Prefix=prefix, Delimiter="/"):
            found |= {
                p["Prefix"][len(prefix) :].rstrip("/") for p in page.get("CommonPrefixes", [])
            }
        return found

    def delete_prefix(self, prefix: str) -> None:
        batch = [{"Key": o["Key"]} for o in self.keys(prefix)]
        for start in range(0, len(batch), 1000):
            self.client.delete_objects(
                Bucket=self.name, Delete={"Objects": batch[start : start + 1000], "Quiet": True}
            )


class EngineBackups:
    """`chirp backup` on the real engines: the same commands as the embedded default's."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._backup = settings.backup
        media_bucket, media_options = parse_url(settings.media_url)
        url = settings.backup.url
        if not url:
            endpoint = media_options.get("endpoint_url")
            url = f"s3://{media_bucket}-backups" + (f"?endpoint_url={endpoint}" if endpoint else "")
        if urlsplit(url).scheme != "s3":
            raise _error(f"backup URL {url!r}: the real engines' sets go to an S3 bucket (s3://)")
        self._bucket = _Bucket(url)
        self.media = _Bucket(settings.media_url)
        self._postgres = _Postgres(settings, self._bucket)
        self._cassandra = _Cassandra(settings, self._bucket)

    @property
    def engines(self) -> list[str]:
        return ["postgres", "cassandra", "s3", "elasticsearch", "redis"]

    # ------------------------------------------------------------------ create
    def create(self, progress: Any = None, full: bool = False) -> Any:
        """A full set if asked or due (`full_every_s` since the newest), else incremental."""
        from app.backup import BackupSet, start_of_set

        sets = self.sets()
        started_at = start_of_set({s.name for s in sets} | self._unfinished())
        name = started_at.strftime(STAMP)
        fulls = [s for s in sets if s.parts.get("kind") == "full"]
        full = (
            full
            or not fulls
            or ((started_at - fulls[-1].started_at).total_seconds() >= self._backup.full_every_s)
        )
        self.media.client.put_bucket_versioning(
            Bucket=self.media.name, VersioningConfiguration={"Status": "Enabled"}
        )
        parts: dict[str, Any] = {"kind": "full" if full else "incremental"}
        parts["postgres"] = self._postgres.create(name) if full else {"wal": "archived"}
        _tick(progress)
        parts["cassandra"] = self._cassandra.create(name, full, progress)
        parts["s3"] = {"versioning": "Enabled", "bucket": self.media.name}
        parts["elasticsearch"] = {"rebuilt": "from the restored stores"}
        taken_at = datetime.now(UTC)
        manifest = {
            "started_at": started_at.isoformat(),
            "taken_at": taken_at.isoformat(),
            "parts": parts,
        }
        self._bucket.client.put_object(
            Bucket=self._bucket.name,
            Key=f"sets/{name}/{MANIFEST}",
            Body=json.dumps(manifest, indent=2, sort_keys=True).encode(),
        )
        return BackupSet(started_at, taken_at, parts)

    def _unfinished(self) -> set[str]:
        """Names of sets begun and not finished (their Cassandra part, and no manifest)."""
        return self._bucket.folders("cassandra/")

    def sets(self) -> list[Any]:
        from app.backup import BackupSet

        found = []
        for obj in self._bucket.keys("sets/"):
            if obj["Key"].endswith("/" + MANIFEST):
                body = self._bucket.client.get_object(Bucket=self._bucket.name, Key=obj["Key"])
                data = json.loads(body["Body"].read())
                started, taken = (
                    datetime.fromisoformat(data[k]) for k in ("started_at", "taken_at")
                )
                found.append(BackupSet(started, taken, data["parts"]))
        return sorted(found, key=lambda s: s.started_at)

    def _chain(self, sets: list[Any], last: Any) -> list[Any]:
        """The sets a restore of `last` needs: the newest full set at or before it, and
        every set after that up to `last`."""
        upto = [s for s in sets if s.started_at <= last.started_at]
        fulls = [i for i, s in enumerate(upto) if s.parts.get("kind") == "full"]
        if not fulls:
            raise _error(f"the set {last.name} has no full set before it")
        return upto[fulls[-1] :]

    # ------------------------------------------------------------------ prune
    def prune(self, now: datetime | None = None) -> list[Any]:
        """The design's retention, but never a set that a kept set's restore needs."""
        from app.backup import ABANDONED_AFTER

        now = now or datetime.now(UTC)
        sets = self.sets()
        going = set(pruned([s.taken_at for s in sets], now))
        needed = {
            s.name for kept in sets if kept.taken_at not in going for s in self._chain(sets, kept)
        }
        removed = [s for s in sets if s.taken_at in going and s.name not in needed]
        for backup in removed:
            self._bucket.delete_prefix(f"sets/{backup.name}/")
            self._bucket.delete_prefix(f"cassandra/{backup.name}/")
            if backup.parts.get("kind") == "full":
                self._postgres.delete(backup.name)
        _expire_versions(self.media, now - MEDIA_HISTORY)
        finished = {s.name for s in sets}
        for obj in self._bucket.keys("cassandra/"):
            name = obj["Key"].split("/")[1]
            if name not in finished and now - obj["LastModified"] > ABANDONED_AFTER:
                self._bucket.client.delete_object(Bucket=self._bucket.name, Key=obj["Key"])
        return removed

    # ------------------------------------------------------------------ restore
    def restore_postgres(self, to: datetime, data: Path) -> str:
        """Put the base backup before `to` into the empty folder `data`, set to replay the
        archived WAL up to `to` and then take writes: PostgreSQL does that when started."""
        return self._postgres.restore(to, data)

    def restore(self, to: datetime, progress: Any = None) -> Any:
        """Into the running engines (PostgreSQL already restored by `restore_postgres`):
        Cassandra, the media bucket, and an empty cache and queues."""
        sets = self.sets()
        chosen = [s for s in sets if s.taken_at <= to]
        if not chosen:
            raise _error(f"no backup set was finished at or before {to.isoformat()}")
        chain = self._chain(sets, chosen[-1])
        self._postgres.wait_promoted()
        self._cassandra.restore(chain, progress)
        if datetime.now(UTC) - to <= MEDIA_HISTORY:
            pending = restore_versions(self, to, progress)
            if pending:
                log.warning(
                    "%d cold media object(s) still being restored from Glacier, left as "
                    "they are: run the restore again once they are readable (%s)",
                    len(pending),
                    ", ".join(pending[:5]),
                )
        else:
            log.warning(
                "media left as it is: its versions go back %d days, not to %s",
                MEDIA_HISTORY.days,
                to.isoformat(),
            )
        asyncio.run(_empty_cache(self._settings.cache_url))
        return chosen[-1]


class _Postgres:
    def __init__(self, settings: Settings, bucket: _Bucket) -> None:
        from storage.postgres.shards import dsn_hosts, split_dsns

        dsns = split_dsns(settings.users_url)
        clusters = {tuple(dsn_hosts(dsn)) for dsn in dsns}
        if len(clusters) != 1:
            raise _error(
                "chirp backup covers one PostgreSQL cluster (every shard's database on it); "
                f"CHIRP_USERS_URL names {len(clusters)}"
            )
        self._dsn = dsns[0]
        # barman-cloud-backup connects through libpq, which takes lists of hosts and ports
        # (a primary and its standbys) and, told so, picks the writable one.
        hosts = dsn_hosts(self._dsn)
        self._hosts = ",".join(host for host, _ in hosts)
        self._ports = ",".join(str(port) for _, port in hosts)
        self._user = urlsplit(self._dsn).username or "postgres"
        self._bucket = bucket
        self._tools = Path(settings.backup.barman) if settings.backup.barman else None

    def _tool(self, name: str) -> str:
        path = self._tools / name if self._tools else shutil.which(name)
        if path is None or not Path(path).exists():
            raise _error(
                f"{name} is not installed (PyPI barman[cloud]; scripts/services installs it, "
                "CHIRP_BACKUP_BARMAN names its folder)"
            )
        return str(path)

    def _common(self) -> list[str]:
        endpoint = ["--endpoint-url", self._bucket.endpoint] if self._bucket.endpoint else []
        return [*endpoint, f"s3://{self._bucket.name}/postgres", SERVER]

    def create(self, name: str) -> dict[str, Any]:
        """A base backup named after the set (WAL is archived by PostgreSQL meanwhile)."""
        command = [
            self._tool("barman-cloud-backup"),
            "--gzip",
            "--name",
            name,
            *("-h", self._hosts, "-p", self._ports, "-U", self._user, "-d", "postgres"),
            *self._common(),
        ]
        _run(command, "PostgreSQL base backup", PGTARGETSESSIONATTRS="read-write")
        return {"base_backup": name}

    def delete(self, name: str) -> None:
        _run(
            [self._tool("barman-cloud-backup-delete"), *self._common(), "-b", name],
            "PostgreSQL base backup removal",
        )

    def restore(self, to: datetime, data: Path) -> str:
        if data.exists() and any(data.iterdir()):
            raise _error(f"{data} is not empty: stop PostgreSQL and move its data folder away")
        data.mkdir(parents=True, exist_ok=True)
        target = to.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")
        _run(
            [
                self._tool("barman-cloud-restore"),
                "--target-time",
                target,
                *self._common(),
                "auto",
                str(data),
            ],
            "PostgreSQL restore",
        )
        wal_restore = " ".join([self._tool("barman-cloud-wal-restore"), *self._common()])
        with (data / "postgresql.auto.conf").open("a") as conf:
            conf.write(
                "\n# chirp backup restore-postgres: replay the archived WAL up to the target\n"
                f"restore_command = '{wal_restore} %f %p'\n"
                f"recovery_target_time = '{target}'\n"
                "recovery_target_action = 'promote'\n"
            )
        (data / "recovery.signal").touch()
        return target

    def wait_promoted(self) -> None:
        """Until the restored PostgreSQL has replayed to its target and takes writes; then
        its recovery settings go (a standby copied from it later would otherwise stop at
        the same target and promote itself)."""
        asyncio.run(_wait_promoted(self._dsn))


RECOVERY_SETTINGS = ("restore_command", "recovery_target_time", "recovery_target_action")


async def _wait_promoted(dsn: str) -> None:
    import asyncpg

    deadline = time.monotonic() + PROMOTION_WAIT_S
    while True:
        try:
            connection = await asyncpg.connect(dsn, timeout=5)
            try:
                if not await connection.fetchval("SELECT pg_is_in_recovery()"):
                    for setting in RECOVERY_SETTINGS:
                        await connection.execute(f"ALTER SYSTEM RESET {setting}")
                    await connection.execute("SELECT pg_reload_conf()")
                    return
            finally:
                await connection.close()
        except (OSError, asyncpg.PostgresError):
            pass
        if time.monotonic() > deadline:
            raise _error("PostgreSQL is still recovering (or down): see its log")
        await asyncio.sleep(0.5)


class _Cassandra:
    def __init__(self, settings: Settings, bucket: _Bucket) -> None:
        from storage.cassandra.session import CassandraUrl

        self._url = CassandraUrl(settings.tweets_url)
        self._keyspace = self._url.keyspace
        self._nodetool = settings.backup.nodetool
        data = settings.backup.cassandra_data
        self._data = Path(data) if data else None
        self._bucket = bucket

    def _tool(self, *args: str) -> str:
        return _run([*self._nodetool.split(), *args], f"nodetool {args[0]}")

    def _tables(self) -> dict[str, Path]:
        """Each table of the keyspace, with its folder on this host (its id names it)."""
        from storage.cassandra.session import connect

        if self._data is None:
            raise _error("CHIRP_BACKUP_CASSANDRA_DATA must name Cassandra's data folder")
        cluster, session = connect(self._url)
        try:
            rows = session.execute(
                "SELECT table_name, id FROM system_schema.tables WHERE keyspace_name = %s",
                (self._keyspace,),
            )
            ids = {row["table_name"]: row["id"].hex for row in rows}
        finally:
            cluster.shutdown()
        return {table: self._data / self._keyspace / f"{table}-{id_}" for table, id_ in ids.items()}

    def create(self, name: str, full: bool, progress: Any) -> dict[str, Any]:
        tables = self._tables()
        # Tables are flushed one after another, so a set is not one moment of the keyspace.
        # The derived tables (timelines, engagement, counts...) go first and the tweets
        # last: every entry the set holds then points to a tweet it also holds, and what a
        # tweet lacks (an entry written after its table's flush) the restore rebuilds from
        # the tweets (Reconcile.reattach).
        derived = sorted(set(tables) - PRIMARY_TABLES)
        self._tool("flush", "--", self._keyspace, *derived)
        self._tool("flush", "--", self._keyspace, *sorted(PRIMARY_TABLES & set(tables)))
        # What incremental_backups linked so far: in a full set, the snapshot holds it.
        linked = {t: sorted(_files(folder / "backups")) for t, folder in tables.items()}
        shipped = files = 0
        if full:
            # Without flushing again, which would flush every table at once.
            self._tool("snapshot", "--skip-flush", "-t", name, "--", self._keyspace)
            try:
                for table, folder in tables.items():
                    for path in _files(folder / "snapshots" / name):
                        self._put(f"cassandra/{name}/full/{table}/{path.name}", path)
                        shipped, files = shipped + path.stat().st_size, files + 1
                        _tick(progress)
            finally:
                self._tool("clearsnapshot", "-t", name, "--", self._keyspace)
        for table, paths in linked.items():
            for path in paths:
                if not full:
                    self._put(f"cassandra/{name}/incremental/{table}/{path.name}", path)
                    shipped, files = shipped + path.stat().st_size, files + 1
                    _tick(progress)
                path.unlink()
        return {"keyspace": self._keyspace, "files": files, "bytes": shipped}

    def _put(self, key: str, path: Path) -> None:
        self._bucket.client.upload_file(str(path), self._bucket.name, key)

    def restore(self, chain: list[Any], progress: Any) -> None:
        """Every table's sstables of the chain, imported into the (empty, migrated) keyspace."""
        tables = self._tables()
        assert self._data is not None
        work = Path(tempfile.mkdtemp(prefix="chirp-restore-", dir=self._data.parent))
        try:
            folders: dict[str, list[Path]] = defaultdict(list)
            for backup in chain:
                for obj in self._bucket.keys(f"cassandra/{backup.name}/"):
                    _, set_name, kind, table, file = obj["Key"].split("/")
                    folder = work / f"{set_name}-{kind}" / self._keyspace / table
                    if folder not in folders[table]:
                        folders[table].append(folder)
                    folder.mkdir(parents=True, exist_ok=True)
                    local = str(folder / file)
                    self._bucket.client.download_file(self._bucket.name, obj["Key"], local)
                    _tick(progress)
            for table, dirs in sorted(folders.items()):
                if table not in tables:
                    continue  # a table the schema no longer has
                self._tool("import", "--copy-data", self._keyspace, table, *map(str, dirs))
        finally:
            shutil.rmtree(work, ignore_errors=True)


def _history(bucket: _Bucket) -> dict[str, list[dict[str, Any]]]:
    """Every key's versions and delete markers, newest first."""
    history: dict[str, list[dict[str, Any]]] = defaultdict(list)
    paginator = bucket.client.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket.name):
        for entry in page.get("Versions", []):
            history[entry["Key"]].append({**entry, "marker": False})
        for entry in page.get("DeleteMarkers", []):
            history[entry["Key"]].append({**entry, "marker": True})
    for versions in history.values():
        # Newest first; S3 lists a key's versions newest first, and times are to the
        # second: among versions of one second the current one leads, then S3's order.
        versions.sort(key=lambda v: (v["LastModified"], v["IsLatest"]), reverse=True)
    return history


def _expire_versions(bucket: _Bucket, before: datetime) -> None:
    """Delete the versions replaced before `before`, and a delete marker left with nothing
    under it: what S3's NoncurrentVersionExpiration rule does (set here by hand, as an
    endpoint may not apply lifecycle rules)."""
    for key, versions in _history(bucket).items():
        newer: dict[str, Any] | None = None
        gone = []
        for version in versions:
            if newer is not None and newer["LastModified"] < before:
                gone.append(version)
            newer = version
        if gone and len(gone) == len(versions) - 1 and versions[0]["marker"]:
            gone.append(versions[0])  # the marker of a key whose every version went
        for version in gone:
            bucket.client.delete_object(Bucket=bucket.name, Key=key, VersionId=version["VersionId"])


def restore_versions(backups: EngineBackups, to: datetime, progress: Any = None) -> list[str]:
    """Each key of the media bucket as it was at `to`: the newest version written at or
    before it copied back on top, or the key deleted if it did not exist then.

    A cold (GLACIER) version cannot be copied until S3 has restored it (minutes to hours on
    AWS; moto restores only a key's newest version): its restore is asked for, it is waited
    for up to RESTORE_WAIT_S, and the keys still waiting are returned: run the restore
    again once they are readable. Their current version stays meanwhile."""
    bucket = backups.media
    pending = []
    for key, versions in _history(bucket).items():
        current = next((v for v in versions if v["IsLatest"]), versions[0])
        then = next((v for v in versions if v["LastModified"] <= to), None)
        if then is None or then["marker"]:
            if not current["marker"]:
                bucket.client.delete_object(Bucket=bucket.name, Key=key)
        elif then["VersionId"] != current["VersionId"] and not _copy_back(bucket, key, then):
            pending.append(key)
        _tick(progress)
    return pending


def _copy_back(bucket: _Bucket, key: str, version: dict[str, Any]) -> bool:
    source = {"Bucket": bucket.name, "Key": key, "VersionId": version["VersionId"]}
    extra = {"StorageClass": version["StorageClass"]} if version.get("StorageClass") else {}
    deadline = time.monotonic() + RESTORE_WAIT_S
    asked = False
    while True:
        try:
            bucket.client.copy_object(Bucket=bucket.name, Key=key, CopySource=source, **extra)
            return True
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if code not in ("InvalidObjectState", "ObjectNotInActiveTierError"):
                raise
        if not asked:
            with contextlib.suppress(ClientError):  # RestoreAlreadyInProgress, say
                bucket.client.restore_object(
                    Bucket=bucket.name,
                    Key=key,
                    VersionId=version["VersionId"],
                    RestoreRequest={"Days": 1, "GlacierJobParameters": {"Tier": "Expedited"}},
                )
            asked = True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)


async def _empty_cache(url: str) -> None:
    """The cache and job queues hold what was true after the restore's time: emptied."""
    if not url.startswith("redis"):
        return
    from storage.redis.client import close_client, new_client

    client = new_client(url)
    try:
        await client.flushdb()
    finally:
        await close_client(client)


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


def _run(command: list[str], what: str, **env: str) -> str:
    environment = {**os.environ, **env} if env else None
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=environment)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise _error(f"{what} failed ({done.returncode}): {detail[-1] if detail else ''}")
    return done.stdout


def _tick(progress: Any) -> None:
    if progress is not None:
        progress(1)
