"""Hot, warm and cold tiers as users meet them, on both profiles (media on S3 with the
engines). Tweets on both sides of each boundary: a lifecycle pass archives exactly what is
older than cold_s (out of the primary tables, into its month's archive in the cold class)
and evicts from Redis exactly what is older than hot_s; reads (tweet, profile pages with
cursors, search, likes) find archived tweets as before, and deleting one still works.

Tests first travel ~400 days back (ids, and so tweets' times, follow the one clock): on the
shared engines everyone else's tweets are newer than any cutoff these passes use, so only
this test's tweets cross a boundary."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app.archive import archive_key, month_of
from app.readthrough import ReadThrough
from app.services.reindex import Reindex
from app.settings import Settings
from storage import clock
from storage.records import TweetRecord, utc_from_ms, utcnow
from tests.backends import backend_url
from tests.resolvers.test_notifications import settled
from tests.support import lifecycle
from tests.support.cli import run_chirp
from tests.support.client import GraphQLClient, running_app
from tests.support.lifecycle import call, chirp, run_pass
from tests.support.profiles import PROFILES, settings_on, unique

TWEET = """query($id: ID!) { tweet(id: $id) {
  text likeCount author { username } } }"""
COUNTS = "query($u: String!) { user(username: $u) { tweetsCount likesCount } }"
PROFILE = """query($u: String!, $after: String) { user(username: $u) {
  tweets(first: 1, after: $after) { edges { cursor node { text } }
  pageInfo { hasNextPage endCursor } } } }"""
LIKES = """query($u: String!) { user(username: $u) {
  likes(first: 10) { edges { node { text } } } } }"""
SEARCH = "query($q: String!) { search(query: $q, first: 10) { edges { node { text } } } }"
LIKE = "mutation($id: ID!) { likeTweet(id: $id) { id } }"
DELETE = "mutation($id: ID!) { deleteTweet(id: $id) }"


def tier_settings(profile: str, tmp_path: Path) -> Settings:
    settings = settings_on(profile, tmp_path)
    if profile == "engines":
        settings = settings.with_overrides(media_url=backend_url("CHIRP_MEDIA_URL"))
    return settings


@pytest.fixture(params=PROFILES)
def profile(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(profile: str, tmp_path: Path) -> Settings:
    return tier_settings(profile, tmp_path)


@pytest.fixture
def client(settings: Settings) -> Iterator[GraphQLClient]:
    with running_app(settings) as graphql:
        yield graphql


@pytest.fixture
def travel() -> Any:
    return lifecycle.travel


def primary(client: GraphQLClient, *tweets: dict[str, Any]) -> list[TweetRecord | None]:
    ids = [int(t["databaseId"]) for t in tweets]
    return list(call(client, chirp(client).stores.tweets.get_many(ids)))


def archived(client: GraphQLClient, tweet: dict[str, Any], author: dict[str, Any]) -> Any:
    """The tweet's month archive in the media store, and the ids it holds."""
    key = archive_key(int(author["user"]["databaseId"]), month_of(created(tweet)))
    data = call(client, chirp(client).stores.media.get(key))
    return key, data


