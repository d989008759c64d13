"""The ports: one Protocol per store, named for the domain, async and batch-first.

Every adapter of a port passes the same contract suite in tests/storage/contract/.
Batch reads return results in key order with `None` for a miss. Writes that may be
retried are idempotent and report whether they changed anything, so counts built on
them are never counted twice. Adapters raise only the errors of storage/errors.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import Any, Protocol

from storage.records import (
    ArchivedTweet,
    Backlog,
    ConversationEntry,
    DataExport,
    EngagementEdge,
    Event,
    FollowEdge,
    Job,
    LifecycleEntry,
    LifecycleKind,
    ModerationRecord,
    NotificationChange,
    NotificationGroup,
    RelationEdge,
    Relations,
    ReportGroup,
    ReportRecord,
    SearchDocument,
    SearchQuery,
    SessionRecord,
    StoredObject,
    TimelineEntry,
    TimelineKind,
    Trend,
    TweetCounts,
    TweetRecord,
    UserDocument,
    UserHit,
    UserRecord,
    UserSearchQuery,
    UserSettings,
    UserStats,
)

# (created_at, tweet_id) of the last entry seen: pages continue strictly after it.
Position = tuple[datetime, int]
# Entries to push, each to its owners: (entry, owner ids).
Deliveries = Sequence[tuple[TimelineEntry, Sequence[int]]]


class UserStore(Protocol):
    async def ping(self) -> None:
        """Returns when every server (every shard, node) this store needs answers; raises
        Unavailable otherwise (for /readyz)."""

    async def create(self, user: UserRecord) -> None:
        """Claim the username and email (unique ignoring case, across shards), then write the
        user with empty stats and default settings. Raises Conflict("username" | "email")."""

    async def get_many(self, ids: Sequence[int]) -> list[UserRecord | None]: ...

    async def find_by_username(self, username: str) -> UserRecord | None:
        """Case-insensitive."""

    async def find_by_email(self, email: str) -> UserRecord | None:
        """Case-insensitive."""

    async def update_profile(self, user_id: int, changes: Mapping[str, Any]) -> UserRecord:
        """Set the given UserRecord fields (not id, username, email); NotFound if no user."""

    async def get_stats_many(self, ids: Sequence[int]) -> list[UserStats | None]: ...

    async def add_to_stats(self, user_id: int, deltas: Mapping[str, int]) -> None:
        """Atomically add deltas to user_stats counters (no lost updates under concurrency)."""

    async def add_to_stats_many(self, deltas: Mapping[int, Mapping[str, int]]) -> None:
        """add_to_stats for many users at once ({user_id: deltas}): each user's add is atomic,
        the batch as a whole need not be. Unknown counters raise ValueError before any write."""

    async def ids_with_followers_over(self, threshold: int, limit: int) -> list[int]:
        """Users with more than `threshold` followers (the celebrities of hybrid fan-out),
        most followed first, at most `limit`."""

    async def get_settings(self, user_id: int) -> UserSettings | None: ...

    async def update_settings(self, user_id: int, changes: Mapping[str, Any]) -> UserSettings: ...

    async def set_suspended(self, user_id: int, until: datetime | None) -> UserRecord:
        """Suspend until `until`, or lift a suspension (None); the updated user.
        NotFound if there is no such user."""

    async def scan(self, after: int | None, limit: int) -> list[UserRecord]:
        """Every user, by id, at most `limit` with an id above `after`. For rebuilds."""

    async def deactivate(self, user_id: int, at: datetime) -> UserRecord:
        """Mark the account deleted at `at` (deleteAccount): hidden everywhere, its username
        and email still taken. NotFound if there is no such user."""

    async def reactivate(self, user_id: int) -> UserRecord:
        """Clear deactivated_at (a log-in cancelled the deletion). NotFound if no user."""

    async def purge(self, user_id: int) -> bool:
        """Remove the user for good: the row, its stats and settings, and its username and
        email claims, so both can be signed up again. True if there was a row; again
        changes nothing."""


class ModerationStore(Protocol):
    """Reports, the moderators' log and roles, with the users (on the shard of the target's
    owner, or of the user for roles); reads across shards merge."""

    async def add_report(self, report: ReportRecord) -> bool:
        """Store an open report; False (nothing stored) if the reporter already has an open
        report on that target."""

    async def open_groups(
        self, limit: int, after: tuple[datetime, str, int] | None = None
    ) -> list[ReportGroup]:
        """Targets with open reports, by their oldest open report (then kind, then id),
        strictly after `after` (a `ReportGroup.position`)."""

    async def open_reports(
        self, target_kind: str, target_id: int, owner_id: int, limit: int
    ) -> list[ReportRecord]:
        """A target's open reports, oldest first."""

    async def resolve(
        self, target_kind: str, target_id: int, owner_id: int, resolution: str, at: datetime
    ) -> int:
        """Close every open report of the target with `resolution`; how many were open."""

    async def record(self, action: ModerationRecord) -> None:
        """Keep a moderator's action (idempotent by id)."""

    async def actions_page(self, limit: int, before: int | None = None) -> list[ModerationRecord]:
        """The log, newest (highest id) first, strictly before id `before`."""

    async def grant(self, user_id: int, role: str, at: datetime) -> bool:
        """True if the user did not hold the role."""

    async def revoke(self, user_id: int, role: str) -> bool:
        """True if the user held the role."""

    async def roles(self, user_id: int) -> frozenset[str]: ...


