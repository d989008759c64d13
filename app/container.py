"""The running application's parts, built once at start-up from settings and stores."""

from __future__ import annotations

from dataclasses import dataclass

from app import codec
from app.ids import SnowflakeGenerator
from app.readthrough import ReadThrough
from app.services import accounts
from app.services.celebrities import Celebrities
from app.services.delete_tweet import DeleteTweet
from app.services.engagement import LikeTweet, Retweet, UndoRetweet, UnlikeTweet
from app.services.fan_out import FanOut
from app.services.follow_user import AnswerFollowRequest, FollowUser, UnfollowUser
from app.services.media import CreateMediaUpload
from app.services.post_tweet import PostTweet
from app.services.search import SearchTweets, Trending
from app.settings import Settings
from app.tokens import AccessTokens
from storage.memory import TTLCache
from storage.records import TweetRecord, UserRecord
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
    tweet_cache: ReadThrough[TweetRecord]
    user_cache: ReadThrough[UserRecord]
    services: Services


@dataclass
class Services:
    sign_up: accounts.SignUp
    log_in: accounts.LogIn
    refresh_session: accounts.RefreshSession
    log_out: accounts.LogOut
    update_profile: accounts.UpdateProfile
    update_settings: accounts.UpdateSettings
    post_tweet: PostTweet
    delete_tweet: DeleteTweet
    like_tweet: LikeTweet
    unlike_tweet: UnlikeTweet
    retweet: Retweet
    undo_retweet: UndoRetweet
    follow_user: FollowUser
    unfollow_user: UnfollowUser
    answer_follow_request: AnswerFollowRequest
    fan_out: FanOut
    search_tweets: SearchTweets
    celebrities: Celebrities
    create_media_upload: CreateMediaUpload
    trending: Trending


def _services(
    settings: Settings,
    stores: Stores,
    ids: SnowflakeGenerator,
    tokens: AccessTokens,
    tweet_cache: ReadThrough[TweetRecord],
    user_cache: ReadThrough[UserRecord],
) -> Services:
    sessions = accounts.SessionOpener(stores.sessions, tokens, settings.refresh_token_ttl_s)
    celebrities = Celebrities(stores.users, settings.celebrity_followers)
    return Services(
        sign_up=accounts.SignUp(stores.users, ids, sessions),
        log_in=accounts.LogIn(stores.users, sessions),
        refresh_session=accounts.RefreshSession(stores.users, stores.sessions, sessions),
        log_out=accounts.LogOut(stores.sessions),
        update_profile=accounts.UpdateProfile(stores.users, user_cache),
        update_settings=accounts.UpdateSettings(stores.users, user_cache),
        post_tweet=PostTweet(stores, ids, tweet_cache, user_cache),
        delete_tweet=DeleteTweet(stores, tweet_cache),
        like_tweet=LikeTweet(stores, tweet_cache, user_cache),
        unlike_tweet=UnlikeTweet(stores, tweet_cache, user_cache),
        retweet=Retweet(stores, tweet_cache, user_cache, ids),
        undo_retweet=UndoRetweet(stores, tweet_cache, user_cache),
        follow_user=FollowUser(stores, user_cache),
        unfollow_user=UnfollowUser(stores, user_cache),
        answer_follow_request=AnswerFollowRequest(stores, user_cache),
        fan_out=FanOut(stores, settings.timeline_max_length, celebrities, settings.fan_out_batch),
        celebrities=celebrities,
        create_media_upload=CreateMediaUpload(stores.media, ids),
        search_tweets=SearchTweets(stores),
        trending=Trending(stores),
    )


def build(settings: Settings, stores: Stores) -> Chirp:
    ids = SnowflakeGenerator(settings.worker_id)
    tokens = AccessTokens(settings.secret_key, settings.access_token_ttl_s)
    tweet_cache: ReadThrough[TweetRecord] = ReadThrough(
        prefix="tweet",
        fetch_many=stores.tweets.get_many,
        encode=codec.encode,
        decode=codec.decode_tweet,
        l1=TTLCache(max_entries=L1_ENTRIES),
        l1_ttl_s=L1_TTL_S,
        cache=stores.cache,
        cache_ttl_s=TWEET_CACHE_TTL_S,
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
    )
    return Chirp(
        settings=settings,
        stores=stores,
        ids=ids,
        access_tokens=tokens,
        tweet_cache=tweet_cache,
        user_cache=user_cache,
        services=_services(settings, stores, ids, tokens, tweet_cache, user_cache),
    )
