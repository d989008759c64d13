"""Purging deleted accounts once the purge window is over (issue #18, item 2).

`deleteAccount` sets `deactivated_at` and schedules an ACCOUNT entry due `account_purge_s`
later (app/services/delete_account.py); a log-in within the cancel window clears both. Once
due, `PurgeAccounts` checks the truth (still deactivated: a log-in may have cancelled it),
takes a short lease (one pass at a time per account) and removes the account from every
store, in this order:

1. its tweets (cold ones thawed back first, app/archive.py; then the author timeline, then
   the deleted ones it still owns): its own retweets undone, each tweet retracted (the
   parent's reply count corrected once), taken out of its followers' home timelines, its
   likes removed (each liker's likes_count corrected) and purged with `purge_tweets`
   (app/lifecycle/tweets.py); a TWEET entry due never claims each meanwhile, so a tweet
   half purged is finished by the next pass (and only by it) even once it is out of the
   author timeline;
2. its likes and bookmarks (the liked tweets' counts move only for likes really removed);
3. the graph both ways, the other side's following or followers count down by one per
   edge; pending requests to it;
4. its notifications (each base dropped; groups past the retention window are left to
   expire), blocks both ways, its mutes and muted words; sessions, its own timelines (home,
   mentions), roles, open reports of it and its tweets (resolved "account_deleted"), the
   people-search document, its media objects (`media/<user id>/`) and its data export
   (`exports/<user id>/` and the row);
5. the user row (with stats, settings and directory claims) last, then the entry.

Every step is a removal that a second run finds done, and the account stays hidden
(`deactivated_at` is on its row) until the row is gone: a pass killed midway leaves nothing
half-visible, and the next one finishes the job. An edge whose removal moves another user's
counter (a follow, a like) lives in another engine than the counter, so it goes through
`Corrections`: a marker entry first, then the removal, then the marker's removal and the
correction in one transaction; a pass settles the markers a killed one left, so every
counter moves exactly once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import ClassVar

from app.archive import ColdArchive
from app.jobs.fan_out import timeline_entry
from app.lifecycle import LifecycleDeps, Tally
from app.lifecycle.tweets import purge_tweets
from app.policy import deactivated
from app.services.delete_tweet import retract
from app.services.moderation import ROLES
from storage.records import (
    FollowEdge,
    LifecycleEntry,
    LifecycleKind,
    TargetKind,
    TimelineKind,
    TweetRecord,
    utcnow,
)

PAGE = 200  # tweets, edges and likes read per round trip while purging
NEVER = datetime(9999, 1, 1, tzinfo=UTC)  # the due time of a tweet this purge has claimed
# While one pass purges an account, others leave it alone; a pass killed midway leaves the
# account to the next pass after this long.
PURGE_LEASE_S = 5.0
RESOLVED = "account_deleted"  # how open reports of a purged account and its tweets close
EdgePage = Callable[[int, int, int | None], Awaitable[list[FollowEdge]]]
# What each correction marker moves: the owner's counter, down by one.
COUNTERS = {
    LifecycleKind.FOLLOWING_DOWN: "following_count",
    LifecycleKind.FOLLOWERS_DOWN: "followers_count",
    LifecycleKind.LIKES_DOWN: "likes_count",
}


class Corrections:
    """Edges removed with the owner's counter corrected exactly once, across crashes."""

    def __init__(self, deps: LifecycleDeps) -> None:
        self._stores = deps.stores
        self._batch = deps.thresholds.batch

    async def remove(self, kind: LifecycleKind, owner_id: int, subject_id: int) -> None:
        """The marker first; if this call then removed the edge, the correction goes with
        the marker's removal; if the edge was gone already, just the marker goes. (Two
        passes on one account at once, which the lease prevents, could lose a correction
        on an edge both reach at the same moment.)"""
        lifecycle = self._stores.lifecycle
        now = utcnow()
        await lifecycle.schedule(LifecycleEntry(kind, subject_id, owner_id, now, now))
        if await self._remove_edge(kind, owner_id, subject_id):
            await lifecycle.cancel_counting(kind, owner_id, subject_id, {COUNTERS[kind]: -1})
        else:
            await lifecycle.cancel(kind, owner_id, subject_id)

    async def settle(self, now: datetime) -> None:
        """Finish the corrections a killed pass left: its edge removed now if it is still
        there, and either way (the killed pass removed it) the counter corrected once."""
        lifecycle = self._stores.lifecycle
        for kind, counter in COUNTERS.items():
            while markers := await lifecycle.due(kind, now, self._batch):
                for marker in markers:
                    await self._remove_edge(kind, marker.owner_id, marker.subject_id)
                    await lifecycle.cancel_counting(
                        kind, marker.owner_id, marker.subject_id, {counter: -1}
                    )
                if len(markers) < self._batch:
                    break

    async def _remove_edge(self, kind: LifecycleKind, owner_id: int, subject_id: int) -> bool:
        if kind is LifecycleKind.FOLLOWING_DOWN:
            return await self._stores.graph.unfollow(owner_id, subject_id)
        if kind is LifecycleKind.FOLLOWERS_DOWN:
            return await self._stores.graph.unfollow(subject_id, owner_id)
        return await self._stores.engagement.unlike(owner_id, subject_id)


