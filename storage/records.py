"""Plain records that cross the storage boundary. Timestamps are timezone-aware UTC datetimes
at millisecond precision (what every engine here can store exactly)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from storage import clock

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc_from_ms(ms: int) -> datetime:
    # Exact at any date: through a float (ms / 1000) a moment past ~2250 loses a microsecond.
    return _EPOCH + timedelta(milliseconds=ms)


def ms_from_utc(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def utcnow() -> datetime:
    """Now on the one clock (storage/clock.py), at the records' millisecond precision."""
    return utc_from_ms(ms_from_utc(clock.now()))


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    username: str
    email: str
    password_hash: str
    display_name: str
    created_at: datetime
    updated_at: datetime
    phone: str | None = None
    bio: str | None = None
    location: str | None = None
    website: str | None = None
    profile_image_url: str | None = None
    banner_image_url: str | None = None
    verified: bool = False
    protected: bool = False
    last_login_at: datetime | None = None
    suspended_until: datetime | None = None  # set by a moderator; nothing is deleted
    pinned_tweet_id: int | None = None  # one of their own tweets, shown first on the profile
    # Set by deleteAccount: hidden everywhere at once; a log-in within the cancel window
    # clears it, and the account is purged once the purge window has passed.
    deactivated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class UserStats:
    user_id: int
    followers_count: int = 0
    following_count: int = 0
    tweets_count: int = 0
    likes_count: int = 0
    lists_count: int = 0


STAT_FIELDS = ("followers_count", "following_count", "tweets_count", "likes_count", "lists_count")


def changed_stats(deltas: Mapping[str, int]) -> tuple[str, ...]:
    """The counters a stats delta changes, in STAT_FIELDS order; unknown names are refused
    (they would end up in SQL)."""
    unknown = set(deltas) - set(STAT_FIELDS)
    if unknown:
        raise ValueError(f"unknown stats {', '.join(sorted(unknown))}")
    return tuple(name for name in STAT_FIELDS if deltas.get(name))


@dataclass(frozen=True, slots=True)
class UserSettings:
    user_id: int
    language: str = "en"
    timezone: str = "UTC"
    private_account: bool = False
    allow_dms_from: str = "following"
    notification_preferences: dict[str, Any] = field(default_factory=dict)
    privacy_settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A refresh token, stored only as its SHA-256 hash. Its family is the log-in it was
    rotated from (the session id of its access tokens); `used_at` is when it was taken."""

    token_hash: str
    user_id: int
    expires_at: datetime
    created_at: datetime
    family_id: int
    used_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TweetRecord:
    id: int
    user_id: int
    text: str
    created_at: datetime
    updated_at: datetime
    reply_to_tweet_id: int | None = None
    reply_to_user_id: int | None = None
    retweet_of_tweet_id: int | None = None
    quote_tweet_id: int | None = None
    media_urls: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()
    mentions: tuple[int, ...] = ()
    language: str | None = None
    source: str | None = None
    is_deleted: bool = False
    # The root of its thread: its own id for an original, the root's for a reply; None for
    # a retweet (and for replies stored before conversations were kept).
    conversation_id: int | None = None


@dataclass(frozen=True, slots=True)
class ConversationEntry:
    """One tweet of a thread, as the thread's own table keeps it: enough to lay out the
    tree and apply the policy without reading every tweet."""

    tweet_id: int
    parent_id: int | None  # the tweet it replies to; None for the root
    author_id: int
    created_at: datetime
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class TweetCounts:
    tweet_id: int
    likes: int = 0
    retweets: int = 0
    replies: int = 0
    views: int = 0


# A stored home timeline keeps its newest HOME_TIMELINE_LENGTH entries: adapters trim it
# back to that once it holds more than HOME_TIMELINE_LENGTH + HOME_TIMELINE_SLACK (trimming
# on every push would cost a read of the whole timeline per delivered entry).
HOME_TIMELINE_LENGTH = 800
HOME_TIMELINE_SLACK = 64


class TimelineKind(StrEnum):
    HOME = "home"  # user_timeline: what a user's followees posted (fan-out on write)
    AUTHOR = "author"  # author_timeline: what a user posted (profile page)
    REPLIES = "replies"  # replies to one tweet, keyed by the tweet replied to
    MENTIONS = "mentions"  # tweets that mention a user, keyed by the user mentioned


@dataclass(frozen=True, slots=True, order=True)
class TimelineEntry:
    """One row of a timeline; timelines are ordered by (created_at, tweet_id) descending."""

    created_at: datetime
    tweet_id: int
    author_id: int

    @property
    def position(self) -> tuple[datetime, int]:
        return (self.created_at, self.tweet_id)


@dataclass(frozen=True, slots=True)
class EngagementEdge:
    """One account that liked or retweeted a tweet, and when: an entry of the tweet's likers
    or retweeters, which are ordered by (at, user_id) descending."""

    tweet_id: int
    user_id: int
    at: datetime

    @property
    def position(self) -> tuple[datetime, int]:
        return (self.at, self.user_id)


@dataclass(frozen=True, slots=True)
class FollowEdge:
    """`user_id` and the other side (a follower of it, or one it follows)."""

    user_id: int
    other_id: int
    followed_at: datetime


@dataclass(frozen=True, slots=True)
class RelationEdge:
    """One account a user blocks or mutes (`other_id`), since when, and until when (a mute
    may expire; a block never does)."""

    user_id: int
    other_id: int
    created_at: datetime
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class MutedWord:
    """A word or #hashtag a user hides, stored normalized (NFC, casefolded)."""

    word: str
    created_at: datetime
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Relations:
    """Everything one user has set against others, and who has blocked them: read whole,
    once per request (cached), so filtering a page costs no round trip per account."""

    blocking: frozenset[int] = frozenset()  # accounts this user blocks
    blocked_by: frozenset[int] = frozenset()  # accounts that block this user
    muting: frozenset[int] = frozenset()  # accounts this user mutes (unexpired)
    muted_words: tuple[MutedWord, ...] = ()  # unexpired


