"""The User type and its connections."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from app.context import Context
from app.cursors import decode_id_cursor, decode_position
from app.errors import Forbidden
from app.policy import deactivated, suspended
from app.services.safety import relations_page
from schema.deleted_tweet import DeletedTweetConnection, deleted_tweets
from schema.engagement import pinned_tweet, tweets_listed
from schema.export import DataExport
from schema.follow import Follow, FollowConnection
from schema.node import Node, to_global_id
from schema.safety import AccountConnection, MutedWord
from schema.timeline import DEFAULT_PAGE, After, First, Timeline, page_size
from storage.records import RelationEdge, UserRecord, UserStats

if TYPE_CHECKING:
    from schema.tweet import Tweet

Info = strawberry.Info[Context, None]
TweetRef = Annotated["Tweet", strawberry.lazy("schema.tweet")]


@strawberry.type(
    description="An account. What the viewer may not see of it (a block either way, a "
    "suspension, a protected account they do not follow) comes back empty, not as an error."
)
class User(Node):
    database_id: str = strawberry.field(description="The Snowflake id, as a decimal string.")
    username: str = strawberry.field(
        description="1 to 15 letters, digits or underscores; unique regardless of case."
    )
    display_name: str = strawberry.field(description="The name shown, up to 50 characters.")
    bio: str | None = strawberry.field(
        description="Up to 160 characters, newlines allowed; null when not set."
    )
    location: str | None = strawberry.field(description="Up to 100 characters; null when not set.")
    website: str | None = strawberry.field(
        description="An http:// or https:// URL; null when not set."
    )
    profile_image_url: str | None = strawberry.field(
        description="An http:// or https:// URL of the avatar; null when not set."
    )
    banner_image_url: str | None = strawberry.field(
        description="An http:// or https:// URL of the profile banner; null when not set."
    )
    verified: bool = strawberry.field(
        description="Verified by Chirp's operators; no mutation changes it."
    )
    protected: bool = strawberry.field(
        description="Only approved followers see its tweets, likes and follow lists, and "
        "following it sends a follow request (set by updateSettings' privateAccount)."
    )
    created_at: datetime = strawberry.field(description="When the account was created.")
    record: strawberry.Private[UserRecord]

    @classmethod
    def from_record(cls, record: UserRecord) -> User:
        return cls(
            id=to_global_id("User", record.id),
            database_id=str(record.id),
            username=record.username,
            display_name=record.display_name,
            bio=record.bio,
            location=record.location,
            website=record.website,
            profile_image_url=record.profile_image_url,
            banner_image_url=record.banner_image_url,
            verified=record.verified,
            protected=record.protected,
            created_at=record.created_at,
            record=record,
        )

    async def _stats(self, info: Info) -> UserStats:
        stats = await info.context.loaders.user_stats_by_id.load(self.record.id)
        return stats or UserStats(user_id=self.record.id)

    @strawberry.field(description="How many accounts follow this user.")
    async def followers_count(self, info: Info) -> int:
        return max(0, (await self._stats(info)).followers_count)

    @strawberry.field(description="How many accounts this user follows.")
    async def following_count(self, info: Info) -> int:
        return max(0, (await self._stats(info)).following_count)

    @strawberry.field(
        description="How many tweets, replies and retweets this user has (deleted ones "
        "not counted)."
    )
    async def tweets_count(self, info: Info) -> int:
        return max(0, (await self._stats(info)).tweets_count)

    @strawberry.field(description="How many tweets this user has liked.")
    async def likes_count(self, info: Info) -> int:
        return max(0, (await self._stats(info)).likes_count)

    @strawberry.field(description="Chirp has no lists yet: always 0.")
    async def lists_count(self, info: Info) -> int:
        return max(0, (await self._stats(info)).lists_count)

    @strawberry.field(description="Does the viewer follow this user.")
    async def viewer_follows(self, info: Info) -> bool:
        loader = info.context.loaders.followed_by_viewer
        return loader is not None and await loader.load(self.record.id)

    @strawberry.field(description="Does this user follow the viewer.")
    async def follows_viewer(self, info: Info) -> bool:
        loader = info.context.loaders.follows_viewer
        return loader is not None and await loader.load(self.record.id)

    @strawberry.field(description="Is a follow request from the viewer to this user pending.")
    async def viewer_has_requested(self, info: Info) -> bool:
        loader = info.context.loaders.requested_by_viewer
        return loader is not None and await loader.load(self.record.id)

    @strawberry.field(description="Suspended by a moderator: nothing of theirs is shown.")
    def suspended(self) -> bool:
        return suspended(self.record)

    @strawberry.field(description="Does the viewer block this user.")
    async def viewer_blocks(self, info: Info) -> bool:
        return self.record.id in (await info.context.loaders.policy()).relations.blocking

    @strawberry.field(
        description="Does this user block the viewer (then nothing of theirs is shown)."
    )
    async def blocks_viewer(self, info: Info) -> bool:
        return self.record.id in (await info.context.loaders.policy()).relations.blocked_by

    @strawberry.field(description="Does the viewer mute this user.")
    async def viewer_mutes(self, info: Info) -> bool:
        return self.record.id in (await info.context.loaders.policy()).relations.muting

    async def _may_see_tweets(self, info: Info) -> bool:
        """The policy's answer for this account's tweets, likes and follow lists."""
        policy = await info.context.loaders.policy()
        follows = False
        loader = info.context.loaders.followed_by_viewer
        if policy.needs_follow_check(self.record) and loader is not None:
            follows = await loader.load(self.record.id)
        return policy.sees_tweets_of(self.record, follows)

    @strawberry.field(
        description="What this user posted (tweets, replies and retweets), newest first: the "
        "profile page. Empty when the viewer may not see this user's tweets."
    )
    async def tweets(
        self, info: Info, first: First = DEFAULT_PAGE, after: After = None
    ) -> Timeline:
        size, position = page_size(first), decode_position(after)
        if not await self._may_see_tweets(info):
            return Timeline.empty()
        page = await info.context.loaders.pages.author(self.record.id, size, position)
        return await Timeline.build(info, page)

    @strawberry.field(
        description="Tweets that mention this user, newest first: only for the user themself "
        "(null for anyone else)."
    )
    async def mentions(
        self, info: Info, first: First = DEFAULT_PAGE, after: After = None
    ) -> Timeline | None:
        size, position = page_size(first), decode_position(after)
        if info.context.viewer_id != self.record.id:
            return None
        page = await info.context.loaders.pages.mentions(self.record.id, size, position)
        return await Timeline.build(info, page)

    @strawberry.field(
        description="The user's latest data export (requestDataExport): only for the user "
        "themself, null for anyone else or before one was requested."
    )
    async def data_export(self, info: Info) -> DataExport | None:
        if info.context.viewer_id != self.record.id:
            return None
        export = await info.context.loaders.data_export_by_user_id.load(self.record.id)
        return DataExport.from_record(export) if export is not None else None

    @strawberry.field(
        description="Tweets this user liked, most recent like first. Empty when the viewer "
        "may not see this user's tweets."
    )
    async def likes(self, info: Info, first: First = DEFAULT_PAGE, after: After = None) -> Timeline:
        size, position = page_size(first), decode_position(after)
        if not await self._may_see_tweets(info):
            return Timeline.empty()
        page = await info.context.loaders.pages.likes(self.record.id, size, position)
        return await Timeline.build(info, page)

    @strawberry.field(
        description="Who follows this user, ordered by account id (not by when they "
        "followed). Empty when the viewer may not see this user's tweets."
    )
    async def followers(
        self, info: Info, first: First = DEFAULT_PAGE, after: After = None
    ) -> FollowConnection:
        size, cursor = page_size(first), decode_id_cursor(after)
        if not await self._may_see_tweets(info):
            return FollowConnection.empty()
        page = await info.context.loaders.pages.followers(self.record.id, size, cursor)
        return FollowConnection.from_edges(
            [
                Follow(
                    follower_id=e.other_id,
                    followee_id=e.user_id,
                    followed_at=e.followed_at,
                    cursor_id=e.other_id,
                )
                for e in page.edges
            ],
            page.has_next,
        )

    @strawberry.field(
        description="Whom this user follows, ordered by account id (not by when). Empty "
        "when the viewer may not see this user's tweets."
    )
    async def following(
        self, info: Info, first: First = DEFAULT_PAGE, after: After = None
    ) -> FollowConnection:
        size, cursor = page_size(first), decode_id_cursor(after)
        if not await self._may_see_tweets(info):
            return FollowConnection.empty()
        page = await info.context.loaders.pages.following(self.record.id, size, cursor)
        return FollowConnection.from_edges(
            [
                Follow(
                    follower_id=e.user_id,
                    followee_id=e.other_id,
                    followed_at=e.followed_at,
                    cursor_id=e.other_id,
                )
                for e in page.edges
            ],
            page.has_next,
        )

    def _own(self, info: Info, what: str) -> int:
        viewer = info.context.require_viewer()
        if viewer != self.record.id:
            raise Forbidden(f"Only the account itself can read its {what}.")
        return viewer

    @strawberry.field(
        description="Accounts you block, ordered by account id. Only on `me`: FORBIDDEN on "
        "anyone else."
    )
    async def blocked(
        self, info: Info, first: First = DEFAULT_PAGE, after: After = None
    ) -> AccountConnection:
        size, cursor = page_size(first), decode_id_cursor(after)
        viewer = self._own(info, "blocks")
        edges, more = await relations_page(
            info.context.chirp.stores, "blocked", viewer, size, cursor
        )
        return AccountConnection.from_edges(await _existing(info, edges), more)

    @strawberry.field(
        description="Accounts you mute, while their mute lasts, ordered by account id. Only "
        "on `me`: FORBIDDEN on anyone else."
    )
    async def muted(
        self, info: Info, first: First = DEFAULT_PAGE, after: After = None
    ) -> AccountConnection:
        size, cursor = page_size(first), decode_id_cursor(after)
        viewer = self._own(info, "mutes")
        edges, more = await relations_page(info.context.chirp.stores, "muted", viewer, size, cursor)
        return AccountConnection.from_edges(await _existing(info, edges), more)

    @strawberry.field(
        description="Words and #hashtags you mute, A to Z. Only on `me`: FORBIDDEN on anyone else."
    )
    async def muted_words(self, info: Info) -> list[MutedWord]:
        viewer = self._own(info, "muted words")
        words = await info.context.chirp.services.muted_words.current(viewer)
        return [MutedWord.from_record(word) for word in words]

    @strawberry.field(
        description="Tweets you bookmarked, the most recent first, leaving out any you may "
        "no longer see. Only on `me`: FORBIDDEN on anyone else."
    )
    async def bookmarks(
        self, info: Info, first: First = DEFAULT_PAGE, after: After = None
    ) -> Timeline:
        viewer = self._own(info, "bookmarks")
        bookmarks = info.context.chirp.stores.engagement.bookmarks_page
        return await tweets_listed(info, bookmarks, viewer, first, after)

    @strawberry.field(
        description="Your deleted tweets you may still restore, newest deletion first. Only "
        "on `me`: FORBIDDEN on anyone else."
    )
    async def deleted_tweets(
        self, info: Info, first: First = DEFAULT_PAGE, after: After = None
    ) -> DeletedTweetConnection:
        viewer = self._own(info, "deleted tweets")
        return await deleted_tweets(info, viewer, first, after)

    @strawberry.field(
        description="The tweet this user pinned to their profile; null if none, or if you "
        "may not see it (deleted, or hidden from you)."
    )
    async def pinned_tweet(self, info: Info) -> TweetRef | None:
        return await pinned_tweet(info, self.record)


async def _existing(info: Info, edges: list[RelationEdge]) -> list[RelationEdge]:
    """Blocks and mutes of accounts still there: a deleted account is hidden (deactivated)
    and then purged, and others' mutes of it stay (a mute is not listed by the account
    muted)."""
    users = await info.context.loaders.user_by_id.load_many([e.other_id for e in edges])
    return [
        edge
        for edge, user in zip(edges, users, strict=True)
        if user is not None and not deactivated(user)
    ]


async def named_user(info: Info, user_id: int, named_by: str) -> User:
    """The user a stored row names (a follow edge, a block, a report): users are written
    before anything names them, so a missing one is a broken invariant, not a null."""
    user = await info.context.loaders.user_by_id.load(user_id)
    if user is None:
        raise LookupError(f"{named_by} names a missing user {user_id}")
    return User.from_record(user)
