"""The Tweet type: plain fields from the record, the rest through the request's loaders."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from aiodataloader import DataLoader

from app.context import Context
from app.cursors import decode_position, decode_thread_cursor
from app.policy import deactivated
from app.services.media import DOWNLOAD_URL_TTL_S, content_type_of, media_id_of
from loaders.prefetch import TweetExtras
from schema.conversation import Conversation, ConversationOrder, conversation
from schema.engagement import EngagerConnection, engagers, tweets_listed
from schema.media import Media
from schema.node import Node, to_global_id
from schema.timeline import DEFAULT_PAGE, After, First, Timeline, page_size
from storage.records import TweetCounts, TweetRecord, UserRecord

if TYPE_CHECKING:
    from schema.user import User

Info = strawberry.Info[Context, None]
UserRef = Annotated["User", strawberry.lazy("schema.user")]


@strawberry.type(
    description="A tweet, a reply, a quote or a retweet. A retweet has empty `text` and no "
    "likes, retweets or replies of its own: the original is `retweetOf`, and liking, "
    "retweeting or bookmarking a retweet acts on the original."
)
class Tweet(Node):
    database_id: str = strawberry.field(description="The Snowflake id, as a decimal string.")
    text: str = strawberry.field(
        description="Up to 280 characters (NFC-normalized), newlines allowed; empty for a "
        "retweet, and may be empty for a tweet with media."
    )
    created_at: datetime = strawberry.field(description="When it was posted.")
    hashtags: list[str] = strawberry.field(
        description="Its #hashtags, lowercased and without the #, in order of first use."
    )
    language: str | None = strawberry.field(
        description="The language tag the posting client gave (such as en or pt-BR), or null."
    )
    source: str | None = strawberry.field(
        description="The name the posting client gave for itself, or null."
    )
    record: strawberry.Private[TweetRecord]
    extras: strawberry.Private[TweetExtras | None] = None

    @classmethod
    def from_record(cls, record: TweetRecord, extras: TweetExtras | None = None) -> Tweet:
        return cls(
            id=to_global_id("Tweet", record.id),
            database_id=str(record.id),
            text=record.text,
            created_at=record.created_at,
            hashtags=list(record.hashtags),
            language=record.language,
            source=record.source,
            record=record,
            extras=extras,
        )

    # The fields below answer from the page's prefetch when there is one (a plain lookup),
    # and otherwise return an awaitable that goes through the request's loaders.

    @strawberry.field(
        graphql_type=UserRef, description="Who posted it (for a retweet: who retweeted)."
    )
    def author(self, info: Info) -> User | Awaitable[User]:
        authors = self.extras.authors if self.extras else None
        if authors is not None:
            return _user(self.record, authors.get(self.record.user_id))
        return self._load_author(info)

    async def _load_author(self, info: Info) -> User:
        return _user(self.record, await info.context.loaders.user_by_id.load(self.record.user_id))

    async def _linked(self, info: Info, tweet_id: int | None) -> Tweet | None:
        if tweet_id is None:
            return None
        tweet = await info.context.loaders.visible_tweet_by_id.load(tweet_id)
        return Tweet.from_record(tweet) if tweet is not None else None

    @strawberry.field(
        description="The tweet this replies to; null if it is not a reply, or if the "
        "viewer may not see that tweet (deleted, hidden, blocked, protected)."
    )
    async def reply_to(self, info: Info) -> Tweet | None:
        return await self._linked(info, self.record.reply_to_tweet_id)

    @strawberry.field(
        description="The tweet this quotes; null if it quotes none, or if the viewer may "
        "not see that tweet."
    )
    async def quote_of(self, info: Info) -> Tweet | None:
        return await self._linked(info, self.record.quote_tweet_id)

    @strawberry.field(
        description="For a retweet, the tweet retweeted; null for any other tweet, or if the "
        "viewer may not see the original."
    )
    async def retweet_of(self, info: Info) -> Tweet | None:
        return await self._linked(info, self.record.retweet_of_tweet_id)

    @strawberry.field(
        description="The images and videos attached (up to 4), in the order they were given."
    )
    async def media(self, info: Info) -> list[Media]:
        store = info.context.chirp.stores.media
        urls = await asyncio.gather(
            *(store.download_url(key, DOWNLOAD_URL_TTL_S) for key in self.record.media_urls)
        )
        return [
            Media(id=strawberry.ID(media_id_of(key)), url=url, content_type=content_type_of(key))
            for key, url in zip(self.record.media_urls, urls, strict=True)
        ]

    @strawberry.field(
        description="The accounts its text @mentions (up to 20), leaving out those blocked "
        "either way with the viewer and deleted accounts."
    )
    async def mentions(self, info: Info) -> list[UserRef]:
        from schema.user import User

        policy = await info.context.loaders.policy()
        shown = policy.listed(self.record.mentions)
        users = await info.context.loaders.user_by_id.load_many(shown)
        return [User.from_record(u) for u in users if u is not None and not deactivated(u)]

    def _count(self, info: Info, pick: Callable[[TweetCounts], int]) -> int | Awaitable[int]:
        counts = self.extras.counts if self.extras else None
        if counts is not None:
            return pick(counts[self.record.id])
        return self._load_count(info, pick)

    async def _load_count(self, info: Info, pick: Callable[[TweetCounts], int]) -> int:
        return pick(await info.context.loaders.tweet_counts_by_id.load(self.record.id))

    @strawberry.field(graphql_type=int, description="How many accounts liked it.")
    def like_count(self, info: Info) -> int | Awaitable[int]:
        return self._count(info, lambda counts: counts.likes)

    @strawberry.field(graphql_type=int, description="How many accounts retweeted it.")
    def retweet_count(self, info: Info) -> int | Awaitable[int]:
        return self._count(info, lambda counts: counts.retweets)

    @strawberry.field(
        graphql_type=int, description="How many replies it has (deleted ones not counted)."
    )
    def reply_count(self, info: Info) -> int | Awaitable[int]:
        return self._count(info, lambda counts: counts.replies)

    @strawberry.field(
        graphql_type=int,
        description="How many times logged-in viewers were shown it, each viewer counted once "
        "per window (6 hours by default); approximate, and a few seconds behind.",
    )
    def view_count(self, info: Info) -> int | Awaitable[int]:
        return self._count(info, lambda counts: counts.views)

    @strawberry.field(
        graphql_type=bool, description="Has the viewer liked it (false when logged out)."
    )
    def viewer_has_liked(self, info: Info) -> bool | Awaitable[bool]:
        liked = self.extras.liked if self.extras else None
        if liked is not None:
            return liked[self.record.id]
        return _viewer_flag(info.context.loaders.liked_by_viewer, self.record.id)

    @strawberry.field(
        graphql_type=bool, description="Has the viewer retweeted it (false when logged out)."
    )
    def viewer_has_retweeted(self, info: Info) -> bool | Awaitable[bool]:
        retweeted = self.extras.retweeted if self.extras else None
        if retweeted is not None:
            return retweeted[self.record.id]
        return _viewer_flag(info.context.loaders.retweeted_by_viewer, self.record.id)

    @strawberry.field(description="Has the viewer bookmarked this tweet (only they can tell).")
    async def viewer_has_bookmarked(self, info: Info) -> bool:
        return await _viewer_flag(info.context.loaders.bookmarked_by_viewer, self.record.id)

    @strawberry.field(description="Accounts that liked this tweet, the most recent like first.")
    async def liked_by(
        self, info: Info, first: First = DEFAULT_PAGE, after: After = None
    ) -> EngagerConnection:
        likers = info.context.chirp.stores.engagement.likers_page
        return await engagers(info, likers, self.record.id, first, after)

    @strawberry.field(description="Accounts that retweeted this tweet, the most recent first.")
    async def retweeted_by(
        self, info: Info, first: First = DEFAULT_PAGE, after: After = None
    ) -> EngagerConnection:
        retweeters = info.context.chirp.stores.engagement.retweeters_page
        return await engagers(info, retweeters, self.record.id, first, after)

    @strawberry.field(description="Tweets quoting this tweet, newest first.")
    async def quotes(
        self, info: Info, first: First = DEFAULT_PAGE, after: After = None
    ) -> Timeline:
        quotes = info.context.chirp.stores.engagement.quotes_page
        return await tweets_listed(info, quotes, self.record.id, first, after)

    @strawberry.field(
        description="The direct replies to this tweet that the viewer may see, newest first "
        "(`conversation` gives the whole thread)."
    )
    async def replies(
        self, info: Info, first: First = DEFAULT_PAGE, after: After = None
    ) -> Timeline:
        page = await info.context.loaders.pages.replies(
            self.record.id, page_size(first), decode_position(after)
        )
        return await Timeline.build(info, page)

    @strawberry.field(
        description="The thread: ancestors up to the root, then the replies below this "
        "tweet as a tree, depth first (its author's self-thread first, then the others, "
        "RANKED by engagement, NEWEST or OLDEST first)."
    )
    async def conversation(
        self,
        info: Info,
        first: First = DEFAULT_PAGE,
        after: After = None,
        order: Annotated[
            ConversationOrder,
            strawberry.argument(
                description="How the replies are ordered (the author's self-thread comes "
                "first either way)."
            ),
        ] = ConversationOrder.RANKED,
    ) -> Conversation:
        size, cursor = page_size(first), decode_thread_cursor(after)
        return await conversation(info, self.record, size, cursor, order)


def _user(tweet: TweetRecord, user: UserRecord | None) -> User:
    from schema.user import User

    if user is None:  # an author row is written before any of their tweets
        raise LookupError(f"tweet {tweet.id} has no author {tweet.user_id}")
    return User.from_record(user)


async def _viewer_flag(loader: DataLoader[int, bool] | None, tweet_id: int) -> bool:
    return loader is not None and await loader.load(tweet_id)
