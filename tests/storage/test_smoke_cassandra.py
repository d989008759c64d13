"""The Cassandra that scripts/services starts is the real Apache Cassandra 5.0."""

from __future__ import annotations

import asyncio
import secrets
from urllib.parse import urlsplit

from cassandra.cluster import Cluster

from storage.cassandra.session import CONTROL_TIMEOUT_S
from tests.backends import backend_url


def _round_trip(host: str, port: int) -> tuple[str, str]:
    cluster = Cluster(
        [host],
        port=port,
        connect_timeout=10,
        control_connection_timeout=CONTROL_TIMEOUT_S,  # as the app's own sessions
        protocol_version=5,
    )
    try:
        session = cluster.connect()
        release = session.execute("SELECT release_version FROM system.local").one().release_version
        session.execute(
            "CREATE KEYSPACE IF NOT EXISTS chirp_smoke WITH replication = "
            "{'class': 'SimpleStrategy', 'replication_factor': 1}"
        )
        session.execute(
            "CREATE TABLE IF NOT EXISTS chirp_smoke.notes (id text PRIMARY KEY, body text)"
        )
        note = secrets.token_hex(4)
        session.execute("INSERT INTO chirp_smoke.notes (id, body) VALUES (%s, %s)", (note, "chirp"))
        body = (
            session.execute("SELECT body FROM chirp_smoke.notes WHERE id = %s", (note,)).one().body
        )
        return str(release), str(body)
    finally:
        cluster.shutdown()


async def test_real_cassandra() -> None:
    url = urlsplit(backend_url("CHIRP_TWEETS_URL"))
    host, _, port = url.netloc.partition(":")
    release, body = await asyncio.to_thread(_round_trip, host.split(",")[0], int(port or 9042))
    assert release.startswith("5.0.")
    assert body == "chirp"
