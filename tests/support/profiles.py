"""The app on either profile: `embedded` (SQLite, in-process cache) or `engines`
(PostgreSQL, Cassandra, Elasticsearch and Redis from `scripts/services`; skipped without
them, a failure under CI=true). Engines are shared between runs, so names are unique."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.settings import Settings
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
