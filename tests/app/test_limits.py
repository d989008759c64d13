"""Each limit: one request just under it succeeds, one just over it gets the documented error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.settings import Limits
from tests.support.client import GraphQLClient, embedded_settings, running_app

LIMITS = Limits(
    max_depth=5,
    max_aliases=3,
    max_tokens=60,
    max_cost=100,
    max_body_bytes=2_000,
    mutations_per_minute=4,
)


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[GraphQLClient]:
    with running_app(embedded_settings(tmp_path, limits=LIMITS)) as client:
        yield client


def _codes(body: dict) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors") or []]


def test_depth(limited: GraphQLClient) -> None:
    token = limited.sign_up("alice")["accessToken"]
    # me(1) > tweets(2) > edges(3) > node(4) > author(5) > username(6)
    fits = "{ me { tweets { edges { node { author { id } } } } } }"
    too_deep = "{ me { tweets { edges { node { author { tweets { edges { id: cursor } } } } } } } }"
    assert not limited.post(fits, token=token).get("errors")
    body = limited.post(too_deep, token=token)
    assert "exceeds maximum operation depth" in body["errors"][0]["message"]
    assert _codes(body) == ["GRAPHQL_VALIDATION_FAILED"]


def test_aliases_count_inside_fragments(limited: GraphQLClient) -> None:
    fits = "{ a: me { id } b: me { id } ...F } fragment F on Query { c: me { id } }"
    over = "{ a: me { id } b: me { id } ...F } fragment F on Query { c: me { id } d: me { id } }"
    assert not limited.post(fits).get("errors")
    body = limited.post(over)
    assert "aliases found" in body["errors"][0]["message"]
    assert _codes(body) == ["GRAPHQL_VALIDATION_FAILED"]


def test_tokens(limited: GraphQLClient) -> None:
    fields = " ".join(["id"] * 60)
    assert not limited.post("{ me { " + " ".join(["id"] * 10) + " } }").get("errors")
    body = limited.post("{ me { " + fields + " } }")
    assert _codes(body) == ["GRAPHQL_PARSE_FAILED"]  # the parser stops at the limit
    assert "token" in body["errors"][0]["message"].lower()


def test_cost_multiplies_connection_sizes(limited: GraphQLClient) -> None:
    token = limited.sign_up("alice")["accessToken"]
    # homeTimeline 1 + edges first + node first + fields first*2 => 1 + 4*first
    fits = "{ homeTimeline(first: 24) { edges { node { id text } } } }"  # 1 + 96 = 97... plus text
    over = "{ homeTimeline(first: 25) { edges { node { id text } } } }"
    assert not limited.post(fits, token=token).get("errors")
    body = limited.post(over, token=token)
    assert _codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["cost"] == 101


def test_request_body_size_is_413(limited: GraphQLClient) -> None:
    padding = " " * (2_000 - 100)
    ok = limited.http.post("/graphql", json={"query": "{ me { id } }" + padding[:1_800]})
    assert ok.status_code == 200
    too_big = limited.http.post("/graphql", json={"query": "{ me { id } }" + padding + " " * 200})
    assert too_big.status_code == 413
    assert too_big.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


def test_mutation_rate_limit_per_user(limited: GraphQLClient) -> None:
    alice = limited.sign_up("alice")["accessToken"]
    bob = limited.sign_up("bob")["accessToken"]
    post = 'mutation { postTweet(input: {text: "hi"}) { id } }'
    for _ in range(4):
        assert not limited.post(post, token=alice).get("errors")
    body = limited.post(post, token=alice)
    assert _codes(body) == ["RATE_LIMITED"]
    assert body["errors"][0]["extensions"]["retryAfterSeconds"] > 0
    assert not limited.post(post, token=bob).get("errors")  # per user
    assert not limited.post("{ me { id } }", token=alice).get("errors")  # queries are not limited


def test_production_hides_introspection_suggestions_and_graphiql(tmp_path: Path) -> None:
    with running_app(embedded_settings(tmp_path, env="production")) as client:
        body = client.post("{ __schema { types { name } } }")
        assert set(_codes(body)) == {"GRAPHQL_VALIDATION_FAILED"}
        assert "introspection" in body["errors"][0]["message"].lower()
        body = client.post("{ mee { id } }")
        assert "Did you mean" not in body["errors"][0]["message"]
        page = client.http.get("/graphql", headers={"accept": "text/html"})
        assert "graphiql" not in page.text.lower()
        assert "storeCalls" not in str(client.post("{ me { id } }"))
    with running_app(embedded_settings(tmp_path / "dev")) as client:
        assert "Did you mean" in client.post("{ mee { id } }")["errors"][0]["message"]
        assert client.data("{ __schema { queryType { name } } }")["__schema"]["queryType"]
