"""Trending hashtags."""

from __future__ import annotations

import strawberry

from storage.records import Trend as TrendRecord


@strawberry.type(description="A hashtag rising in the last hour against the previous 24.")
class Trend:
    hashtag: str = strawberry.field(description="The hashtag, lowercased, without the #.")
    count: int = strawberry.field(description="Tweets with it in the last hour.")
    previous_count: int = strawberry.field(description="Tweets with it in the 24 hours before.")

    @classmethod
    def from_record(cls, record: TrendRecord) -> Trend:
        return cls(hashtag=record.hashtag, count=record.count, previous_count=record.previous_count)
