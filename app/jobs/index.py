"""index {"tweet_id"}: put tweets into the search index, many per bulk request.

Indexing does not wait for the index to refresh: a tweet becomes searchable within the
index's refresh interval (1 s on Elasticsearch). Search results are read through the tweet
store, so a tweet deleted meanwhile never shows, and a viewer's own newest tweets are merged
into their searches by the search service (read your own writes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from app.jobs.base import INDEXING, JobDeps, Payload
from storage.records import SearchDocument, TweetRecord
from storage.registry import Stores


class Index:
    kind: ClassVar[str] = "index"
    stream: ClassVar[str] = INDEXING
    max_batch: ClassVar[int] = 500

    def __init__(self, deps: JobDeps) -> None:
        self._stores = deps.stores

    async def __call__(self, payloads: Sequence[Payload]) -> None:
        ids = list(dict.fromkeys(int(payload["tweet_id"]) for payload in payloads))
        tweets = await self._stores.tweets.get_many(ids)
        await index_tweets(self._stores, [tweet for tweet in tweets if tweet is not None])


async def index_tweets(stores: Stores, tweets: Sequence[TweetRecord]) -> tuple[int, int]:
    """Index the searchable tweets and remove the others, in two bulk requests at most;
    returns (indexed, removed)."""
    live = [tweet for tweet in tweets if searchable(tweet)]
    gone = [tweet.id for tweet in tweets if not searchable(tweet)]
    authors = await stores.users.get_many(list({tweet.user_id for tweet in live}))
    protected = {user.id for user in authors if user is not None and user.protected}
    if live:
        await stores.search.index([search_document(t, t.user_id in protected) for t in live])
    if gone:
        await stores.search.remove(gone)
    return len(live), len(gone)


def searchable(tweet: TweetRecord) -> bool:
    """Deleted tweets and retweets (their original is indexed) stay out of search."""
    return not tweet.is_deleted and tweet.retweet_of_tweet_id is None


def search_document(tweet: TweetRecord, protected: bool) -> SearchDocument:
    return SearchDocument(
        tweet_id=tweet.id,
        author_id=tweet.user_id,
        text=tweet.text,
        hashtags=tweet.hashtags,
        mentions=tweet.mentions,
        language=tweet.language,
        created_at=tweet.created_at,
        protected=protected,
    )
