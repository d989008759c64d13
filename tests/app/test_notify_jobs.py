"""The notify job, exactly once, on both profiles: jobs held back and then run the way a
worker runs them (`Worker.drain`, as `chirp worker --once` does), repeated, out of order and
after the cause was undone. Whatever the order, the recipient ends where the truth is."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.jobs import Jobs
from app.jobs.notify import Notify
from tests.support.client import GraphQLClient, running_app
from tests.support.profiles import PROFILES, settings_on, unique

LIKE = "mutation($id: ID!) { likeTweet(id: $id) { id } }"
UNLIKE = "mutation($id: ID!) { unlikeTweet(id: $id) { id } }"
LIKES = "{ notifications(kinds: [LIKE]) { edges { node { count actors { username } } } } }"


@pytest.fixture(params=PROFILES)
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphQLClient]:
    settings = settings_on(request.param, tmp_path).with_overrides(run_workers=False)
    with running_app(settings) as graphql:
        yield graphql


def drain(client: GraphQLClient) -> int:
    chirp = client.http.app.state.chirp  # type: ignore[attr-defined]
    return int(client.http.portal.call(chirp.worker().drain))


def enqueue(client: GraphQLClient, payload: dict[str, Any]) -> None:
    chirp = client.http.app.state.chirp  # type: ignore[attr-defined]
    client.http.portal.call(Jobs(chirp.stores.queues).enqueue, Notify, payload)


def likes(client: GraphQLClient, token: str) -> list[tuple[int, list[str]]]:
    edges = client.data(LIKES, {}, token)["notifications"]["edges"]
    return [(e["node"]["count"], [a["username"] for a in e["node"]["actors"]]) for e in edges]


def test_nothing_is_written_on_the_request_path(client: GraphQLClient) -> None:
    owner, fan = client.sign_up(unique("owner")), client.sign_up(unique("fan"))
    tweet = client.post_tweet(owner["accessToken"], "hi")
    client.data(LIKE, {"id": tweet["id"]}, fan["accessToken"])
    assert likes(client, owner["accessToken"]) == []  # only queued
    assert drain(client) > 0
    assert likes(client, owner["accessToken"]) == [(1, [fan["user"]["username"]])]


def test_retried_and_reordered_jobs_end_where_the_truth_is(client: GraphQLClient) -> None:
    owner, fan = client.sign_up(unique("owner")), client.sign_up(unique("fan"))
    o, f = owner["accessToken"], fan["accessToken"]
    tweet = client.post_tweet(o, "hi")
    # like, unlike, like: three jobs queued; whichever runs first reads the truth (liked).
    for mutation in (LIKE, UNLIKE, LIKE):
        client.data(mutation, {"id": tweet["id"]}, f)
    drain(client)
    assert likes(client, o) == [(1, [fan["user"]["username"]])]
    # The same jobs again (a worker died before acknowledging them): nothing changes.
    payload = {"kind": "like", "actor_id": int(fan["user"]["databaseId"])}
    payload["tweet_id"] = int(tweet["databaseId"])
    for _ in range(3):
        enqueue(client, payload)
    drain(client)
    assert likes(client, o) == [(1, [fan["user"]["username"]])]
    # Unliked while its like job was still queued: the job finds no like and withdraws.
    client.data(UNLIKE, {"id": tweet["id"]}, f)
    enqueue(client, payload)
    drain(client)
    assert likes(client, o) == []


def test_a_like_undone_before_its_job_ran_never_notifies(client: GraphQLClient) -> None:
    owner, fan = client.sign_up(unique("owner")), client.sign_up(unique("fan"))
    tweet = client.post_tweet(owner["accessToken"], "hi")
    client.data(LIKE, {"id": tweet["id"]}, fan["accessToken"])
    client.data(UNLIKE, {"id": tweet["id"]}, fan["accessToken"])
    drain(client)
    assert likes(client, owner["accessToken"]) == []
    assert client.data("{ unreadNotificationsCount }", {}, owner["accessToken"]) == {
        "unreadNotificationsCount": 0
    }


def test_an_undone_retweets_late_job_leaves_a_new_retweet_alone(client: GraphQLClient) -> None:
    owner, fan = client.sign_up(unique("owner")), client.sign_up(unique("fan"))
    tweet = client.post_tweet(owner["accessToken"], "retweet me")
    retweet = "mutation($id: ID!) { retweet(id: $id) { id } }"
    client.data(retweet, {"id": tweet["id"]}, fan["accessToken"])
    home = client.home(fan["accessToken"], fields="databaseId retweetOf { id }")["edges"]
    [first] = [int(e["node"]["databaseId"]) for e in home if e["node"]["retweetOf"]]
    client.data(
        "mutation($id: ID!) { undoRetweet(id: $id) { id } }",
        {"id": tweet["id"]},
        fan["accessToken"],
    )
    client.data(retweet, {"id": tweet["id"]}, fan["accessToken"])
    drain(client)
    # The first retweet's job again, late (a retry): it must not withdraw the second one.
    enqueue(client, {"kind": "tweet", "tweet_id": first})
    drain(client)
    kinds = "{ notifications { edges { node { kind count } } } }"
    found = client.data(kinds, {}, owner["accessToken"])["notifications"]["edges"]
    assert [e["node"] for e in found] == [{"kind": "RETWEET", "count": 1}]
