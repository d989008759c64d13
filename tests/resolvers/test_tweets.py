import concurrent.futures

from tests.support.client import GraphQLClient, eventually

TWEET = """query($id: ID!) { tweet(id: $id) { text likeCount retweetCount replyCount
  viewerHasLiked viewerHasRetweeted author { username tweetsCount likesCount }
  replyTo { id } quoteOf { id text } mentions { username } hashtags } }"""


def test_post_tweet_extracts_hashtags_and_mentions(client: GraphQLClient) -> None:
    bob = client.sign_up("bob")
    alice = client.sign_up("alice")
    tweet = client.post_tweet(alice["accessToken"], "Hi @Bob and @ghost #Chirp #chirp")
    found = client.data(TWEET, {"id": tweet["id"]}, alice["accessToken"])["tweet"]
    assert found["hashtags"] == ["chirp"]
    assert found["mentions"] == [{"username": "bob"}]
    assert found["author"] == {"username": "alice", "tweetsCount": 1, "likesCount": 0}
    # The bare databaseId works as an id too.
    assert client.data(TWEET, {"id": tweet["databaseId"]})["tweet"]["text"].startswith("Hi")
    assert bob  # signed up so the mention resolves


def test_text_length_is_280_code_points_after_nfc(client: GraphQLClient) -> None:
    token = client.sign_up("alice")["accessToken"]
    assert client.post_tweet(token, "e\u0301" * 280)["text"] == "\u00e9" * 280
    assert client.post_tweet(token, "🐦" * 280)["text"] == "🐦" * 280
    for text in ("x" * 281, "", "   "):
        body = client.post(
            "mutation($t: String!) { postTweet(input: {text: $t}) { id } }", {"t": text}, token
        )
        assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "text"}


def test_idempotency_key_makes_one_tweet(client: GraphQLClient) -> None:
    token = client.sign_up("alice")["accessToken"]
    first = client.post_tweet(token, "once", idempotencyKey="k-1")
    again = client.post_tweet(token, "once", idempotencyKey="k-1")
    assert first["id"] == again["id"]
    me = client.data("{ me { tweetsCount tweets { edges { node { id } } } } }", token=token)["me"]
    assert me["tweetsCount"] == 1 and len(me["tweets"]["edges"]) == 1


def test_reply_quote_and_counts(client: GraphQLClient) -> None:
    alice = client.sign_up("alice")["accessToken"]
    bob = client.sign_up("bob")["accessToken"]
    original = client.post_tweet(alice, "original")
    reply = client.post_tweet(bob, "a reply", replyToId=original["id"])
    quote = client.post_tweet(bob, "a quote", quoteOfId=original["id"])
    found = client.data(TWEET, {"id": reply["id"]}, bob)["tweet"]
    assert found["replyTo"] == {"id": original["id"]}
    assert client.data(TWEET, {"id": quote["id"]}, bob)["tweet"]["quoteOf"]["text"] == "original"
    replies = client.data(
        """query($id: ID!) { tweet(id: $id) { replyCount replies { edges { node { id } } } } }""",
        {"id": original["id"]},
    )["tweet"]
    assert replies == {"replyCount": 1, "replies": {"edges": [{"node": {"id": reply["id"]}}]}}
    missing = client.post(
        'mutation { postTweet(input: {text: "x", replyToId: "999"}) { id } }', token=bob
    )
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_likes_and_retweets_count_once_under_retries_and_concurrency(client: GraphQLClient) -> None:
    author = client.sign_up("author")["accessToken"]
    tweet = client.post_tweet(author, "like me")
    fans = [client.sign_up(f"fan{i}")["accessToken"] for i in range(5)]
    like = "mutation($id: ID!) { likeTweet(id: $id) { id } }"
    retweet = "mutation($id: ID!) { retweet(id: $id) { id } }"
    jobs = [(like, fan) for fan in fans for _ in range(4)] + [
        (retweet, fan) for fan in fans[:3] for _ in range(3)
    ]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda job: client.data(job[0], {"id": tweet["id"]}, job[1]), jobs))
    counts = client.data(TWEET, {"id": tweet["id"]}, fans[0])["tweet"]
    assert (counts["likeCount"], counts["retweetCount"]) == (5, 3)
    assert counts["viewerHasLiked"] and counts["viewerHasRetweeted"]
    client.data("mutation($id: ID!) { unlikeTweet(id: $id) { id } }", {"id": tweet["id"]}, fans[0])
    client.data("mutation($id: ID!) { unlikeTweet(id: $id) { id } }", {"id": tweet["id"]}, fans[0])
    client.data("mutation($id: ID!) { undoRetweet(id: $id) { id } }", {"id": tweet["id"]}, fans[0])
    counts = client.data(TWEET, {"id": tweet["id"]}, fans[0])["tweet"]
    assert (counts["likeCount"], counts["retweetCount"]) == (4, 2)
    assert not counts["viewerHasLiked"] and not counts["viewerHasRetweeted"]
    liker = client.data("{ me { likesCount likes { edges { node { id } } } } }", token=fans[1])[
        "me"
    ]
    assert liker == {"likesCount": 1, "likes": {"edges": [{"node": {"id": tweet["id"]}}]}}


