"""One user's data as one zip archive: the layout of a data export.

    profile.json     the account (without its password hash)
    settings.json    their settings
    tweets.json      every tweet they posted, newest first (retweets included)
    likes.json       what they liked, newest like first
    followers.json   who follows them, by follower id
    following.json   whom they follow, by id
    bookmarks.json   their bookmarks, newest first
    media/<key>      the files of their tweets, and their profile and banner images when
                     those are media they uploaded

Tweets are listed from the author timeline and then the cold archive's listing of the
author's months, and read through the tweet cache, which fetches archived tweets from the
archive like any other read. Deleted tweets (waiting out their grace period)
are left out. The archive is built in memory: media objects are at most 20 MiB each
(app/services/media.py) and an export holds one person's data, so a few hundred MiB at
worst; an account far past that would need a streamed multipart upload instead.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from app.readthrough import ReadThrough
from storage.local_media import InvalidKey, validate_key
from storage.ports import Position
from storage.records import (
    FollowEdge,
    TimelineEntry,
    TimelineKind,
    TweetRecord,
    UserRecord,
    UserSettings,
)
from storage.registry import Stores

PAGE = 200  # entries read at a time from each list
MEDIA_PREFIX = "media/"  # keys of uploaded media (app/services/media.py)
# An author's tweets in the cold archive, as timeline entries newest first (app/archive.py).
ArchivedPage = Callable[[int, int, Position | None], Awaitable[list[TimelineEntry]]]


@dataclass(frozen=True)
class ExportArchive:
    data: bytes
    files: tuple[str, ...]  # the names in the zip, in order


class BuildExportArchive:
    def __init__(
        self,
        stores: Stores,
        tweet_cache: ReadThrough[TweetRecord],
        user_cache: ReadThrough[UserRecord],
        archived: ArchivedPage | None = None,
    ) -> None:
        self._stores = stores
        self._tweets = tweet_cache
        self._users = user_cache
        self._archived = archived

    async def __call__(self, user: UserRecord) -> ExportArchive:
        """The archive of `user` as stored now."""
        buffer = io.BytesIO()
        names: list[str] = []
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:

            def add(name: str, content: bytes) -> None:
                archive.writestr(name, content)
                names.append(name)

            tweets = await self._tweets_of(user.id)
            add("profile.json", _json(_profile(user)))
            add("settings.json", _json(await self._settings(user.id)))
            add("tweets.json", _json([_tweet(tweet) for tweet in tweets]))
            add("likes.json", _json(await self._liked(user.id)))
            add(
                "followers.json",
                _json(await self._people(self._stores.graph.followers_page, user.id)),
            )
            add(
                "following.json",
                _json(await self._people(self._stores.graph.following_page, user.id)),
            )
            add("bookmarks.json", _json(await self._bookmarked(user.id)))
            for key in _media_keys(user, tweets):
                data = await self._stores.media.get(key)
                if data is not None:  # an image removed since: nothing to copy
                    add(f"media/{key}", data)
        return ExportArchive(buffer.getvalue(), tuple(names))

    async def _tweets_of(self, user_id: int) -> list[TweetRecord]:
        """The author timeline, then the cold archive's (a tweet mid-move may be in both:
        once), newest first."""
        found: dict[int, TweetRecord] = {}
        timelines, archived = self._stores.timelines, self._archived

        async def author_page(limit: int, after: Position | None) -> list[TimelineEntry]:
            return await timelines.page(TimelineKind.AUTHOR, user_id, limit, after)

        async def archive_page(limit: int, after: Position | None) -> list[TimelineEntry]:
            return await archived(user_id, limit, after) if archived is not None else []

        for listing in (author_page, archive_page):
            async for entries in _positions(listing):
                tweets = await self._tweets.get_many([entry.tweet_id for entry in entries])
                for tweet in tweets:
                    if tweet is not None and tweet.user_id == user_id and not tweet.is_deleted:
                        found.setdefault(tweet.id, tweet)
        return sorted(found.values(), key=lambda t: (t.created_at, t.id), reverse=True)

    async def _settings(self, user_id: int) -> dict[str, Any]:
        settings = await self._stores.users.get_settings(user_id)
        return asdict(settings or UserSettings(user_id=user_id))

    async def _liked(self, user_id: int) -> list[dict[str, Any]]:
        likes: list[dict[str, Any]] = []
        async for entries in _positions(
            lambda n, after: self._stores.engagement.likes_page(user_id, n, after)
        ):
            likes += [
                {"tweet_id": e.tweet_id, "author_id": e.author_id, "liked_at": e.created_at}
                for e in entries
            ]
        return likes

    async def _bookmarked(self, user_id: int) -> list[dict[str, Any]]:
        marks: list[dict[str, Any]] = []
        bookmarks_page = self._stores.engagement.bookmarks_page
        async for entries in _positions(lambda n, after: bookmarks_page(user_id, n, after)):
            marks += [
                {"tweet_id": e.tweet_id, "author_id": e.author_id, "bookmarked_at": e.created_at}
                for e in entries
            ]
        return marks

    async def _people(
        self,
        page: Callable[[int, int, int | None], Awaitable[list[FollowEdge]]],
        user_id: int,
    ) -> list[dict[str, Any]]:
        """Each follower (or followee) with their username as it is now."""
        people: list[dict[str, Any]] = []
        after: int | None = None
        while edges := await page(user_id, PAGE, after):
            users = await self._users.get_many([edge.other_id for edge in edges])
            people += [
                {
                    "user_id": edge.other_id,
                    "username": other.username if other is not None else None,
                    "followed_at": edge.followed_at,
                }
                for edge, other in zip(edges, users, strict=True)
            ]
            if len(edges) < PAGE:
                break
            after = edges[-1].other_id
        return people


async def _positions(
    page: Callable[[int, Position | None], Awaitable[list[TimelineEntry]]],
) -> AsyncIterator[list[TimelineEntry]]:
    """Every page of a newest-first list, PAGE entries at a time."""
    after: Position | None = None
    while entries := await page(PAGE, after):
        yield entries
        if len(entries) < PAGE:
            return
        after = entries[-1].position


def _profile(user: UserRecord) -> dict[str, Any]:
    profile = asdict(user)
    del profile["password_hash"]
    return profile


def _tweet(tweet: TweetRecord) -> dict[str, Any]:
    fields = asdict(tweet)
    del fields["is_deleted"]
    return fields


def _media_keys(user: UserRecord, tweets: Sequence[TweetRecord]) -> list[str]:
    keys = [key for tweet in tweets for key in tweet.media_urls]
    keys += [url for url in (user.profile_image_url, user.banner_image_url) if url is not None]
    return list(dict.fromkeys(key for key in keys if _is_media(key)))


def _is_media(value: str) -> bool:
    if not value.startswith(MEDIA_PREFIX):
        return False
    try:
        validate_key(value)
    except InvalidKey:
        return False
    return True


def _json(value: object) -> bytes:
    """Ids as decimal strings (JavaScript reads 64-bit ids wrong, and the API gives them so
    as `databaseId`), times in ISO 8601."""
    return json.dumps(_plain(value), indent=2, ensure_ascii=False).encode()


def _plain(value: object, name: str = "") -> object:
    if isinstance(value, dict):
        return {key: _plain(item, key) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item, name) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, int) and not isinstance(value, bool) and _is_id(name):
        return str(value)
    return value


def _is_id(name: str) -> bool:
    return name == "id" or name.endswith("_id") or name == "mentions"
