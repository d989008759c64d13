"""An unreachable Cassandra is a clear storage error within a bounded time, not a hang."""

from __future__ import annotations

from tests.backends import backend_url
from tests.storage.unreachable import assert_unavailable_quickly


async def test_an_unreachable_cassandra_is_unavailable_quickly() -> None:
    backend_url("CHIRP_TWEETS_URL")  # runs with the other Cassandra tests
    await assert_unavailable_quickly("tweets", "cassandra://127.0.0.1:1/chirp_test", within_s=15)