def test_retweet_reaches_followers_with_its_original(client: GraphQLClient) -> None:
    author = client.sign_up("author")
    retweeter = client.sign_up("retweeter")
    reader = client.sign_up("reader")
    client.follow(reader["accessToken"], retweeter["user"]["id"])
    tweet = client.post_tweet(author["accessToken"], "worth sharing")
    client.data(
        "mutation($id: ID!) { retweet(id: $id) { id } }",
        {"id": tweet["id"]},
        retweeter["accessToken"],
    )
    home = eventually(
        lambda: client.home(reader["accessToken"], fields="author { username } retweetOf { text }")[
            "edges"
        ]
    )
    assert home[0]["node"]["author"] == {"username": "retweeter"}
    assert home[0]["node"]["retweetOf"] == {"text": "worth sharing"}


def test_delete_hides_the_tweet_everywhere_at_once(client: GraphQLClient) -> None:
    alice = client.sign_up("alice")
    bob = client.sign_up("bob")
    client.follow(bob["accessToken"], alice["user"]["id"])
    tweet = client.post_tweet(alice["accessToken"], "regrettable")
    reply = client.post_tweet(bob["accessToken"], "reply", replyToId=tweet["id"])
    eventually(lambda: client.home(bob["accessToken"])["edges"])
    assert (
        client.error_code(
            "mutation($id: ID!) { deleteTweet(id: $id) }", {"id": tweet["id"]}, bob["accessToken"]
        )
        == "FORBIDDEN"
    )
    deleted = client.data(
        "mutation($id: ID!) { deleteTweet(id: $id) }", {"id": tweet["id"]}, alice["accessToken"]
    )
    assert deleted["deleteTweet"] == tweet["id"]
    # Immediately, on every read path:
    assert client.data(TWEET, {"id": tweet["id"]}, bob["accessToken"])["tweet"] is None
    assert tweet["id"] not in str(client.home(bob["accessToken"]))
    assert tweet["id"] not in str(client.home(alice["accessToken"]))
    profile = client.data(
        '{ user(username: "alice") { tweetsCount tweets { edges { node { id } } } } }'
    )
    assert profile["user"] == {"tweetsCount": 0, "tweets": {"edges": []}}
    assert client.data(TWEET, {"id": reply["id"]})["tweet"]["replyTo"] is None
    node = client.data("query($id: ID!) { node(id: $id) { id } }", {"id": tweet["id"]})
    assert node["node"] is None
    assert (
        client.error_code(
            "mutation($id: ID!) { deleteTweet(id: $id) }", {"id": tweet["id"]}, alice["accessToken"]
        )
        == "NOT_FOUND"
    )
