"""Every field that yields a Tweet, a User, or something holding them (a connection, a
payload, an event) is checked against the read policy: Alice blocks Bob, and nothing of
Bob's reaches Alice (nor Alice's Bob) through that field.

The walk reads schema.graphql: a new field that yields tweets or users and has no check
below fails `test_every_field_that_yields_tweets_or_users_has_a_policy_check`. Fields of
the holder types themselves (edges, `Follow`, payloads, `TimelineEvent`) are reached only
through the fields that return them, which is where they are checked."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLObjectType, build_schema, get_named_type

from tests.support.client import GraphQLClient, eventually
from tests.support.profiles import PROFILES, app_on, unique

ROOT = Path(__file__).resolve().parents[2]
YIELDED = {"Tweet", "User", "Node"}
ENTRY_TYPES = {"Query", "Mutation", "Subscription", "Tweet", "User"}


def _fields_yielding_tweets_or_users() -> set[str]:
    schema = build_schema((ROOT / "schema.graphql").read_text())
    types = {
        name: kind
        for name, kind in schema.type_map.items()
        if isinstance(kind, GraphQLObjectType) and not name.startswith("__")
    }
    holders = set(YIELDED)
    grew = True
    while grew:  # a type holds tweets or users if one of its fields yields a holder
        grew = False
        for name, kind in types.items():
            if name in holders:
                continue
            if any(get_named_type(f.type).name in holders for f in kind.fields.values()):
                holders.add(name)
                grew = True
    return {
        f"{name}.{field_name}"
        for name in ENTRY_TYPES
        for field_name, field in types[name].fields.items()
        if get_named_type(field.type).name in holders
    }


@dataclass
class World:
    """Alice blocked Bob after all of this was made; Carol is a bystander both follow."""

    client: GraphQLClient
    people: dict[str, dict[str, Any]]
    tweets: dict[str, str]  # name -> global id
    word: str

    def token(self, who: str) -> str:
        return str(self.people[who]["accessToken"])

    def id(self, who: str) -> str:
        return str(self.people[who]["user"]["id"])

    def name(self, who: str) -> str:
        return str(self.people[who]["user"]["username"])

    def ask(self, who: str, query: str, **variables: Any) -> dict[str, Any]:
        return self.client.data(query, variables, self.token(who))

    def code(self, who: str, query: str, **variables: Any) -> str:
        return self.client.error_code(query, variables, self.token(who))


def _build_world(client: GraphQLClient) -> World:
    word = f"pol{secrets.token_hex(3)}"
    people = {who: client.sign_up(unique(who)) for who in ("alice", "bob", "carol")}
    world = World(client, people, {}, word)
    t = world.token
    client.data(
        "mutation { updateSettings(input: {privateAccount: true}) { privateAccount } }",
        token=t("alice"),
    )
    client.follow(t("alice"), world.id("carol"))
    client.follow(t("carol"), world.id("bob"))
    client.follow(t("bob"), world.id("carol"))
    client.follow(t("bob"), world.id("alice"))  # a request: Alice is protected
    tweets = world.tweets
    tweets["A1"] = client.post_tweet(t("alice"), f"{word} alice speaks")["id"]
    tweets["B1"] = client.post_tweet(t("bob"), f"{word} bob original")["id"]
    tweets["B3"] = client.post_tweet(t("bob"), "bob later retweeted")["id"]
    tweets["C1"] = client.post_tweet(t("carol"), "carol plain")["id"]
    tweets["B2"] = client.post_tweet(t("bob"), "bob replies to carol", replyToId=tweets["C1"])["id"]
    tweets["CQ"] = client.post_tweet(t("carol"), "carol quoting", quoteOfId=tweets["B1"])["id"]
    tweets["CR"] = client.post_tweet(t("carol"), "carol answering", replyToId=tweets["B1"])["id"]
    tweets["CM"] = client.post_tweet(t("carol"), f"hi @{world.name('bob')}")["id"]
    for liked in ("B1", "C1"):
        client.data(
            "mutation($id: ID!) { likeTweet(id: $id) { id } }", {"id": tweets[liked]}, t("carol")
        )
    client.data("mutation($id: ID!) { retweet(id: $id) { id } }", {"id": tweets["B1"]}, t("carol"))
    rt = "query($id: ID!) { tweet(id: $id) { id } }"
    carol_home = lambda: client.home(t("carol"), fields="retweetOf { id }")["edges"]  # noqa: E731
    retweets = eventually(lambda: [e for e in carol_home() if e["node"]["retweetOf"]])
    tweets["CRT"] = retweets[0]["node"]["id"]
    assert client.data(rt, {"id": tweets["CRT"]}, t("carol"))["tweet"]
    indexed = lambda: client.data(SEARCH, {"q": word}, t("alice"))["search"]["edges"]  # noqa: E731
    eventually(lambda: len(indexed()) == 2)  # before the block Alice finds both
    client.data(BLOCK, {"id": world.id("bob")}, t("alice"))
    return world


SEARCH = "query($q: String!) { search(query: $q) { edges { node { text } } } }"
BLOCK = "mutation($id: ID!) { block(userId: $id) { viewerBlocks } }"
TWEET = "query($id: ID!) { tweet(id: $id) { text } }"
LINKS = """query($id: ID!) { tweet(id: $id) { text author { username }
  replyTo { text } quoteOf { text } retweetOf { text } mentions { username }
  replies { edges { node { text } } } } }"""
PROFILE = """query($name: String!) { user(username: $name) { viewerBlocks blocksViewer
  tweets { edges { node { text } } } likes { edges { node { text } } }
  followers { edges { node { follower { username } } } }
  following { edges { node { followee { username } } } } } }"""


def _texts(page: dict[str, Any]) -> list[str]:
    return [edge["node"]["text"] for edge in page["edges"]]


def _tweet_hidden_both_ways(w: World) -> None:
    assert w.ask("alice", TWEET, id=w.tweets["B1"])["tweet"] is None
    assert w.ask("bob", TWEET, id=w.tweets["A1"])["tweet"] is None
    assert w.ask("carol", TWEET, id=w.tweets["B1"])["tweet"] is not None


def _node(w: World) -> None:
    query = """query($t: ID!, $u: ID!) { t: node(id: $t) { id }
      u: node(id: $u) { ... on User { viewerBlocks } } }"""
    found = w.ask("alice", query, t=w.tweets["B1"], u=w.id("bob"))
    assert found == {"t": None, "u": {"viewerBlocks": True}}


def _profile_says_blocked_and_shows_nothing(w: World) -> None:
    seen = w.ask("alice", PROFILE, name=w.name("bob"))["user"]
    assert seen["viewerBlocks"] is True
    for connection in ("tweets", "likes", "followers", "following"):
        assert seen[connection]["edges"] == [], connection
    other_way = w.ask("bob", PROFILE, name=w.name("alice"))["user"]
    assert other_way["blocksViewer"] is True and other_way["tweets"]["edges"] == []


def _carols_lists_leave_bob_out(w: World) -> None:
    seen = w.ask("alice", PROFILE, name=w.name("carol"))["user"]
    assert _texts(seen["likes"]) == ["carol plain"]
    followers = [e["node"]["follower"]["username"] for e in seen["followers"]["edges"]]
    following = [e["node"]["followee"]["username"] for e in seen["following"]["edges"]]
    assert followers == [w.name("alice")] and following == []
    carol_sees = w.ask("carol", PROFILE, name=w.name("carol"))["user"]
    assert w.name("bob") in str(carol_sees["followers"]) and len(_texts(carol_sees["likes"])) == 2


def _home(w: World) -> None:
    page = w.client.home(w.token("alice"), fields="text author { username } quoteOf { text }")
    authors = {edge["node"]["author"]["username"] for edge in page["edges"]}
    assert authors <= {w.name("alice"), w.name("carol")}
    assert "bob original" not in str(page)  # nor Carol's retweet of it
    quoting = [e["node"] for e in page["edges"] if e["node"]["text"] == "carol quoting"]
    assert [q["quoteOf"] for q in quoting] == [None]  # shown, without the blocked quoted
    assert "alice speaks" not in str(w.client.home(w.token("bob")))


def _search(w: World) -> None:
    assert _texts(w.ask("alice", SEARCH, q=w.word)["search"]) == [f"{w.word} alice speaks"]
    assert _texts(w.ask("bob", SEARCH, q=w.word)["search"]) == [f"{w.word} bob original"]


PEOPLE = "query($q: String!) { searchUsers(query: $q) { edges { node { username } } } }"


def _search_users(w: World) -> None:
    """Neither side finds the other by name; a bystander finds both."""
    found = lambda who, name: str(w.ask(who, PEOPLE, q=name)["searchUsers"])  # noqa: E731
    eventually(lambda: w.name("bob") in found("carol", w.name("bob")), timeout_s=15)
    eventually(lambda: w.name("alice") in found("carol", w.name("alice")), timeout_s=15)
    assert w.name("bob") not in found("alice", w.name("bob"))
    assert w.name("alice") not in found("bob", w.name("alice"))


def _links(w: World) -> None:
    answer = w.ask("alice", LINKS, id=w.tweets["CR"])["tweet"]
    assert answer["replyTo"] is None and answer["author"]["username"] == w.name("carol")
    assert w.ask("alice", LINKS, id=w.tweets["CQ"])["tweet"]["quoteOf"] is None
    assert w.ask("alice", LINKS, id=w.tweets["CM"])["tweet"]["mentions"] == []
    assert w.ask("carol", LINKS, id=w.tweets["CM"])["tweet"]["mentions"] == [
        {"username": w.name("bob")}
    ]
    assert _texts(w.ask("alice", LINKS, id=w.tweets["C1"])["tweet"]["replies"]) == []
    assert w.ask("alice", TWEET, id=w.tweets["CRT"])["tweet"] is None  # a retweet of Bob's
    assert w.ask("carol", LINKS, id=w.tweets["CRT"])["tweet"]["retweetOf"] is not None


def _follow_requests(w: World) -> None:
    query = "{ followRequests { edges { node { follower { username } } } } }"
    assert w.ask("alice", query)["followRequests"]["edges"] == []  # the block withdrew it


def _own_lists(w: World) -> None:
    query = "{ me { username blocked { edges { node { username } } } muted { edges { cursor } } } }"
    me = w.ask("alice", query)["me"]
    assert me["username"] == w.name("alice") and me["muted"]["edges"] == []
    assert [e["node"]["username"] for e in me["blocked"]["edges"]] == [w.name("bob")]
    other = "query($n: String!) { user(username: $n) { blocked { edges { cursor } } } }"
    assert w.code("bob", other, n=w.name("alice")) == "FORBIDDEN"


def _acting_on_hidden_tweets(w: World) -> None:
    for action in ("likeTweet", "unlikeTweet", "retweet", "undoRetweet"):
        query = f"mutation($id: ID!) {{ {action}(id: $id) {{ id }} }}"
        assert w.code("alice", query, id=w.tweets["B1"]) == "NOT_FOUND", action
        assert w.code("bob", query, id=w.tweets["A1"]) == "NOT_FOUND", action
    post = "mutation($i: PostTweetInput!) { postTweet(input: $i) { id } }"
    assert w.code("bob", post, i={"text": "x", "replyToId": w.tweets["A1"]}) == "NOT_FOUND"


def _following_each_other(w: World) -> None:
    follow = "mutation($id: ID!) { follow(userId: $id) { status user { username } } }"
    assert w.code("bob", follow, id=w.id("alice")) == "BLOCKED"
    assert w.code("alice", follow, id=w.id("bob")) == "BLOCKED"
    unfollow = "mutation($id: ID!) { unfollow(userId: $id) { status user { viewerBlocks } } }"
    assert w.ask("alice", unfollow, id=w.id("bob"))["unfollow"] == {
        "status": "NOT_FOLLOWING", "user": {"viewerBlocks": True}
    }  # fmt: skip
    for answer in ("approveFollowRequest", "rejectFollowRequest"):
        query = f"mutation($id: ID!) {{ {answer}(userId: $id) {{ status }} }}"
        assert w.code("alice", query, id=w.id("bob")) == "NOT_FOUND", answer


def _own_account(w: World) -> None:
    """Payloads that yield the viewer's own account."""
    query = 'mutation($l: String!) { logIn(login: $l, password: "correct horse battery") { refreshToken user { username } } }'  # noqa: E501
    logged = w.client.data(query, {"l": w.name("alice")})["logIn"]
    assert logged["user"]["username"] == w.name("alice")
    refresh = "mutation($r: String!) { refreshToken(refreshToken: $r) { user { username } } }"
    assert w.client.data(refresh, {"r": logged["refreshToken"]})["refreshToken"]["user"] == {
        "username": w.name("alice")
    }
    sign_up = """mutation($i: SignUpInput!) { signUp(input: $i) { user { viewerBlocks } } }"""
    name = unique("dave")
    data = {"username": name, "email": f"{name}@example.com", "password": "long enough pw"}
    assert w.client.data(sign_up, {"i": data})["signUp"]["user"] == {"viewerBlocks": False}
    update = 'mutation { updateProfile(input: {bio: "hi"}) { username } }'
    assert w.ask("alice", update)["updateProfile"] == {"username": w.name("alice")}
    assert w.ask("alice", "{ me { username } }")["me"] == {"username": w.name("alice")}


