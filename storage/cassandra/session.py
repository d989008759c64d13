"""One cassandra-driver session per keyspace URL, bridged to asyncio.

Statements are prepared once and cached; reads and idempotent writes are marked idempotent
so the driver may retry them; token-aware routing sends each single-partition statement to
a replica. The driver's futures are bridged with callbacks (no thread waits per query), and
many single-partition statements go out concurrently with a bound on those in flight.
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
from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy
from cassandra.query import PreparedStatement, dict_factory

from storage.errors import StorageError, Unavailable

T = TypeVar("T")
MAX_IN_FLIGHT = 128
REQUEST_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 5.0

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

    def _statement(self, cql: str, idempotent: bool) -> PreparedStatement:
        key = (cql, idempotent)
        prepared = self._prepared.get(key)
        if prepared is None:
            prepared = self._session.prepare(cql.replace("{ks}", self.keyspace))
            prepared.is_idempotent = idempotent
            self._prepared[key] = prepared
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
        statement = self._statement(cql, idempotent)
        bound = statement.bind(params)
        bound.consistency_level = consistency
        loop = asyncio.get_running_loop()
        done: asyncio.Future[list[dict[str, Any]]] = loop.create_future()

        def ok(rows: Any) -> None:
            loop.call_soon_threadsafe(_settle, done, list(rows or []), None)

        def failed(error: BaseException) -> None:
            loop.call_soon_threadsafe(_settle, done, None, error)

        async with self._in_flight:
            try:
                self._session.execute_async(bound).add_callbacks(ok, failed)
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
