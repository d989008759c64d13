"""`chirp reindex` rebuilds search from the stores: an emptied index finds every live tweet
again, and nothing deleted, and every account."""

from __future__ import annotations

from app.services.reindex import Reindex, ReindexUsers
from storage.records import SearchQuery
from tests.support.client import GraphQLClient, eventually

SEARCH = "query($q: String!) { search(query: $q) { edges { node { text } } } }"


def test_reindex_rebuilds_search_from_the_store(client: GraphQLClient) -> None:
    token = client.sign_up("alice")["accessToken"]
    kept = [client.post_tweet(token, f"rebuild me {n}") for n in range(3)]
    gone = client.post_tweet(token, "rebuild me never")
    client.data("mutation($id: ID!) { deleteTweet(id: $id) }", {"id": gone["id"]}, token)
    eventually(lambda: len(client.data(SEARCH, {"q": "rebuild"})["search"]["edges"]) == 3)
    stores = client.http.app.state.stores
    everything = client.http.portal.call(stores.search.search, SearchQuery(words=("rebuild",)), 100)
    client.http.portal.call(stores.search.remove, everything)  # the index is lost
    assert client.data(SEARCH, {"q": "rebuild"})["search"]["edges"] == []

    indexed, removed = client.http.portal.call(Reindex(stores).__call__)
    assert (indexed, removed) == (3, 1)
    found = client.data(SEARCH, {"q": "rebuild"})["search"]["edges"]
    assert sorted(e["node"]["text"] for e in found) == sorted(t["text"] for t in kept)


PEOPLE = "query($q: String!) { searchUsers(query: $q) { edges { node { username } } } }"


def test_reindex_rebuilds_people_search_from_the_user_store(client: GraphQLClient) -> None:
    names = [f"rebuilt{n}" for n in range(3)]
    ids = [int(client.sign_up(name)["user"]["databaseId"]) for name in names]

    def people() -> list[str]:
        edges = client.data(PEOPLE, {"q": "rebuilt"})["searchUsers"]["edges"]
        return sorted(edge["node"]["username"] for edge in edges)

    eventually(lambda: people() == names)
    stores = client.http.app.state.stores
    client.http.portal.call(stores.search.remove_users, ids)  # the index is lost
    assert people() == []
    assert client.http.portal.call(ReindexUsers(stores).__call__) == 3  # every account
    assert people() == names