# What a user can be notified of; each can be turned off in their settings (stored as
# `notification_preferences`: kind -> bool, a kind left out is on).
NOTIFICATION_KINDS = (
    "mention",
    "reply",
    "quote",
    "like",
    "retweet",
    "follow",
    "follow_request",
    "follow_request_approved",
)


# Kinds whose notifications on one target group ("ada and 41 others liked your tweet");
# every other kind is one notification per cause.
GROUPED_KINDS = frozenset({"like", "retweet", "follow"})
SAMPLE_ACTORS = 8  # a group keeps its newest few actors to show


@dataclass(frozen=True, slots=True)
class NotificationGroup:
    """One notification as a reader sees it: `count` actors did `kind` on the same target
    (the base key names it), the newest `sample` of them with when, newest first."""

    id: int
    recipient_id: int
    base_key: str
    kind: str
    subject_id: int | None  # the tweet it is about; None for follows and requests
    count: int  # 0: the group is gone (every actor withdrew, or its tweet was deleted)
    sample: tuple[tuple[int, datetime], ...]
    latest_at: datetime

    @property
    def position(self) -> tuple[datetime, int]:
        return (self.latest_at, self.id)

    @property
    def actor_ids(self) -> tuple[int, ...]:
        return tuple(actor for actor, _ in self.sample)


@dataclass(frozen=True, slots=True)
class NotificationChange:
    """Actors added to and withdrawn from one recipient's notifications of one base key."""

    recipient_id: int
    base_key: str
    kind: str
    subject_id: int | None
    added: tuple[tuple[int, datetime], ...] = ()  # (actor, when)
    removed: tuple[int, ...] = ()  # actors


class ReportReason(StrEnum):
    SPAM = "spam"
    ABUSE = "abuse"
    HARASSMENT = "harassment"
    IMPERSONATION = "impersonation"
    ILLEGAL = "illegal"
    OTHER = "other"


class TargetKind(StrEnum):
    TWEET = "tweet"
    USER = "user"


@dataclass(frozen=True, slots=True)
class ReportRecord:
    """One report of a tweet or an account. `owner_id` is the account reported, or the
    reported tweet's author: reports live with it (its shard)."""

    id: int
    reporter_id: int
    target_kind: TargetKind
    target_id: int
    owner_id: int
    reason: ReportReason
    comment: str
    created_at: datetime
    resolved_at: datetime | None = None
    resolution: str | None = None  # the moderator action that closed it


@dataclass(frozen=True, slots=True)
class ReportGroup:
    """The open reports of one target, for the moderators' queue."""

    target_kind: TargetKind
    target_id: int
    owner_id: int
    open_reports: int
    reasons: tuple[tuple[ReportReason, int], ...]  # most reported first, then by name
    first_at: datetime
    last_at: datetime

    @property
    def position(self) -> tuple[datetime, str, int]:
        return (self.first_at, self.target_kind.value, self.target_id)