def created(tweet: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(tweet["createdAt"].replace("Z", "+00:00"))


def profile_pages(client: GraphQLClient, username: str) -> list[str]:
    """The profile read a tweet at a time, following cursors to the end."""
    texts, after = [], None
    for _ in range(10):
        page = client.data(PROFILE, {"u": username, "after": after})["user"]["tweets"]
        texts += [edge["node"]["text"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return texts
        after = page["pageInfo"]["endCursor"]
    raise AssertionError("the profile never ended")


def forget_cached(client: GraphQLClient, tweets: list[dict[str, Any]]) -> None:
    """Drop every cached copy, so the next read goes to the stores (and the archive)."""
    cache: ReadThrough[TweetRecord] = chirp(client).tweet_cache
    call(client, cache.invalidate([int(t["databaseId"]) for t in tweets]))


def test_a_pass_archives_only_what_is_past_cold_and_reads_stay_transparent(
    client: GraphQLClient, travel: Any
) -> None:
    word = unique("cold")
    travel(-400)
    ada, bob = client.sign_up(unique("ada")), client.sign_up(unique("bob"))
    a, b = ada["accessToken"], bob["accessToken"]
    name = ada["user"]["username"]
    old = client.post_tweet(a, f"old {word}")
    client.data(LIKE, {"id": old["id"]}, b)
    travel(200)
    newer = client.post_tweet(a, f"newer {word}")
    travel(170)  # old: 370 days, newer: 170 days
    settled(client)
    counts = [client.data(COUNTS, {"u": n}) for n in (name, bob["user"]["username"])]

    report = run_pass(client)
    assert report["cold"]["moved"] == 1
    gone, kept = primary(client, old, newer)
    assert gone is None and kept is not None and kept.text == f"newer {word}"
    key, data = archived(client, old, ada)
    assert key.startswith("cold/tweets/") and data is not None
    assert archived(client, newer, ada)[1] is None

    forget_cached(client, [old, newer])
    assert client.data(TWEET, {"id": old["id"]})["tweet"] == {
        "text": f"old {word}",
        "likeCount": 1,
        "author": {"username": name},
    }
    assert profile_pages(client, name) == [f"newer {word}", f"old {word}"]
    call(client, chirp(client).stores.search.refresh())
    hits = client.data(SEARCH, {"q": word}, b)["search"]["edges"]
    assert [hit["node"]["text"] for hit in hits] == [f"newer {word}", f"old {word}"]
    likes = client.data(LIKES, {"u": bob["user"]["username"]})["user"]["likes"]["edges"]
    assert [like["node"]["text"] for like in likes] == [f"old {word}"]
    # Search lost the archived tweet (an index rebuilt from nothing): reindex finds it in
    # the archive, as `chirp reindex` does after the tweet store.
    stores = chirp(client).stores
    call(client, stores.search.remove([int(old["databaseId"])]))
    call(client, stores.search.refresh())
    assert len(client.data(SEARCH, {"q": word}, b)["search"]["edges"]) == 1
    indexed, _ = call(client, Reindex(stores).archived())
    assert indexed >= 1
    call(client, stores.search.refresh())
    hits = client.data(SEARCH, {"q": word}, b)["search"]["edges"]
    assert [hit["node"]["text"] for hit in hits] == [f"newer {word}", f"old {word}"]

    assert [client.data(COUNTS, {"u": n}) for n in (name, bob["user"]["username"])] == counts
    assert counts[0]["user"]["tweetsCount"] == 2 and counts[1]["user"]["likesCount"] == 1
    again = run_pass(client)
    assert not again["cold"]
    assert primary(client, old, newer)[0] is None
    assert profile_pages(client, name) == [f"newer {word}", f"old {word}"]


def test_the_cold_boundary_is_exact(client: GraphQLClient, travel: Any) -> None:
    """364 days old stays, 366 days old moves; an author's months each get one archive."""
    travel(-420)
    ada = client.sign_up(unique("ada"))
    a, name = ada["accessToken"], ada["user"]["username"]
    oldest = client.post_tweet(a, "oldest")
    travel(40)
    old = client.post_tweet(a, "old")
    travel(14)
    young = client.post_tweet(a, "young")
    travel(364)  # oldest: 418 days, old: 378 days, young: 364 days
    settled(client)
    assert run_pass(client)["cold"]["moved"] == 2
    assert primary(client, oldest, old, young)[:2] == [None, None]
    assert primary(client, young)[0] is not None
    assert month_of(created(oldest)) != month_of(created(old))
    assert archived(client, oldest, ada)[1] is not None
    assert archived(client, old, ada)[1] is not None
    travel(2)  # young: 366 days
    assert run_pass(client)["cold"]["moved"] == 1
    assert primary(client, young) == [None]
    assert profile_pages(client, name) == ["young", "old", "oldest"]


def test_deleting_an_archived_tweet_thaws_it_and_it_vanishes(
    client: GraphQLClient, travel: Any
) -> None:
    travel(-400)
    ada, bob = client.sign_up(unique("ada")), client.sign_up(unique("bob"))
    a, b = ada["accessToken"], bob["accessToken"]
    name = ada["user"]["username"]
    old = client.post_tweet(a, "to be deleted")
    client.post_tweet(a, "to be kept")
    travel(370)
    settled(client)
    assert run_pass(client)["cold"]["moved"] == 2

    assert client.error_code(DELETE, {"id": old["id"]}, b) == "FORBIDDEN"
    assert primary(client, old) == [None]  # someone else's attempt thaws nothing
    assert client.data(DELETE, {"id": old["id"]}, a) == {"deleteTweet": old["id"]}
    settled(client)
    assert client.data(TWEET, {"id": old["id"]})["tweet"] is None
    assert profile_pages(client, name) == ["to be kept"]
    [thawed] = primary(client, old)
    assert thawed is not None and thawed.is_deleted
    assert call(client, chirp(client).archive.get_many([int(old["databaseId"])])) == [None]
    assert client.error_code(DELETE, {"id": old["id"]}, a) == "NOT_FOUND"


def test_a_pass_evicts_from_redis_only_what_is_past_hot(
    client: GraphQLClient, profile: str, travel: Any
) -> None:
    travel(-60)
    ada, bob = client.sign_up(unique("ada")), client.sign_up(unique("bob"))
    a, b = ada["accessToken"], bob["accessToken"]
    client.follow(b, ada["user"]["id"])
    warm = client.post_tweet(a, "soon warm")
    travel(2)
    hot = client.post_tweet(a, "still hot")
    travel(29)  # warm: 31 days, hot: 29 days
    settled(client)
    for tweet in (warm, hot):
        assert client.data(TWEET, {"id": tweet["id"]})["tweet"] is not None
    home = [edge["node"]["text"] for edge in client.home(b)["edges"]]
    assert home == ["still hot", "soon warm"]

    report = run_pass(client)
    assert not report["cold"]
    if profile == "embedded":
        assert not report["warm"]  # no Redis: nothing to evict
        return
    assert report["warm"]["moved"] >= 2  # the tweet, its home timeline entry (others' too)
    cache = chirp(client).stores.cache
    keys = [f"tweet:{warm['databaseId']}", f"tweet:{hot['databaseId']}"]
    assert [blob is not None for blob in call(client, cache.get_many(keys))] == [False, True]
    members = call(client, _home_members(int(bob["user"]["databaseId"])))
    assert f"{int(hot['databaseId']):020d}:{ada['user']['databaseId']}" in members
    assert f"{int(warm['databaseId']):020d}:{ada['user']['databaseId']}" not in members
    # Warm is only slower: the tweet and the home timeline read as before.
    assert client.data(TWEET, {"id": warm["id"]})["tweet"]["text"] == "soon warm"
    assert [edge["node"]["text"] for edge in client.home(b)["edges"]] == home


async def _home_members(owner_id: int) -> list[str]:
    from redis.asyncio import Redis

    client = Redis.from_url(backend_url("CHIRP_CACHE_URL"))
    try:
        found = await client.zrange(f"timeline:{owner_id}", 0, -1)
    finally:
        await client.aclose()
    return [member.decode() for member in found]


def test_archives_are_gzipped_json_lines_in_the_cold_class(
    client: GraphQLClient, profile: str, travel: Any, tmp_path: Path
) -> None:
    import gzip

    travel(-400)
    ada = client.sign_up(unique("ada"))
    first = client.post_tweet(ada["accessToken"], "first")
    second = client.post_tweet(ada["accessToken"], "second")
    travel(370)
    settled(client)
    run_pass(client)
    key, data = archived(client, first, ada)
    lines = [json.loads(line) for line in gzip.decompress(data).splitlines()]
    assert [line["text"] for line in lines] == ["second", "first"]
    assert [line["id"] for line in lines] == [int(second["databaseId"]), int(first["databaseId"])]
    assert utc_from_ms(lines[0]["created_at"]) == created(second)
    if profile == "engines":
        media = chirp(client).stores.media

        async def storage_class() -> str:
            head = await media._client.head_object(Bucket=media._bucket, Key=key)
            return str(head.get("StorageClass", "STANDARD"))

        assert call(client, storage_class()) == "GLACIER"  # read through restore_object
    else:
        assert (tmp_path / "media" / key).is_file()  # a plain folder tree


def test_chirp_lifecycle_run_archives_from_the_command_line(
    settings: Settings, client: GraphQLClient, travel: Any
) -> None:
    """The command's clock is the real one: tweets posted 400 and 300 days back are on
    either side of its cold boundary."""
    travel(-400)
    ada = client.sign_up(unique("ada"))
    old = client.post_tweet(ada["accessToken"], "posted 400 days ago")
    travel(100)
    newer = client.post_tweet(ada["accessToken"], "posted 300 days ago")
    clock.reset()
    settled(client)
    done = run_chirp(settings, "lifecycle", "run")
    assert done.returncode == 0, done.stderr
    assert "cold: " in done.stdout + done.stderr
    assert primary(client, old, newer)[0] is None
    assert primary(client, newer)[0] is not None
    forget_cached(client, [old])
    assert client.data(TWEET, {"id": old["id"]})["tweet"]["text"] == "posted 400 days ago"
    assert utcnow() - created(newer) < timedelta(days=301)


def test_a_moderator_removal_and_an_undone_retweet_reach_the_cold_tier(
    client: GraphQLClient, travel: Any
) -> None:
    """A moderator removes an archived tweet, and a user undoes a retweet archived a year
    ago: both act where the tweet lives, so it vanishes and the counts move."""
    travel(-400)
    ada, bob, mod = (client.sign_up(unique(n)) for n in ("ada", "bob", "mod"))
    a, b = ada["accessToken"], bob["accessToken"]
    abuse = client.post_tweet(a, "old abuse")
    liked = client.post_tweet(a, "old and retweeted")
    client.data("mutation($id: ID!) { retweet(id: $id) { id } }", {"id": liked["id"]}, b)
    travel(370)
    settled(client)
    assert run_pass(client)["cold"]["moved"] == 3  # two tweets and the retweet
    stores = chirp(client).stores
    call(client, stores.moderation.grant(int(mod["user"]["databaseId"]), "moderator", utcnow()))

    removed = client.data(
        """mutation($t: ID!) { resolveReports(targetId: $t, action: REMOVE_TWEET, note: "x") {
        action } }""",
        {"t": abuse["id"]},
        mod["accessToken"],
    )
    assert removed["resolveReports"]["action"] == "REMOVE_TWEET"
    settled(client)
    forget_cached(client, [abuse])
    assert client.data(TWEET, {"id": abuse["id"]})["tweet"] is None
    assert profile_pages(client, ada["user"]["username"]) == ["old and retweeted"]

    bob_name = bob["user"]["username"]
    assert client.data(COUNTS, {"u": bob_name})["user"]["tweetsCount"] == 1
    client.data("mutation($id: ID!) { undoRetweet(id: $id) { id } }", {"id": liked["id"]}, b)
    settled(client)
    assert client.data(COUNTS, {"u": bob_name})["user"]["tweetsCount"] == 0
    assert profile_pages(client, bob_name) == []