def _posting(w: World) -> None:
    post = "mutation($i: PostTweetInput!) { postTweet(input: $i) { text author { username } mentions { username } } }"  # noqa: E501
    made = w.ask("alice", post, i={"text": f"to @{w.name('bob')} and @{w.name('carol')}"})
    assert made["postTweet"]["mentions"] == [{"username": w.name("carol")}]  # Bob: not reached


def _relations_mutations(w: World) -> None:
    """block, unblock, mute and unmute answer with the account acted on."""
    assert w.ask("alice", BLOCK, id=w.id("bob"))["block"] == {"viewerBlocks": True}
    mute = "mutation($id: ID!) { mute(userId: $id) { viewerMutes tweets { edges { cursor } } } }"
    assert w.ask("alice", mute, id=w.id("bob"))["mute"] == {
        "viewerMutes": True, "tweets": {"edges": []}
    }  # fmt: skip
    unmute = "mutation($id: ID!) { unmute(userId: $id) { viewerMutes } }"
    assert w.ask("alice", unmute, id=w.id("bob"))["unmute"] == {"viewerMutes": False}
    # Unblocking and blocking again (last, so the other checks see the block in force).
    unblock = "mutation($id: ID!) { unblock(userId: $id) { viewerBlocks } }"
    assert w.ask("alice", unblock, id=w.id("bob"))["unblock"] == {"viewerBlocks": False}
    assert w.ask("alice", TWEET, id=w.tweets["B1"])["tweet"] is not None
    assert w.ask("alice", BLOCK, id=w.id("bob"))["block"] == {"viewerBlocks": True}