class PurgeAccounts:
    """Purges the deleted accounts whose purge window is over, a batch at a time."""

    name: ClassVar[str] = "purge_accounts"

    def __init__(self, deps: LifecycleDeps) -> None:
        self._deps = deps
        self._batch = deps.thresholds.batch

    async def __call__(self, now: datetime, tally: Tally) -> None:
        lifecycle = self._deps.stores.lifecycle
        await Corrections(self._deps).settle(now)
        while entries := await lifecycle.due(LifecycleKind.ACCOUNT, now, self._batch):
            users = await self._deps.stores.users.get_many([e.subject_id for e in entries])
            busy = 0
            for entry, user in zip(entries, users, strict=True):
                if user is None:  # the row went last: only the entry was left
                    tally.add("purged")
                elif not deactivated(user):  # the deletion was cancelled
                    tally.add("skipped")
                elif not await self._leased(user.id):  # another pass is purging it
                    busy += 1
                    continue
                else:
                    await AccountPurge(self._deps, user.id)()
                    tally.add("purged")
                await lifecycle.cancel(LifecycleKind.ACCOUNT, entry.owner_id, entry.subject_id)
            if len(entries) < self._batch or busy == len(entries):
                break

    async def _leased(self, user_id: int) -> bool:
        """One pass at a time purges an account (the first to ask for a while)."""
        key = f"lifecycle:purge_account:{user_id}"
        return await self._deps.stores.cache.incr(key, PURGE_LEASE_S) == 1


