"""Per-request DataLoaders (never module-level): one batch function per key kind."""

from __future__ import annotations

from app.container import Chirp
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


class Loaders:
    def __init__(self, chirp: Chirp, viewer_id: int | None) -> None:
        stores = chirp.stores
        self.user_by_id = UserByIdLoader(chirp.user_cache)
        self.user_stats_by_id = UserStatsByIdLoader(stores.users)
        self.tweet_by_id = TweetByIdLoader(chirp.tweet_cache)
        self.tweet_counts_by_id = TweetCountsByIdLoader(stores.engagement)
        self.followed_by_viewer: FollowedByViewerLoader | None = None
        self.follows_viewer: FollowsViewerLoader | None = None
        self.liked_by_viewer: LikedByViewerLoader | None = None
        self.retweeted_by_viewer: RetweetedByViewerLoader | None = None
        self.requested_by_viewer: RequestedByViewerLoader | None = None
        if viewer_id is not None:
            self.followed_by_viewer = FollowedByViewerLoader(stores.graph, viewer_id)
            self.follows_viewer = FollowsViewerLoader(stores.graph, viewer_id)
            self.liked_by_viewer = LikedByViewerLoader(stores.engagement, viewer_id)
            self.retweeted_by_viewer = RetweetedByViewerLoader(stores.engagement, viewer_id)
            self.requested_by_viewer = RequestedByViewerLoader(stores.graph, viewer_id)
        self.visible_tweet_by_id = VisibleTweetByIdLoader(
            self.tweet_by_id, self.user_by_id, self.followed_by_viewer, viewer_id
        )
        self.pages = Pages(
            stores.timelines,
            stores.graph,
            stores.engagement.likes_page,
            self.visible_tweet_by_id,
            self.followed_by_viewer,
            viewer_id,
            chirp.services.celebrities.ids,
        )
