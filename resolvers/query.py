"""Query resolvers: decode arguments, check the viewer, call a loader, return types."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.context import Context
from app.cursors import (
    ORIGIN,
    decode_id_cursor,
    decode_notification_cursor,
    decode_position,
    decode_queue_cursor,
    notification_cursor,
    position_cursor,
)
from app.errors import BadInput
from app.policy import deactivated
from app.search_query import ParsedSearch, parse_search
from app.text import USERNAME_RE, hashtag_of
from schema.account import Settings
from schema.follow import Follow, FollowConnection
from schema.moderation import ModerationLog, ReportQueue
from schema.node import Node, from_global_id
from schema.notification import NotificationConnection, NotificationKind, connection
from schema.people import UserConnection, search_people
from schema.timeline import DEFAULT_PAGE, After, First, Timeline, page_size
from schema.trend import Trend
from schema.tweet import Tweet
from schema.user import User

Info = strawberry.Info[Context, None]
SearchQuery = Annotated[
    str,
    strawberry.argument(
        description='Up to 500 characters: words, "quoted phrases", #hashtags, from:username, '
        "since:YYYY-MM-DD and until:YYYY-MM-DD (until is exclusive)."
    ),
]
PeopleQuery = Annotated[
    str,
    strawberry.argument(
        description="1 to 100 characters on one line, with a letter, a digit or an underscore."
    ),
]


async def _user(info: Info, user_id: int) -> User | None:
    """An account by id; null if there is none, or it is deleted (deactivated)."""
    user = await info.context.loaders.user_by_id.load(user_id)
    return User.from_record(user) if user is not None and not deactivated(user) else None


async def _tweet(info: Info, tweet_id: int) -> Tweet | None:
    """A tweet fetched by id; the viewer's view of it is counted (app/views.py)."""
    tweet = await info.context.loaders.visible_tweet_by_id.load(tweet_id)
    if tweet is None:
        return None
    await info.context.chirp.views.seen(info.context.viewer_id, [tweet.id])
    return Tweet.from_record(tweet)


