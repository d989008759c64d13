"""SearchIndex contract: words and phrases all match, filters narrow, protected tweets stay
private, newest first with `before` paging, re-index replaces, hostile input is just text,
trending favours what is rising over what is merely frequent."""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from storage.ports import SearchIndex
from storage.records import SearchDocument, SearchQuery, Trend, utcnow

MakeDoc = Callable[..., SearchDocument]


def word() -> str:
    """A token no other document anywhere contains: it isolates a test on a shared index."""
    return "w" + secrets.token_hex(6)


@pytest.fixture
def marker() -> str:
    return word()


@pytest.fixture
def make_doc(new_id: Callable[[], int], marker: str) -> MakeDoc:
    author = new_id()

    def make(text: str = "", **fields: object) -> SearchDocument:
        values: dict[str, object] = {
            "tweet_id": new_id(),
            "author_id": author,
            "text": f"{marker} {text}",
            "hashtags": (),
            "mentions": (),
            "language": "en",
            "created_at": utcnow(),
            "protected": False,
        }
        values.update(fields)
        return SearchDocument(**values)  # type: ignore[arg-type]

    return make


def ids(*documents: SearchDocument) -> list[int]:
    """Expected results: newest (largest tweet id) first."""
    return sorted((document.tweet_id for document in documents), reverse=True)


async def test_every_word_must_match(
    search_index: SearchIndex, make_doc: MakeDoc, marker: str
) -> None:
    both = make_doc("apple banana")
    apple = make_doc("apple pie")
    other = make_doc("cherry")
    await search_index.index([both, apple, other])
    await search_index.refresh()
    assert await search_index.search(SearchQuery(words=(marker, "apple", "banana")), 10) == ids(
        both
    )
    assert await search_index.search(SearchQuery(words=(marker, "apple")), 10) == ids(both, apple)
    assert await search_index.search(SearchQuery(words=(marker,)), 10) == ids(both, apple, other)
    assert await search_index.search(SearchQuery(words=(marker, word())), 10) == []


async def test_words_ignore_case_and_diacritics(
    search_index: SearchIndex, make_doc: MakeDoc, marker: str
) -> None:
    document = make_doc("Café CRÈME brûlée")
    await search_index.index([document])
    await search_index.refresh()
    for words in (("cafe",), ("CAFÉ", "creme"), ("Brulee",)):
        assert await search_index.search(SearchQuery(words=(marker, *words)), 10) == ids(document)


async def test_phrases_match_words_in_order(
    search_index: SearchIndex, make_doc: MakeDoc, marker: str
) -> None:
    in_order = make_doc("the quick brown fox")
    reversed_ = make_doc("the brown quick fox")
    await search_index.index([in_order, reversed_])
    await search_index.refresh()
    found = await search_index.search(SearchQuery(words=(marker,), phrases=("quick brown",)), 10)
    assert found == ids(in_order)
    found = await search_index.search(SearchQuery(words=(marker, "quick", "brown")), 10)
    assert found == ids(in_order, reversed_)


async def test_hashtags_filter_exactly_ignoring_case_and_hash(
    search_index: SearchIndex, make_doc: MakeDoc
) -> None:
    tag, other_tag = word(), word()
    tagged = make_doc("tagged", hashtags=(tag.upper(),))
    both = make_doc("both", hashtags=(tag, other_tag))
    prefix = make_doc("prefix only", hashtags=(tag + "x",))
    await search_index.index([tagged, both, prefix])
    await search_index.refresh()
    assert await search_index.search(SearchQuery(hashtags=("#" + tag,)), 10) == ids(tagged, both)
    assert await search_index.search(SearchQuery(hashtags=(tag.upper(),)), 10) == ids(tagged, both)
    assert await search_index.search(SearchQuery(hashtags=(tag, other_tag)), 10) == ids(both)
    found = await search_index.search(SearchQuery(words=("tagged",), hashtags=(tag,)), 10)
    assert found == ids(tagged)