def _live(w: World) -> None:
    """A retweet of Bob's tweet by someone Alice follows is not delivered to her live."""
    http = w.client.http
    with http.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as socket:
        socket.send_text(
            json.dumps({"type": "connection_init", "payload": {"token": w.token("alice")}})
        )
        assert json.loads(socket.receive_text())["type"] == "connection_ack"
        query = "subscription { homeTimeline { type tweet { text author { username } } } }"
        socket.send_text(json.dumps({"type": "subscribe", "id": "1", "payload": {"query": query}}))
        retweet = "mutation($id: ID!) { retweet(id: $id) { id } }"
        w.ask("carol", retweet, id=w.tweets["B3"])  # hidden from Alice: must not arrive
        marker = f"marker {secrets.token_hex(2)}"
        w.client.post_tweet(w.token("carol"), marker)
        while (message := json.loads(socket.receive_text()))["type"] == "ping":
            socket.send_text(json.dumps({"type": "pong"}))
        event = message["payload"]["data"]["homeTimeline"]
        assert event["tweet"]["text"] == marker, event  # the retweet was never sent


def _moderation_is_for_moderators(w: World) -> None:
    """The queue and the log show reported content whatever the policy; only moderators
    (tests/resolvers/test_moderation.py) may read them or act."""
    for query in (
        "{ moderationQueue { edges { node { tweet { text } user { username } } } } }",
        "{ moderationLog { edges { node { tweet { text } user { username } } } } }",
    ):
        assert w.code("alice", query) == "FORBIDDEN"
    resolve = """mutation($t: ID!) { resolveReports(targetId: $t, action: DISMISS, note: "x") {
      user { username } } }"""
    assert w.code("alice", resolve, t=w.tweets["B1"]) == "FORBIDDEN"


