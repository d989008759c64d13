"""N+1 is a test failure: a home timeline page costs the same store calls for 1 or 100 tweets."""

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from storage.records import utcnow
from tests.support.client import GraphQLClient, eventually
from tests.support.profiles import PROFILES, app_on, unique

QUERY = """query($first: Int!) { homeTimeline(first: $first) { edges { node {
  text likeCount viewerHasLiked author { username } } } } }"""


def _calls(client: GraphQLClient, token: str, first: int) -> dict:
    body = client.post(QUERY, {"first": first}, token)
    assert not body.get("errors")
    assert len(body["data"]["homeTimeline"]["edges"]) == first
    return body["extensions"]["storeCalls"]


def test_home_timeline_store_calls_do_not_grow_with_page_size(client: GraphQLClient) -> None:
    reader = client.sign_up("reader")["accessToken"]
    writers = [client.sign_up(f"writer{i}") for i in range(4)]
    for writer in writers:
        client.follow(reader, writer["user"]["id"])
    for i in range(101):
        writer = writers[i % 4]
        client.post_tweet(writer["accessToken"], f"tweet {i}")
    eventually(lambda: len(client.home(reader, first=100)["edges"]) == 100, timeout_s=20)
    client.data(
        "mutation($id: ID!) { likeTweet(id: $id) { id } }",
        {"id": client.home(reader, first=1)["edges"][0]["node"]["id"]},
        reader,
    )
    one, hundred = _calls(client, reader, 1), _calls(client, reader, 100)
    assert one == hundred
    assert hundred["byMethod"]["cache.count_once"] == 1  # the page's views (app/views.py)
    assert hundred["total"] <= 7, hundred
    # Cold: nothing in the in-process cache, so tweets and authors come from the store too.
    chirp = client.http.app.state.chirp
    cold = []
    for first in (1, 100):
        chirp.tweet_cache.clear_local()
        chirp.user_cache.clear_local()
        cold.append(_calls(client, reader, first))
    assert cold[0] == cold[1]
    assert cold[1]["byMethod"]["tweets.get_many"] == 1
    assert cold[1]["byMethod"]["users.get_many"] == 1
    assert cold[1]["total"] <= 9, cold[1]


def test_blocks_mutes_and_muted_words_cost_no_round_trip_per_account(
    client: GraphQLClient,
) -> None:
    """A reader with 10,000 blocks, 2,000 mutes and 50 muted words pays for a home page
    exactly what a reader with none does: the relations are read whole, once."""
    plain = client.sign_up("plain")["accessToken"]
    strict = client.sign_up("strict")
    writers = [client.sign_up(f"writer{i}") for i in range(2)]
    for reader in (plain, strict["accessToken"]):
        for writer in writers:
            client.follow(reader, writer["user"]["id"])
    for i in range(30):
        client.post_tweet(writers[i % 2]["accessToken"], f"tweet {i}")
    eventually(lambda: len(client.home(plain, first=30)["edges"]) == 30, timeout_s=20)

    safety = client.http.app.state.chirp.stores.safety
    me = int(strict["user"]["databaseId"])

    async def set_against_many() -> None:
        now = utcnow()
        for n in range(10_000):
            await safety.block(me, 10**15 + n, now)
        for n in range(2_000):
            await safety.mute(me, 2 * 10**15 + n, now, None)
        for n in range(50):
            await safety.add_muted_word(me, f"nothing{n}", now, None)

    client.http.portal.call(set_against_many)
    token = strict["accessToken"]
    assert _calls(client, token, 20) == _calls(client, plain, 20)
    assert _calls(client, token, 20)["byMethod"]["safety.relations"] == 1

    # Muting a writer hides half the home timeline: the page costs more scan rounds, not
    # a round trip per muted tweet or account.
    client.data(
        "mutation($id: ID!) { mute(userId: $id) { id } }", {"id": writers[0]["user"]["id"]}, token
    )
    body = client.post(QUERY, {"first": 10}, token)
    assert len(body["data"]["homeTimeline"]["edges"]) == 10
    assert body["extensions"]["storeCalls"]["total"] <= _calls(client, plain, 10)["total"] + 2, (
        body["extensions"]["storeCalls"],
        _calls(client, plain, 10),
    )


NOTIFICATIONS = """query($first: Int!) { notifications(first: $first) { edges { node {
  kind count unread actors { username } tweet { text likeCount author { username } } } } } }"""


