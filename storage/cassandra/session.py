"""One cassandra-driver session per keyspace URL, bridged to asyncio.

Statements are prepared once and cached; reads and idempotent writes are marked idempotent
so the driver may retry them; token-aware routing sends each single-partition statement to
a replica. The driver's futures are bridged with callbacks (no thread waits per query), and
many single-partition statements go out concurrently with a bound on those in flight.

`run_many` writes many partitions at once: the bound statements are grouped by the replica
that owns their partition and sent as small UNLOGGED batches, each routed to that replica,
so a fan-out to a thousand timelines is a few dozen requests instead of a thousand (a batch
whose partitions share a replica costs no extra hop and no batch log).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from cassandra import (
    ConsistencyLevel,
    DriverException,
    OperationTimedOut,
    RequestExecutionException,
)
from cassandra.cluster import (
    EXEC_PROFILE_DEFAULT,
    Cluster,
    ExecutionProfile,
    NoHostAvailable,
    Session,
)
from cassandra.policies import (
    DCAwareRoundRobinPolicy,
    ExponentialReconnectionPolicy,
    TokenAwarePolicy,
)
from cassandra.query import BatchStatement, BatchType, PreparedStatement, Statement, dict_factory

from storage.errors import StorageError, Unavailable

T = TypeVar("T")
MAX_IN_FLIGHT = 128
ROWS_PER_BATCH = 40  # a counter update is ~110 bytes: 40 stay under the 5 KiB batch warning
REQUEST_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 5.0
# The control connection reads the cluster's schema and peers when it connects. The
# driver's default 2 s timed out once in CI on a busy 2-core machine (the schema query of
# a node in a long GC or compaction), failing a connect that would have succeeded.
CONTROL_TIMEOUT_S = 10.0
# A node that went away is retried after 0.5 s, doubling to at most 5 s: the driver's
# default backs off to 10 minutes, so an outage would outlast the node by that long.
RECONNECT = ExponentialReconnectionPolicy(base_delay=0.5, max_delay=5.0)

ONE = ConsistencyLevel.LOCAL_ONE  # timeline delivery: cheap, eventually consistent
QUORUM = ConsistencyLevel.LOCAL_QUORUM  # follows, deletions, engagement: must be seen
SERIAL = ConsistencyLevel.LOCAL_SERIAL


class CassandraUrl:
    """cassandra://h1,h2:9042/keyspace?replication_factor=1 (or ?dc1=3&dc2=3 for
    NetworkTopologyStrategy)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        hosts, _, port = (
            parts.netloc.rpartition(":") if ":" in parts.netloc else (parts.netloc, "", "")
        )
        self.hosts = [host for host in hosts.split(",") if host]
        self.port = int(port) if port else 9042
        self.keyspace = parts.path.strip("/")
        if not self.hosts or not self.keyspace.isidentifier():
            raise ValueError(f"tweets URL {url!r} must be cassandra://host[,host]:port/keyspace")
        self.options = {name: values[-1] for name, values in parse_qs(parts.query).items()}

    def replication(self) -> str:
        datacenters = {k: v for k, v in self.options.items() if k != "replication_factor"}
        if datacenters:
            pairs = ", ".join(f"'{dc}': {int(rf)}" for dc, rf in datacenters.items())
            return f"{{'class': 'NetworkTopologyStrategy', {pairs}}}"
        factor = int(self.options.get("replication_factor", "1"))
        return f"{{'class': 'SimpleStrategy', 'replication_factor': {factor}}}"


def connect(url: CassandraUrl) -> tuple[Cluster, Session]:
    profile = ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy()),
        consistency_level=QUORUM,
        serial_consistency_level=SERIAL,
        request_timeout=REQUEST_TIMEOUT_S,
        row_factory=dict_factory,
    )
    cluster = Cluster(
        url.hosts,
        port=url.port,
        protocol_version=5,
        connect_timeout=CONNECT_TIMEOUT_S,
        control_connection_timeout=CONTROL_TIMEOUT_S,
        reconnection_policy=RECONNECT,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
    )
    try:
        return cluster, cluster.connect()
    except (NoHostAvailable, OperationTimedOut) as error:
        cluster.shutdown()
        raise Unavailable(f"Cassandra at {url.hosts}:{url.port} is unreachable") from error


