"""Reports, the moderators' queue, suspensions and the moderation log, on both profiles.
The moderator role is granted with the real command line, `chirp users grant`."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.client import GraphQLClient, eventually
from tests.support.profiles import PROFILES, app_on, unique

CHIRP = Path(sys.executable).parent / "chirp"
REPORT_TWEET = """mutation($id: ID!, $r: ReportReasonKind!, $c: String!) {
  reportTweet(id: $id, reason: $r, comment: $c) }"""
REPORT_USER = """mutation($id: ID!, $r: ReportReasonKind!, $c: String!) {
  reportUser(userId: $id, reason: $r, comment: $c) }"""
QUEUE = """query($after: String) { moderationQueue(first: 100, after: $after) {
  pageInfo { hasNextPage endCursor }
  edges { node { targetId openReports reasons { reason count }
    tweet { text } user { username suspended }
    reports { reason comment reporter { username } } } } } }"""
RESOLVE = """mutation($t: ID!, $a: ModerationAction!, $n: String!, $s: Int) {
  resolveReports(targetId: $t, action: $a, note: $n, suspendFor: $s) {
    action targetId note until moderator { username } user { username } } }"""
LOG = "{ moderationLog(first: 5) { edges { node { action note targetId until } } } }"
TWEET = "query($id: ID!) { tweet(id: $id) { text } }"
SEARCH = "query($q: String!) { search(query: $q) { edges { node { text } } } }"
LOG_IN = """mutation($l: String!) {
  logIn(login: $l, password: "correct horse battery") { accessToken } }"""


@pytest.fixture(params=PROFILES)
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphQLClient]:
    with app_on(request.param, tmp_path) as graphql:
        yield graphql


def chirp_users(client: GraphQLClient, *args: str) -> subprocess.CompletedProcess[str]:
    """`chirp users ...` against the stores the app under test uses."""
    settings = client.http.app.state.chirp.settings
    env = {
        **os.environ,
        "CHIRP_USERS_URL": settings.users_url,
        "CHIRP_TWEETS_URL": settings.tweets_url,
        "CHIRP_SEARCH_URL": settings.search_url,
        "CHIRP_CACHE_URL": settings.cache_url,
        "CHIRP_MEDIA_URL": settings.media_url,
        "CHIRP_DATA_DIR": str(settings.data_dir),
        "CHIRP_SECRET_KEY": settings.secret_key,
    }
    return subprocess.run(
        [str(CHIRP), "users", *args], env=env, capture_output=True, text=True, timeout=120
    )


def _mine(client: GraphQLClient, token: str, targets: set[str]) -> dict[str, dict[str, Any]]:
    """The queue's groups for these targets (the queue is shared by every test run)."""
    found: dict[str, dict[str, Any]] = {}
    after = None
    while True:
        page = client.data(QUEUE, {"after": after}, token)["moderationQueue"]
        for edge in page["edges"]:
            if edge["node"]["targetId"] in targets:
                found[edge["node"]["targetId"]] = edge["node"]
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


