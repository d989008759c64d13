"""SearchIndex contract, people search: usernames match as typed prefixes and display names
as typeahead (every word, the last a prefix), bios by whole words, ignoring case and
accents; an exact username ranks first, then more followers, then the lower id, and pages
continue after a hit; excluded and suspended accounts never show; indexing again replaces;
hostile text is only text.

The index may be shared with other runs, so each test's accounts carry a word (or a
username prefix) no one else has."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta

import pytest

from storage.ports import SearchIndex
from storage.records import UserDocument, UserHit, UserSearchQuery, utcnow

MakeUser = Callable[..., UserDocument]


def word() -> str:
    """A token no other account anywhere has (10 characters: a username prefix too)."""
    return "p" + secrets.token_hex(5)


@pytest.fixture
def make_user(new_id: Callable[[], int]) -> MakeUser:
    def make(**fields: object) -> UserDocument:
        values: dict[str, object] = {
            "user_id": new_id(),
            "username": f"x{secrets.token_hex(5)}",
            "display_name": "Someone",
            "bio": "",
            "followers_count": 0,
        }
        values.update(fields)
        return UserDocument(**values)  # type: ignore[arg-type]

    return make


async def _indexed(index: SearchIndex, *users: UserDocument) -> None:
    await index.index_users(users)
    await index.refresh()


async def _found(index: SearchIndex, text: str, limit: int = 50, **query: object) -> list[int]:
    hits = await index.search_users(UserSearchQuery(text, **query), limit)  # type: ignore[arg-type]
    return [hit.user_id for hit in hits]


async def test_a_username_matches_by_prefix_ignoring_case_and_the_exact_one_ranks_first(
    search_index: SearchIndex, make_user: MakeUser
) -> None:
    stem = word()
    exact = make_user(username=stem, followers_count=1)
    popular = make_user(username=f"{stem}_a", followers_count=50)
    other = make_user(username=f"{stem.upper()}b", followers_count=10)
    await _indexed(search_index, exact, popular, other)
    expected = [exact.user_id, popular.user_id, other.user_id]
    for typed in (stem, stem.upper(), f"@{stem}", f"  {stem} "):
        assert await _found(search_index, typed) == expected, typed
    assert await _found(search_index, f"{stem}_") == [popular.user_id]
    assert await _found(search_index, stem[:-1]) == [popular.user_id, other.user_id, exact.user_id]
    hits = await search_index.search_users(UserSearchQuery(stem), 10)
    assert hits[0] == UserHit(exact.user_id, True, 1)
    assert hits[1] == UserHit(popular.user_id, False, 50)


async def test_a_display_name_matches_as_typed(
    search_index: SearchIndex, make_user: MakeUser
) -> None:
    marker = word()
    ada = make_user(display_name=f"Ádá {marker} Lovelace")
    await _indexed(search_index, ada)
    for typed in (
        f"{marker} lov",
        f"{marker} LOVELACE",
        f"ada {marker}",
        f"{marker[:-3]}",
        f"Ada-{marker}",
        f"lovelace {marker}",
    ):
        assert await _found(search_index, typed) == [ada.user_id], typed
    for typed in (f"{marker[:-3]} lovelace", f"{marker} lovelace babbage", f"{marker} xlov"):
        assert await _found(search_index, typed) == [], typed


async def test_a_bio_matches_by_whole_words(search_index: SearchIndex, make_user: MakeUser) -> None:
    marker = word()
    builder = make_user(bio=f"I build {marker} engines,\nand Crème brûlée.")
    await _indexed(search_index, builder)
    for typed in (f"{marker} engines", f"{marker} creme", f"BRULEE {marker}"):
        assert await _found(search_index, typed) == [builder.user_id], typed
    assert await _found(search_index, f"{marker} engi") == []  # no prefix in bios
    assert await _found(search_index, f"{marker} ships") == []


async def test_more_followers_rank_higher_and_pages_continue_after_a_hit(
    search_index: SearchIndex, make_user: MakeUser
) -> None:
    marker = word()
    counts = [5, 50, 5, 0, 20, 7, 5]
    users = [make_user(display_name=f"Fan {marker}", followers_count=n) for n in counts]
    await _indexed(search_index, *users)
    ranked = [u.user_id for u in sorted(users, key=lambda u: (-u.followers_count, u.user_id))]
    assert await _found(search_index, marker) == ranked
    pages: list[int] = []
    after: UserHit | None = None
    while page := await search_index.search_users(UserSearchQuery(marker), 2, after):
        assert len(page) <= 2
        pages += [hit.user_id for hit in page]
        after = page[-1]
    assert pages == ranked
    assert await search_index.search_users(UserSearchQuery(marker), 0) == []


async def test_excluded_and_suspended_accounts_never_show(
    search_index: SearchIndex, make_user: MakeUser
) -> None:
    marker = word()
    now = utcnow()
    shown = make_user(display_name=marker)
    blocked = make_user(display_name=marker)
    suspended = make_user(display_name=marker, suspended_until=now + timedelta(days=1))
    served = make_user(display_name=marker, suspended_until=now - timedelta(seconds=1))
    await _indexed(search_index, shown, blocked, suspended, served)
    found = await _found(search_index, marker, excluded_ids=(blocked.user_id,))
    assert sorted(found) == sorted([shown.user_id, served.user_id])


async def test_indexing_again_replaces_and_removing_removes(
    search_index: SearchIndex, make_user: MakeUser
) -> None:
    old, new = word(), word()
    user = make_user(display_name=old, followers_count=1)
    await _indexed(search_index, user)
    assert await _found(search_index, old) == [user.user_id]
    changed = UserDocument(user.user_id, user.username, new, "", 9)
    await _indexed(search_index, changed, changed)
    assert await _found(search_index, old) == []
    [hit] = await search_index.search_users(UserSearchQuery(new), 10)
    assert hit == UserHit(user.user_id, False, 9)
    await search_index.remove_users([user.user_id, user.user_id, 12345])
    await search_index.refresh()
    assert await _found(search_index, new) == []


@pytest.mark.parametrize(
    "hostile",
    [
        '"',
        "*",
        "(",
        "a OR b",
        "NEAR(a b)",
        "display_name: x",
        "{bio} : x",
        "^x",
        "x AND",
        "\\",
        "🙂",
        "@",
        "_",
        "%",
        "x" * 100,
    ],
)
async def test_hostile_text_is_only_text(
    search_index: SearchIndex, make_user: MakeUser, hostile: str
) -> None:
    marker = word()
    user = make_user(username=marker, display_name=f"{marker} {hostile}", bio=hostile)
    await _indexed(search_index, user)
    await search_index.search_users(UserSearchQuery(hostile), 5)  # no error, whatever it finds
    assert await _found(search_index, f"{marker} {hostile}") in ([user.user_id], [])
    assert await _found(search_index, marker) == [user.user_id]
