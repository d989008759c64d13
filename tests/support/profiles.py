"""The app on either profile: `embedded` (SQLite, in-process cache) or `engines`
(PostgreSQL, Cassandra, Elasticsearch and Redis from `scripts/services`; skipped without
them, a failure under CI=true). Engines are shared between runs, so names are unique."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.settings import Backup, Limits, Settings
from tests.backends import backend_url
from tests.support.client import GraphQLClient, embedded_settings, running_app

PROFILES = ["embedded", "engines"]


def settings_on(profile: str, tmp_path: Path) -> Settings:
    if profile == "embedded":
        return embedded_settings(tmp_path)
    return embedded_settings(
        tmp_path,
        users_url=backend_url("CHIRP_USERS_URL"),
        tweets_url=backend_url("CHIRP_TWEETS_URL"),
        search_url=backend_url("CHIRP_SEARCH_URL"),
        cache_url=backend_url("CHIRP_CACHE_URL"),
    )


@contextmanager
def app_on(profile: str, tmp_path: Path) -> Iterator[GraphQLClient]:
    with running_app(settings_on(profile, tmp_path)) as client:
        yield client


def unique(name: str) -> str:
    """A username no earlier run on the shared engines has taken."""
    return f"{name}_{secrets.token_hex(3)}"


def engines_backup_settings(tmp_path: Path) -> Settings:
    """Every real engine, S3 media included, with `chirp backup`'s tools from
    `scripts/services env`, and limits a writer without pause stays under. Sets are taken
    by hand (`every_s=0`) unless a test says otherwise."""
    settings = embedded_settings(
        tmp_path,
        users_url=backend_url("CHIRP_USERS_URL"),
        tweets_url=backend_url("CHIRP_TWEETS_URL"),
        search_url=backend_url("CHIRP_SEARCH_URL"),
        cache_url=backend_url("CHIRP_CACHE_URL"),
        media_url=backend_url("CHIRP_MEDIA_URL"),
        limits=Limits(
            mutations_per_minute=100_000,
            sign_ups_per_minute=100_000,
            log_ins_per_minute=100_000,
            log_ins_per_account=100_000,
            anonymous_searches_per_minute=100_000,
            read_points_per_hour=10**9,
        ),
    )
    return settings.with_overrides(
        backup=Backup(
            url=backend_url("CHIRP_BACKUP_URL"),
            every_s=0,
            barman=backend_url("CHIRP_BACKUP_BARMAN"),
            nodetool=backend_url("CHIRP_BACKUP_NODETOOL"),
            cassandra_data=backend_url("CHIRP_BACKUP_CASSANDRA_DATA"),
        )
    )