class CassandraSession:
    def __init__(self, cluster: Cluster, session: Session, keyspace: str) -> None:
        self._cluster = cluster
        self._session = session
        self.keyspace = keyspace
        self._prepared: dict[tuple[str, bool], PreparedStatement] = {}
        self._in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)

    async def _statement(self, cql: str, idempotent: bool) -> PreparedStatement:
        """The prepared statement, prepared once. The driver only prepares synchronously,
        so a first use waits in a thread, never blocking the event loop on a round trip
        (or on a dead node's timeouts)."""
        key = (cql, idempotent)
        cached = self._prepared.get(key)
        if cached is not None:
            return cached
        text = cql.replace("{ks}", self.keyspace)
        try:
            prepared = await asyncio.to_thread(self._prepare, text)
        except (NoHostAvailable, OperationTimedOut) as error:
            raise Unavailable(f"Cassandra failed: {type(error).__name__}: {error}") from error
        except DriverException as error:
            raise StorageError(f"Cassandra refused: {error}") from error
        prepared.is_idempotent = idempotent
        self._prepared[key] = prepared
        return prepared

    def _prepare(self, text: str) -> PreparedStatement:
        prepared: PreparedStatement = self._session.prepare(text)
        return prepared

    async def run(
        self,
        cql: str,
        params: Sequence[Any] = (),
        *,
        consistency: int = QUORUM,
        idempotent: bool = True,
    ) -> list[dict[str, Any]]:
        """Execute one statement ({ks} is the keyspace); its rows (first page: callers LIMIT)."""
        bound = (await self._statement(cql, idempotent)).bind(params)
        bound.consistency_level = consistency
        return await self._execute(bound)

    async def run_batch(
        self, cql: str, rows: Sequence[Sequence[Any]], *, idempotent: bool = True
    ) -> list[dict[str, Any]]:
        """One statement for many rows of ONE partition, sent as an unlogged batch: a single
        mutation, or for a conditional statement a single lightweight transaction that
        applies to every row or to none. Keep batches small (tens of rows)."""
        statement = await self._statement(cql, idempotent)
        batch = BatchStatement(BatchType.UNLOGGED, consistency_level=QUORUM)
        for row in rows:
            batch.add(statement, row)
        batch.is_idempotent = idempotent
        return await self._execute(batch)

    async def applied_batch(
        self, cql: str, rows: Sequence[Sequence[Any]]
    ) -> tuple[bool, list[dict[str, Any]]]:
        """A conditional batch on one partition: whether it applied and, if it did not, the
        rows that made a condition fail (for IF NOT EXISTS, those that exist)."""
        found = await self.run_batch(cql, rows, idempotent=False)
        return bool(found[0]["[applied]"]), found

    async def run_many(
        self,
        cql: str,
        rows: Sequence[Sequence[Any]],
        *,
        consistency: int = QUORUM,
        counter: bool = False,
    ) -> None:
        """Execute one write statement for many rows (many partitions), batched per owning
        replica. Counter updates (`counter=True`) are not idempotent: never retried."""
        if not rows:
            return
        statement = await self._statement(cql, not counter)
        groups: dict[Any, list[Any]] = {}
        for params in rows:
            bound = statement.bind(params)
            groups.setdefault(self._owner(bound), []).append(bound)
        batch_type = BatchType.COUNTER if counter else BatchType.UNLOGGED
        batches = []
        for members in groups.values():
            for start in range(0, len(members), ROWS_PER_BATCH):
                batch = BatchStatement(batch_type=batch_type, consistency_level=consistency)
                for bound in members[start : start + ROWS_PER_BATCH]:
                    batch.add(bound)
                batch.is_idempotent = not counter
                batches.append(batch)
        await gather(self._execute(batch) for batch in batches)

    def _owner(self, bound: Any) -> Any:
        """The first replica of the statement's partition (None when the ring is unknown)."""
        replicas = self._cluster.metadata.get_replicas(self.keyspace, bound.routing_key)
        return replicas[0] if replicas else None

    async def _execute(self, statement: Statement) -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[list[dict[str, Any]]] = loop.create_future()

        def ok(rows: Any) -> None:
            loop.call_soon_threadsafe(_settle, done, list(rows or []), None)

        def failed(error: BaseException) -> None:
            loop.call_soon_threadsafe(_settle, done, None, error)

        async with self._in_flight:
            try:
                self._session.execute_async(statement).add_callbacks(ok, failed)
                return await done
            except (NoHostAvailable, OperationTimedOut, RequestExecutionException) as error:
                raise Unavailable(f"Cassandra failed: {type(error).__name__}: {error}") from error
            except DriverException as error:
                raise StorageError(f"Cassandra refused: {error}") from error

    async def applied(self, cql: str, params: Sequence[Any]) -> tuple[bool, dict[str, Any]]:
        """A lightweight transaction: whether it applied, and the row it found if not."""
        [row] = await self.run(cql, params, idempotent=False)
        return bool(row["[applied]"]), row

    def close(self) -> None:
        self._cluster.shutdown()


def _settle(done: asyncio.Future[Any], rows: Any, error: BaseException | None) -> None:
    if done.done():
        return
    if error is not None:
        done.set_exception(error)
    else:
        done.set_result(rows)


async def gather(calls: Iterable[Awaitable[T]]) -> list[T]:
    """Many single-partition statements at once (the session bounds those in flight)."""
    return list(await asyncio.gather(*calls))


def utc(moment: datetime | None) -> datetime | None:
    """The driver returns naive UTC datetimes."""
    return None if moment is None else moment.replace(tzinfo=UTC)
