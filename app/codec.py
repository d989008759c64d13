"""JSON shapes of records in the shared cache."""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import datetime
from typing import Any, TypeVar, cast

from storage.records import TweetRecord, UserRecord, ms_from_utc, utc_from_ms

R = TypeVar("R", TweetRecord, UserRecord)

_DATETIME_FIELDS = {
    "created_at",
    "updated_at",
    "last_login_at",
    "suspended_until",
    "deactivated_at",
}
_TUPLE_FIELDS = {"media_urls", "hashtags", "mentions"}


def encode(record: Any) -> dict[str, object]:
    out: dict[str, object] = {}
    for name, value in asdict(record).items():
        out[name] = ms_from_utc(value) if isinstance(value, datetime) else value
    return out


def _decoder(cls: type[R]) -> Any:
    names = {f.name for f in fields(cls)}

    def decode(data: dict[str, object]) -> R:
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name not in names:
                continue
            if name in _DATETIME_FIELDS and value is not None:
                value = utc_from_ms(int(cast(Any, value)))
            elif name in _TUPLE_FIELDS and value is not None:
                value = tuple(cast(Any, value))
            values[name] = value
        return cls(**values)

    return decode


decode_tweet = _decoder(TweetRecord)
decode_user = _decoder(UserRecord)
