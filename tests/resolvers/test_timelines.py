from tests.support.client import GraphQLClient, eventually


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
