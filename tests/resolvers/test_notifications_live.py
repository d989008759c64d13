"""Notifications live over websockets (graphql-transport-ws) against a real uvicorn, on both
profiles: new and growing groups arrive within a second, withdrawn ones are REMOVED, and a
subscriber that comes back with a cursor first hears what it missed, then goes live."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.resolvers.test_subscriptions import gql, post, sign_up
from tests.support.profiles import PROFILES, settings_on, unique
from tests.support.server import Subscriber, live_server, ws_connect

LIVE = """subscription($after: String) { notifications(after: $after) {
  type notificationId cursor unreadCount
  notification { kind count unread actors { username } } } }"""
LIKE = "mutation($id: ID!) { likeTweet(id: $id) { id } }"
UNLIKE = "mutation($id: ID!) { unlikeTweet(id: $id) { id } }"
FOLLOW = "mutation($id: ID!) { follow(userId: $id) { status } }"
DELETE = "mutation($id: ID!) { deleteTweet(id: $id) }"


@pytest.fixture(params=PROFILES)
def base_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with live_server(settings_on(request.param, tmp_path)) as url:
        yield url


async def next_event(client: Subscriber, timeout_s: float = 5.0) -> dict[str, Any]:
    message = await client.next_payload(timeout_s)
    assert message["type"] == "next", message
    return dict(message["payload"]["data"]["notifications"])


async def test_notifications_arrive_live_grow_and_are_withdrawn(base_url: str) -> None:
    async with httpx2.AsyncClient(base_url=base_url) as http:
        owner = await sign_up(http, unique("owner"))
        fans = [await sign_up(http, unique(f"fan{i}")) for i in range(2)]
        tweet = await post(http, owner["accessToken"], "like me live")
        async with ws_connect(base_url) as socket:
            client = Subscriber(socket)
            assert (await client.init(owner["accessToken"]))["type"] == "connection_ack"
            await client.subscribe("n", LIVE)
            liked_at = time.monotonic()
            await gql(http, LIKE, {"id": tweet}, fans[0]["accessToken"])
            first = await next_event(client, timeout_s=2.0)
            assert time.monotonic() - liked_at < 2.0
            assert first["type"] == "UPDATED" and first["notification"]["count"] == 1
            assert first["notification"]["kind"] == "LIKE" and first["notification"]["unread"]
            assert first["unreadCount"] == 1  # a badge needs no second request
            await gql(http, LIKE, {"id": tweet}, fans[1]["accessToken"])
            grown = await next_event(client)
            assert grown["notificationId"] == first["notificationId"]
            assert grown["notification"]["count"] == 2 and grown["unreadCount"] == 1  # grouped
            assert grown["notification"]["actors"][0]["username"].startswith("fan1")
            for fan in fans:
                await gql(http, UNLIKE, {"id": tweet}, fan["accessToken"])
            events = [await next_event(client), await next_event(client)]
            assert events[-1] == {
                "type": "REMOVED",
                "notificationId": first["notificationId"],
                "cursor": None,
                "unreadCount": 0,
                "notification": None,
            }


async def test_coming_back_with_a_cursor_replays_what_was_missed_then_goes_live(
    base_url: str,
) -> None:
    async with httpx2.AsyncClient(base_url=base_url) as http:
        owner = await sign_up(http, unique("owner"))
        fans = [await sign_up(http, unique(f"fan{i}")) for i in range(3)]
        tweet = await post(http, owner["accessToken"], "seen before")
        async with ws_connect(base_url) as socket:
            client = Subscriber(socket)
            await client.init(owner["accessToken"])
            await client.subscribe("n", LIVE)
            await gql(http, LIKE, {"id": tweet}, fans[0]["accessToken"])
            cursor = (await next_event(client))["cursor"]
        # Away: a follow and a mention happen.
        await gql(http, FOLLOW, {"id": owner["user"]["id"]}, fans[1]["accessToken"])
        name = (await gql(http, "{ me { username } }", None, owner["accessToken"]))["me"]
        mention = await post(http, fans[2]["accessToken"], f"hello @{name['username']}")
        await wait_for_count(http, owner["accessToken"], 3)
        async with ws_connect(base_url) as socket:
            client = Subscriber(socket)
            await client.init(owner["accessToken"])
            await client.subscribe("n", LIVE, {"after": cursor})
            replayed = [await next_event(client), await next_event(client)]
            assert [e["notification"]["kind"] for e in replayed] == ["FOLLOW", "MENTION"]
            await gql(http, DELETE, {"id": mention}, fans[2]["accessToken"])
            removed = await next_event(client)
            assert removed["type"] == "REMOVED"
            assert removed["notificationId"] == replayed[1]["notificationId"]
            await gql(http, LIKE, {"id": tweet}, fans[1]["accessToken"])
            live = await next_event(client)
            assert live["notification"]["kind"] == "LIKE" and live["notification"]["count"] == 2


async def test_none_yet_still_gives_a_cursor_to_replay_from(base_url: str) -> None:
    """An account with no notifications gets an endCursor on its first page all the same:
    subscribing with it replays the one that came between the page and the subscription. A
    page filtered by kinds has none (what it leaves out is not "after" it)."""
    page = """query($kinds: [NotificationKind!]) { notifications(first: 5, kinds: $kinds) {
      edges { cursor } pageInfo { endCursor } } }"""
    async with httpx2.AsyncClient(base_url=base_url) as http:
        owner = await sign_up(http, unique("owner"))
        fan = await sign_up(http, unique("fan"))
        first = (await gql(http, page, None, owner["accessToken"]))["notifications"]
        assert first["edges"] == [] and first["pageInfo"]["endCursor"] is not None
        filtered = await gql(http, page, {"kinds": ["LIKE"]}, owner["accessToken"])
        assert filtered["notifications"]["pageInfo"]["endCursor"] is None
        await gql(http, FOLLOW, {"id": owner["user"]["id"]}, fan["accessToken"])
        await wait_for_count(http, owner["accessToken"], 1)
        async with ws_connect(base_url) as socket:
            client = Subscriber(socket)
            await client.init(owner["accessToken"])
            await client.subscribe("n", LIVE, {"after": first["pageInfo"]["endCursor"]})
            replayed = await next_event(client)
            assert replayed["type"] == "UPDATED" and replayed["notification"]["kind"] == "FOLLOW"
            assert replayed["unreadCount"] == 1


async def wait_for_count(http: httpx2.AsyncClient, token: str, count: int) -> None:
    deadline = time.monotonic() + 10
    query = "{ notifications { edges { cursor } } }"
    while len((await gql(http, query, None, token))["notifications"]["edges"]) < count:
        assert time.monotonic() < deadline, "the notifications did not arrive"
        await asyncio.sleep(0.05)
