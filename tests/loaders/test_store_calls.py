"""N+1 is a test failure: a home timeline page costs the same store calls for 1 or 100 tweets."""

from storage.records import utcnow
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


def test_blocks_mutes_and_muted_words_cost_no_round_trip_per_account(
    client: GraphQLClient,
) -> None:
    """A reader with 10,000 blocks, 2,000 mutes and 50 muted words pays for a home page
    exactly what a reader with none does: the relations are read whole, once."""
    plain = client.sign_up("plain")["accessToken"]
    strict = client.sign_up("strict")
    writers = [client.sign_up(f"writer{i}") for i in range(2)]
    for reader in (plain, strict["accessToken"]):
        for writer in writers:
            client.follow(reader, writer["user"]["id"])
    for i in range(30):
        client.post_tweet(writers[i % 2]["accessToken"], f"tweet {i}")
    eventually(lambda: len(client.home(plain, first=30)["edges"]) == 30, timeout_s=20)

    safety = client.http.app.state.chirp.stores.safety
    me = int(strict["user"]["databaseId"])

    async def set_against_many() -> None:
        now = utcnow()
        for n in range(10_000):
            await safety.block(me, 10**15 + n, now)
        for n in range(2_000):
            await safety.mute(me, 2 * 10**15 + n, now, None)
        for n in range(50):
            await safety.add_muted_word(me, f"nothing{n}", now, None)

    client.http.portal.call(set_against_many)
    token = strict["accessToken"]
    assert _calls(client, token, 20) == _calls(client, plain, 20)
    assert _calls(client, token, 20)["byMethod"]["safety.relations"] == 1

    # Muting a writer hides half the home timeline: the page costs more scan rounds, not
    # a round trip per muted tweet or account.
    client.data(
        "mutation($id: ID!) { mute(userId: $id) { id } }", {"id": writers[0]["user"]["id"]}, token
    )
    body = client.post(QUERY, {"first": 10}, token)
    assert len(body["data"]["homeTimeline"]["edges"]) == 10
    assert body["extensions"]["storeCalls"]["total"] <= _calls(client, plain, 10)["total"] + 2, (
        body["extensions"]["storeCalls"],
        _calls(client, plain, 10),
    )


NOTIFICATIONS = """query($first: Int!) { notifications(first: $first) { edges { node {
  kind count unread actors { username } tweet { text likeCount author { username } } } } } }"""


def test_a_notifications_page_costs_the_same_store_calls_for_1_or_100(
    client: GraphQLClient,
) -> None:
    from datetime import timedelta

    from storage.records import NotificationChange

    owner = client.sign_up("owner")
    fans = [int(client.sign_up(f"fan{i}")["user"]["databaseId"]) for i in range(3)]
    tweets = [client.post_tweet(owner["accessToken"], f"t{i}") for i in range(101)]
    chirp = client.http.app.state.chirp
    me = int(owner["user"]["databaseId"])

    async def liked_by_fans() -> None:
        for tweet in tweets:
            tweet_id = int(tweet["databaseId"])
            added = tuple((fan, utcnow()) for fan in fans)
            change = NotificationChange(me, f"like:{tweet_id}", "like", tweet_id, added=added)
            await chirp.stores.notifications.apply(change, timedelta(days=1), chirp.ids.next_id)

    client.http.portal.call(liked_by_fans)

    def calls(first: int) -> dict:
        body = client.post(NOTIFICATIONS, {"first": first}, owner["accessToken"])
        assert not body.get("errors"), body["errors"]
        edges = body["data"]["notifications"]["edges"]
        assert len(edges) == first and all(e["node"]["count"] == 3 for e in edges)
        return body["extensions"]["storeCalls"]

    calls(100)  # warm: the actors and tweets are in the in-process cache
    one, hundred = calls(1), calls(100)
    assert one == hundred
    assert hundred["byMethod"]["notifications.page"] == 1
    assert hundred["total"] <= 5, hundred
    cold = []
    for first in (1, 100):
        chirp.tweet_cache.clear_local()
        chirp.user_cache.clear_local()
        cold.append(calls(first))
    assert cold[0] == cold[1]
    assert cold[1]["byMethod"]["users.get_many"] == 1
    assert cold[1]["byMethod"]["tweets.get_many"] == 1
    assert cold[1]["total"] <= 7, cold[1]