@strawberry.type(
    description="Reads. A query spends points of an hourly read budget (5,000 by default; "
    "`extensions.rateLimit` tells what is left, RATE_LIMITED past it), and one that would "
    "cost over 25,000 is refused (BAD_USER_INPUT) before it runs."
)
class Query:
    @strawberry.field(description="The logged-in user; null without a valid access token.")
    async def me(self, info: Info) -> User | None:
        viewer = info.context.viewer_id
        return await _user(info, viewer) if viewer is not None else None

    @strawberry.field(
        description="The logged-in user's settings (UNAUTHENTICATED when logged out)."
    )
    async def settings(self, info: Info) -> Settings:
        viewer = info.context.require_viewer()
        record = await info.context.chirp.stores.users.get_settings(viewer)
        if record is None:
            raise LookupError(f"user {viewer} has no settings row")
        return Settings.from_record(record)

    @strawberry.field(
        description="The account with this username, in any case; null if there is none or "
        "it was deleted."
    )
    async def user(
        self,
        info: Info,
        username: Annotated[str, strawberry.argument(description="The username, without @.")],
    ) -> User | None:
        if not USERNAME_RE.match(username):
            return None
        user = await info.context.chirp.stores.users.find_by_username(username)
        return User.from_record(user) if user is not None and not deactivated(user) else None

    @strawberry.field(
        description="A tweet by its id or databaseId; null if the viewer may not see it "
        "(deleted, hidden, blocked, protected). A logged-in viewer's read counts as a view."
    )
    async def tweet(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID,
            strawberry.argument(description="The tweet's global id, or its databaseId."),
        ],
    ) -> Tweet | None:
        from schema.node import database_id_of

        return await _tweet(info, database_id_of(id, "Tweet"))

    @strawberry.field(
        description="A Tweet or a User by its global id; null if there is none, the viewer "
        "may not see it, or the id is of another type."
    )
    async def node(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID,
            strawberry.argument(description="A global id (a databaseId does not say its type)."),
        ],
    ) -> Node | None:
        type_name, database_id = from_global_id(id)
        if type_name == "Tweet":
            return await _tweet(info, database_id)
        if type_name == "User":
            return await _user(info, database_id)
        return None

    @strawberry.field(
        description="Pending requests to follow the viewer (a protected account), by the "
        "requester's account id; answer them with approveFollowRequest or "
        "rejectFollowRequest (UNAUTHENTICATED when logged out)."
    )
    async def follow_requests(
        self, info: Info, first: First = DEFAULT_PAGE, after: After = None
    ) -> FollowConnection:
        viewer = info.context.require_viewer()
        size, cursor = page_size(first), decode_id_cursor(after)
        page = await info.context.loaders.pages.follow_requests(viewer, size, cursor)
        follows = [
            Follow(
                follower_id=e.other_id,
                followee_id=viewer,
                followed_at=e.followed_at,
                cursor_id=e.other_id,
            )
            for e in page.edges
        ]
        return FollowConnection.from_edges(follows, page.has_next)

    @strawberry.field(
        description="Tweets and retweets of the viewer and the accounts they follow, newest "
        "first, leaving out what they mute (UNAUTHENTICATED when logged out). "
        "Subscription.homeTimeline brings what comes next: subscribe with after: the first "
        "edge's cursor, or, when the first page is empty, its endCursor (never null there)."
    )
    async def home_timeline(
        self, info: Info, first: First = DEFAULT_PAGE, after: After = None
    ) -> Timeline:
        info.context.require_viewer()
        size, position = page_size(first), decode_position(after)
        timeline = await Timeline.build(info, await info.context.loaders.pages.home(size, position))
        if position is None and timeline.page_info.end_cursor is None:
            # An empty timeline: without a cursor, a new account could not replay what
            # arrives between this page and its subscription.
            timeline.page_info.end_cursor = position_cursor(ORIGIN)
        return timeline

    @strawberry.field(
        description='Tweets matching words, "phrases", #hashtags, from:username, '
        "since:YYYY-MM-DD and until:YYYY-MM-DD; newest first, leaving out what the viewer "
        "mutes. Without a login, searches are limited per client address (60 a minute by "
        "default, then RATE_LIMITED)."
    )
    async def search(
        self, info: Info, query: SearchQuery, first: First = DEFAULT_PAGE, after: After = None
    ) -> Timeline:
        await info.context.throttle_anonymous_search(info)
        parsed = parse_search(query)
        size, position = page_size(first), decode_position(after)
        service = info.context.chirp.services.search_tweets
        index_query = await service.query(info.context.viewer_id, parsed)
        if index_query is None:
            return Timeline.empty()

        page = await info.context.loaders.pages.feed(service.pages(index_query), size, position)
        return await Timeline.build(info, page)

    @strawberry.field(
        description="People search, as one types: accounts whose username starts with the "
        "query (a leading @ aside), whose display name has its words (the last may be "
        "unfinished), or whose bio has its words; case and accents ignored. The exact "
        "username first, then the most followed; without a login, limited as `search` is."
    )
    async def search_users(
        self, info: Info, query: PeopleQuery, first: First = DEFAULT_PAGE, after: After = None
    ) -> UserConnection:
        return await search_people(info, query, first, after)

    @strawberry.field(
        description="Tweets with this #hashtag, newest first, leaving out what the viewer mutes."
    )
    async def hashtag(
        self,
        info: Info,
        tag: Annotated[
            str,
            strawberry.argument(
                description="1 to 100 letters, digits or underscores, not only digits; with "
                "or without the #, in any case."
            ),
        ],
        first: First = DEFAULT_PAGE,
        after: After = None,
    ) -> Timeline:
        tag = hashtag_of(tag)
        size, position = page_size(first), decode_position(after)
        service = info.context.chirp.services.search_tweets
        index_query = await service.query(info.context.viewer_id, ParsedSearch(hashtags=[tag]))
        assert index_query is not None  # only from: names can make a query empty
        page = await info.context.loaders.pages.feed(service.pages(index_query), size, position)
        return await Timeline.build(info, page)

    @strawberry.field(
        description="Hashtags rising in the last hour against the 24 hours before, best "
        "first; worked out at most once a minute."
    )
    async def trending(
        self,
        info: Info,
        limit: Annotated[
            int, strawberry.argument(description="How many: 1 to 50 (BAD_USER_INPUT otherwise).")
        ] = 10,
    ) -> list[Trend]:
        if not 1 <= limit <= 50:
            raise BadInput("limit must be between 1 and 50.", argument="limit")
        return [Trend.from_record(t) for t in await info.context.chirp.services.trending(limit)]

    @strawberry.field(
        description="Moderators only (FORBIDDEN for anyone else): tweets and accounts with "
        "open reports, the longest waiting first."
    )
    async def moderation_queue(
        self, info: Info, first: First = DEFAULT_PAGE, after: After = None
    ) -> ReportQueue:
        viewer = info.context.require_viewer()
        size, cursor = page_size(first), decode_queue_cursor(after)
        groups, more = await info.context.chirp.services.moderation.queue(viewer, size, cursor)
        return ReportQueue.build(groups, more)

    @strawberry.field(
        description="Moderators only (FORBIDDEN for anyone else): every moderator action, "
        "newest first."
    )
    async def moderation_log(
        self, info: Info, first: First = DEFAULT_PAGE, after: After = None
    ) -> ModerationLog:
        viewer = info.context.require_viewer()
        size, before = page_size(first), decode_id_cursor(after)
        actions, more = await info.context.chirp.services.moderation.log(viewer, size, before)
        return ModerationLog.build(actions, more)

    @strawberry.field(
        description="The viewer's notifications, newest first (UNAUTHENTICATED when logged "
        "out). Likes, retweets and follows of one target are grouped while unread. With none "
        "yet (and no `kinds`), the first page's endCursor is still set: subscribe with it to "
        "miss nothing."
    )
    async def notifications(
        self,
        info: Info,
        first: First = DEFAULT_PAGE,
        after: After = None,
        kinds: Annotated[
            list[NotificationKind] | None,
            strawberry.argument(description="Only these kinds; null or left out: every kind."),
        ] = None,
    ) -> NotificationConnection:
        viewer = info.context.require_viewer()
        size, position = page_size(first), decode_notification_cursor(after, viewer)
        wanted = [kind.value for kind in kinds] if kinds is not None else None
        service = info.context.chirp.services.notifications
        groups, more, marker = await service.page(viewer, size, position, wanted)
        page = await connection(info, groups, more, marker)
        if position is None and wanted is None and not groups:
            # None yet: a cursor all the same, for Subscription.notifications(after:) to
            # replay what arrives between this page and the subscription (as homeTimeline).
            page.page_info.end_cursor = notification_cursor(viewer, ORIGIN)
        return page

    @strawberry.field(
        description="How many notifications the viewer has not read, counted up to 1000 "
        '(show "999+" at 1000).'
    )
    async def unread_notifications_count(self, info: Info) -> int:
        viewer = info.context.require_viewer()
        return await info.context.chirp.services.notifications.unread_count(viewer)
