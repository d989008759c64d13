"""The running application's parts, built once at start-up from settings and stores."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from app import codec
from app.archive import ColdArchive
from app.backup.schedule import BackupSchedule
from app.ids import SnowflakeGenerator
from app.invalidation import Invalidation
from app.jobs import STREAMS, Jobs, build_handlers
from app.jobs.base import JobDeps, JobHandler
from app.lifecycle import LifecycleDeps, LifecycleRunner
from app.live import LiveEvents
from app.persisted import PersistedDocuments, trusted_manifest
from app.policy import Gate
from app.readthrough import ReadThrough
from app.reconcile import Reconcile
from app.services import accounts, moderation, safety
from app.services.bookmarks import BookmarkTweet, UnbookmarkTweet
from app.services.celebrities import Celebrities
from app.services.data_export import RequestDataExport
from app.services.delete_account import AccountDeletions
from app.services.delete_tweet import DeleteTweet
from app.services.deleted_tweets import DeletedTweets, RestoreTweet
from app.services.engagement import LikeTweet, Retweet, UndoRetweet, UnlikeTweet
from app.services.follow_user import AnswerFollowRequest, FollowUser, UnfollowUser
from app.services.media import CreateMediaUpload
from app.services.notifications import Notifications
from app.services.people import SearchPeople
from app.services.pins import PinTweet, UnpinTweet
from app.services.post_tweet import PostTweet
from app.services.search import SearchTweets, Trending
from app.sessions import (
    Authenticator,
    SessionRevocations,
    SessionState,
    decode_state,
    encode_state,
    state_loader,
)
from app.settings import Settings
from app.tokens import AccessTokens
from app.views import ViewCounter, tally_name
from app.worker import Worker
from storage.memory import TTLCache
from storage.records import TweetRecord, UserRecord, ms_from_utc, utcnow
from storage.registry import Stores

L1_TTL_S = 60.0  # the design's L1: recent tweets and sessions, one minute
L1_ENTRIES = 1_000
TWEET_CACHE_TTL_S = 3600.0  # tweet:{id}, 1 h
USER_CACHE_TTL_S = 1800.0  # user:{id}, 30 min


@dataclass
class Chirp:
    settings: Settings
    stores: Stores
    ids: SnowflakeGenerator
    access_tokens: AccessTokens
    authenticator: Authenticator
    tweet_cache: ReadThrough[TweetRecord]
    user_cache: ReadThrough[UserRecord]
    services: Services
    handlers: dict[str, JobHandler]
    # Set when the cache is shared: this process listens for other processes' evictions.
    invalidation: Invalidation | None
    # Views of tweets: pages call `views.seen(viewer_id, tweet_ids)`; workers flush them.
    views: ViewCounter
    # The data lifecycle's passes: the worker runs them on a schedule (app/lifecycle/).
    lifecycle: LifecycleRunner
    # The cold tier: tweets moved out of the primary tables, read transparently.
    archive: ColdArchive
    # Documents named by their SHA-256: automatic persisted queries, or trusted documents only.
    documents: PersistedDocuments

    def worker(
        self,
        streams: Sequence[str] = STREAMS,
        concurrency: int | None = None,
        name: str | None = None,
    ) -> Worker:
        """A consumer of the given job streams (all of them by default)."""
        return Worker(
            self.stores.queues,
            self.handlers,
            streams,
            concurrency=concurrency or self.settings.worker_concurrency,
            name=name,
            reclaim_idle_s=self.settings.reclaim_idle_s,
            periodic=[self.views, self.lifecycle, BackupSchedule(self.settings, self.stores.cache)],
            on_lost=Reconcile(
                self.stores, Jobs(self.stores.queues), self.settings.reconcile_window_s
            ),
        )


@dataclass
class Services:
    sign_up: accounts.SignUp
    log_in: accounts.LogIn
    account_deletions: AccountDeletions
    refresh_session: accounts.RefreshSession
    log_out: accounts.LogOut
    update_profile: accounts.UpdateProfile
    update_settings: accounts.UpdateSettings
    post_tweet: PostTweet
    delete_tweet: DeleteTweet
    deleted_tweets: DeletedTweets
    restore_tweet: RestoreTweet
    like_tweet: LikeTweet
    unlike_tweet: UnlikeTweet
    retweet: Retweet
    undo_retweet: UndoRetweet
    follow_user: FollowUser
    unfollow_user: UnfollowUser
    answer_follow_request: AnswerFollowRequest
    block_user: safety.BlockUser
    unblock_user: safety.UnblockUser
    mute_user: safety.MuteUser
    unmute_user: safety.UnmuteUser
    muted_words: safety.MutedWords
    reports: moderation.Reports
    moderation: moderation.Moderation
    search_tweets: SearchTweets
    search_people: SearchPeople
    celebrities: Celebrities
    create_media_upload: CreateMediaUpload
    trending: Trending
    notifications: Notifications
    bookmark_tweet: BookmarkTweet
    unbookmark_tweet: UnbookmarkTweet
    pin_tweet: PinTweet
    unpin_tweet: UnpinTweet
    request_data_export: RequestDataExport


def _services(
    settings: Settings,
    stores: Stores,
    ids: SnowflakeGenerator,
    tokens: AccessTokens,
    revocations: SessionRevocations,
    tweet_cache: ReadThrough[TweetRecord],
    user_cache: ReadThrough[UserRecord],
    celebrities: Celebrities,
) -> Services:
    sessions = accounts.SessionOpener(stores.sessions, tokens, ids, settings.refresh_token_ttl_s)
    jobs = Jobs(stores.queues)
    deletions = AccountDeletions(stores, user_cache, jobs, settings.lifecycle)
    gate = Gate(stores.safety, stores.graph, tweet_cache, user_cache)
    return Services(
        sign_up=accounts.SignUp(stores.users, ids, sessions, jobs),
        log_in=accounts.LogIn(stores.users, sessions, deletions),
        account_deletions=deletions,
        refresh_session=accounts.RefreshSession(
            stores.users, stores.sessions, sessions, revocations
        ),
        log_out=accounts.LogOut(stores.sessions, revocations),
        update_profile=accounts.UpdateProfile(stores.users, user_cache, jobs),
        update_settings=accounts.UpdateSettings(stores.users, user_cache),
        post_tweet=PostTweet(stores, jobs, ids, gate),
        delete_tweet=DeleteTweet(stores, jobs, tweet_cache, settings.lifecycle.tweet_grace_s),
        deleted_tweets=DeletedTweets(stores),
        restore_tweet=RestoreTweet(stores, jobs, tweet_cache),
        like_tweet=LikeTweet(stores, gate, tweet_cache, jobs),
        unlike_tweet=UnlikeTweet(stores, gate, tweet_cache, jobs),
        retweet=Retweet(stores, gate, tweet_cache, jobs, ids),
        undo_retweet=UndoRetweet(stores, gate, tweet_cache, jobs),
        follow_user=FollowUser(stores, jobs, user_cache, gate),
        unfollow_user=UnfollowUser(stores, jobs, user_cache, gate),
        answer_follow_request=AnswerFollowRequest(stores, jobs, user_cache, gate),
        block_user=safety.BlockUser(stores, jobs, user_cache),
        unblock_user=safety.UnblockUser(stores, jobs, user_cache),
        mute_user=safety.MuteUser(stores, jobs, user_cache),
        unmute_user=safety.UnmuteUser(stores, jobs, user_cache),
        muted_words=safety.MutedWords(stores),
        reports=moderation.Reports(stores, gate, ids, tweet_cache, user_cache),
        moderation=moderation.Moderation(stores, jobs, ids, tweet_cache, user_cache),
        celebrities=celebrities,
        create_media_upload=CreateMediaUpload(stores.media, ids),
        search_tweets=SearchTweets(stores),
        search_people=SearchPeople(stores.search),
        trending=Trending(stores),
        notifications=Notifications(stores.notifications),
        bookmark_tweet=BookmarkTweet(stores.engagement, gate),
        unbookmark_tweet=UnbookmarkTweet(stores.engagement, tweet_cache),
        pin_tweet=PinTweet(stores.users, gate, user_cache),
        unpin_tweet=UnpinTweet(stores.users, gate, user_cache),
        request_data_export=RequestDataExport(stores.lifecycle, jobs, ids),
    )


def build(settings: Settings, stores: Stores) -> Chirp:
    # Ids carry their time (a tweet's created_at is read from its id): the one clock's.
    ids = SnowflakeGenerator(settings.worker_id, clock_ms=lambda: ms_from_utc(utcnow()))
    tokens = AccessTokens(settings.secret_key, settings.access_token_ttl_s)
    # Other processes keep L1 copies only when the cache is shared: tell them what changed.
    invalidation = Invalidation(stores.events) if stores.cache.shared else None
    announce = invalidation.announce if invalidation is not None else None
    archive = ColdArchive(stores)
    tweet_cache: ReadThrough[TweetRecord] = ReadThrough(
        prefix="tweet",
        fetch_many=archive.fetch_many,  # archived tweets too: a miss of the store reads cold
        encode=codec.encode,
        decode=codec.decode_tweet,
        l1=TTLCache(max_entries=L1_ENTRIES),
        l1_ttl_s=L1_TTL_S,
        cache=stores.cache,
        cache_ttl_s=TWEET_CACHE_TTL_S,
        announce=announce,
    )
    user_cache: ReadThrough[UserRecord] = ReadThrough(
        prefix="user",
        fetch_many=stores.users.get_many,
        encode=codec.encode,
        decode=codec.decode_user,
        l1=TTLCache(max_entries=L1_ENTRIES),
        l1_ttl_s=L1_TTL_S,
        cache=stores.cache,
        cache_ttl_s=USER_CACHE_TTL_S,
        announce=announce,
    )
    session_states: ReadThrough[SessionState] = ReadThrough(
        prefix="session",
        fetch_many=state_loader(stores.sessions),
        encode=encode_state,
        decode=decode_state,
        l1=TTLCache(max_entries=L1_ENTRIES),
        l1_ttl_s=L1_TTL_S,
        cache=stores.cache,
        cache_ttl_s=settings.access_token_ttl_s,
        announce=announce,
    )
    revocations = SessionRevocations(stores.sessions, session_states, settings.refresh_token_ttl_s)
    if invalidation is not None:
        invalidation.register("tweet", tweet_cache)
        invalidation.register("user", user_cache)
        invalidation.register("session", session_states)
    celebrities = Celebrities(stores.users, settings.celebrity_followers)
    deps = JobDeps(
        stores,
        celebrities,
        LiveEvents(stores.events),
        settings.fan_out_batch,
        gate=Gate(stores.safety, stores.graph, tweet_cache, user_cache),
        tweet_cache=tweet_cache,
        user_cache=user_cache,
        ids=ids,
        notification_window=timedelta(seconds=settings.notification_group_window_s),
        lifecycle=settings.lifecycle,
        archived=archive.page,
    )
    return Chirp(
        settings=settings,
        stores=stores,
        ids=ids,
        access_tokens=tokens,
        authenticator=Authenticator(tokens, revocations, user_cache),
        tweet_cache=tweet_cache,
        user_cache=user_cache,
        services=_services(
            settings, stores, ids, tokens, revocations, tweet_cache, user_cache, celebrities
        ),
        handlers=build_handlers(deps),
        invalidation=invalidation,
        views=ViewCounter(
            stores.cache,
            stores.engagement,
            window_s=settings.view_window_s,
            flush_every_s=settings.view_flush_s,
            tally=tally_name(settings.tweets_url),
        ),
        lifecycle=LifecycleRunner(
            LifecycleDeps(
                stores=stores,
                thresholds=settings.lifecycle,
                tweet_cache=tweet_cache,
                user_cache=user_cache,
                jobs=Jobs(stores.queues),
            )
        ),
        archive=archive,
        documents=PersistedDocuments(
            stores.cache,
            settings.persisted_query_ttl_s,
            trusted_manifest(settings.trusted_documents),
        ),
    )
