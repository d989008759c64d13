"""Account deletion as users meet it, on both profiles: the wrong password changes nothing;
a deleted account vanishes from every read path at once and its tokens stop working; a
log-in within the cancel window brings everything back; past it, ACCOUNT_DELETED and the
names stay taken; the purge removes exactly the accounts past the purge window, with every
count it touched corrected once (boundaries 29 vs 31 and 89 vs 91 days)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from storage.records import TimelineKind, utcnow
from tests.resolvers.test_notifications import listed, settled
from tests.support import lifecycle
from tests.support.client import GraphQLClient
from tests.support.lifecycle import call, chirp, run_pass
from tests.support.profiles import PROFILES, app_on, unique

PASSWORD = "correct horse battery"
DELETE = "mutation($p: String!) { deleteAccount(password: $p) }"
LOG_IN = "mutation($l: String!, $p: String!) { logIn(login: $l, password: $p) { accessToken } }"
ME = "{ me { username } }"
PROFILE = """query($u: String!) { user(username: $u) {
  id followersCount followingCount tweets(first: 50) { edges { node { text } } } } }"""
NODE = "query($id: ID!) { node(id: $id) { id } }"
FOLLOWERS = """query($u: String!) { user(username: $u) {
  followers(first: 50) { edges { node { follower { username } } } }
  following(first: 50) { edges { node { followee { username } } } } } }"""
TWEET = "query($id: ID!) { tweet(id: $id) { text likeCount } }"
LIKE = "mutation($id: ID!) { likeTweet(id: $id) { id } }"
BLOCK = "mutation($id: ID!) { block(userId: $id) { id } }"
SEARCH = """query($q: String!) { search(query: $q, first: 50) { edges { node { text } } } }"""
PEOPLE = """query($q: String!) { searchUsers(query: $q, first: 20) {
  edges { node { username } } } }"""


@pytest.fixture(params=PROFILES)
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphQLClient]:
    with app_on(request.param, tmp_path) as graphql:
        yield graphql


@pytest.fixture
def travel() -> Any:
    return lifecycle.travel


def log_in(client: GraphQLClient, username: str) -> dict[str, Any]:
    return client.post(LOG_IN, {"l": username, "p": PASSWORD})


def profile(client: GraphQLClient, username: str, token: str | None = None) -> Any:
    return client.data(PROFILE, {"u": username}, token)["user"]


def texts(client: GraphQLClient, query: str, token: str) -> list[str]:
    call(client, chirp(client).stores.search.refresh())
    edges = client.data(SEARCH, {"q": query}, token)["search"]["edges"]
    return [edge["node"]["text"] for edge in edges]


def people(client: GraphQLClient, query: str, token: str) -> list[str]:
    call(client, chirp(client).stores.search.refresh())
    edges = client.data(PEOPLE, {"q": query}, token)["searchUsers"]["edges"]
    return [edge["node"]["username"] for edge in edges]


def actors(client: GraphQLClient, token: str) -> set[str]:
    return {actor["username"] for n in listed(client, token) for actor in n["actors"]}


def home(client: GraphQLClient, token: str) -> list[str]:
    return [edge["node"]["text"] for edge in client.home(token, first=50)["edges"]]


def test_a_wrong_password_changes_nothing(client: GraphQLClient) -> None:
    ada = client.sign_up(unique("ada"))
    token, name = ada["accessToken"], ada["user"]["username"]
    assert client.error_code(DELETE, {"p": "not my password"}, token) == "WRONG_PASSWORD"
    assert client.data(ME, token=token)["me"] == {"username": name}
    assert profile(client, name) is not None
    assert client.error_code(DELETE, {"p": PASSWORD}) == "UNAUTHENTICATED"


def test_deleted_hides_everything_and_a_log_in_within_30_days_brings_it_back(
    client: GraphQLClient, travel: Any
) -> None:
    word = unique("w")
    ada, bob = client.sign_up(unique("ada")), client.sign_up(unique("bob"))
    a, b = ada["accessToken"], bob["accessToken"]
    name = ada["user"]["username"]
    client.follow(b, ada["user"]["id"])
    client.follow(a, bob["user"]["id"])
    client.post_tweet(a, f"hello {word}")
    settled(client)
    assert home(client, b) == [f"hello {word}"]
    assert texts(client, word, b) == [f"hello {word}"]
    assert people(client, name, b) == [name]
    assert name in actors(client, b)  # ada's follow notified bob

    assert client.data(DELETE, {"p": PASSWORD}, a) == {"deleteAccount": True}
    settled(client)
    assert client.data(ME, token=a)["me"] is None  # the token is refused at once
    assert client.error_code(DELETE, {"p": PASSWORD}, a) == "UNAUTHENTICATED"
    assert profile(client, name, b) is None
    assert client.data(NODE, {"id": ada["user"]["id"]}, b)["node"] is None
    assert home(client, b) == []
    assert texts(client, word, b) == []
    assert people(client, name, b) == []
    lists = client.data(FOLLOWERS, {"u": bob["user"]["username"]}, b)["user"]
    assert lists == {"followers": {"edges": []}, "following": {"edges": []}}
    assert name not in actors(client, b)

    travel(29)
    back = log_in(client, name)
    assert not back.get("errors"), back
    a = back["data"]["logIn"]["accessToken"]
    settled(client)
    assert client.data(ME, token=a)["me"] == {"username": name}
    seen = profile(client, name, b)
    assert (seen["followersCount"], seen["followingCount"]) == (1, 1)
    assert [e["node"]["text"] for e in seen["tweets"]["edges"]] == [f"hello {word}"]
    assert home(client, b) == [f"hello {word}"]
    assert texts(client, word, b) == [f"hello {word}"]
    assert people(client, name, b) == [name]
    assert name in actors(client, b)
    assert profile(client, bob["user"]["username"], b)["followersCount"] == 1
    travel(62)  # past the purge window of the first deletion: nothing is due any more
    run_pass(client)
    assert profile(client, name, b) is not None


def test_after_31_days_log_in_is_refused_and_the_names_stay_taken(
    client: GraphQLClient, travel: Any
) -> None:
    ada = client.sign_up(unique("ada"))
    name = ada["user"]["username"]
    client.data(DELETE, {"p": PASSWORD}, ada["accessToken"])
    travel(31)
    body = log_in(client, name)
    assert body["errors"][0]["extensions"]["code"] == "ACCOUNT_DELETED"
    wrong = client.post(LOG_IN, {"l": name, "p": "not my password"})
    assert wrong["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    taken = client.post(
        """mutation($i: SignUpInput!) { signUp(input: $i) { accessToken } }""",
        {"i": {"username": name, "email": f"x{name}@example.com", "password": PASSWORD}},
    )
    assert taken["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert taken["errors"][0]["extensions"]["field"] == "username"
    run_pass(client)  # not due: untouched
    assert log_in(client, name)["errors"][0]["extensions"]["code"] == "ACCOUNT_DELETED"


def _stats(client: GraphQLClient, user_id: str) -> tuple[int, int]:
    [stats] = call(client, chirp(client).stores.users.get_stats_many([int(user_id)]))
    return (stats.followers_count, stats.following_count)


def test_the_purge_takes_only_accounts_past_90_days_with_exact_counts(
    client: GraphQLClient, travel: Any
) -> None:
    old, young = client.sign_up(unique("old")), client.sign_up(unique("young"))
    fan, star = client.sign_up(unique("fan")), client.sign_up(unique("star"))
    o, y, f, s = (p["accessToken"] for p in (old, young, fan, star))
    ids = {name: p["user"]["databaseId"] for name, p in [("old", old), ("young", young)]}
    for token in (o, y):
        client.follow(f, (old if token == o else young)["user"]["id"])  # fan follows both
        client.follow(token, star["user"]["id"])  # both follow star
    liked = client.post_tweet(s, "star tweet")
    for token in (o, y, f):
        client.data(LIKE, {"id": liked["id"]}, token)
    own = {t: client.post_tweet(t, f"mine {unique('t')}") for t in (o, y)}
    client.data(LIKE, {"id": own[o]["id"]}, f)  # fan likes old's tweet: old is notified
    troll = client.sign_up(unique("troll"))
    client.data(BLOCK, {"id": troll["user"]["id"]}, o)
    client.data("mutation { requestDataExport { status } }", {}, o)
    settled(client)
    stores = chirp(client).stores
    old_id, troll_id = int(ids["old"]), int(troll["user"]["databaseId"])
    assert call(client, stores.notifications.page(old_id, 10)) != []
    assert call(client, stores.lifecycle.export_of(old_id)).status == "ready"
    assert call(client, stores.media.keys(f"exports/{old_id}/", 10)) != []
    assert _stats(client, fan["user"]["databaseId"]) == (0, 2)
    assert _stats(client, star["user"]["databaseId"]) == (2, 0)

    client.data(DELETE, {"p": PASSWORD}, o)
    travel(2)
    client.data(DELETE, {"p": PASSWORD}, y)
    travel(89)  # old: 91 days deleted, young: 89
    report = run_pass(client)
    assert report["purge_accounts"]["purged"] >= 1
    settled(client)

    users = chirp(client).stores.users
    assert call(client, users.get_many([int(ids["old"])])) == [None]
    [kept] = call(client, users.get_many([int(ids["young"])]))
    assert kept is not None and kept.deactivated_at is not None
    assert _stats(client, fan["user"]["databaseId"]) == (0, 1)  # exactly one less
    assert _stats(client, star["user"]["databaseId"]) == (1, 0)
    assert _stats(client, young["user"]["databaseId"]) == (1, 1)  # untouched
    assert client.data(TWEET, {"id": liked["id"]}, f)["tweet"]["likeCount"] == 2
    old_tweet = int(own[o]["databaseId"])
    assert call(client, stores.notifications.page(old_id, 10)) == []
    assert call(client, stores.lifecycle.export_of(old_id)) is None
    assert call(client, stores.media.keys(f"exports/{old_id}/", 10)) == []
    assert call(client, stores.timelines.page(TimelineKind.HOME, old_id, 10)) == []
    relations = call(client, stores.safety.relations(troll_id, utcnow()))
    assert old_id not in relations.blocked_by
    assert call(client, stores.tweets.get_many([old_tweet])) == [None]
    assert call(client, stores.timelines.page(TimelineKind.AUTHOR, int(ids["old"]), 10)) == []
    assert call(client, stores.engagement.likes_page(int(ids["old"]), 10)) == []
    [fan_stats] = call(client, users.get_stats_many([int(fan["user"]["databaseId"])]))
    assert fan_stats.likes_count == 1  # the like of old's tweet went with it
    [young_tweet] = call(client, stores.tweets.get_many([int(own[y]["databaseId"])]))
    assert young_tweet is not None
    again = client.sign_up(old["user"]["username"])  # the username is free again
    assert again["user"]["databaseId"] != ids["old"]

    second = run_pass(client)
    assert call(client, users.get_many([int(ids["young"])])) == [kept]
    assert _stats(client, fan["user"]["databaseId"]) == (0, 1)
    assert _stats(client, star["user"]["databaseId"]) == (1, 0)
    assert client.data(TWEET, {"id": liked["id"]}, f)["tweet"]["likeCount"] == 2
    if chirp(client).settings.users_url.startswith("sqlite"):  # engines are shared by runs
        assert second["purge_accounts"] == {}


def test_log_in_and_refresh_are_refused_while_deleted(client: GraphQLClient) -> None:
    ada = client.sign_up(unique("ada"))
    client.data(DELETE, {"p": PASSWORD}, ada["accessToken"])
    refresh = client.post(
        "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }",
        {"t": ada["refreshToken"]},
    )
    assert refresh["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_a_purge_takes_the_cold_archive_of_the_account_too(
    client: GraphQLClient, travel: Any
) -> None:
    ada = client.sign_up(unique("ada"))
    tweet = int(client.post_tweet(ada["accessToken"], "old and cold")["databaseId"])
    user_id = int(ada["user"]["databaseId"])
    settled(client)
    stores = chirp(client).stores
    travel(366)
    run_pass(client)  # the tweet goes to the cold archive
    assert call(client, stores.tweets.archived_many([tweet])) != [None]
    back = log_in(client, ada["user"]["username"])["data"]["logIn"]["accessToken"]
    client.data(DELETE, {"p": PASSWORD}, back)
    travel(91)
    run_pass(client)
    assert call(client, stores.users.get_many([user_id])) == [None]
    assert call(client, stores.tweets.archived_many([tweet])) == [None]
    assert call(client, stores.tweets.archived_months(user_id)) == []
    assert call(client, stores.tweets.get_many([tweet])) == [None]
    assert call(client, stores.media.keys(f"cold/tweets/{user_id}/", 10)) == []


def test_a_deleted_account_leaves_the_lists_of_who_blocked_or_muted_it(
    client: GraphQLClient,
) -> None:
    ada, cy = client.sign_up(unique("ada")), client.sign_up(unique("cy"))
    c = cy["accessToken"]
    client.data("mutation($id: ID!) { block(userId: $id) { id } }", {"id": ada["user"]["id"]}, c)
    lists = (
        "{ me { blocked { edges { node { username } } } muted { edges { node { username } } } } }"
    )
    client.data("mutation($id: ID!) { mute(userId: $id) { id } }", {"id": ada["user"]["id"]}, c)
    before = client.data(lists, {}, c)["me"]
    assert [e["node"]["username"] for e in before["blocked"]["edges"]] == [ada["user"]["username"]]
    client.data(DELETE, {"p": PASSWORD}, ada["accessToken"])
    after = client.data(lists, {}, c)["me"]
    assert after == {"blocked": {"edges": []}, "muted": {"edges": []}}