class SessionStore(Protocol):
    """Refresh tokens, keyed by the token's hash. The tokens rotated from one log-in form a
    family (OAuth 2.0 Security BCP): its id is the session id that access tokens carry."""

    async def create(self, session: SessionRecord) -> None:
        """Store a token; also forgets a few expired ones, so used tokens do not pile up."""

    async def take(self, token_hash: str) -> SessionRecord | None:
        """Mark the token used and return it as it was, atomically: `used_at` is None only
        for the one take that used it; any later take returns it with `used_at` set (a
        replay). None for a token never issued, revoked, or forgotten after expiring."""

    async def revoke_family(self, family_id: int, remember_until: datetime) -> int:
        """Remove every token of the family and remember it as revoked until
        `remember_until`; returns how many tokens there were."""

    async def revoked_families(self, family_ids: Sequence[int]) -> list[bool]:
        """Whether each family is revoked (and still remembered), in key order."""

    async def revoke_user(self, user_id: int) -> int:
        """Remove every session of a user; returns how many there were."""


class TweetStore(Protocol):
    async def ping(self) -> None:
        """Returns when every server (every shard, node) this store needs answers; raises
        Unavailable otherwise (for /readyz)."""

    async def create(
        self, tweet: TweetRecord, idempotency_key: str | None = None
    ) -> tuple[TweetRecord, bool]:
        """Write a tweet durably. With an idempotency key already used by the same author,
        write nothing and return the tweet made the first time with False."""

    async def get_many(self, ids: Sequence[int]) -> list[TweetRecord | None]:
        """Soft-deleted tweets come back with is_deleted=True; the read path hides them."""

    async def mark_deleted(self, tweet_id: int, at: datetime) -> bool:
        """Soft delete; True only for the call that deleted a live tweet."""

    async def restore(self, tweet_id: int) -> bool:
        """Undo a soft delete (its thread's row too); True only for the call that brought
        back a deleted tweet."""

    async def purge(self, tweet: TweetRecord) -> None:
        """Remove the tweet for good: its row, its thread's row and its idempotency key
        where the store can find it. Again changes nothing."""

    async def conversation(self, conversation_id: int, limit: int) -> list[ConversationEntry]:
        """The thread's tweets (deleted ones too, flagged), oldest first, at most `limit`;
        one read of the thread's own partition or index."""

    async def scan(self, after: int | None, limit: int) -> list[TweetRecord]:
        """Every tweet (deleted ones too), a batch at a time, in an order of the store's
        choosing: pass the last id of a batch as `after` for the next. For rebuilds."""

    # The cold tier (app/archive.py): pointers to where archived tweets are, per author and
    # month, kept beside the tweets.

    async def drop_rows(self, tweet_ids: Sequence[int]) -> None:
        """Remove the tweets' rows (moved to the cold archive): `get_many` and `scan` miss
        them from now on. Their counters, threads' rows and idempotency keys stay. Again
        changes nothing."""

    async def put_back(self, tweets: Sequence[TweetRecord]) -> None:
        """Write dropped rows back whole (a thaw); counters kept apart from the row are
        untouched. Again changes nothing."""

    async def add_archived(self, pointers: Sequence[ArchivedTweet]) -> None:
        """Keep each pointer and its author's month (again changes nothing)."""

    async def archived_many(self, tweet_ids: Sequence[int]) -> list[ArchivedTweet | None]:
        """Each tweet's pointer in key order, None where it is not archived."""

    async def archived_months(self, author_id: int) -> list[str]:
        """The months (YYYY-MM) the author has an archive of, newest first."""

    async def remove_archived(self, pointers: Sequence[ArchivedTweet]) -> None:
        """Forget the pointers (thawed tweets); the months stay."""

    async def remove_archived_months(self, author_id: int, months: Sequence[str]) -> None:
        """Forget the author's months (their archives are gone)."""