def reasons_in_order(counts: Mapping[ReportReason, int]) -> tuple[tuple[ReportReason, int], ...]:
    """A group's reason counts as `ReportGroup.reasons` lists them: most reported first, then
    by name."""
    return tuple(sorted(counts.items(), key=lambda item: (-item[1], item[0].value)))


@dataclass(frozen=True, slots=True)
class ModerationRecord:
    """A moderator's action, kept for good: who did what to which target, when and why."""

    id: int
    moderator_id: int
    action: str  # dismiss, remove_tweet, suspend, unsuspend
    target_kind: TargetKind
    target_id: int
    owner_id: int
    note: str
    created_at: datetime
    until: datetime | None = None  # for a suspension


@dataclass(frozen=True, slots=True)
class SearchDocument:
    tweet_id: int
    author_id: int
    text: str
    hashtags: tuple[str, ...]
    mentions: tuple[int, ...]
    language: str | None
    created_at: datetime
    protected: bool


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A parsed search: all words and phrases must match; filters narrow it."""

    words: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()
    author_ids: tuple[int, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    viewer_id: int | None = None
    # Protected authors whose tweets this viewer may see (the viewer and their approved followees).
    visible_protected_authors: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Trend:
    hashtag: str
    count: int
    previous_count: int = 0


@dataclass(frozen=True, slots=True)
class UserDocument:
    """What people search holds of an account: built from the user store by the
    `index_users` job, so indexing it again is harmless."""

    user_id: int
    username: str
    display_name: str
    bio: str
    followers_count: int
    suspended_until: datetime | None = None  # left out of results until then


@dataclass(frozen=True, slots=True)
class UserSearchQuery:
    """People search: `text` as typed (the index folds it); accounts in `excluded_ids`
    (blocked either way) are never returned."""

    text: str
    excluded_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class UserHit:
    """A people-search result and its place in the ranking: an exact username match first,
    then more followers first, then the lower id. Pages continue strictly after a hit."""

    user_id: int
    exact: bool
    followers_count: int


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    size: int
    content_type: str


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    kind: str
    payload: dict[str, Any]
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class Backlog:
    """A stream's jobs not yet acknowledged (waiting or running), and how long the oldest
    of them has been in the stream."""

    jobs: int
    oldest_age_s: float


@dataclass(frozen=True, slots=True)
class Event:
    channel: str
    data: bytes


class LifecycleKind(StrEnum):
    """What a lifecycle schedule entry waits to purge."""

    TWEET = "tweet"  # a deleted tweet, restorable by its author until due
    ACCOUNT = "account"  # a deleted account, cancelled by logging in (see Settings)
    # A count correction in flight while an account purge removes an edge: the owner's
    # counter goes down by one once the edge to the subject is gone (`cancel_counting`).
    FOLLOWING_DOWN = "following_down"  # owner followed the subject (an account)
    FOLLOWERS_DOWN = "followers_down"  # the subject (an account) followed owner
    LIKES_DOWN = "likes_down"  # owner liked the subject (a tweet)


@dataclass(frozen=True, slots=True)
class LifecycleEntry:
    """Something deleted, kept until `due_at` and then purged. `owner_id` is the user it
    belongs to (the author, or the account itself): entries are kept with their owner."""

    kind: LifecycleKind
    subject_id: int
    owner_id: int
    since: datetime  # when it was deleted
    due_at: datetime  # from when the purge may remove it for good

    @property
    def position(self) -> tuple[datetime, int]:
        """Where an owner's listing (newest deletion first) continues after this entry."""
        return (self.since, self.subject_id)


class ExportStatus(StrEnum):
    PENDING = "pending"  # requested, its job not yet done
    READY = "ready"  # the archive is in the media store until expires_at
    FAILED = "failed"
    EXPIRED = "expired"  # the archive was removed


@dataclass(frozen=True, slots=True)
class DataExport:
    """A user's latest data export (one at a time: a PENDING one blocks another request)."""

    user_id: int
    id: int
    status: ExportStatus
    requested_at: datetime
    finished_at: datetime | None = None
    key: str | None = None  # the archive's media key once READY
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ArchivedTweet:
    """Where a tweet moved to the cold tier is: its author's archive of `month` (YYYY-MM of
    created_at, UTC). The primary tables no longer give the tweet (TweetStore.drop_rows)."""

    tweet_id: int
    author_id: int
    month: str
