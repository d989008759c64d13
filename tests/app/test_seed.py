import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from app import container
from app.seed import SeedPlan, seed
from storage.ports import FollowGraph
from storage.records import FollowEdge, UserStats
from storage.registry import migrate_all, open_stores
from tests.support.client import embedded_settings, running_app


def test_seed_makes_a_living_power_law_world(tmp_path: Path) -> None:
    settings = embedded_settings(tmp_path, celebrity_followers=100)

    async def run() -> dict[str, int]:
        await migrate_all(settings)
        stores = await open_stores(settings)
        try:
            return await seed(
                container.build(settings, stores), SeedPlan(users=150, tweets=60, celebrities=2)
            )
        finally:
            await stores.close()

    counts = asyncio.run(run())
    assert counts["users"] == 150 and counts["tweets"] == 60
    with running_app(settings) as client:
        session = client.data(
            'mutation { logIn(login: "user40", password: "chirp-demo") { accessToken } }'
        )["logIn"]
        assert client.home(session["accessToken"], first=5)["edges"]
        famous = client.data('{ user(username: "user0") { followersCount verified } }')["user"]
        ordinary = client.data('{ user(username: "user120") { followersCount } }')["user"]
        assert famous["verified"] and famous["followersCount"] > 100  # over the celebrity line
        assert ordinary["followersCount"] < famous["followersCount"] / 10
        people = "query($q: String!) { searchUsers(query: $q, first: 5) { edges { node {"
        people += " username followersCount } } } }"
        found = [e["node"] for e in client.data(people, {"q": "user1"})["searchUsers"]["edges"]]
        assert found[0]["username"] == "user1" and len(found) == 5  # the exact name first
        followers = [node["followersCount"] for node in found[1:]]
        assert followers == sorted(followers, reverse=True)  # then the most followed


async def _edges(page_of: Callable[..., Awaitable[list[FollowEdge]]], user_id: int) -> int:
    count, after = 0, None
    while page := await page_of(user_id, 100, after):
        count += len(page)
        after = page[-1].other_id
    return count


def test_batched_follows_keep_counts_exact_and_a_second_seed_adds_no_follow(
    tmp_path: Path,
) -> None:
    settings = embedded_settings(tmp_path)
    plan = SeedPlan(users=120, tweets=20, celebrities=2)

    async def run() -> tuple[dict[str, int], dict[str, int], list[UserStats | None], list[int]]:
        await migrate_all(settings)
        stores = await open_stores(settings)
        try:
            chirp = container.build(settings, stores)
            first = await seed(chirp, plan)
            second = await seed(chirp, plan)
            users = [await stores.users.find_by_username(f"user{n}") for n in range(plan.users)]
            ids = [user.id for user in users if user is not None]
            graph: FollowGraph = stores.graph
            edges = [
                (await _edges(graph.followers_page, i), await _edges(graph.following_page, i))
                for i in ids
            ]
            stats = await stores.users.get_stats_many(ids)
            return first, second, stats, [n for pair in edges for n in pair]
        finally:
            await stores.close()

    first, second, stats, edge_counts = asyncio.run(run())
    assert first["follows"] > plan.users and first["likes"] > 0
    assert second["users"] == plan.users and second["follows"] == 0  # the same users again
    counted = [n for s in stats if s is not None for n in (s.followers_count, s.following_count)]
    assert counted == edge_counts
    assert sum(edge_counts[0::2]) == first["follows"]