NOTIFICATIONS = """{ notifications { edges { node {
  kind actors { username } tweet { text } } } } }"""


def _notifications(w: World) -> None:
    """Bob's follow request, made before the block, no longer shows in Alice's notifications
    (nor anything of hers in his), and live she hears of Carol's request and nothing of Bob."""
    seen = lambda who: w.ask(who, NOTIFICATIONS)["notifications"]["edges"]  # noqa: E731
    bobs = eventually(lambda: seen("bob"))  # Carol's likes, retweet, quote, reply, mention
    assert w.name("alice") not in str(bobs) and "alice speaks" not in str(bobs)
    assert w.name("bob") not in str(seen("alice")), seen("alice")
    http = w.client.http
    with http.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as socket:
        socket.send_text(
            json.dumps({"type": "connection_init", "payload": {"token": w.token("alice")}})
        )
        assert json.loads(socket.receive_text())["type"] == "connection_ack"
        query = "subscription { notifications { type notification { kind actors { username } } } }"
        socket.send_text(json.dumps({"type": "subscribe", "id": "1", "payload": {"query": query}}))
        w.client.follow(w.token("carol"), w.id("alice"))  # a request: Alice is protected
        while (message := json.loads(socket.receive_text()))["type"] == "ping":
            socket.send_text(json.dumps({"type": "pong"}))
        event = message["payload"]["data"]["notifications"]
        assert event["notification"] == {
            "kind": "FOLLOW_REQUEST", "actors": [{"username": w.name("carol")}]
        }  # fmt: skip
    assert w.name("bob") not in str(seen("alice"))


