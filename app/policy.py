"""Who may see what, and act on it: the one read-and-act policy.

Every read path (loaders, pages, the live subscription, search) and every write that
touches someone else's content (reply, quote, retweet, like, follow, mention) asks here.
The rules, in order:

- **deleted**: a deleted tweet is seen by no one;
- **suspended**: a suspended account's tweets are seen by no one until it is unsuspended
  (moderators read them through the moderation queue, not through this policy);
- **deactivated** (deleteAccount): the account and everything it made are seen by no one,
  as if it did not exist, until a log-in cancels the deletion or the purge removes it;
- **blocked**, either way: neither side sees the other's account content (tweets, retweets
  of their tweets, replies, likes, follower lists, mentions of them) nor may act on it; a
  profile read still answers, saying that it is blocked;
- **protected**: a protected account's tweets reach only its author and approved followers;
- **muted** (accounts and words): kept out of the muter's feeds (home timeline, the live
  subscription, search) but still reachable by id, on profiles and in conversations.

`Policy` holds one viewer's rules with their `Relations` (read whole, once per request), so
filtering costs no round trip per tweet or per blocked account. `Gate` is the services'
side: it loads what `Policy` needs for one action and refuses with a stable code.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from app.errors import Forbidden, NotFoundError
from app.readthrough import ReadThrough
from storage.ports import FollowGraph, SafetyStore
from storage.records import Relations, TweetRecord, UserRecord, utcnow

NO_RELATIONS = Relations()


class Blocked(Forbidden):
    code = "BLOCKED"


class Suspended(Forbidden):
    code = "SUSPENDED"


def fold(word: str) -> str:
    """How muted words are stored and matched: NFC, casefolded, outer spaces trimmed."""
    return unicodedata.normalize("NFC", word).casefold().strip()


@dataclass(frozen=True)
class Policy:
    viewer_id: int | None
    relations: Relations = field(default=NO_RELATIONS)

    def blocked_either_way(self, user_id: int) -> bool:
        return user_id in self.relations.blocking or user_id in self.relations.blocked_by

    def sees_account(self, user: UserRecord) -> bool:
        """Whether anything of this account's (tweets, lists, mentions) reaches the viewer."""
        return (
            not self.blocked_either_way(user.id) and not suspended(user) and not deactivated(user)
        )

    def needs_follow_check(self, author: UserRecord) -> bool:
        return (
            author.protected
            and self.viewer_id is not None
            and self.viewer_id != author.id
            and self.sees_account(author)
        )

    def sees_tweets_of(self, author: UserRecord, viewer_follows_author: bool) -> bool:
        if not self.sees_account(author):
            return False
        if not author.protected or author.id == self.viewer_id:
            return True
        return self.viewer_id is not None and viewer_follows_author

    def sees_tweet(
        self, tweet: TweetRecord | None, author: UserRecord | None, viewer_follows_author: bool
    ) -> bool:
        return (
            tweet is not None
            and not tweet.is_deleted
            and author is not None
            and author.id == tweet.user_id
            and self.sees_tweets_of(author, viewer_follows_author)
        )

    def mutes(self, tweet: TweetRecord, original: TweetRecord | None = None) -> bool:
        """Whether a tweet (with the original it retweets) stays out of the viewer's feeds:
        its author or the original's is muted, or its text has a muted word."""
        muting = self.relations.muting
        if tweet.user_id in muting or (original is not None and original.user_id in muting):
            return True
        words = self._muted_words
        if words is None:
            return False
        texts = [tweet.text] + ([original.text] if original is not None else [])
        return any(words.search(fold(text)) for text in texts)

    @cached_property
    def _muted_words(self) -> re.Pattern[str] | None:
        """One pattern for all muted words, each matching whole words only: `cat` matches
        "cat" and "#cat" but not "catalog"; `#cat` matches only the hashtag."""
        now = utcnow()
        live = [
            w.word for w in self.relations.muted_words if w.expires_at is None or w.expires_at > now
        ]
        if not live:
            return None
        alternatives = "|".join(re.escape(word) for word in sorted(live, key=len, reverse=True))
        return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")

    def listed(self, user_ids: Iterable[int]) -> list[int]:
        """The accounts of a list (followers, mentions, likers) the viewer is shown."""
        return [user_id for user_id in user_ids if not self.blocked_either_way(user_id)]


ANONYMOUS = Policy(None)


def suspended(user: UserRecord) -> bool:
    return user.suspended_until is not None and user.suspended_until > utcnow()


def deactivated(user: UserRecord) -> bool:
    """Deleted by its owner (deleteAccount) and not yet purged: shown to no one."""
    return user.deactivated_at is not None


class Gate:
    """The policy for one action of a service: loads the actor's relations and the follow
    the protected rule needs, then answers or refuses (NOT_FOUND for what the actor may not
    see, as if it did not exist; BLOCKED for an account blocked either way)."""

    def __init__(
        self,
        safety: SafetyStore,
        graph: FollowGraph,
        tweets: ReadThrough[TweetRecord],
        users: ReadThrough[UserRecord],
    ) -> None:
        self._safety = safety
        self._graph = graph
        self._tweets = tweets
        self._users = users

    async def policy(self, viewer_id: int) -> Policy:
        return Policy(viewer_id, await self._safety.relations(viewer_id, utcnow()))

    async def visible_tweet(
        self,
        viewer_id: int,
        tweet_id: int,
        field: str | None = None,
        original: bool = False,
        policy: Policy | None = None,
    ) -> tuple[TweetRecord, UserRecord]:
        """The tweet `viewer_id` acts on, with its author, if they may see it; with
        `original`, a retweet stands for the tweet it retweets. A caller that has the
        viewer's policy already passes it."""
        details = {"field": field} if field else {}
        [tweet] = await self._tweets.get_many([tweet_id])
        if original and tweet is not None and tweet.retweet_of_tweet_id is not None:
            [tweet] = await self._tweets.get_many([tweet.retweet_of_tweet_id])
        [author] = await self._users.get_many([tweet.user_id]) if tweet else [None]
        policy = policy or await self.policy(viewer_id)
        follows = False
        if author is not None and policy.needs_follow_check(author):
            [follows] = await self._graph.is_following_many([(viewer_id, author.id)])
        if tweet is None or author is None or not policy.sees_tweet(tweet, author, follows):
            raise NotFoundError("That tweet does not exist.", **details)
        return tweet, author

    async def account(self, viewer_id: int, user_id: int, field: str = "userId") -> UserRecord:
        """An account `viewer_id` acts on (follows, say): it exists and no block stands
        between them."""
        [user] = await self._users.get_many([user_id])
        if user is None or deactivated(user):
            raise NotFoundError("That user does not exist.", field=field)
        if suspended(user):
            raise Suspended("This account is suspended.", field=field)
        policy = await self.policy(viewer_id)
        if user_id in policy.relations.blocking:
            raise Blocked("You block this account; unblock it first.", field=field)
        if user_id in policy.relations.blocked_by:
            raise Blocked("This account blocks you.", field=field)
        return user

    async def reachable(self, author_id: int, user_ids: Iterable[int]) -> list[int]:
        """Of the accounts a tweet mentions, those it may reach (no block either way)."""
        return (await self.policy(author_id)).listed(user_ids)
