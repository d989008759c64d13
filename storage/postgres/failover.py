"""`chirp failover postgres`: the original design's failover process for the users'
cluster (detect, promote the secondary, verify), for a primary with hot standbys named
together in each DSN of `CHIRP_USERS_URL` (`postgresql://u@h1:p1,h2:p2/db?target_session_attrs=
read-write`).

- Detect: every server the DSNs name is asked whether it is in recovery. One that answers
  and is not is a primary: nothing is done.
- Promote: otherwise the first standby that answers is promoted (`pg_promote`, waiting
  until it takes writes).
- Verify: each DSN is connected to as the app connects (the writable host), and must reach
  the new primary.

Promoting while the old primary is only unreachable, not down, makes two primaries: stop
(fence) the old one before it can come back, and rebuild it as a standby of the new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import asyncpg

from storage.postgres.shards import dsn_hosts, split_dsns

CONNECT_TIMEOUT_S = 3.0
PROMOTE_WAIT_S = 60


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    state: str  # "primary", "standby" or "down"


@dataclass(frozen=True)
class Failover:
    servers: list[Server]
    promoted: Server | None
    primary: Server | None


async def _state(host: str, port: int, user: str) -> str:
    try:
        connection = await asyncpg.connect(
            host=host, port=port, user=user, database="postgres", timeout=CONNECT_TIMEOUT_S
        )
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return "down"
    try:
        return "standby" if await connection.fetchval("SELECT pg_is_in_recovery()") else "primary"
    finally:
        await connection.close()


async def fail_over(url: str) -> Failover:
    dsns = split_dsns(url)
    user = urlsplit(dsns[0]).username or "postgres"
    hosts = list(dict.fromkeys(pair for dsn in dsns for pair in dsn_hosts(dsn)))
    servers = [Server(host, port, await _state(host, port, user)) for host, port in hosts]
    primary = next((s for s in servers if s.state == "primary"), None)
    promoted = None
    if primary is None:
        standby = next((s for s in servers if s.state == "standby"), None)
        if standby is None:
            return Failover(servers, None, None)
        connection = await asyncpg.connect(
            host=standby.host, port=standby.port, user=user, database="postgres"
        )
        try:
            done = await connection.fetchval("SELECT pg_promote(true, $1)", PROMOTE_WAIT_S)
        finally:
            await connection.close()
        if done:
            promoted = primary = Server(standby.host, standby.port, "primary")
    if primary is not None:
        for dsn in dsns:  # verify: the app's own DSNs reach a writable server
            connection = await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT_S)
            try:
                if await connection.fetchval("SELECT pg_is_in_recovery()"):
                    primary = None
            finally:
                await connection.close()
    return Failover(servers, promoted, primary)