class TimelineStore(Protocol):
    """Home, author and reply timelines. Only adapters know how a timeline is laid out."""

    async def push(
        self, kind: TimelineKind, owner_ids: Sequence[int], entry: TimelineEntry
    ) -> None:
        """Insert the entry into each owner's timeline; inserting it again changes nothing."""

    async def push_many(self, kind: TimelineKind, deliveries: Deliveries) -> None:
        """push() for each (entry, owner_ids), written together (many tweets' fan-out in a
        few round trips)."""

    async def remove(
        self, kind: TimelineKind, owner_ids: Sequence[int], entries: Sequence[TimelineEntry]
    ) -> None: ...

    async def page(
        self, kind: TimelineKind, owner_id: int, limit: int, after: Position | None = None
    ) -> list[TimelineEntry]:
        """Newest first, strictly older than `after` when given."""

    async def pages(
        self, timelines: Sequence[tuple[TimelineKind, int]], limit: int, after: Position | None
    ) -> list[list[TimelineEntry]]:
        """page() of each (kind, owner), in order, in one call: one transaction, or one
        round of concurrent queries (a home timeline merged with celebrities' own)."""

    async def trim(self, kind: TimelineKind, owner_id: int, keep: int) -> None:
        """Drop all but the newest `keep` entries."""

    async def evict_older(self, kind: TimelineKind, before: datetime) -> int:
        """Drop entries created before `before` from a cache in front of the store (the
        warm tier: the store keeps them, and pages read them from it); how many went. A
        store with no cache in front has nothing to drop (0)."""


class FollowGraph(Protocol):
    """followers / following, written together."""

    async def follow(self, follower_id: int, followee_id: int, at: datetime) -> bool:
        """True if the edge is new."""

    async def follow_many(self, edges: Sequence[tuple[int, int]], at: datetime) -> list[bool]:
        """follow() for each (follower, followee), answers in order: True where the edge is
        new, so counts built on them stay exact (a pair repeated in `edges` is new once)."""

    async def unfollow(self, follower_id: int, followee_id: int) -> bool:
        """True if an edge was removed."""

    async def followers_page(
        self, user_id: int, limit: int, after: int | None = None
    ) -> list[FollowEdge]:
        """Followers of user_id ordered by follower id, strictly after `after`."""

    async def following_page(
        self, user_id: int, limit: int, after: int | None = None
    ) -> list[FollowEdge]: ...

    async def is_following_many(self, pairs: Sequence[tuple[int, int]]) -> list[bool]:
        """For each (follower, followee): does the edge exist."""

    async def request(self, follower_id: int, followee_id: int, at: datetime) -> bool:
        """A pending follow request (to a protected account); True if new."""

    async def withdraw_request(self, follower_id: int, followee_id: int) -> bool:
        """Remove a pending request (approved, rejected or cancelled); True if there was one."""

    async def requests_page(
        self, followee_id: int, limit: int, after: int | None = None
    ) -> list[FollowEdge]:
        """Pending requests to followee_id, ordered by requester id, strictly after `after`."""

    async def has_requested_many(self, pairs: Sequence[tuple[int, int]]) -> list[bool]:
        """For each (follower, followee): is a request pending."""