def test_a_notifications_page_costs_the_same_store_calls_for_1_or_100(
    client: GraphQLClient,
) -> None:
    from datetime import timedelta

    from storage.records import NotificationChange

    owner = client.sign_up("owner")
    fans = [int(client.sign_up(f"fan{i}")["user"]["databaseId"]) for i in range(3)]
    tweets = [client.post_tweet(owner["accessToken"], f"t{i}") for i in range(101)]
    chirp = client.http.app.state.chirp
    me = int(owner["user"]["databaseId"])

    async def liked_by_fans() -> None:
        for tweet in tweets:
            tweet_id = int(tweet["databaseId"])
            added = tuple((fan, utcnow()) for fan in fans)
            change = NotificationChange(me, f"like:{tweet_id}", "like", tweet_id, added=added)
            await chirp.stores.notifications.apply(change, timedelta(days=1), chirp.ids.next_id)

    client.http.portal.call(liked_by_fans)

    def calls(first: int) -> dict:
        body = client.post(NOTIFICATIONS, {"first": first}, owner["accessToken"])
        assert not body.get("errors"), body["errors"]
        edges = body["data"]["notifications"]["edges"]
        assert len(edges) == first and all(e["node"]["count"] == 3 for e in edges)
        return body["extensions"]["storeCalls"]

    calls(100)  # warm: the actors and tweets are in the in-process cache
    one, hundred = calls(1), calls(100)
    assert one == hundred
    assert hundred["byMethod"]["notifications.page"] == 1
    assert hundred["total"] <= 5, hundred
    cold = []
    for first in (1, 100):
        chirp.tweet_cache.clear_local()
        chirp.user_cache.clear_local()
        cold.append(calls(first))
    assert cold[0] == cold[1]
    assert cold[1]["byMethod"]["users.get_many"] == 1
    assert cold[1]["byMethod"]["tweets.get_many"] == 1
    assert cold[1]["total"] <= 7, cold[1]


THREAD_PAGES = {
    "conversation": """query($id: ID!, $first: Int!) { tweet(id: $id) { conversation(first: $first)
      { edges { node { tweet { text likeCount author { username } } } } } } }""",
    "mentions": """query($first: Int!) { me { mentions(first: $first) {
      edges { node { text likeCount author { username } } } } } }""",
    "hashtag": """query($tag: String!, $first: Int!) { hashtag(tag: $tag, first: $first) {
      edges { node { text likeCount author { username } } } } }""",
}


@pytest.fixture(params=PROFILES)
def either(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphQLClient]:
    with app_on(request.param, tmp_path) as graphql:
        yield graphql


def test_conversation_mentions_and_hashtag_pages_cost_the_same_for_1_or_100(
    either: GraphQLClient,
) -> None:
    """101 replies to one tweet, each mentioning its author and tagged: each connection
    costs the same store calls for a page of 1 as for a page of 100."""
    client = either
    owner = client.sign_up(unique("owner"))
    writers = [client.sign_up(unique(f"w{i}"))["accessToken"] for i in range(3)]
    tag = f"t{secrets.token_hex(3)}"
    root = client.post_tweet(owner["accessToken"], "the root")["id"]
    for n in range(101):
        text = f"@{owner['user']['username']} #{tag} reply {n}"
        client.post_tweet(writers[n % 3], text, replyToId=root)
    variables = {"id": root, "tag": tag}
    hashtag = THREAD_PAGES["hashtag"]
    eventually(
        lambda: len(client.data(hashtag, {**variables, "first": 100})["hashtag"]["edges"]) == 100,
        timeout_s=30,
    )

    def calls(name: str, first: int) -> dict[str, Any]:
        query = THREAD_PAGES[name]
        wanted = {k: v for k, v in variables.items() if f"${k}" in query}
        body = client.post(query, {**wanted, "first": first}, owner["accessToken"])
        assert not body.get("errors"), body["errors"]
        assert str(body["data"]).count("reply") == first, name
        return dict(body["extensions"]["storeCalls"])

    for name in THREAD_PAGES:
        calls(name, 100)  # warm
        one, hundred = calls(name, 1), calls(name, 100)
        assert one == hundred, (name, one, hundred)


PEOPLE = """query($q: String!, $first: Int!) { searchUsers(query: $q, first: $first) {
  edges { cursor node { username displayName followersCount viewerFollows } } } }"""


@pytest.fixture(params=PROFILES)
def people_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphQLClient]:
    with app_on(request.param, tmp_path) as graphql:
        yield graphql


def test_a_people_search_page_costs_the_same_store_calls_for_1_or_100(
    people_app: GraphQLClient,
) -> None:
    """One index query, the viewer's relations, the accounts, their stats and whether the
    viewer follows them: each once, however many accounts the page holds."""
    from app.jobs.index_users import index_users
    from storage.records import UserRecord

    client = people_app
    token = client.sign_up(unique("reader"))["accessToken"]
    stem = "c" + secrets.token_hex(4)
    chirp = client.http.app.state.chirp

    async def many_people() -> None:
        now = utcnow()
        people = [
            UserRecord(
                id=chirp.ids.next_id(),
                username=f"{stem}{n:03d}",
                email=f"{stem}{n:03d}@example.com",
                password_hash="not-a-hash",
                display_name=f"Person {n}",
                created_at=now,
                updated_at=now,
            )
            for n in range(101)
        ]
        for person in people:
            await chirp.stores.users.create(person)
        await index_users(chirp.stores, people)
        await chirp.stores.search.refresh()

    client.http.portal.call(many_people)

    def calls(first: int) -> dict:
        body = client.post(PEOPLE, {"q": stem, "first": first}, token)
        assert not body.get("errors"), body["errors"]
        assert len(body["data"]["searchUsers"]["edges"]) == first
        return body["extensions"]["storeCalls"]

    calls(100)  # warm: the accounts are in the user cache
    one, hundred = calls(1), calls(100)
    assert one == hundred, (one, hundred)
    assert hundred["byMethod"]["search.search_users"] == 1
    assert hundred["total"] <= 5, hundred
    cold = []
    for first in (1, 100):
        chirp.user_cache.clear_local()
        cold.append(calls(first))
    assert cold[0] == cold[1], cold
    assert cold[1]["total"] <= 6, cold[1]
