"""/metrics' latency histograms (app/metrics.py): operations by name, store calls by port
and method, in the Prometheus text format, with client-chosen names kept few."""

from __future__ import annotations

import re
import secrets
from collections import defaultdict
from pathlib import Path

import pytest

from app.metrics import OPERATION_NAMES_KEPT
from tests.support.client import GraphQLClient, eventually
from tests.support.profiles import PROFILES, app_on, unique

OPERATIONS = "chirp_graphql_operation_duration_seconds"
STORE_CALLS = "chirp_store_call_duration_seconds"
_SAMPLE = re.compile(r'^(\w+)\{(\w+)="((?:[^"\\]|\\.)*)"(?:,le="([^"]+)")?\} (\S+)$')


def histograms(client: GraphQLClient, family: str) -> dict[str, dict[str, float]]:
    """Each label's samples of `family`: its buckets by bound ("0.005", ..., "+Inf"), and
    "sum" and "count"; the family's type line checked too."""
    text = client.http.get("/metrics").text
    assert f"# TYPE {family} histogram" in text
    found: dict[str, dict[str, float]] = defaultdict(dict)
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match is None or not match[1].startswith(family + "_"):
            continue
        suffix = match[1].removeprefix(family + "_")
        key = match[4] if suffix == "bucket" else suffix
        found[match[3]][key] = float(match[5])
    return dict(found)


def assert_well_formed(series: dict[str, float]) -> None:
    buckets = [value for key, value in series.items() if key not in ("sum", "count")]
    assert buckets == sorted(buckets), "buckets are cumulative"
    assert series["+Inf"] == series["count"]


@pytest.mark.parametrize("profile", PROFILES)
def test_a_home_timeline_query_shows_in_both_histograms(profile: str, tmp_path: Path) -> None:
    with app_on(profile, tmp_path) as client:
        reader = client.sign_up(unique("reader"))
        author = client.sign_up(unique("author"))
        client.follow(reader["accessToken"], author["user"]["id"])
        client.post_tweet(author["accessToken"], "timed")
        eventually(lambda: client.home(reader["accessToken"])["edges"])
        client.data(
            "query HomeTimeline { homeTimeline(first: 5) { edges { node { text } } } }",
            token=reader["accessToken"],
        )
        operations = histograms(client, OPERATIONS)
        store_calls = histograms(client, STORE_CALLS)
    home = operations["HomeTimeline"]
    assert home["count"] >= 1 and home["sum"] > 0
    assert_well_formed(home)
    assert operations["anonymous"]["count"] >= 1  # client.home's query has no name
    page = store_calls["timelines.page"]
    assert page["count"] >= 1 and page["sum"] > 0
    for series in [*operations.values(), *store_calls.values()]:
        assert_well_formed(series)


def test_operation_names_past_the_first_hundred_count_as_other(client: GraphQLClient) -> None:
    before = histograms(client, OPERATIONS).get("other", {}).get("count", 0)
    run = secrets.token_hex(3)
    for n in range(OPERATION_NAMES_KEPT + 20):
        client.data(f"query Name_{run}_{n} {{ __typename }}")
    # Not a GraphQL name (nor one in the document): refused, and counted as other.
    client.http.post("/graphql", json={"query": "{ __typename }", "operationName": 'not "a"'})
    after = histograms(client, OPERATIONS)
    assert len(after) <= OPERATION_NAMES_KEPT + 1  # the labels kept ("anonymous" too), "other"
    assert after["other"]["count"] >= before + 20
    assert not any("not" in label for label in after)
