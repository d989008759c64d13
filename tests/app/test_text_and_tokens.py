import pytest

from app import text
from app.cursors import decode_position, position_cursor
from app.errors import BadInput
from app.tokens import AccessClaims, AccessTokens
from storage.records import utc_from_ms


def test_length_counts_code_points_after_nfc() -> None:
    decomposed = "e\u0301" * 280  # 560 code points before NFC, 280 after
    assert text.length(decomposed) == 280
    assert text.length("🐦" * 3) == 3


def test_hashtags_and_mentions() -> None:
    body = "Hello @Bob and @alice_1! #Python #python #2024 #café email@x.com a#b"
    assert text.hashtags(body) == ("python", "café")
    assert text.mentioned_usernames(body) == ("bob", "alice_1")


def test_access_tokens_verify_expire_and_resist_tampering() -> None:
    tokens = AccessTokens("secret", ttl_s=60)
    token = tokens.issue(42, 7, now=1_000)
    assert tokens.verify(token, now=1_030) == AccessClaims(user_id=42, session_id=7)
    assert tokens.verify(token, now=1_061) is None
    body, _, signature = token.partition(".")
    assert tokens.verify(f"{body}x.{signature}", now=1_030) is None
    assert AccessTokens("other", ttl_s=60).verify(token, now=1_030) is None
    assert tokens.verify("garbage", now=1_030) is None


def test_cursors_round_trip_and_reject_garbage() -> None:
    position = (utc_from_ms(1_700_000_000_123), 987654321)
    assert decode_position(position_cursor(position)) == position
    for bad in ("nope", "dDox", "aTox", ""):
        with pytest.raises(BadInput):
            decode_position(bad)
