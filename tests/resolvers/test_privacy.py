"""A protected account's tweets reach only its author and approved followers, on every path."""

from __future__ import annotations

from typing import Any

from tests.support.client import GraphQLClient, eventually

TWEET = "query($id: ID!) { tweet(id: $id) { id text } }"
NODE = "query($id: ID!) { node(id: $id) { id } }"
PROFILE = """query($u: String!) { user(username: $u) {
  tweets { edges { node { id } } } likes { edges { node { id } } }
  followers { edges { node { follower { username } } } } } }"""
REPLIES = "query($id: ID!) { tweet(id: $id) { replies { edges { node { id } } } } }"
LINKS = "query($id: ID!) { tweet(id: $id) { quoteOf { id } } }"
SEARCH = "query($q: String!) { search(query: $q) { edges { node { id } } } }"


def _mutate(client: GraphQLClient, name: str, user_id: str, token: str) -> dict[str, Any]:
    query = f"mutation($id: ID!) {{ {name}(userId: $id) {{ status user {{ username }} }} }}"
    return dict(client.data(query, {"id": user_id}, token)[name])


def _protect(client: GraphQLClient, token: str, on: bool = True) -> None:
    client.data(
        "mutation($on: Boolean!) {"
        " updateSettings(input: {privateAccount: $on}) { privateAccount } }",
        {"on": on},
        token,
    )


def test_follow_requests_approve_reject_and_unprotect(client: GraphQLClient) -> None:
    owner = client.sign_up("owner")
    fan, other = client.sign_up("fan"), client.sign_up("other")
    _protect(client, owner["accessToken"])
    assert (
        _mutate(client, "follow", owner["user"]["id"], fan["accessToken"])["status"] == "REQUESTED"
    )
    assert (
        _mutate(client, "follow", owner["user"]["id"], other["accessToken"])["status"]
        == "REQUESTED"
    )
    requests = client.data(
        "{ followRequests { edges { node { follower { username } followee { username } } } } }",
        token=owner["accessToken"],
    )["followRequests"]["edges"]
    assert {e["node"]["follower"]["username"] for e in requests} == {"fan", "other"}
    state = client.data(
        '{ user(username: "owner") { viewerFollows viewerHasRequested followersCount } }',
        token=fan["accessToken"],
    )["user"]
    assert state == {"viewerFollows": False, "viewerHasRequested": True, "followersCount": 0}

    approved = _mutate(client, "approveFollowRequest", fan["user"]["id"], owner["accessToken"])
    assert approved == {"status": "FOLLOWING", "user": {"username": "fan"}}
    assert (
        client.error_code(
            "mutation($id: ID!) { approveFollowRequest(userId: $id) { status } }",
            {"id": fan["user"]["id"]},
            owner["accessToken"],
        )
        == "NOT_FOUND"
    )
    # Unprotecting does not approve what is pending.
    _protect(client, owner["accessToken"], on=False)
    state = client.data(
        '{ user(username: "owner") { viewerFollows viewerHasRequested followersCount } }',
        token=other["accessToken"],
    )["user"]
    assert state == {"viewerFollows": False, "viewerHasRequested": True, "followersCount": 1}
    _mutate(client, "rejectFollowRequest", other["user"]["id"], owner["accessToken"])
    assert not client.data("{ followRequests { edges { cursor } } }", token=owner["accessToken"])[
        "followRequests"
    ]["edges"]


def test_protected_tweets_reach_no_stranger_on_any_path(client: GraphQLClient) -> None:
    public = client.sign_up("public")
    secret = client.sign_up("secret")
    friend, stranger = client.sign_up("friend"), client.sign_up("stranger")
    public_tweet = client.post_tweet(public["accessToken"], "a public thought")
    quoted = client.post_tweet(secret["accessToken"], "quotable before protection")
    quote = client.post_tweet(public["accessToken"], "quoting it", quoteOfId=quoted["id"])
    _protect(client, secret["accessToken"])
    _mutate(client, "follow", secret["user"]["id"], friend["accessToken"])
    _mutate(client, "approveFollowRequest", friend["user"]["id"], secret["accessToken"])
    _mutate(client, "follow", secret["user"]["id"], stranger["accessToken"])  # stays pending
    _mutate(client, "follow", public["user"]["id"], stranger["accessToken"])
    hidden = client.post_tweet(secret["accessToken"], "zebracorn secret words")
    reply = client.post_tweet(
        secret["accessToken"], "a protected reply", replyToId=public_tweet["id"]
    )
    client.data(
        "mutation($id: ID!) { likeTweet(id: $id) { id } }",
        {"id": hidden["id"]},
        friend["accessToken"],
    )
    eventually(lambda: hidden["id"] in str(client.home(friend["accessToken"])))
    eventually(
        lambda: client.data(SEARCH, {"q": "zebracorn"}, secret["accessToken"])["search"]["edges"]
    )

    def sees(token: str | None) -> dict[str, bool]:
        return {
            "tweet": client.data(TWEET, {"id": hidden["id"]}, token)["tweet"] is not None,
            "node": client.data(NODE, {"id": hidden["id"]}, token)["node"] is not None,
            "home": hidden["id"] in str(client.home(token)) if token else False,
            "profile": hidden["id"] in str(client.data(PROFILE, {"u": "secret"}, token)),
            "likes": hidden["id"] in str(client.data(PROFILE, {"u": "friend"}, token)),
            "replies": reply["id"] in str(client.data(REPLIES, {"id": public_tweet["id"]}, token)),
            "quoteOf": client.data(LINKS, {"id": quote["id"]}, token)["tweet"]["quoteOf"]
            is not None,
            "search": bool(client.data(SEARCH, {"q": "zebracorn"}, token)["search"]["edges"]),
        }

    everywhere = {path: True for path in sees(secret["accessToken"])}
    assert sees(secret["accessToken"]) == everywhere
    assert sees(friend["accessToken"]) == everywhere
    assert sees(stranger["accessToken"]) == {path: False for path in everywhere}
    assert sees(None) == {path: False for path in everywhere}
    assert (
        client.error_code(
            "mutation($id: ID!) { retweet(id: $id) { id } }",
            {"id": hidden["id"]},
            friend["accessToken"],
        )
        == "FORBIDDEN"
    )
    for mutation in ("likeTweet", "retweet"):
        assert (
            client.error_code(
                f"mutation($id: ID!) {{ {mutation}(id: $id) {{ id }} }}",
                {"id": hidden["id"]},
                stranger["accessToken"],
            )
            == "NOT_FOUND"
        )
    assert (
        client.error_code(
            'mutation($id: ID!) { postTweet(input: {text: "hi", replyToId: $id}) { id } }',
            {"id": hidden["id"]},
            stranger["accessToken"],
        )
        == "NOT_FOUND"
    )


def test_retweets_of_a_now_protected_tweet_disappear(client: GraphQLClient) -> None:
    author, sharer, reader = (
        client.sign_up("author"),
        client.sign_up("sharer"),
        client.sign_up("reader"),
    )
    _mutate(client, "follow", sharer["user"]["id"], reader["accessToken"])
    tweet = client.post_tweet(author["accessToken"], "shared widely")
    client.data(
        "mutation($id: ID!) { retweet(id: $id) { id } }", {"id": tweet["id"]}, sharer["accessToken"]
    )
    eventually(lambda: client.home(reader["accessToken"])["edges"])
    _protect(client, author["accessToken"])
    assert client.home(reader["accessToken"])["edges"] == []