def test_reports_reach_moderators_grouped_and_each_action_is_logged(
    client: GraphQLClient,
) -> None:
    alice, bob, carol, mod = (client.sign_up(unique(n)) for n in ("alice", "bob", "carol", "mod"))
    a, b, c, m = (p["accessToken"] for p in (alice, bob, carol, mod))
    bob_name = bob["user"]["username"]
    word = f"day{secrets.token_hex(3)}"
    client.follow(a, bob["user"]["id"])
    spam = client.post_tweet(b, "buy followers now")["id"]
    other = client.post_tweet(b, f"an ordinary {word}")["id"]
    quote = client.post_tweet(c, "look at this", quoteOfId=other)["id"]
    eventually(lambda: client.data(SEARCH, {"q": word}, a)["search"]["edges"])
    eventually(lambda: f"an ordinary {word}" in str(client.home(a)))

    assert client.data(REPORT_TWEET, {"id": spam, "r": "SPAM", "c": "selling"}, a)
    assert client.data(REPORT_TWEET, {"id": spam, "r": "ABUSE", "c": ""}, c)
    again = client.post(REPORT_TWEET, {"id": spam, "r": "OTHER", "c": "again"}, a)
    assert again["errors"][0]["extensions"]["code"] == "ALREADY_REPORTED"
    assert client.data(REPORT_USER, {"id": bob["user"]["id"], "r": "HARASSMENT", "c": "dms"}, c)

    assert client.error_code(QUEUE, {}, m) == "FORBIDDEN"  # not a moderator yet
    granted = chirp_users(client, "grant", "moderator", mod["user"]["username"])
    assert granted.returncode == 0, granted.stderr
    assert "moderator granted to" in granted.stdout

    groups = _mine(client, m, {spam, bob["user"]["id"]})
    assert groups[spam]["openReports"] == 2
    assert groups[spam]["reasons"] == [
        {"reason": "ABUSE", "count": 1},
        {"reason": "SPAM", "count": 1},
    ]
    assert groups[spam]["tweet"] == {"text": "buy followers now"}
    assert groups[spam]["user"] == {"username": bob_name, "suspended": False}
    assert [r["reporter"]["username"] for r in groups[spam]["reports"]] == [
        alice["user"]["username"],
        carol["user"]["username"],
    ]
    assert groups[spam]["reports"][0]["comment"] == "selling"
    assert groups[bob["user"]["id"]]["tweet"] is None
    assert groups[bob["user"]["id"]]["reports"][0]["reason"] == "HARASSMENT"

    # Dismiss a report: it leaves the queue, the tweet stays.
    assert client.data(REPORT_TWEET, {"id": other, "r": "OTHER", "c": "meh"}, c)
    dismissed = client.data(RESOLVE, {"t": other, "a": "DISMISS", "n": "not a breach"}, m)
    assert dismissed["resolveReports"]["action"] == "DISMISS"
    assert other not in _mine(client, m, {other})
    assert client.data(TWEET, {"id": other}, a)["tweet"] == {"text": f"an ordinary {word}"}

    # Remove the tweet: gone for everyone, its reports closed.
    removed = client.data(RESOLVE, {"t": spam, "a": "REMOVE_TWEET", "n": "spam"}, m)
    assert removed["resolveReports"]["moderator"] == {"username": mod["user"]["username"]}
    assert client.data(TWEET, {"id": spam}, a)["tweet"] is None
    assert spam not in _mine(client, m, {spam})

    # Suspend the account: its tweets leave every read path, it cannot log in, its tokens
    # stop working; nothing is deleted.
    suspension = client.data(
        RESOLVE, {"t": bob["user"]["id"], "a": "SUSPEND", "n": "harassment", "s": 3600}, m
    )["resolveReports"]
    assert suspension["until"] is not None and suspension["user"] == {"username": bob_name}
    assert client.data(TWEET, {"id": other}, a)["tweet"] is None
    assert word not in str(client.home(a))
    assert client.data(SEARCH, {"q": word}, a)["search"]["edges"] == []
    quoted = "query($id: ID!) { tweet(id: $id) { text quoteOf { text } } }"
    assert client.data(quoted, {"id": quote}, a)["tweet"] == {
        "text": "look at this",
        "quoteOf": None,
    }
    profile = "query($n: String!) { user(username: $n) { suspended tweets { edges { cursor } } } }"
    assert client.data(profile, {"n": bob_name}, a)["user"] == {
        "suspended": True, "tweets": {"edges": []}
    }  # fmt: skip
    assert client.error_code(LOG_IN, {"l": bob_name}) == "SUSPENDED"
    post = 'mutation { postTweet(input: {text: "still here?"}) { id } }'
    assert client.error_code(post, {}, b) == "UNAUTHENTICATED"
    assert bob["user"]["id"] not in _mine(client, m, {bob["user"]["id"]})

    log = [e["node"] for e in client.data(LOG, {}, m)["moderationLog"]["edges"]]
    assert [(e["action"], e["note"], e["targetId"]) for e in log[:3]] == [
        ("SUSPEND", "harassment", bob["user"]["id"]),
        ("REMOVE_TWEET", "spam", spam),
        ("DISMISS", "not a breach", other),
    ]
    assert log[0]["until"] == suspension["until"] and log[1]["until"] is None

    # Lifting it brings everything back.
    client.data(RESOLVE, {"t": bob["user"]["id"], "a": "UNSUSPEND", "n": "appeal upheld"}, m)
    assert client.data(TWEET, {"id": other}, a)["tweet"] == {"text": f"an ordinary {word}"}
    assert word in str(client.home(a))
    assert client.data(LOG_IN, {"l": bob_name})["logIn"]["accessToken"]

    revoked = chirp_users(client, "revoke", "moderator", mod["user"]["username"])
    assert revoked.returncode == 0, revoked.stderr
    assert client.error_code(LOG, {}, m) == "FORBIDDEN"


