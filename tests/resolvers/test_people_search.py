"""People search (`searchUsers`) as users meet it, on both profiles: typeahead on usernames
and display names, bios by words, the exact username first and then the most followed,
cursors, the read policy, bad input, and changes showing once their job has run.

Engines are shared between runs, so every test's names carry a stem no one else has."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from storage.records import utcnow
from tests.support.client import GraphQLClient, embedded_settings, eventually, running_app
from tests.support.profiles import PROFILES, app_on

SEARCH_USERS = """query($q: String!, $first: Int! = 20, $after: String) {
  searchUsers(query: $q, first: $first, after: $after) {
    edges { cursor node { username displayName followersCount } }
    pageInfo { hasNextPage endCursor } } }"""
PROFILE = "mutation($i: UpdateProfileInput!) { updateProfile(input: $i) { username } }"
BLOCK = "mutation($id: ID!) { block(userId: $id) { viewerBlocks } }"
UNFOLLOW = "mutation($id: ID!) { unfollow(userId: $id) { status } }"
RESOLVE = """mutation($t: ID!, $a: ModerationAction!, $s: Int) {
  resolveReports(targetId: $t, action: $a, note: "people search", suspendFor: $s) { action } }"""
LAG_S = 15.0  # a job, then Elasticsearch's refresh interval, with room for a busy machine


@pytest.fixture(params=PROFILES)
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphQLClient]:
    with app_on(request.param, tmp_path) as graphql:
        yield graphql


def stem() -> str:
    """A username prefix (and a word) no other account anywhere has: 9 characters."""
    return "s" + secrets.token_hex(4)


def _page(
    client: GraphQLClient, query: str, token: str | None = None, **variables: Any
) -> dict[str, Any]:
    return client.data(SEARCH_USERS, {"q": query, **variables}, token)["searchUsers"]


def _names(client: GraphQLClient, query: str, token: str | None = None) -> list[str]:
    return [edge["node"]["username"] for edge in _page(client, query, token)["edges"]]


def _shows(client: GraphQLClient, query: str, names: list[str], token: str | None = None) -> None:
    """Wait until the search answers exactly `names`, in order (jobs run in the app)."""

    def answered() -> bool:
        return _names(client, query, token) == names

    try:
        eventually(answered, timeout_s=LAG_S)
    except AssertionError:
        assert _names(client, query, token) == names


def _profile(client: GraphQLClient, token: str, **fields: str) -> None:
    client.data(PROFILE, {"i": fields}, token)


def test_typeahead_on_usernames_and_display_names_and_words_of_bios(
    client: GraphQLClient,
) -> None:
    s, word, hobby = stem(), stem(), stem()
    ada = client.sign_up(f"{s}ada")
    bob = client.sign_up(f"{s}bob")
    _profile(client, ada["accessToken"], displayName=f"Ádá {word} Lovelace")
    _profile(client, bob["accessToken"], bio=f"I collect {hobby} stamps.\nAnd coins.")

    _shows(client, f"{s}ad", [f"{s}ada"])  # a username as typed
    _shows(client, f"@{s.upper()}B", [f"{s}bob"])  # any case, a leading @
    _shows(client, f"ada {word} lov", [f"{s}ada"])  # every word, the last unfinished
    _shows(client, f"{word[:-2]}", [f"{s}ada"])
    _shows(client, f"{hobby} STAMPS", [f"{s}bob"])  # bios: whole words
    assert _names(client, f"{hobby} stam") == []
    assert _names(client, f"{word} babbage") == []
    node = _page(client, f"{s}ada")["edges"][0]["node"]
    assert node == {
        "username": f"{s}ada",
        "displayName": f"Ádá {word} Lovelace",
        "followersCount": 0,
    }


def test_the_exact_username_first_then_the_most_followed_and_cursors_walk_it_all(
    client: GraphQLClient,
) -> None:
    s = stem()
    _, one, two, three = (client.sign_up(name) for name in (s, f"{s}a", f"{s}b", f"{s}c"))
    fans = [client.sign_up(f"f{secrets.token_hex(5)}") for _ in range(4)]
    for fan in fans[:2]:
        client.follow(fan["accessToken"], two["user"]["id"])
    client.follow(fans[2]["accessToken"], three["user"]["id"])
    ranked = [s, f"{s}b", f"{s}c", f"{s}a"]
    _shows(client, s, ranked)
    assert [e["node"]["followersCount"] for e in _page(client, s)["edges"]] == [0, 2, 1, 0]

    walked, after, pages = [], None, 0
    while True:
        page = _page(client, s, first=1, after=after)
        walked += [edge["node"]["username"] for edge in page["edges"]]
        pages += 1
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert walked == ranked and pages == 4
    two_first = _page(client, s, first=2)
    assert [e["node"]["username"] for e in two_first["edges"]] == ranked[:2]
    rest = _page(client, s, first=10, after=two_first["pageInfo"]["endCursor"])
    assert [e["node"]["username"] for e in rest["edges"]] == ranked[2:]
    assert rest["pageInfo"] == {"hasNextPage": False, "endCursor": rest["edges"][-1]["cursor"]}

    # New followers move an account up once their job has run; an unfollow moves it back.
    for fan in fans:
        client.follow(fan["accessToken"], one["user"]["id"])
    _shows(client, s, [s, f"{s}a", f"{s}b", f"{s}c"])
    for fan in fans:
        client.data(UNFOLLOW, {"id": one["user"]["id"]}, fan["accessToken"])
    _shows(client, s, ranked)


def test_a_profile_update_is_found_by_its_new_words_only(client: GraphQLClient) -> None:
    s, old, new = stem(), stem(), stem()
    user = client.sign_up(f"{s}x")
    _profile(client, user["accessToken"], displayName=f"Old {old}", bio=f"about {old}")
    _shows(client, old, [f"{s}x"])
    _profile(client, user["accessToken"], displayName=f"New {new}", bio="nothing")
    _shows(client, new, [f"{s}x"])
    _shows(client, old, [])


def test_blocked_and_suspended_accounts_are_not_listed(client: GraphQLClient) -> None:
    s = stem()
    alice, bob, carol, mod = (client.sign_up(f"{s}{n}") for n in ("al", "bo", "ca", "mo"))
    everyone = [f"{s}al", f"{s}bo", f"{s}ca", f"{s}mo"]
    _shows(client, s, everyone)
    client.data(BLOCK, {"id": bob["user"]["id"]}, alice["accessToken"])
    assert _names(client, s, alice["accessToken"]) == [f"{s}al", f"{s}ca", f"{s}mo"]
    assert _names(client, s, bob["accessToken"]) == [f"{s}bo", f"{s}ca", f"{s}mo"]
    assert _names(client, s, carol["accessToken"]) == everyone
    assert _names(client, s) == everyone  # anonymous

    chirp = client.http.app.state.chirp
    moderator = int(mod["user"]["databaseId"])
    client.http.portal.call(chirp.stores.moderation.grant, moderator, "moderator", utcnow())
    suspend = {"t": carol["user"]["id"], "a": "SUSPEND", "s": 3600}
    client.data(RESOLVE, suspend, mod["accessToken"])
    without_carol = [f"{s}al", f"{s}bo", f"{s}mo"]
    assert _names(client, s) == without_carol  # at once, before the index knows
    _shows(client, s, without_carol)
    client.data(RESOLVE, {"t": carol["user"]["id"], "a": "UNSUSPEND"}, mod["accessToken"])
    _shows(client, s, everyone)


BAD_QUERIES = ["", "   ", "a" * 101, "ad\x00a", "ad\na", "ad\ta", "ad\x7fa", "!!!", "@", "🙂"]


def test_bad_input_gets_a_stable_code(client: GraphQLClient) -> None:
    client.sign_up(stem())
    for query in BAD_QUERIES:
        assert client.error_code(SEARCH_USERS, {"q": query}) == "BAD_USER_INPUT", query
    for first in (0, 101, -1):
        assert client.error_code(SEARCH_USERS, {"q": "ab", "first": first}) == "BAD_USER_INPUT"
    for cursor in ("nonsense", "cDoxOjE", "dDoxOjE"):  # garbage, too short, another kind
        variables = {"q": "ab", "after": cursor}
        assert client.error_code(SEARCH_USERS, variables) == "BAD_USER_INPUT", cursor
    assert _page(client, "a" * 100)["edges"] == []  # the longest query is fine
    assert "edges" in _page(client, " _ ")  # an underscore can begin a username


def test_anonymous_people_search_is_throttled_and_bad_queries_spend_nothing(
    tmp_path: Path,
) -> None:
    settings = embedded_settings(tmp_path)
    settings = settings.with_overrides(
        limits=replace(settings.limits, anonymous_searches_per_minute=2)
    )
    with running_app(settings) as client:
        token = client.sign_up(stem())["accessToken"]
        for query in BAD_QUERIES:
            assert client.error_code(SEARCH_USERS, {"q": query}) == "BAD_USER_INPUT"
        assert _page(client, "ab")["edges"] == []
        assert _page(client, "cd")["edges"] == []
        assert client.error_code(SEARCH_USERS, {"q": "ef"}) == "RATE_LIMITED"
        assert _page(client, "ef", token)["edges"] == []  # logged in: not this limit
