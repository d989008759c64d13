"""Per-request DataLoaders (never module-level): one batch function per key kind."""

from __future__ import annotations

from collections.abc import Sequence

from aiodataloader import DataLoader

from app.container import Chirp
from app.policy import ANONYMOUS, Policy
from loaders.engagement import BookmarkedByViewerLoader
from loaders.exports import DataExportByUserIdLoader
from loaders.pages import Pages
from loaders.tweets import (
    LikedByViewerLoader,
    RetweetedByViewerLoader,
    TweetByIdLoader,
    TweetCountsByIdLoader,
    VisibleTweetByIdLoader,
)
from loaders.users import (
    FollowedByViewerLoader,
    FollowsViewerLoader,
    RequestedByViewerLoader,
    UserByIdLoader,
    UserStatsByIdLoader,
)
from storage.ports import SafetyStore
from storage.records import Relations, utcnow


class RelationsLoader(DataLoader[int, Relations]):
    def __init__(self, safety: SafetyStore) -> None:
        super().__init__()
        self._safety = safety

    async def batch_load_fn(self, ids: Sequence[int]) -> list[Relations]:
        now = utcnow()
        return [await self._safety.relations(user_id, now) for user_id in ids]


class Loaders:
    def __init__(self, chirp: Chirp, viewer_id: int | None) -> None:
        stores = chirp.stores
        self._viewer_id = viewer_id
        self._relations = RelationsLoader(stores.safety)
        self._policy: Policy | None = None if viewer_id is not None else ANONYMOUS
        self.user_by_id = UserByIdLoader(chirp.user_cache)
        self.user_stats_by_id = UserStatsByIdLoader(stores.users)
        self.tweet_by_id = TweetByIdLoader(chirp.tweet_cache)
        self.tweet_counts_by_id = TweetCountsByIdLoader(stores.engagement)
        self.data_export_by_user_id = DataExportByUserIdLoader(stores.lifecycle)
        self.followed_by_viewer: FollowedByViewerLoader | None = None
        self.follows_viewer: FollowsViewerLoader | None = None
        self.liked_by_viewer: LikedByViewerLoader | None = None
        self.retweeted_by_viewer: RetweetedByViewerLoader | None = None
        self.requested_by_viewer: RequestedByViewerLoader | None = None
        self.bookmarked_by_viewer: BookmarkedByViewerLoader | None = None
        if viewer_id is not None:
            self.followed_by_viewer = FollowedByViewerLoader(stores.graph, viewer_id)
            self.follows_viewer = FollowsViewerLoader(stores.graph, viewer_id)
            self.liked_by_viewer = LikedByViewerLoader(stores.engagement, viewer_id)
            self.retweeted_by_viewer = RetweetedByViewerLoader(stores.engagement, viewer_id)
            self.requested_by_viewer = RequestedByViewerLoader(stores.graph, viewer_id)
            self.bookmarked_by_viewer = BookmarkedByViewerLoader(stores.engagement, viewer_id)
        self.visible_tweet_by_id = VisibleTweetByIdLoader(
            self.tweet_by_id, self.user_by_id, self.followed_by_viewer, self.policy
        )
        self.pages = Pages(
            stores.timelines,
            stores.graph,
            stores.engagement.likes_page,
            self.visible_tweet_by_id,
            self.followed_by_viewer,
            viewer_id,
            chirp.services.celebrities.ids,
            self.policy,
            users=self.user_by_id,
            authored=chirp.archive.authored,
        )

    async def policy(self) -> Policy:
        """The viewer's policy: their relations are read once per request (none when
        anonymous)."""
        if self._policy is None:
            assert self._viewer_id is not None
            relations = await self._relations.load(self._viewer_id)
            self._policy = self._policy or Policy(self._viewer_id, relations)
        return self._policy
