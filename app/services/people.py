"""People search: accounts by username, display name and bio, as one types.

The index (Elasticsearch's users index, or FTS5 on SQLite) matches and ranks: an exact
username first, then by followers. It is kept current by the `index_users` job, so a
profile change or a new follower shows within seconds. Accounts blocked either way are
excluded in the index query itself (the viewer's relations are read once per request), so
pages come back full; the resolver still checks every account it shows against the policy
with fresh records, so an index a moment behind never lists a blocked or suspended account.
"""

from __future__ import annotations

from app import text
from app.errors import BadInput
from app.policy import Policy
from storage.ports import SearchIndex
from storage.records import UserHit, UserSearchQuery
from storage.search_text import people_terms

MAX_QUERY_LENGTH = 100


def people_query(query: str) -> str:
    """The query as searched, or BAD_USER_INPUT: one line of at most MAX_QUERY_LENGTH
    characters with something to match (a letter, a digit or an underscore)."""
    query = text.checked(
        text.normalize(query), "query", max_length=MAX_QUERY_LENGTH, kind="argument"
    ).strip()
    if not query:
        raise BadInput("Type a name to search for.", argument="query")
    if people_terms(query).empty:
        raise BadInput("Search for a name: letters, digits or underscores.", argument="query")
    return query


class SearchPeople:
    def __init__(self, search: SearchIndex) -> None:
        self._search = search

    async def __call__(
        self, policy: Policy, query: str, first: int, after: UserHit | None
    ) -> tuple[list[UserHit], bool]:
        """A page of hits, best first, and whether more follow."""
        relations = policy.relations
        excluded = tuple(sorted(relations.blocking | relations.blocked_by))
        hits = await self._search.search_users(UserSearchQuery(query, excluded), first + 1, after)
        return hits[:first], len(hits) > first