class SafetyStore(Protocol):
    """Blocks (both directions), mutes (which may expire) and muted words."""

    async def block(self, blocker_id: int, blocked_id: int, at: datetime) -> bool:
        """True if the block is new."""

    async def unblock(self, blocker_id: int, blocked_id: int) -> bool:
        """True if a block was removed."""

    async def blocks_page(
        self, blocker_id: int, limit: int, after: int | None = None
    ) -> list[RelationEdge]:
        """Accounts blocker_id blocks, ordered by their id, strictly after `after`."""

    async def mute(
        self, muter_id: int, muted_id: int, at: datetime, expires_at: datetime | None
    ) -> bool:
        """Mute (again: the new expiry replaces the old); True if it was not muted."""

    async def unmute(self, muter_id: int, muted_id: int) -> bool:
        """True if an unexpired mute was removed."""

    async def mutes_page(
        self, muter_id: int, limit: int, after: int | None = None, now: datetime | None = None
    ) -> list[RelationEdge]:
        """Unexpired mutes of muter_id, ordered by the muted id, strictly after `after`."""

    async def add_muted_word(
        self, user_id: int, word: str, at: datetime, expires_at: datetime | None
    ) -> bool:
        """Add (again: the new expiry replaces the old) a normalized word; True if new."""

    async def remove_muted_word(self, user_id: int, word: str) -> bool:
        """True if an unexpired muted word was removed."""

    async def relations(self, user_id: int, now: datetime) -> Relations:
        """The user's blocks both ways, unexpired mutes and unexpired muted words, whole."""


class EngagementStore(Protocol):
    """likes / user_likes, retweets / user_retweets and the tweets' counters; who liked,
    retweeted and quoted each tweet; bookmarks. A like or a retweet is counted only when its
    row is new, so a retried mutation counts once."""

    async def like(self, user_id: int, tweet_id: int, at: datetime) -> bool: ...

    async def unlike(self, user_id: int, tweet_id: int) -> bool: ...

    async def retweet(self, user_id: int, tweet_id: int, retweet_id: int, at: datetime) -> bool:
        """Record that user_id retweeted tweet_id as the tweet `retweet_id`; True if new."""

    async def undo_retweet(self, user_id: int, tweet_id: int) -> int | None:
        """Remove the retweet; returns the id of the retweet tweet, None if there was none."""

    async def liked_many(self, user_id: int, tweet_ids: Sequence[int]) -> list[bool]: ...

    async def retweeted_many(self, user_id: int, tweet_ids: Sequence[int]) -> list[bool]: ...

    async def counts_many(self, tweet_ids: Sequence[int]) -> list[TweetCounts]: ...

    async def add_counts(self, tweet_id: int, replies: int = 0, views: int = 0) -> None: ...

    async def add_views_many(self, views: Mapping[int, int]) -> None:
        """Add each tweet's views to its counter, in batches (the view flusher's write);
        tweets the store does not hold are left out. Not idempotent: a counter."""

    async def likes_page(
        self, user_id: int, limit: int, after: Position | None = None
    ) -> list[TimelineEntry]:
        """A user's likes, newest like first; created_at is the time of the like."""

    # Engagement lists, newest first: a page continues strictly after `after`, the position
    # (time, id) of the last entry seen. Each is one read of one partition or index.

    async def likers_page(
        self, tweet_id: int, limit: int, after: Position | None = None
    ) -> list[EngagementEdge]:
        """Who liked the tweet, by (liked at, user id) descending."""

    async def retweeters_page(
        self, tweet_id: int, limit: int, after: Position | None = None
    ) -> list[EngagementEdge]:
        """Who retweeted the tweet, by (retweeted at, user id) descending."""

    async def add_quote(self, quoted_id: int, quote: TimelineEntry) -> None:
        """Record that the tweet `quote` quotes `quoted_id`; again changes nothing."""

    async def remove_quote(self, quoted_id: int, quote: TimelineEntry) -> None: ...

    async def forget_tweet(self, tweet_id: int) -> None:
        """Drop what is kept about a tweet itself once it is purged: its counters and the
        lists read by its id (likers, retweeters, quotes). Rows other users own (their likes
        and retweets) are removed first with unlike / undo_retweet, which keep counts."""

    async def quotes_page(
        self, tweet_id: int, limit: int, after: Position | None = None
    ) -> list[TimelineEntry]:
        """The tweets quoting tweet_id, newest first."""

    # Bookmarks: private to their owner. Like a like, one is claimed once (True if new).

    async def bookmark(self, user_id: int, tweet_id: int, author_id: int, at: datetime) -> bool:
        """True if new; bookmarking again keeps the first time."""

    async def unbookmark(self, user_id: int, tweet_id: int) -> bool:
        """True if a bookmark was removed."""

    async def bookmarked_many(self, user_id: int, tweet_ids: Sequence[int]) -> list[bool]: ...

    async def bookmarks_page(
        self, user_id: int, limit: int, after: Position | None = None
    ) -> list[TimelineEntry]:
        """A user's bookmarks, newest bookmark first; created_at is the time of the bookmark."""