class AccountPurge:
    """One account's purge, as a script of idempotent steps; the user row goes last."""

    def __init__(self, deps: LifecycleDeps, user_id: int) -> None:
        self._deps = deps
        self._stores = deps.stores
        self._user_id = user_id
        self._corrections = Corrections(deps)
        self._archive = ColdArchive(deps.stores)

    async def __call__(self) -> None:
        await self._archive.thaw_author(self._user_id)  # its cold tweets, back to be purged
        await self._purge_authored_tweets()
        await self._purge_deleted_tweets()
        await self._purge_likes()
        await self._purge_bookmarks()
        await self._purge_graph()
        await self._purge_notifications()
        await self._purge_safety()
        await self._purge_the_rest()
        await self._stores.users.purge(self._user_id)
        await self._deps.user_cache.invalidate([self._user_id])

    async def _purge_authored_tweets(self) -> None:
        timelines = self._stores.timelines
        after = None  # on past each page (what is left of it goes with the trim at the end)
        while entries := await timelines.page(TimelineKind.AUTHOR, self._user_id, PAGE, after):
            tweets = await self._stores.tweets.get_many([e.tweet_id for e in entries])
            found = [tweet for tweet in tweets if tweet is not None]
            stale = [e for e, tweet in zip(entries, tweets, strict=True) if tweet is None]
            if stale:
                await timelines.remove(TimelineKind.AUTHOR, [self._user_id], stale)
            await self._purge(found)
            if len(entries) < PAGE:
                break
            after = entries[-1].position

    async def _purge_deleted_tweets(self) -> None:
        """Tweets deleted before (in their grace period) or half purged by a killed pass."""
        lifecycle = self._stores.lifecycle
        while entries := await lifecycle.owned(LifecycleKind.TWEET, self._user_id, PAGE):
            tweets = await self._stores.tweets.get_many([e.subject_id for e in entries])
            await self._purge([tweet for tweet in tweets if tweet is not None])
            for entry in entries:
                await lifecycle.cancel(LifecycleKind.TWEET, self._user_id, entry.subject_id)
            if len(entries) < PAGE:
                break

    async def _purge(self, tweets: list[TweetRecord]) -> None:
        """Each tweet is first claimed by a TWEET entry due never: this purge finds it again
        after a crash (`owned`), and the tweets step leaves it alone (its removals would not
        know of the corrections in flight)."""
        stores, deps = self._stores, self._deps
        now = utcnow()
        for tweet in tweets:
            entry = LifecycleEntry(LifecycleKind.TWEET, tweet.id, self._user_id, now, NEVER)
            await stores.lifecycle.schedule(entry)
            if tweet.retweet_of_tweet_id is not None:
                await stores.engagement.undo_retweet(self._user_id, tweet.retweet_of_tweet_id)
        await self._out_of_followers_homes(tweets)
        for tweet in tweets:
            if not tweet.is_deleted:
                await retract(stores, deps.jobs, deps.tweet_cache, tweet)
        for tweet in tweets:
            await self._unliked(tweet.id)
            await stores.moderation.resolve(
                TargetKind.TWEET, tweet.id, self._user_id, RESOLVED, now
            )
            await purge_tweets(deps, [tweet])
            await stores.lifecycle.cancel(LifecycleKind.TWEET, self._user_id, tweet.id)

    async def _out_of_followers_homes(self, tweets: list[TweetRecord]) -> None:
        """The retract job finds no row once a tweet is purged: its followers' home
        timelines are cleared here, while the follower edges are still there."""
        if not tweets:
            return
        entries = [timeline_entry(tweet) for tweet in tweets]
        after = None
        while edges := await self._stores.graph.followers_page(self._user_id, PAGE, after):
            followers = [edge.other_id for edge in edges]
            await self._stores.timelines.remove(TimelineKind.HOME, followers, entries)
            if len(edges) < PAGE:
                break
            after = edges[-1].other_id

    async def _unliked(self, tweet_id: int) -> None:
        """Every like of the tweet, each liker's likes_count corrected once."""
        engagement = self._stores.engagement
        after = None  # on past what was seen: a stale entry is not read again
        while likers := await engagement.likers_page(tweet_id, PAGE, after):
            for edge in likers:
                await self._corrections.remove(LifecycleKind.LIKES_DOWN, edge.user_id, tweet_id)
            if len(likers) < PAGE:
                break
            after = likers[-1].position

    async def _purge_likes(self) -> None:
        engagement = self._stores.engagement
        after = None
        while likes := await engagement.likes_page(self._user_id, PAGE, after):
            for like in likes:
                await engagement.unlike(self._user_id, like.tweet_id)
            if len(likes) < PAGE:
                break
            after = likes[-1].position

    async def _purge_bookmarks(self) -> None:
        engagement = self._stores.engagement
        after = None
        while bookmarks := await engagement.bookmarks_page(self._user_id, PAGE, after):
            for bookmark in bookmarks:
                await engagement.unbookmark(self._user_id, bookmark.tweet_id)
            if len(bookmarks) < PAGE:
                break
            after = bookmarks[-1].position

    async def _purge_graph(self) -> None:
        graph = self._stores.graph
        user = self._user_id
        await self._unfollow_all(graph.followers_page, LifecycleKind.FOLLOWING_DOWN)
        await self._unfollow_all(graph.following_page, LifecycleKind.FOLLOWERS_DOWN)
        after = None
        while requests := await graph.requests_page(user, PAGE, after):
            for edge in requests:
                await graph.withdraw_request(edge.other_id, user)
            if len(requests) < PAGE:
                break
            after = requests[-1].other_id

    async def _unfollow_all(self, page: EdgePage, kind: LifecycleKind) -> None:
        """Each edge removed, the other side's counter corrected once (see Corrections)."""
        after = None
        while edges := await page(self._user_id, PAGE, after):
            for edge in edges:
                await self._corrections.remove(kind, edge.other_id, self._user_id)
            if len(edges) < PAGE:
                break
            after = edges[-1].other_id

    async def _purge_notifications(self) -> None:
        """Their own notifications, a base at a time (what they caused others to hear of is
        hidden by the policy until the row is gone, then shows no one)."""
        notifications = self._stores.notifications
        after = None
        while groups := await notifications.page(self._user_id, PAGE, after):
            for base_key in dict.fromkeys(group.base_key for group in groups):
                await notifications.drop(self._user_id, base_key)
            if len(groups) < PAGE:
                break
            after = groups[-1].position

    async def _purge_safety(self) -> None:
        safety = self._stores.safety
        user = self._user_id
        relations = await safety.relations(user, utcnow())
        for other in relations.blocking:
            await safety.unblock(user, other)
        for other in relations.blocked_by:
            await safety.unblock(other, user)
        for other in relations.muting:
            await safety.unmute(user, other)
        for word in relations.muted_words:
            await safety.remove_muted_word(user, word.word)

    async def _purge_the_rest(self) -> None:
        stores = self._stores
        user = self._user_id
        await stores.sessions.revoke_user(user)
        for kind in (TimelineKind.HOME, TimelineKind.MENTIONS, TimelineKind.AUTHOR):
            await stores.timelines.trim(kind, user, 0)  # what others wrote into its timelines
        for role in ROLES:
            await stores.moderation.revoke(user, role)
        await stores.moderation.resolve(TargetKind.USER, user, user, RESOLVED, utcnow())
        await stores.search.remove_users([user])
        await self._archive.remove_author(user)  # what a crash left of its cold archives
        for folder in (f"media/{user}/", f"exports/{user}/"):
            while keys := await stores.media.keys(folder, PAGE):
                await stores.media.delete_many(keys)
                if len(keys) < PAGE:
                    break
        await stores.lifecycle.forget_exports(user)
