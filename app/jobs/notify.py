"""notify: bring a recipient's notifications in line with what is true now.

Payloads name a cause, never an outcome:
- {"kind": "like" | "retweet", "actor_id", "tweet_id"}: an actor's like or retweet of a
  tweet (the original), whose author is told;
- {"kind": "follow" | "follow_request" | "follow_request_approved", "actor_id",
  "recipient_id"}: a follow of, a request to, or an approval by the actor;
- {"kind": "tweet", "tweet_id"}: a tweet's mentions, the reply and the quote it makes (a
  retweet stands for a retweet of its original), or, once it is deleted, their withdrawal
  and the end of the likes and retweets on it.

The handler reads the truth (is the like there, is the tweet deleted, is the follow
pending) and the recipient's policy and preferences at the time it runs, then adds the
actor to, or withdraws it from, the base's groups. So a retried job, a double like or a
like-unlike-like whose jobs run in any order all end where the engagement ends, and the
store's claims make an actor count once. Jobs of one batch on one base are folded into
one change: a storm of likes on one tweet is a few store writes per batch, not one per like.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from app import notifications
from app.jobs.base import NOTIFY, JobDeps, Payload
from app.policy import Policy
from storage.records import (
    NOTIFICATION_KINDS,
    NotificationChange,
    TweetRecord,
    UserRecord,
    utc_from_ms,
    utcnow,
)

IN_FLIGHT = 16  # truth reads and store changes in flight per batch
RECHECKS = 3  # truths read again after applying, until they stand still


@dataclass(frozen=True)
class Cause:
    """One would-be notification: `actor` did `kind` to `recipient` (about `tweet`)."""

    kind: str
    actor: int
    recipient: int
    tweet: TweetRecord | None = None  # what it is about: liked, retweeted, mentioning...
    at: datetime = field(default_factory=utcnow)
    # The cause is over (its tweet deleted, a like undone): withdraw it, whatever else holds.
    over: bool = False


class Notify:
    kind: ClassVar[str] = "notify"
    stream: ClassVar[str] = NOTIFY
    max_batch: ClassVar[int] = 256

    def __init__(self, deps: JobDeps) -> None:
        self._stores = deps.stores
        self._gate = deps.gate
        self._tweets = deps.tweet_cache
        self._users = deps.user_cache
        self._events = deps.stores.events
        self._ids = deps.ids
        self._window = deps.notification_window
        self._slots = asyncio.Semaphore(IN_FLIGHT)

    async def __call__(self, payloads: Sequence[Payload]) -> None:
        causes, dropped = await self._causes(payloads)
        truths = await self._truths(causes)
        policies = await self._policies({cause.recipient for cause in causes})
        wanted = await self._wanted({cause.recipient for cause in causes})
        users = await self._users_of(causes)
        follows = await self._follows_for_protected(causes, users)

        async def settle(truths: list[bool], dropped: set[tuple[int, str]]) -> None:
            changes: dict[tuple[int, str], NotificationChange] = {}
            for cause, true in zip(causes, truths, strict=True):
                allowed = (
                    true
                    and not cause.over
                    and cause.kind in wanted[cause.recipient]
                    and self._may_tell(cause, policies[cause.recipient], users, follows)
                )
                _merge(changes, cause, allowed)
            await asyncio.gather(
                *(self._apply(change) for change in changes.values()),
                *(self._drop(recipient, base) for recipient, base in dropped),
            )

        await settle(truths, dropped)
        # Batches run side by side: another one may have read the truth before an undo and
        # applied its change after ours (a retweet, its undoing and a new retweet, each
        # job in its own batch). Reading the truth again after every apply makes the last
        # applier see the latest truth and set it right.
        for _ in range(RECHECKS):
            again = await self._truths(causes)
            if again == truths:
                return
            truths = again
            await settle(truths, set())

    async def _causes(
        self, payloads: Sequence[Payload]
    ) -> tuple[list[Cause], set[tuple[int, str]]]:
        """The causes the payloads name, with the tweets they are about; and the bases to
        drop whole (likes and retweets of a deleted tweet)."""
        tweet_ids = {int(p["tweet_id"]) for p in payloads if "tweet_id" in p}
        tweets = {t.id: t for t in await self._tweets.get_many(list(tweet_ids)) if t is not None}
        # What retweets and quotes point at: the retweeted original, the quoted tweet.
        pointed = {
            target
            for t in tweets.values()
            for target in (t.retweet_of_tweet_id, t.quote_tweet_id)
            if target is not None and target not in tweets
        }
        tweets |= {t.id: t for t in await self._tweets.get_many(list(pointed)) if t is not None}
        causes: list[Cause] = []
        dropped: set[tuple[int, str]] = set()
        for payload in payloads:
            kind = str(payload["kind"])
            at = utc_from_ms(int(payload["at"])) if "at" in payload else utcnow()
            if kind == "tweet":
                tweet = tweets.get(int(payload["tweet_id"]))
                if tweet is not None:
                    causes += _tweet_causes(tweet, tweets)
                    if tweet.is_deleted and tweet.retweet_of_tweet_id is None:
                        dropped |= {
                            (tweet.user_id, notifications.base_key(k, tweet_id=tweet.id))
                            for k in ("like", "retweet")
                        }
            elif kind in ("like", "retweet"):
                tweet = tweets.get(int(payload["tweet_id"]))
                if tweet is not None:
                    actor = int(payload["actor_id"])
                    causes.append(Cause(kind, actor, tweet.user_id, tweet, at, tweet.is_deleted))
            else:
                actor, recipient = int(payload["actor_id"]), int(payload["recipient_id"])
                causes.append(Cause(kind, actor, recipient, None, at))
        return [c for c in causes if c.actor != c.recipient], dropped

    async def _truths(self, causes: list[Cause]) -> list[bool]:
        """Whether each cause still holds: the like, retweet, follow or request is there."""
        graph, engagement = self._stores.graph, self._stores.engagement

        def pairs(kind: str) -> list[tuple[int, int]]:
            # An approval holds while the requester (its recipient) follows the approver.
            if kind == "follow_request_approved":
                return [(c.recipient, c.actor) for c in causes if c.kind == kind]
            return [(c.actor, c.recipient) for c in causes if c.kind == kind]

        following, requested, approved = await asyncio.gather(
            graph.is_following_many(pairs("follow")),
            graph.has_requested_many(pairs("follow_request")),
            graph.is_following_many(pairs("follow_request_approved")),
        )
        answers = {
            "follow": iter(following),
            "follow_request": iter(requested),
            "follow_request_approved": iter(approved),
        }

        async def engaged(cause: Cause) -> bool:
            assert cause.tweet is not None
            read = engagement.liked_many if cause.kind == "like" else engagement.retweeted_many
            async with self._slots:
                [found] = await read(cause.actor, [cause.tweet.id])
            return found

        engagements = await asyncio.gather(
            *(engaged(c) for c in causes if c.kind in ("like", "retweet") and not c.over)
        )
        engaged_answers = iter(engagements)
        truths = []
        for cause in causes:
            if cause.kind in answers:
                truths.append(next(answers[cause.kind]))
            elif cause.kind in ("like", "retweet"):
                truths.append(False if cause.over else next(engaged_answers))
            else:  # caused by a tweet: true while the tweet stands
                truths.append(not cause.over)
        return truths

    async def _policies(self, recipients: set[int]) -> dict[int, Policy]:
        ids = list(recipients)
        found = await asyncio.gather(*(self._gate.policy(r) for r in ids))
        return dict(zip(ids, found, strict=True))

    async def _wanted(self, recipients: set[int]) -> dict[int, set[str]]:
        """The kinds each recipient wants to hear of (a kind they left out is on)."""
        ids = list(recipients)
        found = await asyncio.gather(*(self._stores.users.get_settings(r) for r in ids))
        wanted = {}
        for recipient, settings in zip(ids, found, strict=True):
            prefs = settings.notification_preferences if settings else {}
            wanted[recipient] = {
                kind for kind in NOTIFICATION_KINDS if prefs.get(kind, True) is not False
            }
        return wanted

    async def _users_of(self, causes: list[Cause]) -> dict[int, UserRecord]:
        ids = {c.actor for c in causes} | {c.tweet.user_id for c in causes if c.tweet}
        found = await self._users.get_many(list(ids))
        return {user.id: user for user in found if user is not None}

    async def _follows_for_protected(
        self, causes: list[Cause], users: dict[int, UserRecord]
    ) -> set[tuple[int, int]]:
        """(recipient, author) pairs where the recipient follows a protected author whose
        tweet would tell them something: the protected rule needs the follow."""
        pairs = list(
            {
                (c.recipient, c.tweet.user_id)
                for c in causes
                if c.kind in notifications.TWEET_KINDS
                and c.tweet is not None
                and (author := users.get(c.tweet.user_id)) is not None
                and author.protected
            }
        )
        found = await self._stores.graph.is_following_many(pairs)
        return {pair for pair, follows in zip(pairs, found, strict=True) if follows}

    @staticmethod
    def _may_tell(
        cause: Cause, policy: Policy, users: dict[int, UserRecord], follows: set[tuple[int, int]]
    ) -> bool:
        """The recipient's policy: nothing from an actor they block, are blocked by, mute,
        or who is suspended; nothing about a tweet they may not see or whose words they mute."""
        actor = users.get(cause.actor)
        if actor is None or not policy.sees_account(actor):  # blocked either way, suspended
            return False
        if cause.actor in policy.relations.muting:
            return False
        if cause.kind in notifications.TWEET_KINDS and cause.tweet is not None:
            author = users.get(cause.tweet.user_id)
            follows_author = (cause.recipient, cause.tweet.user_id) in follows
            if not policy.sees_tweet(cause.tweet, author, follows_author):
                return False
            return not policy.mutes(cause.tweet)
        return True

    async def _apply(self, change: NotificationChange) -> None:
        async with self._slots:
            groups = await self._stores.notifications.apply(change, self._window, self._ids.next_id)
        if groups:
            await notifications.publish(self._events, groups)

    async def _drop(self, recipient: int, base: str) -> None:
        async with self._slots:
            groups = await self._stores.notifications.drop(recipient, base)
        if groups:
            await notifications.publish(self._events, groups)


def _tweet_causes(tweet: TweetRecord, tweets: dict[int, TweetRecord]) -> list[Cause]:
    """Who a tweet tells, and as what: a retweet its original's author; otherwise the author
    replied to, the author quoted and the accounts mentioned, each once."""
    over = tweet.is_deleted
    if tweet.retweet_of_tweet_id is not None:
        original = tweets.get(tweet.retweet_of_tweet_id)
        if original is None:
            return []
        # Whether the actor retweets the original now decides, not this retweet's deletion:
        # the job of an undone retweet may run after the actor retweeted again.
        over = original.is_deleted
        return [Cause("retweet", tweet.user_id, original.user_id, original, tweet.created_at, over)]
    told: dict[int, str] = {}
    if tweet.reply_to_user_id is not None:
        told[tweet.reply_to_user_id] = "reply"
    quoted = tweets.get(tweet.quote_tweet_id) if tweet.quote_tweet_id is not None else None
    if quoted is not None:
        told.setdefault(quoted.user_id, "quote")
    for mentioned in tweet.mentions:
        told.setdefault(mentioned, "mention")
    return [
        Cause(kind, tweet.user_id, recipient, tweet, tweet.created_at, over)
        for recipient, kind in told.items()
    ]


def _merge(changes: dict[tuple[int, str], NotificationChange], cause: Cause, allowed: bool) -> None:
    """Fold one cause into its base's change: added when allowed, else withdrawn."""
    tweet_id = cause.tweet.id if cause.tweet is not None else None
    key = notifications.base_key(cause.kind, tweet_id=tweet_id, actor_id=cause.actor)
    subject = tweet_id  # None for follows and requests
    change = changes.get((cause.recipient, key)) or NotificationChange(
        cause.recipient, key, cause.kind, subject
    )
    if allowed:
        change = NotificationChange(
            change.recipient_id,
            key,
            cause.kind,
            subject,
            added=(*change.added, (cause.actor, cause.at)),
            removed=tuple(a for a in change.removed if a != cause.actor),
        )
    else:
        change = NotificationChange(
            change.recipient_id,
            key,
            cause.kind,
            subject,
            added=tuple(a for a in change.added if a[0] != cause.actor),
            removed=(*change.removed, cause.actor),
        )
    changes[(cause.recipient, key)] = change
