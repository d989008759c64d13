"""A GraphQL client over the real ASGI app (lifespan included), as a web client sends it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from app.main import create_app
from app.settings import Limits, Settings

# Tests sign up and log in many users from one address: unless a test asks for the
# throttles (`throttled=True`, tests/app/test_throttling.py), they are out of the way.
_UNTHROTTLED = {
    "sign_ups_per_minute": 1_000_000,
    "log_ins_per_minute": 1_000_000,
    "refreshes_per_minute": 1_000_000,
    "log_ins_per_account": 1_000_000,
    "anonymous_searches_per_minute": 1_000_000,
    "read_points_per_hour": 1_000_000_000,
}


def embedded_settings(tmp_path: Path, throttled: bool = False, **overrides: Any) -> Settings:
    db = f"sqlite:///{tmp_path}/chirp.db"
    limits = overrides.pop("limits", Limits())
    settings = Settings(
        users_url=db,
        tweets_url=db,
        search_url=db,
        cache_url="memory://",
        media_url=f"file:///{tmp_path}/media",
        secret_key="test-secret-key",
        data_dir=tmp_path,
        limits=limits if throttled else replace(limits, **_UNTHROTTLED),
        execution="verify",  # every query both ways: the plan must agree (app/compiled.py)
    )
    return settings.with_overrides(**overrides)


class GraphQLClient:
    def __init__(self, http: TestClient) -> None:
        self.http = http

    def post(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    def data(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        body = self.post(query, variables, token)
        assert not body.get("errors"), body["errors"]
        return body["data"]

    def error_code(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> str:
        body = self.post(query, variables, token)
        assert body.get("errors"), body
        return body["errors"][0]["extensions"]["code"]

    def sign_up(self, username: str, password: str = "correct horse battery") -> dict[str, Any]:
        return self.data(
            """mutation($input: SignUpInput!) { signUp(input: $input) {
                accessToken refreshToken user { id databaseId username } } }""",
            {
                "input": {
                    "username": username,
                    "email": f"{username}@example.com",
                    "password": password,
                }
            },
        )["signUp"]

    def post_tweet(self, token: str, text: str, **extra: Any) -> dict[str, Any]:
        return self.data(
            """mutation($input: PostTweetInput!) { postTweet(input: $input) {
                id databaseId text hashtags createdAt } }""",
            {"input": {"text": text, **extra}},
            token,
        )["postTweet"]

    def follow(self, token: str, user_id: str) -> None:
        self.data("mutation($id: ID!) { follow(userId: $id) { status } }", {"id": user_id}, token)

    def home(
        self, token: str, first: int = 20, after: str | None = None, fields: str = "text"
    ) -> dict[str, Any]:
        return self.data(
            f"""query($first: Int!, $after: String) {{ homeTimeline(first: $first, after: $after) {{
                edges {{ cursor node {{ id {fields} }} }}
                pageInfo {{ hasNextPage endCursor }} }} }}""",
            {"first": first, "after": after},
            token,
        )["homeTimeline"]


def eventually(check: Callable[[], Any], timeout_s: float = 5.0, interval_s: float = 0.05) -> Any:
    """Poll until `check` returns something truthy (the design allows 5 s of lag)."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout_s}s: last result {result!r}")
        time.sleep(interval_s)


@contextmanager
def running_app(settings: Settings) -> Iterator[GraphQLClient]:
    import asyncio

    from storage.registry import migrate_all

    asyncio.run(migrate_all(settings))
    with TestClient(create_app(settings)) as http:
        yield GraphQLClient(http)