def test_bad_reports_and_actions_get_a_code_and_change_nothing(client: GraphQLClient) -> None:
    alice, bob, mod = (client.sign_up(unique(n)) for n in ("alice", "bob", "mod"))
    a, m = alice["accessToken"], mod["accessToken"]
    assert chirp_users(client, "grant", "moderator", mod["user"]["username"]).returncode == 0
    mine = client.post_tweet(a, "my own")["id"]
    theirs = client.post_tweet(bob["accessToken"], "theirs")["id"]
    cases: list[tuple[str, dict[str, Any], str, str]] = [
        (REPORT_TWEET, {"id": mine, "r": "SPAM", "c": ""}, a, "BAD_USER_INPUT"),
        (REPORT_USER, {"id": alice["user"]["id"], "r": "SPAM", "c": ""}, a, "BAD_USER_INPUT"),
        (REPORT_TWEET, {"id": theirs, "r": "SPAM", "c": "x" * 1001}, a, "BAD_USER_INPUT"),
        (REPORT_TWEET, {"id": theirs, "r": "SPAM", "c": "bad\u0000"}, a, "BAD_USER_INPUT"),
        (REPORT_TWEET, {"id": "9" * 18, "r": "SPAM", "c": ""}, a, "NOT_FOUND"),
        (REPORT_TWEET, {"id": theirs, "r": "BORING", "c": ""}, a, "BAD_USER_INPUT"),
        (RESOLVE, {"t": theirs, "a": "DISMISS", "n": "x"}, a, "FORBIDDEN"),
        (RESOLVE, {"t": bob["user"]["id"], "a": "SUSPEND", "n": "x"}, m, "BAD_USER_INPUT"),
        (RESOLVE, {"t": bob["user"]["id"], "a": "SUSPEND", "n": "x", "s": 0}, m, "BAD_USER_INPUT"),
        (RESOLVE, {"t": bob["user"]["id"], "a": "REMOVE_TWEET", "n": "x"}, m, "BAD_USER_INPUT"),
        (RESOLVE, {"t": theirs, "a": "DISMISS", "n": "   "}, m, "BAD_USER_INPUT"),
        (RESOLVE, {"t": theirs, "a": "DISMISS", "n": "x", "s": 60}, m, "BAD_USER_INPUT"),
        (RESOLVE, {"t": "not an id", "a": "DISMISS", "n": "x"}, m, "BAD_USER_INPUT"),
        (RESOLVE, {"t": theirs.lower(), "a": "DISMISS", "n": "x"}, m, "BAD_USER_INPUT"),
    ]
    for query, variables, token, code in cases:
        body = client.post(query, variables, token)
        assert body["errors"][0]["extensions"]["code"] == code, (variables, body)
    assert client.data(TWEET, {"id": theirs}, a)["tweet"] == {"text": "theirs"}
    assert client.data(LOG_IN, {"l": bob["user"]["username"]})["logIn"]["accessToken"]
    assert not _mine(client, m, {theirs, bob["user"]["id"], mine})
    unknown = chirp_users(client, "grant", "moderator", "nobody_here_at_all")
    assert unknown.returncode == 2 and "no user" in unknown.stderr
    bad_role = chirp_users(client, "grant", "admin", mod["user"]["username"])
    assert bad_role.returncode == 2 and "Unknown role" in bad_role.stderr


def test_reports_and_the_log_outlive_purged_reporters_and_moderators(
    client: GraphQLClient,
) -> None:
    """A purged account (deleteAccount, then 90 days) leaves others' reports it filed and
    the log entries it made: they show it as null, and nothing else breaks."""
    from datetime import timedelta

    from storage import clock

    reporter, target, gone_mod = (client.sign_up(unique(n)) for n in ("rep", "tgt", "gonemod"))
    r, t, g = (p["accessToken"] for p in (reporter, target, gone_mod))
    kept = client.post_tweet(t, "still reported")["id"]
    dismissed = client.post_tweet(t, "reported, then dismissed")["id"]
    for tweet in (kept, dismissed):
        assert client.data(REPORT_TWEET, {"id": tweet, "r": "SPAM", "c": "ads"}, r)
    assert chirp_users(client, "grant", "moderator", gone_mod["user"]["username"]).returncode == 0
    client.data(RESOLVE, {"t": dismissed, "a": "DISMISS", "n": f"fine {kept}"}, g)
    for token in (r, g):
        client.data('mutation { deleteAccount(password: "correct horse battery") }', {}, token)
    chirp = client.http.app.state.chirp  # type: ignore[attr-defined]
    try:
        clock.travel(timedelta(days=91))
        report = client.http.portal.call(chirp.lifecycle.run_pass)
        assert report["purge_accounts"]["purged"] >= 2
        mod = client.sign_up(unique("mod"))
        assert chirp_users(client, "grant", "moderator", mod["user"]["username"]).returncode == 0
        m = mod["accessToken"]
        group = _mine(client, m, {kept})[kept]
        assert group["user"]["username"] == target["user"]["username"]
        assert [(x["comment"], x["reporter"]) for x in group["reports"]] == [("ads", None)]
        log = """query { moderationLog(first: 50) { edges { node { note
          moderator { username } user { username } } } } }"""
        entries = [e["node"] for e in client.data(log, {}, m)["moderationLog"]["edges"]]
        [mine] = [e for e in entries if e["note"] == f"fine {kept}"]
        assert mine["moderator"] is None
        assert mine["user"] == {"username": target["user"]["username"]}
    finally:
        clock.reset()
