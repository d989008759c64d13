"""N+1 is a test failure: a home timeline page costs the same store calls for 1 or 100 tweets."""

from tests.support.client import GraphQLClient, eventually

QUERY = """query($first: Int!) { homeTimeline(first: $first) { edges { node {
  text likeCount viewerHasLiked author { username } } } } }"""


def _calls(client: GraphQLClient, token: str, first: int) -> dict:
    body = client.post(QUERY, {"first": first}, token)
    assert not body.get("errors")
    assert len(body["data"]["homeTimeline"]["edges"]) == first
    return body["extensions"]["storeCalls"]


def test_home_timeline_store_calls_do_not_grow_with_page_size(client: GraphQLClient) -> None:
    reader = client.sign_up("reader")["accessToken"]
    writers = [client.sign_up(f"writer{i}") for i in range(4)]
    for writer in writers:
        client.follow(reader, writer["user"]["id"])
    for i in range(101):
        writer = writers[i % 4]
        client.post_tweet(writer["accessToken"], f"tweet {i}")
    eventually(lambda: len(client.home(reader, first=100)["edges"]) == 100, timeout_s=20)
    client.data(
        "mutation($id: ID!) { likeTweet(id: $id) { id } }",
        {"id": client.home(reader, first=1)["edges"][0]["node"]["id"]},
        reader,
    )
    one, hundred = _calls(client, reader, 1), _calls(client, reader, 100)
    assert one == hundred
    assert hundred["total"] <= 6, hundred
    # Cold: nothing in the in-process cache, so tweets and authors come from the store too.
    chirp = client.http.app.state.chirp
    cold = []
    for first in (1, 100):
        chirp.tweet_cache.clear_local()
        chirp.user_cache.clear_local()
        cold.append(_calls(client, reader, first))
    assert cold[0] == cold[1]
    assert cold[1]["byMethod"]["tweets.get_many"] == 1
    assert cold[1]["byMethod"]["users.get_many"] == 1
    assert cold[1]["total"] <= 8, cold[1]
