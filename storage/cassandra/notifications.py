"""CassandraNotificationStore: notifications partitioned per recipient and time bucket,
clustered newest first, every row with a TTL of the retention window. Three tables
(migrations/0004_notifications.cql):

`notification_subjects`, one partition per (recipient, base key), is the truth that writes
decide on. Its rows are the base's group headers (row_type 0, by group id) and its actors'
claims (row_type 1, by actor id: the group the actor counts in). Its static columns are the
partition's `version`, the base's `newest` group and the `dirty` groups whose feed rows may
not match their header yet. A change reads the statics first, then its actors' claims and
the headers it needs, folds itself in (storage/notifications.py, like every adapter) and
writes the result as ONE conditional batch on the partition, `IF version = <the version
read>`, that also moves the version on. Reading the version first fences what is read after
it: if anything changed meanwhile, the batch does not apply and the change is read and
folded again, so concurrent changes on one base serialize and none is lost. The table is
written only by lightweight transactions (plain writes' timestamps could lose to Paxos'),
all through one UPDATE whose unused columns are UNSET; a row whose columns are null is gone.
A claim counts only while its group's header lives, so dropping a base deletes its headers
and the claims left behind (Cassandra refuses a conditional delete of a partition or a
range) are dead; they go with their TTL.

`notification_feed` is the read model: a partition per (recipient, lane, week of latest_at),
clustered by position (latest_at, group id) newest first. Each group has a row in lane 'all'
and one in the lane of its kind, so a kinds filter reads only its kinds, and a page is one
query over the lanes and weeks it needs, merged here. After the batch, each changed group's
rows are written at its position and deleted at the other positions its header has `placed`
it at (all of them once it is gone), all with the header's version as their timestamp: the
feed writes commute, and a late write of a stale writer loses to a later delete. Then a
conditional update, if the version is still the one written, clears the groups from `dirty`
and forgets the positions deleted. A change that finds dirty groups (a writer died between
its batch and its feed writes, or is still at them) writes their feed rows first, so a
retried job finishes what the failed try began, and its own batch clears them.

`notification_reads` keeps the read marker as its newest row: marking inserts a position
only if it is later than the marker, and concurrent marks only add rows; the latest wins.

An apply is two rounds of reads (the statics and the marker; the claims and headers), the
batch, the feed writes and the settling update: two of them lightweight transactions. A page
reads the feed, usually in one query; an unread count reads the marker, then the feed.

Rows live `retention` after their last write, and reads leave out groups older than that.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from cassandra.query import UNSET_VALUE

from storage.cassandra.session import CassandraSession, gather
from storage.errors import StorageError
from storage.notifications import BaseState, Claim, Folded, fold, refilled
from storage.ports import Position
from storage.records import NOTIFICATION_KINDS, NotificationChange, NotificationGroup, utcnow

HEADER, CLAIM = 0, 1  # notification_subjects.row_type
ALL = "all"  # the feed's lane of every kind
BUCKET_MS = 7 * 86_400_000  # a feed partition holds a week of a lane
CLOCK_SKEW = timedelta(days=1)  # reads start this far past now: actors' times may run ahead
FEED_ROWS = 5_000  # the driver's page: one read of the feed stays within it
REFILL_ROWS = 2_000  # claims read to refill a group's sample
HEADER_ROWS = 200  # headers a drop removes per batch
OLDER_HEADERS = 16  # headers read for a new newest group when the newest is left empty
CAS_TRIES = 50
BACKOFF_S = 0.002  # first retry within 2 ms, doubling to at most BACKOFF_CAP_S, jittered
BACKOFF_CAP_S = 0.05
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_SET = (
    *("version", "newest", "dirty"),  # static
    *("kind", "subject_id", "count", "sample", "latest_at", "placed", "hv"),  # a header
    *("group_id", "at"),  # a claim
)
_WRITE = (
    "UPDATE {ks}.notification_subjects USING TTL ? SET "
    + ", ".join(f"{column} = ?" for column in _SET)
    + " WHERE user_id = ? AND base_key = ? AND row_type = ? AND row_id = ? IF version = ?"
)
_GONE: Mapping[str, Any] = dict.fromkeys(_SET[3:10])  # a header's columns, all null
_IN_BASE = "FROM {ks}.notification_subjects WHERE user_id = ? AND base_key = ?"
_HEADERS = f"SELECT version, row_id, {', '.join(_SET[3:10])} {_IN_BASE} AND row_type = {HEADER}"
_CLAIMS = f"SELECT row_id, group_id, at {_IN_BASE} AND row_type = {CLAIM}"
_FEED_WRITE = (
    "INSERT INTO {ks}.notification_feed (user_id, lane, bucket, latest_at, group_id, "
    "base_key, kind, subject_id, count, sample) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "USING TTL ? AND TIMESTAMP ?"
)
_FEED_DELETE = (
    "DELETE FROM {ks}.notification_feed USING TIMESTAMP ? "
    "WHERE user_id = ? AND lane = ? AND bucket = ? AND latest_at = ? AND group_id = ?"
)
_FEED_COLUMNS = "group_id, latest_at, base_key, kind, subject_id, count, sample"

Row = tuple[int, int, Mapping[str, Any]]  # (row_type, row_id, the columns it sets)


@dataclass(frozen=True)
class _Header:
    group: NotificationGroup
    placed: frozenset[int]  # positions (latest_at, in ms) the feed may hold the group's rows at
    hv: int  # the version the header was written at: its feed rows' timestamp

    @property
    def settled(self) -> Mapping[str, Any]:
        """The header's columns once its feed rows match it."""
        return {"placed": {self.group.latest_at}} if self.group.count > 0 else _GONE


