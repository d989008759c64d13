"""Notification preferences are typed: one true or false per kind, a kind left out is on,
an unknown kind is refused, and values stored as free-form JSON are migrated."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from storage.registry import scheme_of
from tests.support.client import GraphQLClient
from tests.support.profiles import PROFILES, app_on, unique

KINDS = "mention reply quote like retweet follow followRequest followRequestApproved"
READ = f"{{ settings {{ notificationPreferences {{ {KINDS} }} }} }}"
UPDATE = f"""mutation($p: NotificationPreferencesInput) {{
  updateSettings(input: {{notificationPreferences: $p}}) {{ notificationPreferences {{ {KINDS} }} }} }}"""  # noqa: E501
ALL_ON = dict.fromkeys(KINDS.split(), True)
MIGRATIONS = Path(__file__).resolve().parents[2] / "storage"


@pytest.fixture(params=PROFILES)
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphQLClient]:
    with app_on(request.param, tmp_path) as graphql:
        yield graphql


def test_each_kind_turns_off_and_on_and_the_rest_stay(client: GraphQLClient) -> None:
    token = client.sign_up(unique("alice"))["accessToken"]
    assert client.data(READ, token=token)["settings"]["notificationPreferences"] == ALL_ON
    off = client.data(UPDATE, {"p": {"like": False, "followRequest": False}}, token)
    expected = {**ALL_ON, "like": False, "followRequest": False}
    assert off["updateSettings"]["notificationPreferences"] == expected
    back = client.data(UPDATE, {"p": {"like": True}}, token)
    assert back["updateSettings"]["notificationPreferences"] == {**expected, "like": True}
    assert client.data(READ, token=token)["settings"]["notificationPreferences"] == {
        **expected, "like": True
    }  # fmt: skip


def test_unknown_kinds_and_nulls_are_refused_and_change_nothing(client: GraphQLClient) -> None:
    token = client.sign_up(unique("alice"))["accessToken"]
    client.data(UPDATE, {"p": {"quote": False}}, token)
    for bad in ({"email": False}, {"likes": False}, {"like": None}, {"like": "no"}, None):
        assert client.error_code(UPDATE, {"p": bad}, token) == "BAD_USER_INPUT", bad
    literal = (
        "mutation { updateSettings(input: {notificationPreferences: {push: true}}) { language } }"
    )
    assert client.error_code(literal, token=token) == "GRAPHQL_VALIDATION_FAILED"
    kept = client.data(READ, token=token)["settings"]["notificationPreferences"]
    assert kept == {**ALL_ON, "quote": False}


def test_free_form_values_stored_before_are_migrated(client: GraphQLClient) -> None:
    """What the JSON era stored is rewritten by the migration: known kinds keep their
    booleans, everything else is dropped; and even unmigrated, reading never fails."""
    made = client.sign_up(unique("alice"))
    token, user_id = made["accessToken"], int(made["user"]["databaseId"])
    stored = {"like": False, "retweet": "yes", "email": False, "mention": [1], "reply": True}
    users = client.http.app.state.chirp.stores.users
    client.http.portal.call(users.update_settings, user_id, {"notification_preferences": stored})
    assert client.data(READ, token=token)["settings"]["notificationPreferences"] == {
        **ALL_ON, "like": False
    }  # fmt: skip
    _run_migration(client.http.app.state.chirp.settings.users_url)
    row = client.http.portal.call(users.get_settings, user_id)
    assert row.notification_preferences == {"like": False, "reply": True}


def _run_migration(url: str) -> None:
    """The migration's statement, run again on this database as `chirp migrate` ran it on
    databases holding free-form values (it is idempotent)."""
    if scheme_of(url) == "sqlite":
        sql = (MIGRATIONS / "sqlite/migrations/0009_notification_preferences.sql").read_text()
        with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
            connection.executescript(sql)
        return
    sql = (MIGRATIONS / "postgres/migrations/0006_notification_preferences.sql").read_text()

    async def run() -> None:
        for dsn in url.split(","):
            connection = await asyncpg.connect(dsn)
            try:
                await connection.execute(sql)
            finally:
                await connection.close()

    asyncio.run(run())
