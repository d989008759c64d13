"""Hybrid fan-out's celebrities: authors with more followers than the threshold. Their tweets
are not fanned out on write; followers' home timelines merge them in at read time."""

from __future__ import annotations

from storage.memory import TTLCache
from storage.ports import UserStore

REFRESH_S = 30.0  # crossing the threshold is rare; a short lag is harmless
MAX_CELEBRITIES = 1_000


class Celebrities:
    def __init__(self, users: UserStore, threshold: int) -> None:
        self._users = users
        self._threshold = threshold
        self._cache: TTLCache[str, tuple[int, ...]] = TTLCache(max_entries=1)

    async def ids(self) -> tuple[int, ...]:
        cached = self._cache.get("ids")
        if cached is None:
            cached = tuple(
                await self._users.ids_with_followers_over(self._threshold, MAX_CELEBRITIES)
            )
            self._cache.set("ids", cached, REFRESH_S)
        return cached

    async def is_celebrity(self, user_id: int) -> bool:
        """Fan-out asks the same list readers merge from, so an author who crosses the
        threshold is fanned out until readers merge them in (within REFRESH_S per process)."""
        return user_id in await self.ids()
