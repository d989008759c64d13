"""N+1 is a test failure, for the engagement lists too: a page of likers, retweeters,
quotes or bookmarks costs the same store calls for 1 or 100 entries, warm or cold, on both
profiles. The lists are written straight to the stores (101 accounts and tweets), as the
services would write them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from storage.records import TimelineEntry, TweetRecord, UserRecord, utcnow
from tests.support.client import GraphQLClient
from tests.support.profiles import PROFILES, app_on, unique

SIZE = 101
TWEET_FIELDS = "text likeCount viewerHasLiked viewerHasBookmarked author { username }"
QUERIES = {
    "likedBy": """query($id: ID!, $first: Int!) { tweet(id: $id) {
      likedBy(first: $first) { edges { cursor at node { username viewerFollows } } } } }""",
    "retweetedBy": """query($id: ID!, $first: Int!) { tweet(id: $id) {
      retweetedBy(first: $first) { edges { cursor at node { username } } } } }""",
    "quotes": f"""query($id: ID!, $first: Int!) {{ tweet(id: $id) {{
      quotes(first: $first) {{ edges {{ cursor node {{ {TWEET_FIELDS} }} }} }} }} }}""",
    "bookmarks": f"""query($first: Int!) {{ me {{
      bookmarks(first: $first) {{ edges {{ cursor node {{ {TWEET_FIELDS} }} }} }} }} }}""",
}


@dataclass
class Lists:
    client: GraphQLClient
    reader: str  # token
    tweet: str  # global id of the tweet liked, retweeted and quoted SIZE times


@pytest.fixture(params=PROFILES)
def lists(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Lists]:
    with app_on(request.param, tmp_path) as client:
        reader = client.sign_up(unique("reader"))
        posted = client.post_tweet(client.sign_up(unique("author"))["accessToken"], "popular")
        client.http.portal.call(
            _engage, client, int(posted["databaseId"]), int(reader["user"]["databaseId"])
        )
        yield Lists(client, reader["accessToken"], posted["id"])


async def _engage(client: GraphQLClient, tweet_id: int, reader_id: int) -> None:
    """SIZE accounts each like, retweet and quote the tweet; the reader bookmarks each quote."""
    chirp = client.http.app.state.chirp
    stores, next_id = chirp.stores, chirp.ids.next_id
    start = utcnow() - timedelta(hours=1)
    for n in range(SIZE):
        at = start + timedelta(seconds=n)
        name = unique(f"fan{n}")
        fan = UserRecord(next_id(), name, f"{name}@example.com", "hash", name, at, at)
        await stores.users.create(fan)
        await stores.engagement.like(fan.id, tweet_id, at)
        await stores.engagement.retweet(fan.id, tweet_id, next_id(), at)
        quote = TweetRecord(next_id(), fan.id, f"quote {n}", at, at, quote_tweet_id=tweet_id)
        await stores.tweets.create(quote)
        await stores.engagement.add_quote(tweet_id, TimelineEntry(at, quote.id, fan.id))
        await stores.engagement.bookmark(reader_id, quote.id, fan.id, at)


def _calls(lists: Lists, name: str, first: int) -> dict[str, Any]:
    body = lists.client.post(QUERIES[name], {"id": lists.tweet, "first": first}, lists.reader)
    assert not body.get("errors"), body["errors"]
    data = body["data"]["me" if name == "bookmarks" else "tweet"][name]
    assert len(data["edges"]) == first, name
    calls: dict[str, Any] = body["extensions"]["storeCalls"]
    return calls


def test_each_engagement_list_costs_the_same_store_calls_for_1_or_100(lists: Lists) -> None:
    chirp = lists.client.http.app.state.chirp
    for name in QUERIES:
        _calls(lists, name, 100)  # warm: accounts and tweets are in the in-process cache
        one, hundred = _calls(lists, name, 1), _calls(lists, name, 100)
        assert one == hundred, (name, one, hundred)
        assert hundred["total"] <= 8, (name, hundred)
        cold = []
        for first in (1, 100):
            chirp.tweet_cache.clear_local()
            chirp.user_cache.clear_local()
            cold.append(_calls(lists, name, first))
        assert cold[0] == cold[1], (name, cold)
        assert cold[1]["total"] <= 12, (name, cold[1])
