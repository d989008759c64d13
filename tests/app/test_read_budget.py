"""The read budget: queries cost points (cost / 100, at least 1) from an hourly budget per
viewer, or per client address without a token; what is left is in extensions.rateLimit,
and past the budget a query is RATE_LIMITED. Mutations do not spend it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.settings import Limits
from tests.support.client import GraphQLClient, embedded_settings, running_app

BUDGET = 30
CHEAP = "{ me { username } }"
# 50 home timeline tweets, each with 10 replies: a cost of some hundreds, so a few points.
DEAR = "{ homeTimeline(first: 50) { edges { node { replies(first: 10) { edges { cursor } } } } } }"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[GraphQLClient]:
    limits = Limits(read_points_per_hour=BUDGET, sign_ups_per_minute=100)
    with running_app(embedded_settings(tmp_path, throttled=True, limits=limits)) as graphql:
        yield graphql


def _budget(response: dict[str, Any]) -> dict[str, Any]:
    report: dict[str, Any] = response["extensions"]["rateLimit"]
    return report


def test_queries_spend_points_and_are_refused_past_the_budget(client: GraphQLClient) -> None:
    token = client.sign_up("reader")["accessToken"]
    first = client.post(CHEAP, token=token)
    assert _budget(first)["cost"] == 1
    assert _budget(first)["limit"] == BUDGET
    assert _budget(first)["remaining"] == BUDGET - 1
    assert _budget(first)["resetAt"].endswith("+00:00")
    dear = client.post(DEAR, token=token)
    assert "errors" not in dear
    spent = _budget(dear)["cost"]
    assert spent > 1  # a dearer query costs more
    assert _budget(dear)["remaining"] == BUDGET - 1 - spent
    for _ in range(BUDGET - 1 - spent):
        assert "errors" not in client.post(CHEAP, token=token)
    refused = client.post(CHEAP, token=token)
    error = refused["errors"][0]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert 0 < error["extensions"]["retryAfterSeconds"] <= 3600
    assert _budget(refused)["remaining"] == 0
    # Another viewer has a budget of its own; writing does not spend the reader's.
    other = client.sign_up("other")["accessToken"]
    assert "errors" not in client.post(CHEAP, token=other)
    assert client.post_tweet(token, "writes are limited per minute, not by the read budget")


def test_anonymous_queries_share_their_addresss_budget(client: GraphQLClient) -> None:
    query = "{ trending(limit: 1) { hashtag } }"
    answers = [client.post(query) for _ in range(BUDGET + 1)]
    assert all("errors" not in a for a in answers[:BUDGET])
    assert answers[BUDGET]["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
