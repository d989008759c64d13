"""The embedded default: every port over one SQLite file (aiosqlite, WAL).

`sqlite:///./data/chirp.db` (relative to the working folder) or `sqlite:////abs/chirp.db`.
All adapters on one file share one connection through `Resources.shared`. Openers never
migrate: `migrate(url)` (the `chirp migrate` command) does, and an opener on a file
without the current schema raises StorageError saying so.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from storage.errors import StorageError
from storage.registry import Resources
from storage.sqlite.database import SqliteDatabase, connect, path_from_url
from storage.sqlite.engagement import SqliteEngagementStore
from storage.sqlite.graph import SqliteFollowGraph
from storage.sqlite.jobs import DEFAULT_MAX_ATTEMPTS, SqliteJobQueue, SqliteJobQueues
from storage.sqlite.lifecycle import SqliteLifecycleStore
from storage.sqlite.moderation import SqliteModerationStore
from storage.sqlite.notifications import SqliteNotificationStore
from storage.sqlite.safety import SqliteSafetyStore
from storage.sqlite.schema import describe, migrate, missing_versions
from storage.sqlite.search import SqliteSearchIndex
from storage.sqlite.timelines import SqliteTimelineStore
from storage.sqlite.tweets import SqliteTweetStore
from storage.sqlite.users import SqliteSessionStore, SqliteUserStore

if TYPE_CHECKING:
    from storage.ports import (
        EngagementStore,
        FollowGraph,
        JobQueue,
        JobQueues,
        ModerationStore,
        NotificationStore,
        SafetyStore,
        SearchIndex,
        SessionStore,
        TimelineStore,
        TweetStore,
        UserStore,
    )

__all__ = [
    "SqliteDatabase",
    "SqliteEngagementStore",
    "SqliteFollowGraph",
    "SqliteJobQueue",
    "SqliteJobQueues",
    "SqliteLifecycleStore",
    "SqliteModerationStore",
    "SqliteSafetyStore",
    "SqliteSearchIndex",
    "SqliteSessionStore",
    "SqliteTimelineStore",
    "SqliteTweetStore",
    "SqliteUserStore",
    "migrate",
    "open_database",
    "open_engagement_store",
    "open_follow_graph",
    "open_job_queue",
    "open_moderation_store",
    "open_notification_store",
    "open_safety_store",
    "open_search_index",
    "open_session_store",
    "open_timeline_store",
    "open_tweet_store",
    "open_user_store",
]


async def open_database(url: str, resources: Resources) -> SqliteDatabase:
    """The process's one connection to this file, opened (and schema-checked) on first use."""
    path = path_from_url(url).resolve()

    async def factory() -> SqliteDatabase:
        conn = await connect(path)
        try:
            missing = await missing_versions(conn)
        except BaseException:
            await conn.close()
            raise
        if missing:
            await conn.close()
            raise StorageError(describe(path, missing))
        return SqliteDatabase(conn, path)

    async def close(db: SqliteDatabase) -> None:
        await db.close()

    database: SqliteDatabase = await resources.shared(f"sqlite:{path}", factory, close)
    return database


async def open_user_store(url: str, resources: Resources) -> SqliteUserStore:
    return SqliteUserStore(await open_database(url, resources))


async def open_session_store(url: str, resources: Resources) -> SqliteSessionStore:
    return SqliteSessionStore(await open_database(url, resources))


async def open_moderation_store(url: str, resources: Resources) -> SqliteModerationStore:
    return SqliteModerationStore(await open_database(url, resources))


async def open_lifecycle_store(url: str, resources: Resources) -> SqliteLifecycleStore:
    return SqliteLifecycleStore(await open_database(url, resources))


async def open_tweet_store(url: str, resources: Resources) -> SqliteTweetStore:
    return SqliteTweetStore(await open_database(url, resources))


async def open_timeline_store(url: str, resources: Resources) -> SqliteTimelineStore:
    return SqliteTimelineStore(await open_database(url, resources))


async def open_follow_graph(url: str, resources: Resources) -> SqliteFollowGraph:
    return SqliteFollowGraph(await open_database(url, resources))


async def open_safety_store(url: str, resources: Resources) -> SqliteSafetyStore:
    return SqliteSafetyStore(await open_database(url, resources))


async def open_notification_store(url: str, resources: Resources) -> SqliteNotificationStore:
    retention = timedelta(days=resources.settings.notification_retention_days)
    return SqliteNotificationStore(await open_database(url, resources), retention)


async def open_engagement_store(url: str, resources: Resources) -> SqliteEngagementStore:
    return SqliteEngagementStore(await open_database(url, resources))


async def open_search_index(url: str, resources: Resources) -> SqliteSearchIndex:
    return SqliteSearchIndex(await open_database(url, resources))


async def open_job_queue(url: str, resources: Resources) -> SqliteJobQueues:
    """`sqlite:///./data/chirp.db?max_attempts=5`."""
    attempts = parse_qs(urlsplit(url).query).get("max_attempts", [DEFAULT_MAX_ATTEMPTS])[0]
    return SqliteJobQueues(await open_database(url, resources), max_attempts=int(attempts))


if TYPE_CHECKING:  # mypy checks that each adapter really implements its port

    def _implements_ports(db: SqliteDatabase) -> None:
        _users: UserStore = SqliteUserStore(db)
        _sessions: SessionStore = SqliteSessionStore(db)
        _moderation: ModerationStore = SqliteModerationStore(db)
        _tweets: TweetStore = SqliteTweetStore(db)
        _timelines: TimelineStore = SqliteTimelineStore(db)
        _graph: FollowGraph = SqliteFollowGraph(db)
        _safety: SafetyStore = SqliteSafetyStore(db)
        _engagement: EngagementStore = SqliteEngagementStore(db)
        _notifications: NotificationStore = SqliteNotificationStore(db, timedelta(days=90))
        _search: SearchIndex = SqliteSearchIndex(db)
        _queue: JobQueue = SqliteJobQueue(db)
        _queues: JobQueues = SqliteJobQueues(db)
