"""Generated GraphQL against the running app: documents built from `schema.graphql` by
hypothesis-graphql, valid ones and deliberately invalid ones, with and without a token. A
hostile client must never get an HTTP 5xx or an INTERNAL_SERVER_ERROR: every error it can
cause has a code of its own. Runs on the embedded default and, under CI=true, on the real
engines, with a budget that fits CI (FUZZ_EXAMPLES documents per case)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, nodes

from tests.backends import backend_url
from tests.support.client import GraphQLClient, embedded_settings, running_app

SCHEMA = (Path(__file__).resolve().parents[2] / "schema.graphql").read_text()
FUZZ_EXAMPLES = int(os.environ.get("CHIRP_FUZZ_EXAMPLES", "120"))
SCALARS = {
    "DateTime": st.one_of(
        st.datetimes().map(lambda moment: nodes.String(moment.isoformat())),
        st.text(max_size=30).map(nodes.String),
    ),
    "JSON": st.one_of(
        st.text(max_size=50).map(nodes.String),
        st.integers().map(lambda n: nodes.Int(n)),
    ),
}


@dataclass
class Target:
    client: GraphQLClient
    token: str


@pytest.fixture(scope="module", params=["embedded", "engines"])
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    tmp = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    overrides: dict[str, Any] = {}
    if request.param == "engines":
        overrides = {
            "users_url": backend_url("CHIRP_USERS_URL"),
            "tweets_url": backend_url("CHIRP_TWEETS_URL"),
            "cache_url": backend_url("CHIRP_CACHE_URL"),
            "search_url": backend_url("CHIRP_SEARCH_URL"),
            "media_url": backend_url("CHIRP_MEDIA_URL"),
        }
    with running_app(embedded_settings(tmp, **overrides)) as client:
        name = f"fuzzer{os.getpid()}{request.param[0]}"
        yield Target(client, client.sign_up(name)["accessToken"])


def _check(target: Target, document: str, with_token: bool) -> None:
    headers = {"Authorization": f"Bearer {target.token}"} if with_token else {}
    response = target.client.http.post("/graphql", json={"query": document}, headers=headers)
    assert response.status_code < 500, (document, response.text[:500])
    body = response.json()
    codes = [(e.get("extensions") or {}).get("code") for e in body.get("errors") or []]
    assert "INTERNAL_SERVER_ERROR" not in codes, (document, body)
    assert None not in codes, (document, body)  # every error says what kind it is


@pytest.mark.parametrize("with_token", [False, True], ids=["anonymous", "logged-in"])
@pytest.mark.parametrize("mode", [Mode.POSITIVE, Mode.NEGATIVE], ids=["valid", "invalid"])
def test_generated_documents_never_crash_the_server(
    target: Target, mode: Mode, with_token: bool
) -> None:
    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        derandomize=True,  # the same documents on every run: CI failures reproduce
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(document=from_schema(SCHEMA, custom_scalars=SCALARS, mode=mode))
    def run(document: str) -> None:
        _check(target, document, with_token)

    run()