@dataclass(frozen=True)
class _Base:
    """What one apply read of a base's partition."""

    version: int | None
    newest: int | None
    dirty: frozenset[int]
    headers: dict[int, _Header]  # the live headers of the newest, dirty and claimed groups
    claims: dict[int, Claim]  # the change's actors' live claims

    def state(self) -> BaseState:
        groups = {group_id: header.group for group_id, header in self.headers.items()}
        return BaseState(self.newest, self.claims, groups)

    def placed(self, group_id: int) -> frozenset[int]:
        """Where the feed may hold the group now (the dirty groups' rows were just synced)."""
        header = self.headers.get(group_id)
        if header is None:
            return frozenset()
        return frozenset({_ms(header.group.latest_at)}) if group_id in self.dirty else header.placed

    def settled(self, group_id: int) -> Mapping[str, Any]:
        """A dirty group's header columns now that its feed rows were synced."""
        header = self.headers.get(group_id)
        return _GONE if header is None else header.settled


class CassandraNotificationStore:
    def __init__(self, db: CassandraSession, retention: timedelta) -> None:
        self._db = db
        self._retention = retention
        self._ttl = int(retention.total_seconds())

    async def apply(
        self, change: NotificationChange, window: timedelta, new_id: Callable[[], int]
    ) -> list[NotificationGroup]:
        user, key = change.recipient_id, change.base_key
        for attempt in range(CAS_TRIES):
            base, marker = await self._read(change)
            await self._sync(user, [base.headers[g] for g in base.dirty if g in base.headers])
            folded = fold(base.state(), change, marker, window, new_id)
            if not folded.changed:
                return []
            version = _next_version(base.version)
            written = await self._write(change, base, folded, version)
            if written is not None:
                await self._sync(user, written)
                settled = [(HEADER, header.group.id, header.settled) for header in written]
                await self._batch(user, key, version, {"dirty": None}, settled)
                return list(folded.groups.values())
            await _backoff(attempt)
        raise StorageError(f"Cassandra: notifications of {key} for {user} kept changing")

    async def _read(self, change: NotificationChange) -> tuple[_Base, Position | None]:
        """The statics (and the read marker), then the claims and headers the change needs."""
        user, key = change.recipient_id, change.base_key
        statics, marker = await asyncio.gather(
            self._db.run(f"SELECT version, newest, dirty {_IN_BASE} LIMIT 1", (user, key)),
            self.read_marker(user),
        )
        version, newest, dirty = (
            (statics[0]["version"], statics[0]["newest"], frozenset(statics[0]["dirty"] or ()))
            if statics
            else (None, None, frozenset())
        )
        actors = list(dict.fromkeys([actor for actor, _ in change.added] + list(change.removed)))
        wanted = dirty | ({newest} if newest is not None else set())
        claimed, headers = await asyncio.gather(
            self._rows(f"{_CLAIMS} AND row_id IN ?", user, key, actors),
            self._rows(f"{_HEADERS} AND row_id IN ?", user, key, wanted),
        )
        named = {row["group_id"] for row in claimed} - wanted
        headers += await self._rows(f"{_HEADERS} AND row_id IN ?", user, key, named)
        live = {h.group.id: h for h in (_header(user, key, row) for row in headers) if h}
        claims = {
            row["row_id"]: (row["group_id"], _utc(row["at"]))
            for row in claimed
            if row["group_id"] in live
        }
        return _Base(version, newest, dirty, live, claims), marker

    async def _rows(
        self, cql: str, user: int, key: str, ids: Collection[int]
    ) -> list[dict[str, Any]]:
        return await self._db.run(cql, (user, key, list(ids))) if ids else []

    async def _write(
        self, change: NotificationChange, base: _Base, folded: Folded, version: int
    ) -> list[_Header] | None:
        """The conditional batch of a folded change: its claims, its groups' headers (and
        the dirty ones just synced, settled), the statics. The headers written, or None if
        the partition changed since it was read."""
        await self._refill(change, folded)
        newest = await self._newest(change, folded)
        written = [
            _Header(group, base.placed(group.id) | {_ms(group.latest_at)}, version)
            for group in folded.groups.values()
        ]
        rows: list[Row] = [
            (CLAIM, actor, {"group_id": None, "at": None}) for actor in folded.unclaimed
        ]
        rows += [
            (CLAIM, actor, {"group_id": group_id, "at": at})
            for actor, (group_id, at) in folded.claimed.items()
        ]
        rows += [(HEADER, header.group.id, _columns(header)) for header in written]
        rows += [
            (HEADER, group_id, base.settled(group_id))
            for group_id in base.dirty - folded.groups.keys()
        ]
        statics = {"version": version, "newest": newest, "dirty": set(folded.groups)}
        applied = await self._batch(
            change.recipient_id, change.base_key, base.version, statics, rows
        )
        return written if applied else None

    async def _refill(self, change: NotificationChange, folded: Folded) -> None:
        """Take the samples of groups that lost a shown actor again from their claims."""
        if not folded.short:
            return
        rows = await self._db.run(
            f"{_CLAIMS} LIMIT ?", (change.recipient_id, change.base_key, REFILL_ROWS)
        )
        gone = set(folded.unclaimed)
        members: dict[int, list[tuple[int, datetime]]] = {group_id: [] for group_id in folded.short}
        for row in rows:
            if row["group_id"] in members and row["row_id"] not in gone:
                members[row["group_id"]].append((row["row_id"], _utc(row["at"])))
        for actor, (group_id, at) in folded.claimed.items():
            if group_id in members:
                members[group_id].append((actor, at))
        for group_id, found in members.items():
            folded.groups[group_id] = refilled(folded.groups[group_id], found)

    async def _newest(self, change: NotificationChange, folded: Folded) -> int | None:
        """The base's newest group after the change: when it was left empty, the newest
        one older than it that is not."""
        newest = folded.newest
        group = folded.groups.get(newest) if newest is not None else None
        if group is None or group.count > 0:
            return newest
        emptied = {group.id for group in folded.groups.values() if group.count == 0}
        rows = await self._db.run(
            f"SELECT row_id, count {_IN_BASE} AND row_type = {HEADER} AND row_id < ? "
            "ORDER BY row_type DESC, row_id DESC LIMIT ?",
            (change.recipient_id, change.base_key, newest, OLDER_HEADERS),
        )
        alive = (row["row_id"] for row in rows if row["count"] and row["row_id"] not in emptied)
        return next(alive, None)

    async def _batch(
        self,
        user: int,
        key: str,
        expected: int | None,
        statics: Mapping[str, Any],
        rows: Sequence[Row],
    ) -> bool:
        """One conditional batch on the base's partition (the statics set with its first
        row); whether it applied, that is whether the version was still `expected`."""
        if not rows:
            return True
        params = [
            (
                self._ttl,
                *(
                    ({**statics, **columns} if index == 0 else columns).get(c, UNSET_VALUE)
                    for c in _SET
                ),
                user,
                key,
                row_type,
                row_id,
                expected,
            )
            for index, (row_type, row_id, columns) in enumerate(rows)
        ]
        applied, _ = await self._db.applied_batch(_WRITE, params)
        return applied

    async def _sync(self, user: int, headers: Iterable[_Header]) -> None:
        """Make the feed match the headers: each group's rows (in both its lanes) at its
        position, none at the other positions it was placed at, none at all once it is
        gone; every write and delete at the header's version."""
        writes: list[tuple[Any, ...]] = []
        deletes: list[tuple[Any, ...]] = []
        for header in headers:
            group = header.group
            lanes = (ALL, group.kind)
            here = {_ms(group.latest_at)} if group.count > 0 else set()
            writes += [
                (user, lane, *_feed_values(group), self._ttl, header.hv) for lane in lanes if here
            ]
            deletes += [
                (header.hv, user, lane, _bucket(ms), _from_ms(ms), group.id)
                for ms in header.placed - here
                for lane in lanes
            ]
        await gather(
            [self._db.run_many(_FEED_WRITE, writes), self._db.run_many(_FEED_DELETE, deletes)]
        )

    async def drop(self, recipient_id: int, base_key: str) -> list[NotificationGroup]:
        dropped: list[NotificationGroup] = []
        while True:
            rows, removed = await self._drop_some(recipient_id, base_key)
            dropped += removed
            if len(rows) < HEADER_ROWS:
                return dropped

    async def _drop_some(
        self, user: int, key: str
    ) -> tuple[list[dict[str, Any]], list[NotificationGroup]]:
        """Delete up to HEADER_ROWS of the base's groups: their feed rows at a timestamp
        later than any version, then their headers, with the statics reset, in one
        conditional batch (the claims left are dead: they name no live group)."""
        for attempt in range(CAS_TRIES):
            rows = await self._db.run(f"{_HEADERS} LIMIT ?", (user, key, HEADER_ROWS))
            if not rows:
                return [], []
            version = rows[0]["version"]  # a static: read with the headers, at once
            after_all = _next_version(version)
            headers = [header for row in rows if (header := _header(user, key, row))]
            await self._sync(
                user, [replace(h, group=_gone(h.group), hv=after_all) for h in headers]
            )
            statics = {"version": after_all, "newest": None, "dirty": None}
            if await self._batch(
                user, key, version, statics, [(HEADER, row["row_id"], _GONE) for row in rows]
            ):
                return rows, [_gone(h.group) for h in headers if h.group.count > 0]
            await _backoff(attempt)
        raise StorageError(f"Cassandra: notifications of {key} for {user} kept changing")

    async def page(
        self,
        recipient_id: int,
        limit: int,
        after: Position | None = None,
        kinds: Collection[str] | None = None,
    ) -> list[NotificationGroup]:
        if limit <= 0 or (kinds is not None and not kinds):
            return []
        wanted = set(NOTIFICATION_KINDS) if kinds is None else set(kinds)
        lanes = [ALL] if wanted >= set(NOTIFICATION_KINDS) else sorted(wanted)
        rows = await self._feed(recipient_id, lanes, _FEED_COLUMNS, limit, after, older=True)
        return [_feed_group(recipient_id, row) for row in rows[:limit]]

    async def mark_read(self, recipient_id: int, position: Position) -> Position:
        position = (_from_ms(_ms(position[0])), position[1])  # as the table keeps it
        marker = await self.read_marker(recipient_id)
        if marker is not None and marker >= position:
            return marker
        await self._db.run(
            "INSERT INTO {ks}.notification_reads (user_id, read_at, group_id) "
            "VALUES (?, ?, ?) USING TTL ?",
            (recipient_id, position[0], position[1], self._ttl),
        )
        return position

    async def read_marker(self, recipient_id: int) -> Position | None:
        rows = await self._db.run(
            "SELECT read_at, group_id FROM {ks}.notification_reads WHERE user_id = ? LIMIT 1",
            (recipient_id,),
        )
        return (_utc(rows[0]["read_at"]), rows[0]["group_id"]) if rows else None

    async def unread_count(self, recipient_id: int, cap: int) -> int:
        if cap <= 0:
            return 0
        marker = await self.read_marker(recipient_id)
        rows = await self._feed(
            recipient_id, [ALL], "group_id, latest_at", cap, marker, older=False
        )
        return min(len(rows), cap)

    async def _feed(
        self,
        user: int,
        lanes: list[str],
        columns: str,
        limit: int,
        bound: Position | None,
        *,
        older: bool,
    ) -> list[dict[str, Any]]:
        """The feed's rows of `lanes` strictly older (or newer) than `bound`, newest first,
        one per group (its newest position), within the retention window: at least `limit`
        of them when there are. The weeks are read newest first, as many at once as one
        page of the driver holds (all of them, unless the lanes or the limit are many)."""
        horizon = utcnow() - self._retention
        newest = bound[0] if older and bound else utcnow() + CLOCK_SKEW
        oldest = max(bound[0], horizon) if not older and bound else horizon
        if newest < oldest:
            return []
        buckets = list(range(_bucket(_ms(newest)), _bucket(_ms(oldest)) - 1, -1))
        cql = f"SELECT {columns} FROM {{ks}}.notification_feed "
        cql += "WHERE user_id = ? AND lane IN ? AND bucket IN ?"
        if bound is not None:
            cql += f" AND (latest_at, group_id) {'<' if older else '>'} (?, ?)"
        cql += " PER PARTITION LIMIT ?"
        per_read = max(1, FEED_ROWS // (len(lanes) * limit))
        found: dict[int, dict[str, Any]] = {}
        for start in range(0, len(buckets), per_read):
            weeks = buckets[start : start + per_read]
            rows = await self._db.run(cql, (user, lanes, weeks, *(bound or ()), limit))
            for row in rows:
                row["latest_at"] = _utc(row["latest_at"])
                seen = found.get(row["group_id"])
                if row["latest_at"] >= horizon and (
                    seen is None or seen["latest_at"] < row["latest_at"]
                ):
                    found[row["group_id"]] = row
            if len(found) >= limit:
                break
        return sorted(
            found.values(), key=lambda row: (row["latest_at"], row["group_id"]), reverse=True
        )


def _header(user: int, key: str, row: Mapping[str, Any]) -> _Header | None:
    """The header of a row, None if it is gone (or its columns outlived by `placed`)."""
    if row["count"] is None or row["hv"] is None:
        return None
    group = NotificationGroup(
        id=row["row_id"],
        recipient_id=user,
        base_key=key,
        kind=row["kind"],
        subject_id=row["subject_id"],
        count=row["count"],
        sample=_sample(row["sample"]),
        latest_at=_utc(row["latest_at"]),
    )
    return _Header(group, frozenset(_ms(at) for at in row["placed"] or ()), row["hv"])


def _columns(header: _Header) -> Mapping[str, Any]:
    group = header.group
    return {
        "kind": group.kind,
        "subject_id": group.subject_id,
        "count": group.count,
        "sample": list(group.sample),
        "latest_at": group.latest_at,
        "placed": {_from_ms(ms) for ms in header.placed},
        "hv": header.hv,
    }


def _feed_group(user: int, row: Mapping[str, Any]) -> NotificationGroup:
    return NotificationGroup(
        id=row["group_id"],
        recipient_id=user,
        base_key=row["base_key"],
        kind=row["kind"],
        subject_id=row["subject_id"],
        count=row["count"],
        sample=_sample(row["sample"]),
        latest_at=row["latest_at"],
    )


def _feed_values(group: NotificationGroup) -> tuple[Any, ...]:
    """bucket, latest_at, group_id, base_key, kind, subject_id, count, sample"""
    return (
        _bucket(_ms(group.latest_at)),
        group.latest_at,
        group.id,
        group.base_key,
        group.kind,
        group.subject_id,
        group.count,
        list(group.sample),
    )


def _gone(group: NotificationGroup) -> NotificationGroup:
    return replace(group, count=0, sample=())


def _sample(value: Iterable[tuple[int, datetime]] | None) -> tuple[tuple[int, datetime], ...]:
    return tuple((actor, _utc(at)) for actor, at in value or ())


def _next_version(version: int | None) -> int:
    """Later than the version read and, as a timestamp, than anything written before now."""
    now = time.time_ns() // 1_000
    return now if version is None else max(version + 1, now)


async def _backoff(attempt: int) -> None:
    await asyncio.sleep(random.uniform(0, min(BACKOFF_CAP_S, BACKOFF_S * 2**attempt)))


def _utc(moment: datetime) -> datetime:
    """The driver returns naive UTC datetimes."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _ms(moment: datetime) -> int:
    """Milliseconds since the epoch, cut as the driver cuts a timestamp it writes."""
    return (_utc(moment) - _EPOCH) // timedelta(milliseconds=1)


def _from_ms(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def _bucket(ms: int) -> int:
    return ms // BUCKET_MS
