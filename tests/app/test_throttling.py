"""The paths anyone can call are throttled per client address, and password attempts per
account, with RATE_LIMITED and retryAfterSeconds; a logged-in caller's search is not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app import throttle
from app.errors import RateLimited
from app.settings import Limits
from storage.memory import InProcessCache
from tests.support.client import GraphQLClient, embedded_settings, running_app

LIMITS = Limits(
    sign_ups_per_minute=3,
    log_ins_per_minute=6,
    refreshes_per_minute=2,
    log_ins_per_account=4,
    anonymous_searches_per_minute=2,
)
LOG_IN = "mutation($l: String!, $p: String!) { logIn(login: $l, password: $p) { accessToken } }"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[GraphQLClient]:
    with running_app(embedded_settings(tmp_path, throttled=True, limits=LIMITS)) as graphql:
        yield graphql


def _code(response: dict[str, Any]) -> str | None:
    errors = response.get("errors") or []
    return errors[0]["extensions"]["code"] if errors else None


def _limited(response: dict[str, Any]) -> bool:
    if _code(response) != "RATE_LIMITED":
        return False
    assert response["errors"][0]["extensions"]["retryAfterSeconds"] >= 1
    return True


def test_sign_ups_from_one_address_are_limited(client: GraphQLClient) -> None:
    for n in range(3):
        client.sign_up(f"newcomer{n}")
    response = client.post(
        "mutation($i: SignUpInput!) { signUp(input: $i) { accessToken } }",
        {"i": {"username": "onetoomany", "email": "x@example.com", "password": "long enough pw"}},
    )
    assert _limited(response)


def test_wrong_passwords_for_one_account_are_limited_even_when_right_at_last(
    client: GraphQLClient,
) -> None:
    client.sign_up("target")
    answers = [client.post(LOG_IN, {"l": "TARGET ", "p": f"guess {n}"}) for n in range(4)]
    assert all(_code(a) == "UNAUTHENTICATED" for a in answers)  # wrong, and answered as such
    # The fifth attempt is refused before the password is even checked: the right one too.
    assert _limited(client.post(LOG_IN, {"l": "target", "p": "correct horse battery"}))


def test_wrong_passwords_to_delete_an_account_are_limited_like_log_ins(
    client: GraphQLClient,
) -> None:
    token = client.sign_up("holder")["accessToken"]
    delete = "mutation($p: String!) { deleteAccount(password: $p) }"
    answers = [client.post(delete, {"p": f"guess {n}"}, token) for n in range(4)]
    assert all(_code(a) == "WRONG_PASSWORD" for a in answers)
    assert _limited(client.post(delete, {"p": "correct horse battery"}, token))
    me = client.post("{ me { username } }", token=token)
    assert me["data"]["me"]["username"] == "holder"  # still there


def test_log_ins_from_one_address_are_limited_across_accounts(client: GraphQLClient) -> None:
    answers = [client.post(LOG_IN, {"l": f"nobody{n}", "p": "whatever"}) for n in range(7)]
    assert [_limited(a) for a in answers] == [False] * 6 + [True]


def test_refreshes_from_one_address_are_limited(client: GraphQLClient) -> None:
    query = "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }"
    answers = [client.post(query, {"t": f"not-a-token-{n}"}) for n in range(3)]
    assert [_limited(a) for a in answers] == [False, False, True]


def test_anonymous_search_is_limited_and_a_logged_in_one_is_not(client: GraphQLClient) -> None:
    query = '{ search(query: "hello") { edges { cursor } } }'
    answers = [client.post(query) for _ in range(3)]
    assert [_limited(a) for a in answers] == [False, False, True]
    token = client.sign_up("reader")["accessToken"]
    assert all(_code(client.post(query, token=token)) is None for _ in range(5))


async def test_a_burst_across_a_windows_edge_gets_the_limit_not_twice_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cache = InProcessCache()
    now = [6_000_000 * 60 - 1.0]  # one second before a minute turns
    monkeypatch.setattr(throttle, "_clock", lambda: now[0])

    async def attempt() -> bool:
        try:
            await throttle.spend(cache, "log_in", "10.0.0.1", 5, 60, "log-in attempts")
        except RateLimited:
            return False
        return True

    before = [await attempt() for _ in range(5)]
    now[0] += 2  # the next window, one second in
    after = [await attempt() for _ in range(5)]
    assert before == [True] * 5
    assert after == [False] * 5  # the five before still count, almost in full
    now[0] += 120  # refused attempts count too: hammering keeps a client out; quiet lets it in
    assert await attempt()
