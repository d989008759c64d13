"""PostTweet: validate, write the tweet durably, record it on the author's side, then queue
its fan-out and indexing. A retry with the same idempotency key writes nothing new but
re-runs the idempotent follow-ups, so a request that died half-way is completed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence

from app import text
from app.errors import BadInput, Forbidden
from app.ids import SnowflakeGenerator, id_timestamp_ms
from app.jobs import Jobs
from app.jobs.announce import Announce
from app.jobs.fan_out import FanOut, mentioned_others
from app.jobs.index import Index
from app.jobs.notify import Notify
from app.policy import Gate
from app.services.media import attachable_keys
from storage.records import TimelineEntry, TimelineKind, TweetRecord, utc_from_ms
from storage.registry import Stores

MAX_IDEMPOTENCY_KEY = 64
MAX_SOURCE_LENGTH = 64
MAX_LANGUAGE_LENGTH = 16
MAX_MENTIONS = 20


class PostTweet:
    def __init__(
        self,
        stores: Stores,
        jobs: Jobs,
        ids: SnowflakeGenerator,
        gate: Gate,
    ) -> None:
        self._stores = stores
        self._jobs = jobs
        self._ids = ids
        self._gate = gate

    async def __call__(
        self,
        author_id: int,
        body: str,
        *,
        reply_to_id: int | None = None,
        quote_of_id: int | None = None,
        idempotency_key: str | None = None,
        source: str | None = None,
        language: str | None = None,
        media_ids: Sequence[str] = (),
    ) -> TweetRecord:
        body = self._validated_text(body, with_media=bool(media_ids))
        if idempotency_key is not None:
            if not 0 < len(idempotency_key) <= MAX_IDEMPOTENCY_KEY:
                raise BadInput("An idempotency key is 1 to 64 characters.", field="idempotencyKey")
            text.checked(idempotency_key, "idempotencyKey")
        if source is not None:
            source = text.checked(source, "source", max_length=MAX_SOURCE_LENGTH)
        if language is not None:
            language = text.language_tag(language, "language", MAX_LANGUAGE_LENGTH)
        reply_to = await self._target(author_id, reply_to_id, "replyToId")
        quoted = await self._target(author_id, quote_of_id, "quoteOfId")
        media = await attachable_keys(self._stores.media, author_id, media_ids)
        tweet_id = self._ids.next_id()
        created_at = utc_from_ms(id_timestamp_ms(tweet_id))
        draft = TweetRecord(
            id=tweet_id,
            user_id=author_id,
            text=body,
            created_at=created_at,
            updated_at=created_at,
            reply_to_tweet_id=reply_to.id if reply_to else None,
            reply_to_user_id=reply_to.user_id if reply_to else None,
            conversation_id=_root_of(reply_to) if reply_to else tweet_id,
            quote_tweet_id=quoted.id if quoted else None,
            media_urls=tuple(media),
            hashtags=text.hashtags(body),
            mentions=await self._mentions(author_id, body),
            language=language,
            source=source,
        )
        tweet, created = await self._stores.tweets.create(draft, idempotency_key)
        # Once the tweet is stored, the rest is independent (and idempotent but the counts,
        # which only the creating call makes): one round trip's wait, not several.
        await asyncio.gather(
            self._count(tweet) if created else _nothing(),
            record_authored(self._stores, self._jobs, tweet),
        )
        return tweet

    @staticmethod
    def _validated_text(body: str, with_media: bool) -> str:
        body = text.checked(text.normalize(body), "text", multiline=True)
        if not body.strip() and not with_media:
            raise BadInput("A tweet needs some text.", field="text")
        if len(body) > text.MAX_TWEET_LENGTH:
            raise BadInput(
                f"A tweet is at most {text.MAX_TWEET_LENGTH} characters; this one has {len(body)}.",
                field="text",
            )
        return body

    async def _target(self, viewer_id: int, tweet_id: int | None, field: str) -> TweetRecord | None:
        """The tweet replied to or quoted, if the policy lets the author see it."""
        if tweet_id is None:
            return None
        tweet, author = await self._gate.visible_tweet(viewer_id, tweet_id, field)
        if tweet.retweet_of_tweet_id is not None:
            raise BadInput("Reply to or quote the original tweet, not a retweet.", field=field)
        if field == "quoteOfId" and author.protected:
            raise Forbidden("Tweets of a protected account cannot be quoted.")
        return tweet

    async def _mentions(self, author_id: int, body: str) -> tuple[int, ...]:
        """The accounts a tweet mentions and may reach: none blocked either way."""
        names = text.mentioned_usernames(body)[:MAX_MENTIONS]
        found = [await self._stores.users.find_by_username(name) for name in names]
        ids = [user.id for user in found if user is not None]
        return tuple(await self._gate.reachable(author_id, ids)) if ids else ()

    async def _count(self, tweet: TweetRecord) -> None:
        counts = [self._stores.users.add_to_stats(tweet.user_id, {"tweets_count": 1})]
        if tweet.reply_to_tweet_id is not None:
            counts.append(self._stores.engagement.add_counts(tweet.reply_to_tweet_id, replies=1))
        await asyncio.gather(*counts)


def _root_of(parent: TweetRecord) -> int:
    """A reply's thread: its parent's (a parent stored before threads were kept is taken
    as a root)."""
    return parent.conversation_id if parent.conversation_id is not None else parent.id


async def _nothing() -> None:
    return None


async def record_authored(stores: Stores, jobs: Jobs, tweet: TweetRecord) -> None:
    """The author's side of a new tweet and its jobs, all idempotent and independent of each
    other, so they go out together: the author's timeline; the author's own home timeline
    (authors see their tweet at once, before the fan-out reaches their followers); the
    replied-to tweet's replies; the mentioned accounts' mentions; the quoted tweet's quotes;
    and the jobs: announce, fan-out, index and notify."""
    entry = TimelineEntry(created_at=tweet.created_at, tweet_id=tweet.id, author_id=tweet.user_id)
    writes: list[Awaitable[object]] = [
        stores.timelines.push(TimelineKind.AUTHOR, [tweet.user_id], entry),
        stores.timelines.push(TimelineKind.HOME, [tweet.user_id], entry),
    ]
    if tweet.reply_to_tweet_id is not None:
        writes.append(stores.timelines.push(TimelineKind.REPLIES, [tweet.reply_to_tweet_id], entry))
    if mentioned := mentioned_others(tweet):
        writes.append(stores.timelines.push(TimelineKind.MENTIONS, mentioned, entry))
    if tweet.quote_tweet_id is not None:
        writes.append(stores.engagement.add_quote(tweet.quote_tweet_id, entry))
    payload = {"tweet_id": tweet.id}
    writes += [jobs.enqueue(kind, payload) for kind in (Announce, FanOut, Index)]
    writes.append(jobs.enqueue(Notify, {"kind": "tweet", "tweet_id": tweet.id}))
    await asyncio.gather(*writes)
