import secrets
from pathlib import Path

from tests.backends import backend_url
from tests.support.client import GraphQLClient, embedded_settings, eventually, running_app

SEARCH = """query($q: String!, $first: Int! = 20, $after: String) {
  search(query: $q, first: $first, after: $after) {
  edges { node { text author { username } } } pageInfo { hasNextPage endCursor } } }"""


def _texts(client: GraphQLClient, query: str, token: str | None = None) -> list[str]:
    edges = client.data(SEARCH, {"q": query}, token)["search"]["edges"]
    return [edge["node"]["text"] for edge in edges]


def test_search_words_phrases_hashtags_and_authors(client: GraphQLClient) -> None:
    alice = client.sign_up("alice")["accessToken"]
    bob = client.sign_up("bob")["accessToken"]
    client.post_tweet(alice, "The quick brown fox #animals")
    client.post_tweet(bob, "A brown dog, quick as ever #animals #dogs")
    client.post_tweet(bob, "nothing to see")
    eventually(lambda: _texts(client, "#animals"))
    eventually(lambda: len(_texts(client, "brown")) == 2)
    assert _texts(client, "brown") == [
        "A brown dog, quick as ever #animals #dogs",
        "The quick brown fox #animals",
    ]
    assert _texts(client, '"quick brown"') == ["The quick brown fox #animals"]
    assert _texts(client, "#dogs") == ["A brown dog, quick as ever #animals #dogs"]
    assert _texts(client, "brown from:alice") == ["The quick brown fox #animals"]
    assert _texts(client, "brown from:nobody") == []
    assert _texts(client, "brown until:2000-01-01") == []
    assert len(_texts(client, "brown since:2000-01-01")) == 2
    for hostile in ['"', "NEAR(", "*", "AND OR", "'; DROP TABLE tweets; --", "(((("]:
        body = client.post(SEARCH, {"q": hostile})
        assert not body.get("errors") or body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_search_pages_and_hides_deleted_and_protected(client: GraphQLClient) -> None:
    author = client.sign_up("author")
    token = author["accessToken"]
    ids = [client.post_tweet(token, f"page me {i}")["id"] for i in range(5)]
    eventually(lambda: len(_texts(client, "page")) == 5)
    first = client.data(SEARCH, {"q": "page", "first": 2})["search"]
    rest = client.data(SEARCH, {"q": "page", "first": 10, "after": first["pageInfo"]["endCursor"]})[
        "search"
    ]
    assert [e["node"]["text"] for e in first["edges"] + rest["edges"]] == [
        f"page me {i}" for i in range(4, -1, -1)
    ]
    client.data("mutation($id: ID!) { deleteTweet(id: $id) }", {"id": ids[4]}, token)
    assert "page me 4" not in _texts(client, "page")  # at once, before the index catches up
    secret = client.sign_up("secret")["accessToken"]
    client.data(
        "mutation { updateSettings(input: {privateAccount: true}) { privateAccount } }",
        token=secret,
    )
    client.post_tweet(secret, "classified words")
    eventually(lambda: _texts(client, "classified", secret))
    assert _texts(client, "classified") == []
    assert _texts(client, "classified", token) == []
    assert client.error_code(SEARCH, {"q": "   "}) == "BAD_USER_INPUT"
    assert client.error_code(SEARCH, {"q": "since:yesterday"}) == "BAD_USER_INPUT"


def test_trending_ranks_hashtags_used_in_the_last_hour(client: GraphQLClient) -> None:
    token = client.sign_up("alice")["accessToken"]
    for i in range(3):
        client.post_tweet(token, f"#rising number {i}")
    client.post_tweet(token, "#steady once")
    trends = eventually(
        lambda: (
            [
                (t["hashtag"], t["count"])
                for t in client.data("{ trending(limit: 5) { hashtag count previousCount } }")[
                    "trending"
                ]
            ]
            if len(_texts(client, "#steady")) == 1
            else None
        )
    )
    assert trends[:2] == [("rising", 3), ("steady", 1)]
    assert client.error_code("{ trending(limit: 0) { hashtag } }") == "BAD_USER_INPUT"


def test_search_and_trending_on_elasticsearch(tmp_path: Path) -> None:
    from tests.backends import backend_url
    from tests.support.client import embedded_settings, running_app

    word = f"zq{secrets.token_hex(4)}"  # the index is shared: find only this test's tweets
    tag = f"t{secrets.token_hex(4)}"
    settings = embedded_settings(tmp_path, search_url=backend_url("CHIRP_SEARCH_URL"))
    with running_app(settings) as client:
        alice = client.sign_up("alice")["accessToken"]
        bob = client.sign_up("bob")["accessToken"]
        client.post_tweet(alice, f"Crème {word} from alice #{tag}")
        client.post_tweet(bob, f"creme {word} from bob")
        eventually(lambda: len(_texts(client, word)) == 2)
        assert _texts(client, f"{word} from:alice") == [f"Crème {word} from alice #{tag}"]
        assert len(_texts(client, f"CREME {word}")) == 2  # case and accents folded
        assert _texts(client, f"#{tag}") == [f"Crème {word} from alice #{tag}"]
        trends = client.data("{ trending(limit: 50) { hashtag count } }")["trending"]
        assert {"hashtag": tag, "count": 1} in trends


def _own_writes_case(client: GraphQLClient) -> None:
    word = f"fresh{secrets.token_hex(3)}"
    author = client.sign_up(f"w{secrets.token_hex(3)}")["accessToken"]
    other = client.sign_up(f"o{secrets.token_hex(3)}")["accessToken"]
    client.post_tweet(author, f"Crème {word} brûlée #justnow")
    client.post_tweet(author, "unrelated words")
    # No worker runs here: nothing is indexed, yet the author reads their own write.
    assert _texts(client, f"creme {word}", author) == [f"Crème {word} brûlée #justnow"]
    assert _texts(client, f'"{word} brulee" #justnow', author) == [f"Crème {word} brûlée #justnow"]
    assert _texts(client, f"{word} missing", author) == []
    assert _texts(client, word, other) == []  # others find it once it is indexed
    assert _texts(client, word) == []


def test_authors_find_their_own_tweets_before_they_are_indexed(tmp_path: Path) -> None:
    with running_app(embedded_settings(tmp_path, run_workers=False)) as client:
        _own_writes_case(client)


def test_own_tweets_before_indexing_on_elasticsearch(tmp_path: Path) -> None:
    settings = embedded_settings(
        tmp_path, run_workers=False, search_url=backend_url("CHIRP_SEARCH_URL")
    )
    with running_app(settings) as client:
        _own_writes_case(client)
