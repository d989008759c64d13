"""Pinned tweets: one of a user's own tweets, shown first on their profile.

The pin is a column of the user (`pinned_tweet_id`), so it travels with the cached user and
costs no read of its own; `User.pinnedTweet` reads the tweet through the policy, so a
pinned tweet deleted since, or hidden from the viewer, shows as null. Pinning replaces any
earlier pin; only an original tweet of one's own can be pinned: one the pinner may not see
(or that does not exist) is NOT_FOUND, someone else's is FORBIDDEN, a retweet is
BAD_USER_INPUT; a refused pin changes nothing. Unpinning with nothing pinned is a no-op.
"""

from __future__ import annotations

from app.errors import BadInput, Forbidden
from app.policy import Gate
from app.readthrough import ReadThrough
from storage.ports import UserStore
from storage.records import UserRecord


class _Pins:
    def __init__(self, users: UserStore, gate: Gate, user_cache: ReadThrough[UserRecord]) -> None:
        self._users = users
        self._gate = gate
        self._user_cache = user_cache

    async def _set(self, user_id: int, tweet_id: int | None) -> UserRecord:
        user = await self._users.update_profile(user_id, {"pinned_tweet_id": tweet_id})
        await self._user_cache.invalidate([user_id])
        return user


class PinTweet(_Pins):
    async def __call__(self, viewer_id: int, tweet_id: int) -> UserRecord:
        tweet, _ = await self._gate.visible_tweet(viewer_id, tweet_id)
        if tweet.user_id != viewer_id:
            raise Forbidden("You can pin only your own tweets.", argument="id")
        if tweet.retweet_of_tweet_id is not None:
            raise BadInput("Pin a tweet of your own, not a retweet.", argument="id")
        return await self._set(viewer_id, tweet.id)


class UnpinTweet(_Pins):
    async def __call__(self, viewer_id: int) -> UserRecord:
        [user] = await self._users.get_many([viewer_id])
        if user is None:
            raise LookupError(f"the viewer {viewer_id} has no user row")
        return user if user.pinned_tweet_id is None else await self._set(viewer_id, None)
