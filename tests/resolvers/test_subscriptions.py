"""Live home timelines over websockets (graphql-transport-ws), against a real uvicorn."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.support.client import embedded_settings
from tests.support.profiles import PROFILES, settings_on, unique
from tests.support.server import Subscriber, live_server, ws_connect

HOME = """subscription($after: String) { homeTimeline(after: $after) {
  type tweetId cursor tweet { text author { username } } } }"""


@pytest.fixture
def base_url(tmp_path: Path) -> Iterator[str]:
    with live_server(embedded_settings(tmp_path)) as url:
        yield url


async def gql(
    http: httpx2.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    body = response.json()
    assert not body.get("errors"), body
    return dict(body["data"])


async def sign_up(http: httpx2.AsyncClient, name: str) -> dict[str, Any]:
    data = await gql(
        http,
        "mutation($i: SignUpInput!) { signUp(input: $i) { accessToken user { id } } }",
        {"i": {"username": name, "email": f"{name}@example.com", "password": "longenough"}},
    )
    return dict(data["signUp"])


async def post(http: httpx2.AsyncClient, token: str, text: str) -> str:
    data = await gql(
        http, "mutation($t: String!) { postTweet(input: {text: $t}) { id } }", {"t": text}, token
    )
    return str(data["postTweet"]["id"])


async def test_two_followers_see_a_tweet_live_and_its_deletion(base_url: str) -> None:
    async with httpx2.AsyncClient(base_url=base_url) as http:
        author = await sign_up(http, "author")
        followers = [await sign_up(http, f"follower{i}") for i in range(2)]
        for follower in followers:
            await gql(
                http,
                "mutation($id: ID!) { follow(userId: $id) { status } }",
                {"id": author["user"]["id"]},
                follower["accessToken"],
            )
        async with ws_connect(base_url) as first, ws_connect(base_url) as second:
            clients = [Subscriber(first), Subscriber(second)]
            for client, follower in zip(clients, followers, strict=True):
                assert (await client.init(follower["accessToken"]))["type"] == "connection_ack"
                await client.subscribe("home", HOME)
            posted_at = time.monotonic()
            tweet_id = await post(http, author["accessToken"], "live #now")
            for client in clients:
                message = await client.next_payload(timeout_s=1.0)
                event = message["payload"]["data"]["homeTimeline"]
                assert event["type"] == "ADDED" and event["tweetId"] == tweet_id
                assert event["tweet"] == {"text": "live #now", "author": {"username": "author"}}
            assert time.monotonic() - posted_at < 1.0
            await gql(
                http,
                "mutation($id: ID!) { deleteTweet(id: $id) }",
                {"id": tweet_id},
                author["accessToken"],
            )
            for client in clients:
                event = (await client.next_payload(timeout_s=1.0))["payload"]["data"][
                    "homeTimeline"
                ]
                assert event == {
                    "type": "DELETED",
                    "tweetId": tweet_id,
                    "cursor": None,
                    "tweet": None,
                }


async def test_reconnect_with_a_cursor_replays_what_was_missed(base_url: str) -> None:
    async with httpx2.AsyncClient(base_url=base_url) as http:
        author = await sign_up(http, "author")
        reader = await sign_up(http, "reader")
        await gql(
            http,
            "mutation($id: ID!) { follow(userId: $id) { status } }",
            {"id": author["user"]["id"]},
            reader["accessToken"],
        )
        async with ws_connect(base_url) as socket:
            client = Subscriber(socket)
            await client.init(reader["accessToken"])
            await client.subscribe("home", HOME)
            await post(http, author["accessToken"], "seen live")
            seen = (await client.next_payload())["payload"]["data"]["homeTimeline"]
        missed = [await post(http, author["accessToken"], f"missed {i}") for i in range(3)]
        time_limit = time.monotonic() + 5
        async with ws_connect(base_url) as socket:
            client = Subscriber(socket)
            await client.init(reader["accessToken"])
            while True:  # fan-out is eventual: wait until the missed tweets are in the timeline
                page = await gql(
                    http,
                    "{ homeTimeline(first: 5) { edges { node { id } } } }",
                    token=reader["accessToken"],
                )
                if len(page["homeTimeline"]["edges"]) == 4 or time.monotonic() > time_limit:
                    break
            await client.subscribe("home", HOME, {"after": seen["cursor"]})
            replayed = [
                (await client.next_payload())["payload"]["data"]["homeTimeline"]["tweetId"]
                for _ in missed
            ]
            assert replayed == missed  # oldest first, then live
            live = await post(http, author["accessToken"], "live again")
            assert (await client.next_payload())["payload"]["data"]["homeTimeline"][
                "tweetId"
            ] == live


async def test_bad_token_is_refused_and_anonymous_cannot_subscribe(base_url: str) -> None:
    async with ws_connect(base_url) as socket:
        client = Subscriber(socket)
        await client.send({"type": "connection_init", "payload": {"token": "forged"}})
        with pytest.raises(Exception, match=r"4403|Forbidden"):
            await client.receive()
    async with ws_connect(base_url) as socket:
        client = Subscriber(socket)
        assert (await client.init(None))["type"] == "connection_ack"
        await client.subscribe("home", HOME)
        message = await client.next_payload()
        assert message["type"] == "next"
        assert message["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert (await client.next_payload())["type"] == "complete"


@pytest.fixture
def limited_url(tmp_path: Path) -> Iterator[str]:
    from app.settings import Limits

    settings = embedded_settings(tmp_path, limits=Limits(max_subscriptions_per_connection=2))
    with live_server(settings) as url:
        yield url


async def test_subscriptions_per_connection_are_bounded(limited_url: str) -> None:
    async with httpx2.AsyncClient(base_url=limited_url) as http:
        reader = await sign_up(http, "reader")
    async with ws_connect(limited_url) as socket:
        client = Subscriber(socket)
        await client.init(reader["accessToken"])
        await client.subscribe("one", HOME)
        await client.subscribe("two", HOME)  # at the limit: accepted
        await client.subscribe("three", HOME)  # one over: refused, the others go on
        refused = await client.next_payload()
        assert refused["id"] == "three" and refused["type"] == "error"
        assert refused["payload"][0]["message"] == "Subscription limit reached"
        async with httpx2.AsyncClient(base_url=limited_url) as http:
            await post(http, reader["accessToken"], "still live")
        delivered = {(await client.next_payload())["id"] for _ in range(2)}
        assert delivered == {"one", "two"}


async def test_errors_stay_masked_over_websockets(base_url: str) -> None:
    async with httpx2.AsyncClient(base_url=base_url) as http:
        reader = await sign_up(http, "reader")
    async with ws_connect(base_url) as socket:
        client = Subscriber(socket)
        await client.init(reader["accessToken"])
        await client.subscribe("bad", HOME, {"after": "not-a-cursor"})
        message = await client.next_payload()
        assert message["payload"]["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert (await client.next_payload())["type"] == "complete"
        await client.subscribe("ghost", "subscription { homeTimeline { nope } }")
        message = await client.next_payload()
        assert message["id"] == "ghost" and message["type"] == "error"
        assert message["payload"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_unexpected_errors_are_masked_over_websockets(
    base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.cursors import position_cursor
    from resolvers import subscription
    from storage.records import utcnow

    async def broken(*args: object) -> list[object]:
        raise RuntimeError("secret detail of the failure")

    monkeypatch.setattr(subscription, "_missed", broken)
    async with httpx2.AsyncClient(base_url=base_url) as http:
        reader = await sign_up(http, "reader")
    async with ws_connect(base_url) as socket:
        client = Subscriber(socket)
        await client.init(reader["accessToken"])
        await client.subscribe("s", HOME, {"after": position_cursor((utcnow(), 1))})
        message = await client.next_payload()
        [error] = message["payload"]["errors"]
        assert error["message"] == "Unexpected error."
        assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
        assert "secret detail" not in str(message)


async def test_a_live_timeline_stops_when_its_session_logs_out(base_url: str) -> None:
    async with httpx2.AsyncClient(base_url=base_url) as http:
        author = await sign_up(http, "author")
        data = await gql(
            http,
            """mutation($i: SignUpInput!) {
                 signUp(input: $i) { accessToken refreshToken user { id } } }""",
            {"i": {"username": "reader", "email": "reader@example.com", "password": "longenough"}},
        )
        reader = data["signUp"]
        await gql(
            http,
            "mutation($id: ID!) { follow(userId: $id) { status } }",
            {"id": author["user"]["id"]},
            reader["accessToken"],
        )
        async with ws_connect(base_url) as socket:
            client = Subscriber(socket)
            assert (await client.init(reader["accessToken"]))["type"] == "connection_ack"
            await client.subscribe("home", HOME)
            await post(http, author["accessToken"], "seen while logged in")
            first = await client.next_payload()
            assert first["payload"]["data"]["homeTimeline"]["tweet"]["text"] == (
                "seen while logged in"
            )

            logged_out = await gql(
                http, "mutation($t: String!) { logOut(refreshToken: $t) }",
                {"t": reader["refreshToken"]},
            )  # fmt: skip
            assert logged_out["logOut"] is True
            await post(http, author["accessToken"], "after the reader left")
            ended = await client.next_payload()
            assert "after the reader left" not in str(ended)
            assert ended["type"] == "next" and ended["id"] == "home"
            assert ended["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
            assert (await client.next_payload())["type"] == "complete"


@pytest.fixture(params=PROFILES)
def profile_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with live_server(settings_on(request.param, tmp_path)) as url:
        yield url


PAGE = """query($after: String) { homeTimeline(first: 5, after: $after) {
  edges { node { id } } pageInfo { hasNextPage endCursor } } }"""


async def test_an_empty_first_page_still_gives_a_cursor_to_replay_from(profile_url: str) -> None:
    """A new account's home timeline is empty, so no edge has a cursor; its endCursor stands
    in. Subscribing with it replays what reached the timeline after the page was read, which
    a subscription without one misses; paging on from it finds nothing."""
    async with httpx2.AsyncClient(base_url=profile_url) as http:
        author = await sign_up(http, unique("author"))
        reader = await sign_up(http, unique("reader"))
        await gql(
            http,
            "mutation($id: ID!) { follow(userId: $id) { status } }",
            {"id": author["user"]["id"]},
            reader["accessToken"],
        )
        first = (await gql(http, PAGE, token=reader["accessToken"]))["homeTimeline"]
        assert first["edges"] == [] and first["pageInfo"]["hasNextPage"] is False
        cursor = first["pageInfo"]["endCursor"]
        assert cursor is not None
        after = await gql(http, PAGE, {"after": cursor}, reader["accessToken"])
        assert after["homeTimeline"] == {
            "edges": [],
            "pageInfo": {"hasNextPage": False, "endCursor": None},
        }

        between = await post(http, author["accessToken"], "between the page and the socket")
        deadline = time.monotonic() + 10
        while not (await gql(http, PAGE, token=reader["accessToken"]))["homeTimeline"]["edges"]:
            assert time.monotonic() < deadline, "fan-out never delivered the tweet"
            await asyncio.sleep(0.05)
        async with ws_connect(profile_url) as one, ws_connect(profile_url) as other:
            resumed, fresh = Subscriber(one), Subscriber(other)
            for client in (resumed, fresh):
                assert (await client.init(reader["accessToken"]))["type"] == "connection_ack"
            await resumed.subscribe("home", HOME, {"after": cursor})
            await fresh.subscribe("home", HOME)
            replayed = (await resumed.next_payload(5.0))["payload"]["data"]["homeTimeline"]
            assert (replayed["type"], replayed["tweetId"]) == ("ADDED", between)
            live = await post(http, author["accessToken"], "live")
            for client in (resumed, fresh):  # without the cursor, only what came after it
                event = (await client.next_payload(5.0))["payload"]["data"]["homeTimeline"]
                assert event["tweetId"] == live