async def test_author_filter(
    search_index: SearchIndex, make_doc: MakeDoc, marker: str, new_id: Callable[[], int]
) -> None:
    alice, bob, carol = new_id(), new_id(), new_id()
    documents = {author: make_doc(author_id=author) for author in (alice, bob, carol)}
    await search_index.index(list(documents.values()))
    await search_index.refresh()
    query = SearchQuery(words=(marker,), author_ids=(alice, carol))
    assert await search_index.search(query, 10) == ids(documents[alice], documents[carol])
    query = SearchQuery(author_ids=(bob,))
    assert await search_index.search(query, 10) == ids(documents[bob])


async def test_since_is_inclusive_and_until_exclusive(
    search_index: SearchIndex, make_doc: MakeDoc, marker: str
) -> None:
    start = utcnow() - timedelta(days=3)
    days = [make_doc(f"day {day}", created_at=start + timedelta(days=day)) for day in range(3)]
    await search_index.index(days)
    await search_index.refresh()
    since = SearchQuery(words=(marker,), since=days[1].created_at)
    assert await search_index.search(since, 10) == ids(days[1], days[2])
    until = SearchQuery(words=(marker,), until=days[1].created_at)
    assert await search_index.search(until, 10) == ids(days[0])
    both = SearchQuery(words=(marker,), since=days[1].created_at, until=days[2].created_at)
    assert await search_index.search(both, 10) == ids(days[1])


async def test_protected_documents_only_reach_allowed_viewers(
    search_index: SearchIndex, make_doc: MakeDoc, marker: str, new_id: Callable[[], int]
) -> None:
    private_author, public_author, stranger = new_id(), new_id(), new_id()
    private = make_doc("secret", author_id=private_author, protected=True)
    public = make_doc("open", author_id=public_author)
    await search_index.index([private, public])
    await search_index.refresh()
    for query in (
        SearchQuery(words=(marker,)),
        SearchQuery(words=(marker,), viewer_id=stranger),
        SearchQuery(words=(marker,), viewer_id=stranger, visible_protected_authors=(new_id(),)),
    ):
        assert await search_index.search(query, 10) == ids(public)
    by_author = SearchQuery(author_ids=(private_author,), viewer_id=stranger)
    assert await search_index.search(by_author, 10) == []
    owner = SearchQuery(words=(marker,), viewer_id=private_author)
    assert await search_index.search(owner, 10) == ids(private, public)
    follower = SearchQuery(
        words=(marker,), viewer_id=stranger, visible_protected_authors=(private_author,)
    )
    assert await search_index.search(follower, 10) == ids(private, public)


async def test_paging_with_before_is_newest_first_and_strict(
    search_index: SearchIndex, make_doc: MakeDoc, marker: str
) -> None:
    documents = [make_doc(f"number {i}") for i in range(8)]
    await search_index.index(documents)
    await search_index.refresh()
    seen: list[int] = []
    before = None
    while page := await search_index.search(SearchQuery(words=(marker,)), 3, before):
        assert len(page) <= 3
        seen += page
        before = page[-1]
    assert seen == ids(*documents)


async def test_index_is_idempotent_and_re_index_replaces(
    search_index: SearchIndex, make_doc: MakeDoc, marker: str
) -> None:
    old_tag, new_tag = word(), word()
    document = make_doc("original words", hashtags=(old_tag,))
    await search_index.index([document])
    await search_index.index([document])
    await search_index.refresh()
    assert await search_index.search(SearchQuery(words=(marker,)), 10) == ids(document)
    edited = replace(document, text=f"{marker} edited text", hashtags=(new_tag,))
    await search_index.index([edited])
    await search_index.refresh()
    assert await search_index.search(SearchQuery(words=(marker, "original")), 10) == []
    assert await search_index.search(SearchQuery(words=(marker, "edited")), 10) == ids(document)
    assert await search_index.search(SearchQuery(hashtags=(old_tag,)), 10) == []
    assert await search_index.search(SearchQuery(hashtags=(new_tag,)), 10) == ids(document)