def _threads_mentions_and_hashtags(w: World) -> None:
    """Bob's reply is not in the conversation Alice reads, Bob's mentions of her never
    reached her, and his tweets are not among a hashtag's for her."""
    thread = """query($id: ID!) { tweet(id: $id) { conversation {
      ancestors { tweet { text } } edges { node { tweet { text } } } } } }"""
    assert "bob" not in str(w.ask("alice", thread, id=w.tweets["C1"]))
    assert "bob replies" in str(w.ask("carol", thread, id=w.tweets["C1"]))
    w.ask("bob", "mutation($i: PostTweetInput!) { postTweet(input: $i) { id } }",
          i={"text": f"@{w.name('alice')} after the block"})  # fmt: skip
    mentions = "{ me { mentions { edges { node { text author { username } } } } } }"
    assert w.ask("alice", mentions)["me"]["mentions"]["edges"] == []
    assert "hi @" in str(w.ask("bob", mentions))  # Carol's mention of Bob reaches him
    tag = f"h{w.word}"
    for who in ("bob", "carol"):
        w.ask(who, "mutation($i: PostTweetInput!) { postTweet(input: $i) { id } }",
              i={"text": f"#{tag} by {who}"})  # fmt: skip
    hashtag = "query($t: String!) { hashtag(tag: $t) { edges { node { text } } } }"
    everyone = lambda: w.client.data(hashtag, {"t": tag})["hashtag"]["edges"]  # noqa: E731
    eventually(lambda: len(everyone()) == 2)
    assert _texts(w.ask("alice", hashtag, t=tag)["hashtag"]) == [f"#{tag} by carol"]
    assert len(_texts(w.ask("bob", hashtag, t=tag)["hashtag"])) == 2  # no block between them


ENGAGEMENT = """query($id: ID!) { tweet(id: $id) { likedBy { edges { node { username } } }
  retweetedBy { edges { node { username } } }
  quotes { edges { node { text author { username } } } } } }"""


def _engagement_lists(w: World) -> None:
    """Bob likes, retweets and quotes Carol's tweet, and so does Alice (protected): neither
    sees the other in its lists, and Carol, who does not follow Alice, misses her quote."""
    post = "mutation($i: PostTweetInput!) { postTweet(input: $i) { id } }"
    for who in ("bob", "alice"):
        w.ask(who, "mutation($id: ID!) { likeTweet(id: $id) { id } }", id=w.tweets["C1"])
        w.ask(who, post, i={"text": f"{who} quotes carol", "quoteOfId": w.tweets["C1"]})
    w.ask("bob", "mutation($id: ID!) { retweet(id: $id) { id } }", id=w.tweets["C1"])
    seen = {who: w.ask(who, ENGAGEMENT, id=w.tweets["C1"])["tweet"] for who in w.people}
    assert w.name("bob") not in str(seen["alice"]) and "bob quotes" not in str(seen["alice"])
    assert w.name("alice") not in str(seen["bob"]) and "alice quotes" not in str(seen["bob"])
    assert "alice quotes" in str(seen["alice"]) and "alice quotes" not in str(seen["carol"])
    assert w.name("bob") in str(seen["carol"]["likedBy"]) and "bob quotes" in str(seen["carol"])
    assert w.name("bob") in str(seen["carol"]["retweetedBy"])


