from pathlib import Path
from typing import Any

import httpx2

from tests.support.client import GraphQLClient, embedded_settings, eventually
from tests.support.server import live_server


def test_newcomer_flow_over_http(client: GraphQLClient) -> None:
    """Two users sign up, one follows the other, the other posts with a hashtag and a
    mention, and the follower's home timeline shows it with its author within 5 s."""
    reader = client.sign_up("reader")
    writer = client.sign_up("writer")
    client.follow(reader["accessToken"], writer["user"]["id"])
    client.post_tweet(writer["accessToken"], "Hello @reader #firsttweet")
    edges = eventually(
        lambda: client.home(
            reader["accessToken"], fields="text hashtags author { username } mentions { username }"
        )["edges"]
    )
    assert edges[0]["node"] == {
        "id": edges[0]["node"]["id"],
        "text": "Hello @reader #firsttweet",
        "hashtags": ["firsttweet"],
        "author": {"username": "writer"},
        "mentions": [{"username": "reader"}],
    }


def test_home_timeline_pages_with_cursors(client: GraphQLClient) -> None:
    reader = client.sign_up("reader")["accessToken"]
    writer = client.sign_up("writer")
    client.follow(reader, writer["user"]["id"])
    posted = [client.post_tweet(writer["accessToken"], f"tweet {i}")["id"] for i in range(7)]
    eventually(lambda: len(client.home(reader, first=10)["edges"]) == 7)
    seen, after = [], None
    while True:
        page = client.home(reader, first=3, after=after)
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == list(reversed(posted))


def test_own_tweets_show_at_once_and_follow_backfills_unfollow_removes(
    client: GraphQLClient,
) -> None:
    reader = client.sign_up("reader")["accessToken"]
    writer = client.sign_up("writer")
    earlier = client.post_tweet(writer["accessToken"], "before you followed")
    assert client.home(writer["accessToken"])["edges"][0]["node"]["id"] == earlier["id"]
    client.follow(reader, writer["user"]["id"])
    eventually(lambda: client.home(reader)["edges"])
    client.data(
        "mutation($id: ID!) { unfollow(userId: $id) { status } }",
        {"id": writer["user"]["id"]},
        reader,
    )
    assert client.home(reader)["edges"] == []  # at once, before the clean-up job


def test_follow_counts_and_connections(client: GraphQLClient) -> None:
    alice = client.sign_up("alice")
    fans = [client.sign_up(f"fan{i}") for i in range(3)]
    for fan in fans:
        client.follow(fan["accessToken"], alice["user"]["id"])
        client.follow(fan["accessToken"], alice["user"]["id"])  # a retry counts once
    profile = client.data(
        """{ user(username: "alice") { followersCount followers(first: 2) {
            edges { node { follower { username } followee { username } } }
            pageInfo { hasNextPage endCursor } } } }"""
    )["user"]
    assert profile["followersCount"] == 3
    assert (
        len(profile["followers"]["edges"]) == 2 and profile["followers"]["pageInfo"]["hasNextPage"]
    )
    rest = client.data(
        """query($after: String) { user(username: "alice") { followers(first: 2, after: $after) {
            edges { node { follower { username } } } pageInfo { hasNextPage } } } }""",
        {"after": profile["followers"]["pageInfo"]["endCursor"]},
    )["user"]["followers"]
    names = {
        e["node"]["follower"]["username"] for e in profile["followers"]["edges"] + rest["edges"]
    }
    assert names == {"fan0", "fan1", "fan2"} and not rest["pageInfo"]["hasNextPage"]
    viewer = client.data(
        '{ user(username: "alice") { viewerFollows followsViewer } me { followingCount } }',
        token=fans[0]["accessToken"],
    )
    assert viewer["user"] == {"viewerFollows": True, "followsViewer": False}
    assert viewer["me"] == {"followingCount": 1}
    assert (
        client.error_code(
            "mutation($id: ID!) { follow(userId: $id) { status } }",
            {"id": alice["user"]["id"]},
            alice["accessToken"],
        )
        == "BAD_USER_INPUT"
    )


def test_a_page_holding_a_tweet_and_a_retweet_of_it_answers(tmp_path: Path) -> None:
    """The retweet's original is in the same batch of the visible-tweet loader: it was
    loaded through that loader again, waiting for the batch that asked, and the request
    hung for good. Over real HTTP with a timeout, so a regression fails instead of hanging."""
    home = "{ homeTimeline { edges { node { text retweetOf { text } } } } }"
    with (
        live_server(embedded_settings(tmp_path)) as url,
        httpx2.Client(base_url=url, timeout=10) as http,
    ):

        def ask(query: str, variables: dict[str, Any], token: str | None = None) -> Any:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            body = http.post(
                "/graphql", json={"query": query, "variables": variables}, headers=headers
            ).json()
            assert not body.get("errors"), body
            return body["data"]

        sign_up = "mutation($i: SignUpInput!) { signUp(input: $i) { accessToken user { id } } }"
        tokens, ids = {}, {}
        for name in ("reader", "author", "fan"):
            person = {"username": name, "email": f"{name}@example.com", "password": "long enough"}
            made = ask(sign_up, {"i": person})["signUp"]
            tokens[name], ids[name] = made["accessToken"], made["user"]["id"]
        for followed in ("author", "fan"):
            ask("mutation($id: ID!) { follow(userId: $id) { status } }", {"id": ids[followed]},
                tokens["reader"])  # fmt: skip
        post = "mutation($t: String!) { postTweet(input: {text: $t}) { id } }"
        original = ask(post, {"t": "the original"}, tokens["author"])["postTweet"]["id"]
        ask("mutation($id: ID!) { retweet(id: $id) { id } }", {"id": original}, tokens["fan"])
        edges = eventually(
            lambda: (
                (e := ask(home, {}, tokens["reader"])["homeTimeline"]["edges"])
                and len(e) == 2
                and e
            )
        )
        assert [edge["node"] for edge in edges] == [
            {"text": "", "retweetOf": {"text": "the original"}},
            {"text": "the original", "retweetOf": None},
        ]