async def test_remove_deletes_documents(
    search_index: SearchIndex, make_doc: MakeDoc, marker: str, new_id: Callable[[], int]
) -> None:
    tag = word()
    kept, removed = make_doc("kept", hashtags=(tag,)), make_doc("removed", hashtags=(tag,))
    await search_index.index([kept, removed])
    await search_index.remove([removed.tweet_id, new_id()])
    await search_index.remove([])
    await search_index.refresh()
    assert await search_index.search(SearchQuery(words=(marker,)), 10) == ids(kept)
    assert await search_index.search(SearchQuery(hashtags=(tag,)), 10) == ids(kept)


HOSTILE = ['"', '""', "*", "NEAR(", "AND", "OR", "NOT", "'", "-", "^", "(", ")", ":",
           "text:", "a*", '"quoted"', "x OR y", "NEAR(a b, 2)", "{text}", "\\", "%", "_",
           "\x00", "'; DROP TABLE tweets; --", "ÿ\u200b", "🙂"]  # fmt: skip


async def test_hostile_input_is_only_text(
    search_index: SearchIndex, make_doc: MakeDoc, marker: str
) -> None:
    document = make_doc('he said "AND" or NEAR( not * - don\'t text: 🙂')
    await search_index.index([document])
    await search_index.refresh()
    for term in HOSTILE:
        for query in (
            SearchQuery(words=(marker, term)),
            SearchQuery(words=(term,), author_ids=(document.author_id,)),
            SearchQuery(words=(marker,), phrases=(term,)),
            SearchQuery(words=(marker,), hashtags=(term,)),
        ):
            found = await search_index.search(query, 10)
            assert set(found) <= {document.tweet_id}, (term, query)
    for term in ("AND", "NEAR(", "don't", "said", "OR", "not"):
        assert await search_index.search(SearchQuery(words=(marker, term)), 10) == ids(document)


def _moment() -> datetime:
    """A moment no other test run uses: trending only sees the 25 hours before it."""
    return datetime(2001, 1, 1, tzinfo=UTC) + timedelta(hours=random.randrange(24 * 3650))


async def test_trending_favours_rising_over_frequent(
    search_index: SearchIndex, make_doc: MakeDoc
) -> None:
    now = _moment()
    rising, steady, faded, private = word(), word(), word(), word()
    last_hour = [now - timedelta(minutes=1 + i % 59) for i in range(50)]
    yesterday = [now - timedelta(hours=2, minutes=i * 2) for i in range(500)]
    documents = [
        *(make_doc(created_at=at, hashtags=("#" + rising.upper(),)) for at in last_hour),
        *(make_doc(created_at=at, hashtags=(steady,)) for at in yesterday),
        *(make_doc(created_at=at, hashtags=(steady,)) for at in last_hour[:5]),
        *(make_doc(created_at=at, hashtags=(faded,)) for at in yesterday[:300]),
        *(make_doc(created_at=at, hashtags=(private,), protected=True) for at in last_hour),
        # Outside the window: older than 25 hours, or after `now`.
        *(make_doc(created_at=now - timedelta(hours=26), hashtags=(rising,)) for _ in range(3)),
        make_doc(created_at=now + timedelta(minutes=5), hashtags=(rising,)),
    ]
    await search_index.index(documents)
    await search_index.refresh()
    trends = await search_index.trending(10, now)
    assert trends == [Trend(rising, 50, 0), Trend(steady, 5, 500)]
    assert await search_index.trending(1, now) == [Trend(rising, 50, 0)]


async def test_trending_with_nothing_recent_is_empty(search_index: SearchIndex) -> None:
    assert await search_index.trending(10, _moment()) == []