class NotificationStore(Protocol):
    """Each recipient's notifications, grouped. A recipient hears once of each (base key,
    actor): adding an actor the base already has changes nothing, so retried or repeated
    jobs never notify twice; withdrawing it undoes what it caused. A group is read once the
    recipient's read marker is at or past its position (latest_at, id)."""

    async def apply(
        self, change: NotificationChange, window: timedelta, new_id: Callable[[], int]
    ) -> list[NotificationGroup]:
        """Add and withdraw the change's actors. An added actor joins the base's newest
        group when the kind groups, that group is unread and its latest member is no more
        than `window` older than the actor's; otherwise it starts a group (id from
        `new_id`). A withdrawn actor leaves its group; a group left empty is gone. Returns
        each group changed, as it is now (count 0: gone). Concurrent calls on one base
        serialize: none of their changes is lost."""

    async def drop(self, recipient_id: int, base_key: str) -> list[NotificationGroup]:
        """Remove the base's groups and actors (its tweet was deleted); returns the removed
        groups, each with count 0."""

    async def page(
        self,
        recipient_id: int,
        limit: int,
        after: Position | None = None,
        kinds: Collection[str] | None = None,
    ) -> list[NotificationGroup]:
        """Groups newest first by position, strictly older than `after`; only the given
        kinds when `kinds` is set."""

    async def mark_read(self, recipient_id: int, position: Position) -> Position:
        """Move the read marker to `position` if that is later (it never moves back);
        returns the marker."""

    async def read_marker(self, recipient_id: int) -> Position | None: ...

    async def unread_count(self, recipient_id: int, cap: int) -> int:
        """Groups after the read marker, counted up to `cap`."""


