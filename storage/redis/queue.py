"""RedisJobQueue: one job stream on a Redis Stream read through a consumer group.

Each named stream is its own key, `<prefix>:<name>` (`chirp:jobs:delivery`), with its own
group and dead letters, so one kind's backlog never holds up another's. A job is one entry;
a consumer reads new entries with XREADGROUP (each goes to one consumer) and acknowledges
them only when its work is done. A failed job is written again with one more attempt
(keeping its job id) and the old entry acknowledged; after the last attempt it moves to the
dead-letter stream instead. Entries a dead consumer left pending are reclaimed with
XAUTOCLAIM and written again the same way, so a job that keeps killing its worker dies too.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from storage.errors import StorageError
from storage.records import Backlog, Job
from storage.redis.client import redis_errors
from storage.streams import JobStreams

GROUP = "workers"
RECLAIMER = "reclaimer"
DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_PREFIX = "chirp:jobs"
WAIT_MS = 500  # how long an enqueue waits for its replicas (`?replicas=`)
UNREPLICATED_PAUSE_S = 10.0  # after a wait fell short, enqueues do not wait for this long
log = logging.getLogger("chirp.queue")


class RedisJobQueue:
    def __init__(
        self,
        client: Redis,
        stream: str,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        prefix: str = DEFAULT_PREFIX,
        replicas: int = 0,
    ) -> None:
        self._client = client
        self._replicas = replicas
        self._unreplicated_until = 0.0
        self._stream = f"{prefix}:{stream}"
        self._dead = f"{self._stream}:dead"
        self._max_attempts = max_attempts
        self._entries: dict[str, str] = {}  # job id -> stream entry id, for jobs reserved here
        self._group_ready = False
        self._lost = False

    async def ensure_group(self) -> None:
        """Create the consumer group (and the stream) unless it exists. Creating it again
        after this process had it means Redis lost the stream: `lost` says so, once. Of
        several processes that notice, only the one whose create succeeds reports it."""
        async with redis_errors("create group"):
            try:
                await self._client.xgroup_create(self._stream, GROUP, id="0", mkstream=True)
            except ResponseError as error:
                if "BUSYGROUP" not in str(error):
                    raise
            else:
                self._lost = self._lost or self._group_ready
        self._group_ready = True

    def lost(self) -> bool:
        lost, self._lost = self._lost, False
        return lost

    async def enqueue(self, kind: str, payload: Mapping[str, Any]) -> str:
        async with redis_errors("enqueue"):
            entry = await self._client.xadd(
                self._stream, {"kind": kind, "payload": json.dumps(dict(payload)), "attempts": 0}
            )
            if self._replicas and time.monotonic() >= self._unreplicated_until:
                # Acknowledged once a replica has it too, so a failover keeps it. With no
                # replica to wait for (after a failover, until the old primary is back as
                # one), the job is kept by the primary's AOF alone: said, and not waited
                # for again for a while, rather than slowing every enqueue down.
                copies = await self._client.wait(self._replicas, WAIT_MS)
                if copies < self._replicas:
                    self._unreplicated_until = time.monotonic() + UNREPLICATED_PAUSE_S
                    log.warning(
                        "job stream %s: %d of %d replica(s) acknowledged; a failover now "
                        "could lose the jobs of the next %.0f s",
                        self._stream,
                        copies,
                        self._replicas,
                        UNREPLICATED_PAUSE_S,
                    )
        return _text(entry)

    async def reserve(self, consumer: str, limit: int, wait_s: float) -> list[Job]:
        if not self._group_ready:
            await self.ensure_group()
        block = int(wait_s * 1000) if wait_s > 0 else None
        try:
            async with redis_errors("reserve"):
                found: Any = await self._client.xreadgroup(
                    GROUP, consumer, {self._stream: ">"}, count=limit, block=block
                )
        except StorageError as error:
            if "NOGROUP" not in str(error):
                raise
            await self.ensure_group()  # a Redis that restarted empty: make the group again
            return []
        jobs = []
        for _, entries in found or []:
            for entry_id, fields in entries:
                job = _job(_text(entry_id), fields)
                self._entries[job.id] = _text(entry_id)
                jobs.append(job)
        return jobs

    async def ack(self, job: Job) -> None:
        entry = self._entries.pop(job.id, job.id)
        async with redis_errors("ack"), self._client.pipeline(transaction=True) as pipe:
            pipe.xack(self._stream, GROUP, entry)
            pipe.xdel(self._stream, entry)
            await pipe.execute()

    async def ack_many(self, jobs: Sequence[Job]) -> None:
        if not jobs:
            return
        entries = [self._entries.pop(job.id, job.id) for job in jobs]
        async with redis_errors("ack"), self._client.pipeline(transaction=True) as pipe:
            pipe.xack(self._stream, GROUP, *entries)
            pipe.xdel(self._stream, *entries)
            await pipe.execute()

    async def fail(self, job: Job, error: str) -> None:
        entry = self._entries.pop(job.id, job.id)
        await self._again(entry, job, error)

    async def release(self, job: Job) -> None:
        entry = self._entries.pop(job.id, job.id)
        await self._again(entry, job, "released: a dependency was unavailable", count=False)

    async def _again(self, entry: str, job: Job, error: str, count: bool = True) -> None:
        attempts = job.attempts + 1 if count else job.attempts
        fields: Any = {
            "job_id": job.id,
            "kind": job.kind,
            "payload": json.dumps(job.payload),
            "attempts": attempts,
            "error": error[:1000],
        }
        target = self._dead if attempts >= self._max_attempts else self._stream
        async with redis_errors("retry"), self._client.pipeline(transaction=True) as pipe:
            pipe.xadd(target, fields)
            pipe.xack(self._stream, GROUP, entry)
            pipe.xdel(self._stream, entry)
            await pipe.execute()

    async def renew(self, consumer: str, jobs: Sequence[Job]) -> None:
        """XCLAIM to the same consumer resets the entries' idle time; entries already
        acknowledged or taken back are not in the pending list and are left alone."""
        entries: list[Any] = [self._entries.get(job.id, job.id) for job in jobs]
        if entries:
            async with redis_errors("renew"):
                await self._client.xclaim(self._stream, GROUP, consumer, 0, entries, justid=True)

    async def reclaim(self, idle_s: float) -> int:
        if not self._group_ready:
            await self.ensure_group()
        idle_ms = max(0, int(idle_s * 1000))
        reclaimed = 0
        cursor = "0-0"
        while True:
            try:
                async with redis_errors("reclaim"):
                    result = await self._client.xautoclaim(
                        self._stream, GROUP, RECLAIMER, idle_ms, start_id=cursor, count=100
                    )
            except StorageError as error:
                if "NOGROUP" not in str(error):
                    raise
                await self.ensure_group()  # a Redis that restarted empty: nothing to reclaim
                return reclaimed
            cursor, entries = _text(result[0]), result[1]
            for entry_id, fields in entries:
                if fields is None:
                    continue  # deleted meanwhile
                job = _job(_text(entry_id), fields)
                await self._again(_text(entry_id), job, "reclaimed: its consumer went quiet")
                reclaimed += 1
            if cursor == "0-0":
                return reclaimed

    async def dead_letters(self, limit: int) -> list[Job]:
        async with redis_errors("dead letters"):
            entries: Any = await self._client.xrange(self._dead, count=limit)
        return [_job(_text(entry_id), fields) for entry_id, fields in entries]

    async def backlog(self) -> Backlog:
        """Acknowledged entries are deleted, so the stream holds exactly the backlog, and its
        first entry's id carries the time it was added (a retried job is added anew)."""
        async with redis_errors("backlog"), self._client.pipeline(transaction=False) as pipe:
            pipe.xlen(self._stream)
            pipe.xrange(self._stream, count=1)
            pipe.time()
            length, first, (seconds, micros) = await pipe.execute()
        if not length or not first:
            return Backlog(0, 0.0)
        added_ms = int(_text(first[0][0]).split("-")[0])
        return Backlog(int(length), max(0.0, seconds + micros / 1e6 - added_ms / 1000))


class RedisJobQueues(JobStreams[RedisJobQueue]):
    """Named streams on one Redis server."""

    def __init__(
        self,
        client: Redis,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        prefix: str = DEFAULT_PREFIX,
        replicas: int = 0,
    ) -> None:
        super().__init__()
        self._client = client
        self._max_attempts = max_attempts
        self._prefix = prefix
        self._replicas = replicas

    def _open(self, name: str) -> RedisJobQueue:
        return RedisJobQueue(self._client, name, self._max_attempts, self._prefix, self._replicas)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _job(entry_id: str, fields: Mapping[Any, Any]) -> Job:
    values = {_text(k): _text(v) for k, v in fields.items()}
    return Job(
        id=values.get("job_id", entry_id),
        kind=values["kind"],
        payload=json.loads(values["payload"]),
        attempts=int(values.get("attempts", 0)),
    )