PINNED = "query($n: String!) { user(username: $n) { pinnedTweet { text } } }"
BOOKMARKS = "{ me { bookmarks { edges { node { text author { username } } } } } }"


def _bookmarks_and_pins(w: World) -> None:
    """Alice's bookmark of Bob's tweet, made before she blocks him again, is left out; no
    one bookmarks or pins what is hidden from them; pinned tweets follow the policy."""
    bookmark = "mutation($id: ID!) { bookmark(id: $id) { text } }"
    unbookmark = "mutation($id: ID!) { unbookmark(id: $id) { text } }"
    w.ask("alice", "mutation($id: ID!) { unblock(userId: $id) { id } }", id=w.id("bob"))
    for tweet in ("B1", "C1"):
        w.ask("alice", bookmark, id=w.tweets[tweet])
    w.ask("alice", BLOCK, id=w.id("bob"))
    assert _texts(w.ask("alice", BOOKMARKS)["me"]["bookmarks"]) == ["carol plain"]
    assert w.code("alice", bookmark, id=w.tweets["B3"]) == "NOT_FOUND"
    assert w.code("bob", bookmark, id=w.tweets["A1"]) == "NOT_FOUND"
    assert w.ask("alice", unbookmark, id=w.tweets["B1"])["unbookmark"] is None
    assert w.ask("bob", BOOKMARKS)["me"]["bookmarks"]["edges"] == []
    theirs = "query($n: String!) { user(username: $n) { bookmarks { edges { cursor } } } }"
    assert w.code("bob", theirs, n=w.name("alice")) == "FORBIDDEN"

    pin = "mutation($id: ID!) { pinTweet(id: $id) { pinnedTweet { text } } }"
    assert w.code("alice", pin, id=w.tweets["B1"]) == "NOT_FOUND"
    assert w.code("carol", pin, id=w.tweets["B1"]) == "FORBIDDEN"
    assert w.ask("bob", pin, id=w.tweets["B1"])["pinTweet"]["pinnedTweet"] is not None
    assert w.ask("alice", pin, id=w.tweets["A1"])["pinTweet"]["pinnedTweet"] is not None
    pinned = lambda who, whose: w.ask(who, PINNED, n=w.name(whose))["user"]["pinnedTweet"]  # noqa: E731
    assert pinned("alice", "bob") is None and pinned("bob", "alice") is None
    assert pinned("carol", "alice") is None  # protected: Carol does not follow Alice
    assert pinned("carol", "bob") == {"text": f"{w.word} bob original"}
    unpin = "mutation { unpinTweet { pinnedTweet { text } } }"
    assert w.ask("bob", unpin)["unpinTweet"] == {"pinnedTweet": None}


DELETED = "{ me { deletedTweets { edges { node { tweet { text author { username } } } } } } }"


def _deleted_tweets(w: World) -> None:
    """Only its author lists or restores a deleted tweet, blocked or not."""
    tweet = w.client.post_tweet(w.token("bob"), "bob takes it back")["id"]
    w.ask("bob", "mutation($id: ID!) { deleteTweet(id: $id) }", id=tweet)
    listed = w.ask("bob", DELETED)["me"]["deletedTweets"]["edges"]
    assert [e["node"]["tweet"]["author"]["username"] for e in listed] == [w.name("bob")]
    theirs = "query($n: String!) { user(username: $n) { deletedTweets { edges { cursor } } } }"
    assert w.code("alice", theirs, n=w.name("bob")) == "FORBIDDEN"
    assert w.code("carol", theirs, n=w.name("bob")) == "FORBIDDEN"
    restore = "mutation($id: ID!) { restoreTweet(id: $id) { text author { username } } }"
    assert w.code("alice", restore, id=tweet) == "FORBIDDEN"
    assert w.ask("bob", restore, id=tweet)["restoreTweet"]["text"] == "bob takes it back"
    assert w.ask("alice", TWEET, id=tweet)["tweet"] is None  # restored, still blocked


