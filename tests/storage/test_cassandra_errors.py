"""An unreachable Cassandra is a clear storage error within a bounded time, not a hang."""

from __future__ import annotations

import time

import pytest

from storage.errors import Unavailable
from storage.registry import Resources, open_port
from tests.backends import backend_url
from tests.storage.contract.conftest import SETTINGS


async def test_an_unreachable_cassandra_is_unavailable_quickly() -> None:
    backend_url("CHIRP_TWEETS_URL")  # runs with the other Cassandra tests
    resources = Resources(SETTINGS)
    started = time.monotonic()
    try:
        with pytest.raises(Unavailable):
            await open_port("tweets", "cassandra://127.0.0.1:1/chirp_test", resources)
    finally:
        await resources.close()
    assert time.monotonic() - started < 15