class LifecycleStore(Protocol):
    """What deletions wait for, and data exports; kept with the users (on the owner's shard).
    Purges read `due` entries, check the truth (a restored tweet, a cancelled deletion) and
    remove the entry once done; every write is idempotent."""

    async def schedule(self, entry: LifecycleEntry) -> None:
        """Keep the entry (again: the new one replaces it)."""

    async def cancel(self, kind: LifecycleKind, owner_id: int, subject_id: int) -> bool:
        """Remove the entry; True if there was one."""

    async def cancel_counting(
        self, kind: LifecycleKind, owner_id: int, subject_id: int, deltas: Mapping[str, int]
    ) -> bool:
        """Remove the entry and, only if it was there, add `deltas` to the owner's
        user_stats, in one transaction: a correction scheduled before its edge is removed is
        made exactly once, whenever a crash comes. True if there was an entry."""

    async def get(
        self, kind: LifecycleKind, owner_id: int, subject_id: int
    ) -> LifecycleEntry | None: ...

    async def owned(
        self,
        kind: LifecycleKind,
        owner_id: int,
        limit: int,
        after: tuple[datetime, int] | None = None,
    ) -> list[LifecycleEntry]:
        """An owner's entries, newest deletion first (by `position`), strictly after
        `after`."""

    async def due(self, kind: LifecycleKind, now: datetime, limit: int) -> list[LifecycleEntry]:
        """Entries of any owner with due_at at or before `now`, soonest due first."""

    async def begin_export(self, export: DataExport) -> DataExport | None:
        """Store a PENDING export as the user's latest, unless one is PENDING already:
        then store nothing and return that one. Atomic: of two concurrent requests one
        wins."""

    async def save_export(self, export: DataExport) -> None:
        """Replace the user's export with this one if it has the same id (a finished or
        expired export); an export that is no longer the latest is left alone."""

    async def export_of(self, user_id: int) -> DataExport | None: ...

    async def forget_exports(self, user_id: int) -> None:
        """Remove the user's export, whatever its status (the account is being purged)."""

    async def exports_expiring(self, now: datetime, limit: int) -> list[DataExport]:
        """READY exports of any user whose expires_at is at or before `now`."""


class SearchIndex(Protocol):
    """Writes become visible to `search` within the engine's refresh interval (about 1 s),
    or at once after `refresh`."""

    async def ping(self) -> None:
        """Returns when every server (every shard, node) this store needs answers; raises
        Unavailable otherwise (for /readyz)."""

    async def index(self, documents: Sequence[SearchDocument]) -> None:
        """Idempotent by tweet id."""

    async def remove(self, tweet_ids: Sequence[int]) -> None: ...

    async def refresh(self) -> None:
        """Make every write so far visible to `search` (rebuilds, tests); costly, so never
        on the write path."""

    async def search(self, query: SearchQuery, limit: int, before: int | None = None) -> list[int]:
        """Matching tweet ids, newest first, strictly older than tweet id `before`."""

    async def trending(self, limit: int, now: datetime) -> list[Trend]:
        """Hashtags rising in the last hour against the previous 24 hours."""

    # People search: accounts by username, display name and bio.

    async def index_users(self, documents: Sequence[UserDocument]) -> None:
        """Idempotent by user id: indexing an account again replaces what was held."""

    async def remove_users(self, user_ids: Sequence[int]) -> None: ...

    async def search_users(
        self, query: UserSearchQuery, limit: int, after: UserHit | None = None
    ) -> list[UserHit]:
        """Accounts whose username starts with the text (a leading '@' aside), or whose
        display name has every word of it, the last as a prefix (typeahead), or whose bio
        has every word; case and accents ignored. Best first (see UserHit), strictly after
        `after`; accounts suspended now are left out."""


class MediaStore(Protocol):
    async def put(self, key: str, data: bytes, content_type: str, cold: bool = False) -> None:
        """`cold`: an archive, rarely read, kept in the cheapest class that still reads at
        once (S3 Glacier Instant Retrieval)."""

    async def delete_many(self, keys: Sequence[str]) -> None:
        """Remove the objects; keys that do not exist are ignored."""

    async def keys(self, prefix: str, limit: int, after: str | None = None) -> list[str]:
        """Keys starting with `prefix`, in ascending order, strictly after `after`."""

    async def get(self, key: str) -> bytes | None: ...

    async def head(self, key: str) -> StoredObject | None: ...

    async def upload_url(self, key: str, content_type: str, size: int, expires_s: int) -> str:
        """A URL a client can PUT the bytes to directly."""

    async def download_url(self, key: str, expires_s: int) -> str: ...


