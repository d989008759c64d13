"""Apache Cassandra adapters: tweets, timelines, the social graph, safety, engagement and
notifications.

`cassandra://h1,h2:9042/keyspace[?replication_factor=3 | ?dc1=3&dc2=3]`. All six ports
share one session per URL. `migrate(url)` creates the keyspace with that replication and
applies the versioned CQL files in storage/cassandra/migrations/ once each.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from importlib import resources as package_files
from typing import TYPE_CHECKING

from storage.cassandra.engagement import CassandraEngagementStore
from storage.cassandra.graph import CassandraFollowGraph
from storage.cassandra.notifications import CassandraNotificationStore
from storage.cassandra.safety import CassandraSafetyStore
from storage.cassandra.session import CassandraSession, CassandraUrl, connect
from storage.cassandra.timelines import CassandraTimelineStore
from storage.cassandra.tweets import CassandraTweetStore
from storage.errors import StorageError
from storage.registry import Resources

if TYPE_CHECKING:
    from storage.ports import (
        EngagementStore,
        FollowGraph,
        NotificationStore,
        SafetyStore,
        TimelineStore,
        TweetStore,
    )

__all__ = [
    "CassandraEngagementStore",
    "CassandraFollowGraph",
    "CassandraNotificationStore",
    "CassandraSafetyStore",
    "CassandraTimelineStore",
    "CassandraTweetStore",
    "migrate",
    "open_notification_store",
]


async def _session(url: str, resources: Resources) -> CassandraSession:
    async def open_session() -> CassandraSession:
        parsed = CassandraUrl(url)
        cluster, session = await asyncio.to_thread(connect, parsed)
        db = CassandraSession(cluster, session, parsed.keyspace)
        rows = await db.run(
            "SELECT table_name FROM system_schema.tables "
            "WHERE keyspace_name = ? AND table_name = ?",
            (parsed.keyspace, "schema_migrations"),
        )
        if not rows:
            db.close()
            raise StorageError(
                f"keyspace {parsed.keyspace!r} has no schema: run `chirp migrate` first"
            )
        return db

    async def close(db: CassandraSession) -> None:
        await asyncio.to_thread(db.close)

    session: CassandraSession = await resources.shared(f"cassandra:{url}", open_session, close)
    return session


async def open_tweet_store(url: str, resources: Resources) -> CassandraTweetStore:
    return CassandraTweetStore(await _session(url, resources))


async def open_timeline_store(url: str, resources: Resources) -> CassandraTimelineStore:
    return CassandraTimelineStore(await _session(url, resources))


async def open_follow_graph(url: str, resources: Resources) -> CassandraFollowGraph:
    return CassandraFollowGraph(await _session(url, resources))


async def open_safety_store(url: str, resources: Resources) -> CassandraSafetyStore:
    return CassandraSafetyStore(await _session(url, resources))


async def open_engagement_store(url: str, resources: Resources) -> CassandraEngagementStore:
    return CassandraEngagementStore(await _session(url, resources))


async def open_notification_store(url: str, resources: Resources) -> CassandraNotificationStore:
    retention = timedelta(days=resources.settings.notification_retention_days)
    return CassandraNotificationStore(await _session(url, resources), retention)


def _migrations() -> list[tuple[str, list[str]]]:
    folder = package_files.files("storage.cassandra") / "migrations"
    found = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".cql"):
            text = "\n".join(
                line for line in entry.read_text().splitlines() if not line.strip().startswith("--")
            )
            statements = [s.strip() for s in text.split(";") if s.strip()]
            found.append((entry.name.removesuffix(".cql"), statements))
    return found


def _migrate(url: str) -> list[str]:
    parsed = CassandraUrl(url)
    cluster, session = connect(parsed)
    try:
        ks = parsed.keyspace
        session.execute(
            f"CREATE KEYSPACE IF NOT EXISTS {ks} WITH replication = {parsed.replication()}"
        )
        session.execute(
            f"CREATE TABLE IF NOT EXISTS {ks}.schema_migrations "
            "(version text PRIMARY KEY, applied_at timestamp)"
        )
        done = {
            row["version"] for row in session.execute(f"SELECT version FROM {ks}.schema_migrations")
        }
        applied = []
        for version, statements in _migrations():
            if version in done:
                continue
            for statement in statements:  # each is IF NOT EXISTS: a re-run is harmless
                session.execute(statement.replace("{ks}", ks))
            session.execute(
                f"INSERT INTO {ks}.schema_migrations (version, applied_at) VALUES (%s, %s)",
                (version, datetime.now(tz=UTC)),
            )
            applied.append(version)
        return applied
    finally:
        cluster.shutdown()


async def migrate(url: str) -> list[str]:
    return await asyncio.to_thread(_migrate, url)


if TYPE_CHECKING:
    _checks: tuple[
        TweetStore, TimelineStore, FollowGraph, SafetyStore, EngagementStore, NotificationStore
    ] = (
        CassandraTweetStore(None),  # type: ignore[arg-type]
        CassandraTimelineStore(None),  # type: ignore[arg-type]
        CassandraFollowGraph(None),  # type: ignore[arg-type]
        CassandraSafetyStore(None),  # type: ignore[arg-type]
        CassandraEngagementStore(None),  # type: ignore[arg-type]
        CassandraNotificationStore(None, timedelta(days=90)),  # type: ignore[arg-type]
    )
