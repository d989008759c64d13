"""SQLite schema migrations, the opener's schema check, and the connection's settings."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from storage.errors import StorageError
from storage.records import utcnow
from storage.registry import Resources
from storage.sqlite import (
    migrate,
    open_database,
    open_follow_graph,
    open_session_store,
    open_user_store,
)
from storage.sqlite.database import path_from_url
from storage.sqlite.schema import migrations, statements

VERSIONS = [migration.version for migration in migrations()]

DESIGN_COLUMNS = {
    "users": "user_id username email phone password_hash display_name bio location website "
    "profile_image_url banner_image_url verified protected created_at updated_at last_login_at",
    "user_stats": "user_id followers_count following_count tweets_count likes_count "
    "lists_count updated_at",
    "user_settings": "user_id language timezone private_account allow_dms_from "
    "notification_preferences privacy_settings created_at updated_at",
    "tweets": "tweet_id user_id text created_at updated_at reply_to_tweet_id reply_to_user_id "
    "retweet_of_tweet_id quote_tweet_id media_urls hashtags mentions likes_count "
    "retweets_count replies_count views_count language source is_deleted",
    "user_timeline": "user_id tweet_id created_at author_id",
    "author_timeline": "author_id tweet_id created_at",
    "followers": "user_id follower_id followed_at",
    "following": "user_id following_id followed_at",
    "likes": "tweet_id user_id liked_at",
    "user_likes": "user_id tweet_id liked_at",
    "retweets": "tweet_id user_id retweeted_at",
    "user_retweets": "user_id tweet_id retweeted_at",
}
MODERATION_COLUMNS = {
    "users": "suspended_until",
    "reports": "id reporter_id target_kind target_id owner_id reason comment created_at "
    "resolved_at resolution",
    "moderation_actions": "id moderator_id action target_kind target_id owner_id note "
    "created_at until",
    "user_roles": "user_id role granted_at",
}


def _url(path: Path) -> str:
    return f"sqlite:///{path}"


async def test_migrate_applies_every_version_once(tmp_path: Path) -> None:
    url = _url(tmp_path / "nested" / "folder" / "chirp.db")
    assert await migrate(url) == VERSIONS
    assert await migrate(url) == []
    assert VERSIONS[0] == "0001_initial"


async def test_two_concurrent_migrations_apply_each_version_once(tmp_path: Path) -> None:
    url = _url(tmp_path / "chirp.db")
    results = await asyncio.gather(migrate(url), migrate(url))
    assert sorted(results) == [[], VERSIONS]


async def test_relative_urls_are_relative_to_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert await migrate("sqlite:///./data/chirp.db") == VERSIONS
    assert (tmp_path / "data" / "chirp.db").exists()


def test_urls_name_a_path() -> None:
    assert path_from_url("sqlite:///./data/chirp.db") == Path("./data/chirp.db")
    assert path_from_url("sqlite:////abs/chirp.db") == Path("/abs/chirp.db")
    assert path_from_url("sqlite:///chirp.db?max_attempts=3") == Path("chirp.db")
    for bad in ("sqlite://host/chirp.db", "sqlite://"):
        with pytest.raises(StorageError):
            path_from_url(bad)


async def test_opening_an_unmigrated_file_says_to_run_chirp_migrate(tmp_path: Path) -> None:
    resources = Resources(settings=None)
    try:
        with pytest.raises(StorageError, match="chirp migrate"):
            await open_user_store(_url(tmp_path / "chirp.db"), resources)
    finally:
        await resources.close()


async def test_the_schema_has_the_designs_tables_and_columns(tmp_path: Path) -> None:
    path = tmp_path / "chirp.db"
    await migrate(_url(path))
    with sqlite3.connect(path) as conn:
        for table, columns in DESIGN_COLUMNS.items():
            found = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            assert set(columns.split()) <= found, table
    conn.close()


async def test_moderation_keeps_one_open_report_per_reporter_and_target(tmp_path: Path) -> None:
    path = tmp_path / "chirp.db"
    await migrate(_url(path))
    with sqlite3.connect(path) as conn:
        for table, columns in MODERATION_COLUMNS.items():
            found = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            assert set(columns.split()) <= found, table
        report = "INSERT INTO reports (id, reporter_id, target_kind, target_id, owner_id, "
        report += "reason, created_at, resolved_at) VALUES (?, 7, 'tweet', 1, 2, 'spam', 0, ?)"
        conn.execute(report, (1, 5))
        conn.execute(report, (2, None))
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute(report, (3, None))
    conn.close()


async def test_upgrading_to_moderation_keeps_users_unsuspended(tmp_path: Path) -> None:
    path = tmp_path / "chirp.db"
    with sqlite3.connect(path) as conn:  # a file as the release before moderation left it
        conn.execute("CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied_at INT)")
        for migration in migrations():
            if migration.version < "0008":
                conn.executescript(migration.sql)
                conn.execute("INSERT INTO schema_migrations VALUES (?, 0)", (migration.version,))
        conn.execute(
            "INSERT INTO users (user_id, username, email, password_hash, display_name, "
            "created_at, updated_at) VALUES (7, 'old', 'old@example.com', 'h', 'Old', 1, 1)"
        )
    conn.close()
    assert await migrate(_url(path)) == [v for v in VERSIONS if v >= "0008"]
    resources = Resources(settings=None)
    try:
        users = await open_user_store(_url(path), resources)
        [user] = await users.get_many([7])
        assert user is not None and user.suspended_until is None
    finally:
        await resources.close()


async def test_connection_uses_wal_and_one_shared_connection(tmp_path: Path) -> None:
    url = _url(tmp_path / "chirp.db")
    await migrate(url)
    resources = Resources(settings=None)
    try:
        first = await open_database(url, resources)
        again = await open_database(_url(tmp_path / "." / "chirp.db"), resources)
        assert first is again
        async with first.read() as tx:
            row = await tx.row("PRAGMA journal_mode")
            assert row is not None and row[0] == "wal"
            timeout = await tx.row("PRAGMA busy_timeout")
            assert timeout is not None and timeout[0] >= 1000
    finally:
        await resources.close()


async def test_a_failed_write_rolls_back_everything(tmp_path: Path) -> None:
    url = _url(tmp_path / "chirp.db")
    await migrate(url)
    resources = Resources(settings=None)
    try:
        db = await open_database(url, resources)
        with pytest.raises(RuntimeError):
            async with db.write() as tx:
                await tx.run(
                    "INSERT INTO sessions (token_hash, user_id, expires_at, created_at) "
                    "VALUES ('h', 1, 2, 3)"
                )
                raise RuntimeError("halfway")
        async with db.read() as tx:
            assert await tx.row("SELECT * FROM sessions") is None
    finally:
        await resources.close()


async def test_upgrading_gives_old_sessions_families_and_repairs_null_settings(
    tmp_path: Path,
) -> None:
    path = tmp_path / "chirp.db"
    before = [m for m in migrations() if m.version < "0005"]
    with sqlite3.connect(path) as conn:  # a file as the release before families left it
        conn.execute("CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied_at INT)")
        for migration in before:
            conn.executescript(migration.sql)
            conn.execute("INSERT INTO schema_migrations VALUES (?, 0)", (migration.version,))
        conn.execute("INSERT INTO sessions VALUES ('old-a', 7, 9999999999999, 1)")
        conn.execute("INSERT INTO sessions VALUES ('old-b', 7, 9999999999999, 1)")
        conn.execute(
            "INSERT INTO user_settings (user_id, notification_preferences, privacy_settings, "
            "created_at, updated_at) VALUES (7, 'null', 'null', 1, 1)"
        )
    conn.close()
    await migrate(_url(path))
    resources = Resources(settings=None)
    try:
        sessions = await open_session_store(_url(path), resources)
        a, b = await sessions.take("old-a"), await sessions.take("old-b")
        assert a is not None and b is not None and a.used_at is None
        assert a.family_id > 0 and b.family_id > 0 and a.family_id != b.family_id
        users = await open_user_store(_url(path), resources)
        settings = await users.get_settings(7)
        assert settings is not None
        assert settings.notification_preferences == settings.privacy_settings == {}
    finally:
        await resources.close()


def test_statements_split_on_complete_statements_only() -> None:
    script = """
    -- a comment; with a semicolon
    CREATE TABLE a (x INTEGER);
    CREATE TRIGGER t AFTER INSERT ON a BEGIN
        UPDATE a SET x = x + 1;
        DELETE FROM a WHERE x > 10;
    END;
    -- trailing comment
    """
    found = statements(script)
    assert len(found) == 2
    assert found[1].startswith("CREATE TRIGGER") and found[1].endswith("END;")
    with pytest.raises(StorageError):
        statements("CREATE TABLE b (x INTEGER)")


async def test_cancelled_writes_leave_the_connection_consistent(tmp_path: Path) -> None:
    url = _url(tmp_path / "chirp.db")
    await migrate(url)
    resources = Resources(settings=None)
    try:
        graph = await open_follow_graph(url, resources)
        for delay in (0, 0.0005, 0.001, 0.002):
            tasks = [asyncio.create_task(graph.follow(fan, 1, utcnow())) for fan in range(100, 140)]
            await asyncio.sleep(delay)
            for task in tasks[::2]:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            assert await graph.follow(999, 1, utcnow()) is True  # not "within a transaction"
            assert await graph.unfollow(999, 1) is True
        followers = {edge.other_id for edge in await graph.followers_page(1, 100)}
        following = await graph.is_following_many([(fan, 1) for fan in range(100, 140)])
        assert {
            fan for fan, yes in zip(range(100, 140), following, strict=True) if yes
        } == followers
    finally:
        await resources.close()
