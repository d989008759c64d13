"""A tweet's conversation: ancestors up to the root, then the replies below it as a tree,
for one reader (app/conversations.py lays it out; this module applies the read policy and
pages it)."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from app.context import Context
from app.conversations import THREAD_LIMIT, Order, Placed, Thread, layout
from app.cursors import thread_cursor
from schema.enum_values import described
from schema.node import to_global_id
from schema.timeline import CURSOR, PageInfo
from storage.records import ConversationEntry, TweetRecord

if TYPE_CHECKING:
    from schema.tweet import Tweet

Info = strawberry.Info[Context, None]
TweetRef = Annotated["Tweet", strawberry.lazy("schema.tweet")]


@strawberry.enum(
    description="How the replies of a conversation are ordered among siblings; the author's "
    "own replies (their self-thread) come first, oldest first, in every order."
)
class ConversationOrder(Enum):
    RANKED = described(
        "ranked", description="Most engagement first (likes, retweets and replies), then newest."
    )
    NEWEST = described("newest", description="Newest first.")
    OLDEST = described("oldest", description="Oldest first.")


@strawberry.type(description="A tweet's place in a conversation.")
class ConversationEntryNode:
    tweet_id: strawberry.ID = strawberry.field(
        description="The tweet's global id, also for a placeholder."
    )
    depth: int = strawberry.field(description="Replies below the root (the root is 0).")
    unavailable: bool = strawberry.field(
        description="A tweet the viewer may not see (deleted, hidden, blocked, protected), "
        "kept as a placeholder so the chain is not broken; `tweet` is then null."
    )
    record: strawberry.Private[TweetRecord | None]

    @strawberry.field(description="The tweet; null when `unavailable`.")
    def tweet(self) -> TweetRef | None:
        from schema.tweet import Tweet

        return Tweet.from_record(self.record) if self.record is not None else None


@strawberry.type(description="A reply in a conversation, with its cursor.")
class ConversationEdge:
    cursor: str = strawberry.field(description=CURSOR)
    node: ConversationEntryNode = strawberry.field(description="The reply and its depth.")


@strawberry.type(
    description="Ancestors up to the root, then the replies below the tweet, depth first: "
    "its author's own self-thread first, then the others in the order asked for. Only the "
    f"first {THREAD_LIMIT:,} tweets of a thread are laid out."
)
class Conversation:
    ancestors: list[ConversationEntryNode] = strawberry.field(
        description="Root first, down to the tweet's parent (on every page)."
    )
    edges: list[ConversationEdge] = strawberry.field(
        description="A page of the replies below the tweet, depth first."
    )
    page_info: PageInfo = strawberry.field(description="Where this page ends.")


async def conversation(
    info: Info,
    focus: TweetRecord,
    first: int,
    after: tuple[int, int] | None,
    order: ConversationOrder,
) -> Conversation:
    loaders = info.context.loaders
    if focus.retweet_of_tweet_id is not None:  # a retweet stands for its original's thread
        original = await loaders.visible_tweet_by_id.load(focus.retweet_of_tweet_id)
        if original is None:
            return Conversation(
                ancestors=[], edges=[], page_info=PageInfo(has_next_page=False, end_cursor=None)
            )
        focus = original
    root = focus.conversation_id if focus.conversation_id is not None else focus.id
    entries = await info.context.chirp.stores.tweets.conversation(root, THREAD_LIMIT)
    visible = await _visible(info, entries) | {focus.id}
    ranked = Order(order.value) is Order.RANKED
    engagement = await _engagement(info, [e.tweet_id for e in entries]) if ranked else {}
    thread = layout(entries, focus.id, visible, Order(order.value), engagement)
    start = _start(thread, after)
    page = thread.replies[start : start + first]
    shown = [p.tweet_id for p in thread.ancestors + page if p.shown]
    tweets = dict(zip(shown, await loaders.visible_tweet_by_id.load_many(shown), strict=True))
    # The page's tweets are views (app/views.py: a cache call, no store write).
    await info.context.chirp.views.seen(info.context.viewer_id, [i for i in shown if tweets[i]])
    edges = [
        ConversationEdge(cursor=thread_cursor(start + n, p.tweet_id), node=_node(p, tweets))
        for n, p in enumerate(page)
    ]
    more = start + first < len(thread.replies)
    return Conversation(
        ancestors=[_node(p, tweets) for p in thread.ancestors],
        edges=edges,
        page_info=PageInfo(has_next_page=more, end_cursor=edges[-1].cursor if edges else None),
    )


async def _visible(info: Info, entries: list[ConversationEntry]) -> set[int]:
    """The thread's tweets the viewer may see, decided from the thread's entries and the
    authors (one batch of users, one of follows for protected authors), not tweet by tweet."""
    loaders = info.context.loaders
    policy = await loaders.policy()
    authors = list({e.author_id for e in entries})
    users = dict(zip(authors, await loaders.user_by_id.load_many(authors), strict=True))
    protected = [
        a for a, user in users.items() if user is not None and policy.needs_follow_check(user)
    ]
    follows: dict[int, bool] = {}
    if protected and loaders.followed_by_viewer is not None:
        found = await loaders.followed_by_viewer.load_many(protected)
        follows = dict(zip(protected, found, strict=True))
    return {
        e.tweet_id
        for e in entries
        if not e.deleted
        and (author := users[e.author_id]) is not None
        and policy.sees_tweets_of(author, follows.get(e.author_id, False))
    }


async def _engagement(info: Info, tweet_ids: list[int]) -> dict[int, int]:
    counts = await info.context.loaders.tweet_counts_by_id.load_many(tweet_ids)
    return {c.tweet_id: c.likes + c.retweets + c.replies for c in counts}


def _start(thread: Thread, after: tuple[int, int] | None) -> int:
    """Where a page after the cursor begins: after its tweet where it now is (a ranked
    order may have moved it), else at the cursor's place."""
    if after is None:
        return 0
    index, tweet_id = after
    for n, placed in enumerate(thread.replies):
        if placed.tweet_id == tweet_id:
            return n + 1
    return min(index + 1, len(thread.replies))


def _node(placed: Placed, tweets: dict[int, Any]) -> ConversationEntryNode:
    record = tweets.get(placed.tweet_id) if placed.shown else None
    return ConversationEntryNode(
        tweet_id=to_global_id("Tweet", placed.tweet_id),
        depth=placed.depth,
        unavailable=record is None,
        record=record,
    )
