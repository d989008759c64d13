"""The compiled execution path (app/compiled.py) answers exactly what graphql-core answers.

The whole suite runs with CHIRP_EXECUTION=verify (tests/conftest.py), so every query a test
sends is run both ways and any difference fails that request. Here, over seeded data (so
connections, nested objects, interfaces and nulls are all there): a hand-written corpus of
what clients ask, and a generated corpus of queries (hypothesis-graphql); then the same
documents, errors and null propagation included, served by a `compiled` server and by a
`graphql-core` server over the same data, compared byte for byte."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import from_schema, nodes

from app.metrics import METRICS
from tests.support.client import GraphQLClient, embedded_settings, eventually, running_app

SCHEMA = (Path(__file__).resolve().parents[2] / "schema.graphql").read_text()
EXAMPLES = int(os.environ.get("CHIRP_FUZZ_EXAMPLES", "120"))
QUERY_FIELDS = [
    "me",
    "user",
    "tweet",
    "node",
    "homeTimeline",
    "search",
    "searchUsers",
    "hashtag",
    "trending",
    "notifications",
    "unreadNotificationsCount",
    "followRequests",
]
TWEET = """id databaseId text createdAt likeCount retweetCount replyCount viewerHasLiked
  viewerHasRetweeted hashtags author { id username displayName followersCount }"""
CORPUS = [
    f"{{ homeTimeline(first: 20) {{ edges {{ cursor node {{ {TWEET} }} }} "
    "pageInfo { hasNextPage endCursor } } }",
    f"""query($u: String!) {{ user(username: $u) {{ id username bio followersCount
        followingCount tweets(first: 5) {{ edges {{ node {{ {TWEET}
        replyTo {{ id text }} quoteOf {{ id author {{ username }} }} }} }} }}
        likes(first: 5) {{ edges {{ node {{ id text }} }} }} }} }}""",
    f'{{ search(query: "hello", first: 10) {{ edges {{ node {{ {TWEET} }} }} }} }}',
    """query($u: String!) { a: user(username: $u) { ...who } b: user(username: "nobody") {
        ...who } me { ...who followers(first: 5) { edges { node { followedAt
        follower { username } } } } } }
        fragment who on User { __typename id username displayName }""",
    """query($id: ID!) { node(id: $id) { __typename id ... on Tweet { text
        author { username } } ... on User { username } } }""",
    "{ me { id ... on Node { id } settings: username } __typename }",
    """{ trending(limit: 5) { hashtag count previousCount }
        hashtag(tag: "hello", first: 5) { edges { node { id } } } }""",
    "{ notifications(first: 10) { edges { node { __typename id } } } unreadNotificationsCount }",
]
SCALARS = {
    "DateTime": st.datetimes().map(lambda moment: nodes.String(moment.isoformat())),
    "JSON": st.text(max_size=20).map(nodes.String),
}


class Seeded:
    def __init__(self, client: GraphQLClient) -> None:
        self.client = client
        alice, bob = client.sign_up("alice"), client.sign_up("bob")
        self.token = bob["accessToken"]
        client.follow(self.token, alice["user"]["id"])
        client.follow(alice["accessToken"], bob["user"]["id"])
        posted = [client.post_tweet(alice["accessToken"], f"hello #hello {n}") for n in range(6)]
        self.tweet_id = posted[0]["id"]
        reply = "mutation($i: PostTweetInput!) { postTweet(input: $i) { id } }"
        client.data(
            reply, {"i": {"text": "hello back @alice", "replyToId": self.tweet_id}}, self.token
        )
        client.data(reply, {"i": {"text": "quoting", "quoteOfId": posted[1]["id"]}}, self.token)
        like = "mutation($id: ID!) { likeTweet(id: $id) { id } }"
        for tweet in posted[:3]:
            client.data(like, {"id": tweet["id"]}, self.token)
        eventually(lambda: len(client.home(self.token, first=20)["edges"]) >= 8)

    def variables(self, document: str) -> dict[str, Any]:
        found: dict[str, Any] = {}
        if "$u" in document:
            found["u"] = "alice"
        if "$id" in document:
            found["id"] = self.tweet_id
        return found


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Seeded, Path]]:
    tmp = tmp_path_factory.mktemp("compiled")
    with running_app(embedded_settings(tmp)) as client:  # verify: both ways, must agree
        yield Seeded(client), tmp


def _answer(body: dict[str, Any]) -> str:
    """What must be byte-identical: data and errors (extensions carry per-request counts)."""
    return json.dumps({k: body.get(k) for k in ("data", "errors")})


def test_every_corpus_query_runs_compiled_and_agrees(seeded: tuple[Seeded, Path]) -> None:
    data, _ = seeded
    for document in CORPUS:
        before = METRICS.execution.copy()
        body = data.client.post(document, data.variables(document), data.token)
        assert "errors" not in body, (document, body)
        ran = METRICS.execution - before
        assert ran == {"compiled": 1}, (document, ran)  # not a fallback, and no mismatch


def test_generated_queries_agree(seeded: tuple[Seeded, Path]) -> None:
    data, _ = seeded
    before = METRICS.execution.copy()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(document=from_schema(SCHEMA, fields=QUERY_FIELDS, custom_scalars=SCALARS))
    def run(document: str) -> None:
        body = data.client.post(document, {}, data.token)
        codes = [(e.get("extensions") or {}).get("code") for e in body.get("errors") or []]
        assert "INTERNAL_SERVER_ERROR" not in codes, (document, body)  # a Mismatch is one

    run()
    ran = METRICS.execution - before
    # No difference; the plan never declined what graphql-core answered without an error
    # (most generated documents carry made-up ids and get errors: those fall back).
    assert ran["mismatch"] == 0 and ran["declined"] == 0, ran
    assert ran["compiled"] > 0, ran


def test_compiled_and_graphql_core_servers_answer_byte_for_byte_alike(
    seeded: tuple[Seeded, Path],
) -> None:
    data, tmp = seeded
    documents = [
        *CORPUS,
        '{ node(id: "x") { id } me { username } }',  # an error beside data
        '{ tweet(id: "VHdlZXQ6MQ==") { id author { username } } }',  # a null
        "{ homeTimeline(first: -1) { edges { cursor } } }",  # a refused argument
        "{ homeTimeline(first: 1) { edges { node { id } } } }",  # anonymous: no home
    ]
    answers: dict[str, list[str]] = {}
    for mode in ("compiled", "graphql-core"):
        with running_app(embedded_settings(tmp, execution=mode)) as client:
            answers[mode] = [
                _answer(
                    client.post(
                        d, data.variables(d), None if "homeTimeline(first: 1)" in d else data.token
                    )
                )
                for d in documents
            ]
    for document, compiled, core in zip(
        documents, answers["compiled"], answers["graphql-core"], strict=True
    ):
        assert compiled == core, document
