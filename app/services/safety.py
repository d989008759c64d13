"""Blocks, mutes and muted words: what a user sets against other accounts and words.

A block is written at once (app/policy.py hides both sides from each other from the next
read on), then ends the follows both ways, with their counts, and any pending follow
request; a queued `unfollow` job per ended follow takes each side's tweets out of the
other's stored home timeline. A retried block changes nothing more. Unblocking restores
nothing: the follows stay ended.

Mutes and muted words only filter the muter's feeds; they may expire.
"""

from __future__ import annotations

from datetime import timedelta

from app import text
from app.errors import BadInput, NotFoundError
from app.jobs import Jobs
from app.jobs.index_users import IndexUsers
from app.jobs.unfollow import Unfollow
from app.policy import fold
from app.readthrough import ReadThrough
from storage.records import MutedWord, RelationEdge, UserRecord, utcnow
from storage.registry import Stores

MAX_MUTED_WORD = 100
MAX_MUTED_WORDS = 200
MAX_EXPIRES_IN_S = 10 * 365 * 24 * 3600


def expiry_of(expires_in: int | None) -> timedelta | None:
    """`expiresIn` seconds (none: for good), checked."""
    if expires_in is None:
        return None
    if not 1 <= expires_in <= MAX_EXPIRES_IN_S:
        raise BadInput(
            f"expiresIn is a number of seconds from 1 to {MAX_EXPIRES_IN_S}, or null for good.",
            argument="expiresIn",
        )
    return timedelta(seconds=expires_in)


class _AgainstAccount:
    def __init__(self, stores: Stores, jobs: Jobs, user_cache: ReadThrough[UserRecord]) -> None:
        self._stores = stores
        self._jobs = jobs
        self._user_cache = user_cache

    async def _other(self, viewer_id: int, user_id: int, verb: str) -> UserRecord:
        if viewer_id == user_id:
            raise BadInput(f"You cannot {verb} yourself.", argument="userId")
        [user] = await self._user_cache.get_many([user_id])
        if user is None:
            raise NotFoundError("That user does not exist.", argument="userId")
        return user


class BlockUser(_AgainstAccount):
    async def __call__(self, viewer_id: int, user_id: int) -> UserRecord:
        user = await self._other(viewer_id, user_id, "block")
        await self._stores.safety.block(viewer_id, user_id, utcnow())
        for follower, followee in ((viewer_id, user_id), (user_id, viewer_id)):
            await self._stores.graph.withdraw_request(follower, followee)
            if await self._stores.graph.unfollow(follower, followee):
                await self._stores.users.add_to_stats_many(
                    {follower: {"following_count": -1}, followee: {"followers_count": -1}}
                )
                payload = {"follower_id": follower, "followee_id": followee}
                await self._jobs.enqueue(Unfollow, payload)
                await self._jobs.enqueue(IndexUsers, {"user_id": followee})
        return user


class UnblockUser(_AgainstAccount):
    async def __call__(self, viewer_id: int, user_id: int) -> UserRecord:
        user = await self._other(viewer_id, user_id, "unblock")
        await self._stores.safety.unblock(viewer_id, user_id)
        return user


class MuteUser(_AgainstAccount):
    async def __call__(self, viewer_id: int, user_id: int, expires_in: int | None) -> UserRecord:
        lasting = expiry_of(expires_in)
        user = await self._other(viewer_id, user_id, "mute")
        now = utcnow()
        await self._stores.safety.mute(viewer_id, user_id, now, now + lasting if lasting else None)
        return user


class UnmuteUser(_AgainstAccount):
    async def __call__(self, viewer_id: int, user_id: int) -> UserRecord:
        user = await self._other(viewer_id, user_id, "unmute")
        await self._stores.safety.unmute(viewer_id, user_id)
        return user


class MutedWords:
    def __init__(self, stores: Stores) -> None:
        self._stores = stores

    async def current(self, viewer_id: int) -> list[MutedWord]:
        relations = await self._stores.safety.relations(viewer_id, utcnow())
        return sorted(relations.muted_words, key=lambda word: word.word)

    async def add(self, viewer_id: int, word: str, expires_in: int | None) -> list[MutedWord]:
        lasting = expiry_of(expires_in)
        folded = _word(word)
        current = await self.current(viewer_id)
        if len(current) >= MAX_MUTED_WORDS and folded not in {w.word for w in current}:
            raise BadInput(
                f"You can mute at most {MAX_MUTED_WORDS} words; remove one first.",
                argument="word",
            )
        now = utcnow()
        await self._stores.safety.add_muted_word(
            viewer_id, folded, now, now + lasting if lasting else None
        )
        return await self.current(viewer_id)

    async def remove(self, viewer_id: int, word: str) -> list[MutedWord]:
        await self._stores.safety.remove_muted_word(viewer_id, _word(word))
        return await self.current(viewer_id)


def _word(word: str) -> str:
    folded = fold(text.checked(word, "word", kind="argument"))
    if not 0 < len(folded) <= MAX_MUTED_WORD:
        raise BadInput(
            f"A muted word is 1 to {MAX_MUTED_WORD} characters (not only spaces).",
            argument="word",
        )
    if not any(char.isalnum() for char in folded):
        raise BadInput("A muted word needs a letter or a digit.", argument="word")
    return folded


async def relations_page(
    stores: Stores, which: str, viewer_id: int, first: int, after: int | None
) -> tuple[list[RelationEdge], bool]:
    """A page of the viewer's blocks or unexpired mutes, ordered by account id."""
    if which == "blocked":
        edges = await stores.safety.blocks_page(viewer_id, first + 1, after)
    else:
        edges = await stores.safety.mutes_page(viewer_id, first + 1, after, utcnow())
    return edges[:first], len(edges) > first
