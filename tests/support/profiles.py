"""The app on either profile: `embedded` (SQLite, in-process cache) or `engines`
(PostgreSQL, Cassandra, Elasticsearch and Redis from `scripts/services`; skipped without
them, a failure under CI=true). Engines are shared between runs, so names are unique."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.backends import backend_url
from tests.support.client import GraphQLClient, embedded_settings, running_app

PROFILES = ["embedded", "engines"]


@contextmanager
def app_on(profile: str, tmp_path: Path) -> Iterator[GraphQLClient]:
    if profile == "embedded":
        settings = embedded_settings(tmp_path)
    else:
        settings = embedded_settings(
            tmp_path,
            users_url=backend_url("CHIRP_USERS_URL"),
            tweets_url=backend_url("CHIRP_TWEETS_URL"),
            search_url=backend_url("CHIRP_SEARCH_URL"),
            cache_url=backend_url("CHIRP_CACHE_URL"),
        )
    with running_app(settings) as client:
        yield client


def unique(name: str) -> str:
    """A username no earlier run on the shared engines has taken."""
    return f"{name}_{secrets.token_hex(3)}"