CHECKS: dict[str, Callable[[World], None]] = {
    "Query.me": _own_account,
    "Query.user": _profile_says_blocked_and_shows_nothing,
    "Query.tweet": _tweet_hidden_both_ways,
    "Query.node": _node,
    "Query.followRequests": _follow_requests,
    "Query.homeTimeline": _home,
    "Query.search": _search,
    "Query.searchUsers": _search_users,
    "Subscription.homeTimeline": _live,
    "Query.notifications": _notifications,
    "Query.hashtag": _threads_mentions_and_hashtags,
    "Tweet.conversation": _threads_mentions_and_hashtags,
    "User.mentions": _threads_mentions_and_hashtags,
    "Subscription.notifications": _notifications,
    "Query.moderationQueue": _moderation_is_for_moderators,
    "Query.moderationLog": _moderation_is_for_moderators,
    "Mutation.resolveReports": _moderation_is_for_moderators,
    "Mutation.signUp": _own_account,
    "Mutation.logIn": _own_account,
    "Mutation.refreshToken": _own_account,
    "Mutation.updateProfile": _own_account,
    "Mutation.postTweet": _posting,
    "Mutation.likeTweet": _acting_on_hidden_tweets,
    "Mutation.unlikeTweet": _acting_on_hidden_tweets,
    "Mutation.retweet": _acting_on_hidden_tweets,
    "Mutation.undoRetweet": _acting_on_hidden_tweets,
    "Mutation.follow": _following_each_other,
    "Mutation.unfollow": _following_each_other,
    "Mutation.approveFollowRequest": _following_each_other,
    "Mutation.rejectFollowRequest": _following_each_other,
    "Mutation.block": _relations_mutations,
    "Mutation.unblock": _relations_mutations,
    "Mutation.mute": _relations_mutations,
    "Mutation.unmute": _relations_mutations,
    "Tweet.author": _home,
    "Tweet.replyTo": _links,
    "Tweet.quoteOf": _links,
    "Tweet.retweetOf": _links,
    "Tweet.mentions": _links,
    "Tweet.replies": _links,
    "User.tweets": _profile_says_blocked_and_shows_nothing,
    "User.likes": _carols_lists_leave_bob_out,
    "User.followers": _carols_lists_leave_bob_out,
    "User.following": _carols_lists_leave_bob_out,
    "User.blocked": _own_lists,
    "User.muted": _own_lists,
    "Tweet.likedBy": _engagement_lists,
    "Tweet.retweetedBy": _engagement_lists,
    "Tweet.quotes": _engagement_lists,
    "User.bookmarks": _bookmarks_and_pins,
    "User.pinnedTweet": _bookmarks_and_pins,
    "Mutation.bookmark": _bookmarks_and_pins,
    "Mutation.unbookmark": _bookmarks_and_pins,
    "Mutation.pinTweet": _bookmarks_and_pins,
    "Mutation.unpinTweet": _bookmarks_and_pins,
    "User.deletedTweets": _deleted_tweets,
    "Mutation.restoreTweet": _deleted_tweets,
}


def test_every_field_that_yields_tweets_or_users_has_a_policy_check() -> None:
    fields = _fields_yielding_tweets_or_users()
    assert "Query.homeTimeline" in fields and "Tweet.author" in fields  # the walk works
    unchecked = sorted(fields - CHECKS.keys())
    assert not unchecked, f"fields with no policy check: {unchecked}"
    assert not CHECKS.keys() - fields, f"checks for fields gone: {sorted(CHECKS.keys() - fields)}"


@pytest.fixture(params=PROFILES)
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    with app_on(request.param, tmp_path) as client:
        yield _build_world(client)


def test_the_policy_holds_on_every_field(world: World) -> None:
    failures = []
    for check in dict.fromkeys(CHECKS.values()):  # each check once, in order
        try:
            check(world)
        except AssertionError as error:
            failures.append(f"{check.__name__}: {error}")
    assert not failures, "\n".join(failures)
