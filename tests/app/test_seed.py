import asyncio
from pathlib import Path

from app import container
from app.seed import SeedPlan, seed
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