class Cache(Protocol):
    """A key-value cache with TTLs. `shared` tells whether other processes see it."""

    shared: bool

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]: ...

    async def set_many(self, items: Mapping[str, bytes], ttl_s: float) -> None: ...

    async def delete_many(self, keys: Sequence[str]) -> None: ...

    async def incr(self, key: str, ttl_s: float, amount: int = 1) -> int:
        """Add `amount` to a counter that starts its TTL when created; returns the new
        value."""

    async def count_once(self, marks: Mapping[str, str], ttl_s: float, tally: str) -> int:
        """For each mark key not set yet: set it for ttl_s and add 1 to its field (the
        mapping's value) in the tally `tally`; a mark already set counts nothing. One
        atomic step (one round trip); returns how many marks were new."""

    async def take_tally(self, tally: str) -> dict[str, int]:
        """The tally's counts by field, removed in the same atomic step: what one call
        takes, no other call (in this process or another) takes too."""

    async def add_to_tally(self, tally: str, counts: Mapping[str, int]) -> None:
        """Add counts to the tally's fields (a taken tally that could not be written)."""

    async def scan(
        self, prefix: str, cursor: str | None, count: int
    ) -> tuple[list[str], str | None]:
        """About `count` live keys starting with `prefix`, and the cursor to go on from
        (None: done). A key there for the whole scan comes back at least once, maybe twice."""


class EventBus(Protocol):
    async def publish(self, channel: str, data: bytes) -> None: ...

    async def publish_many(self, messages: Sequence[tuple[str, bytes]]) -> None:
        """Publish (channel, data) pairs in order, in as few round trips as the engine allows."""

    def subscribe(
        self, channels: Sequence[str]
    ) -> AbstractAsyncContextManager[AsyncIterator[Event]]:
        """Events published on `channels` from the moment the context is entered."""


class JobQueue(Protocol):
    """One stream of at-least-once jobs: a reserved job comes back if it is not acked in
    time. Streams are independent: a slow or failing stream never holds up another."""

    async def enqueue(self, kind: str, payload: Mapping[str, Any]) -> str: ...

    async def reserve(self, consumer: str, limit: int, wait_s: float) -> list[Job]:
        """Up to `limit` jobs for this consumer, waiting at most wait_s for one."""

    async def ack(self, job: Job) -> None: ...

    async def ack_many(self, jobs: Sequence[Job]) -> None:
        """Acknowledge each job (one round trip where the engine allows)."""

    async def fail(self, job: Job, error: str) -> None:
        """Give the job back for another try, or dead-letter it after the last try."""

    async def release(self, job: Job) -> None:
        """Give the job back without counting an attempt: it did not fail, something it
        needs was unavailable (the worker waits before releasing it)."""

    async def renew(self, consumer: str, jobs: Sequence[Job]) -> None:
        """The consumer is alive and still running these jobs: their reservation starts
        again now, so `reclaim` never takes them from it (a heartbeat per job)."""

    async def reclaim(self, idle_s: float) -> int:
        """Give back jobs whose reservation was not renewed for idle_s (their consumer
        died)."""

    async def dead_letters(self, limit: int) -> list[Job]: ...

    async def backlog(self) -> Backlog:
        """Jobs enqueued and not yet acknowledged (dead ones excluded), and the age of the
        oldest of them (0 when there are none)."""

    def lost(self) -> bool:
        """Whether the stream was found gone since the last call: its engine lost it (a
        Redis that restarted empty) while this process was using it, so the jobs it held
        are gone and the caller must rebuild them (app/reconcile.py). Durable engines never
        lose a stream: False."""


class JobQueues(Protocol):
    """The job streams of one engine, by name (e.g. "delivery", "indexing")."""

    def stream(self, name: str) -> JobQueue:
        """The named stream, created on first use; the same object for the same name."""
