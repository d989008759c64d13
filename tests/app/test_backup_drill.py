"""The restore drill on the embedded default (issue #19, item 3), through the commands users
run: tweets are written without pause while `chirp backup create` takes a set online; the
time T is noted; more is written and another set taken; the data folder is destroyed; then
`chirp backup restore --to T` brings back the set taken before T. Everything acknowledged
before that set is back, nothing written after T is, and counts, timelines and search agree
with the restored tweets. The measured recovery point and time are printed against the
design's 15 minutes and 2 hours. The worker's schedule takes sets by itself too."""

from __future__ import annotations

import asyncio
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from app.backup import STAMP, Backups
from app.metrics import METRICS
from app.settings import Backup, Limits, Settings
from storage.records import TimelineKind
from storage.registry import migrate_all
from tests.resolvers.test_notifications import settled
from tests.support.cli import run_chirp
from tests.support.client import GraphQLClient, embedded_settings, running_app
from tests.support.lifecycle import call, chirp, run_worker
from tests.support.writers import Acknowledged

SEARCH = "query($q: String!) { search(query: $q, first: 100) { edges { node { text } } } }"
COUNTS = "query($u: String!) { user(username: $u) { tweetsCount followersCount } }"


def drill_settings(tmp_path: Path) -> Settings:
    settings = embedded_settings(tmp_path / "data", limits=Limits(mutations_per_minute=100_000))
    return settings.with_overrides(backup=Backup(url=f"file:///{tmp_path}/backups", every_s=0))


def _texts(client: GraphQLClient, query: str, variables: dict[str, Any], path: str) -> set[str]:
    data: Any = client.data(query, variables)
    for key in path.split("."):
        data = data[key]
    return {edge["node"]["text"] for edge in data}


def test_restore_to_a_time_brings_back_the_set_before_it_and_nothing_after(
    tmp_path: Path,
) -> None:
    settings = drill_settings(tmp_path)
    data = settings.data_dir
    with running_app(settings) as client:
        author = client.sign_up("drill_author")
        fan = client.sign_up("drill_fan")
        client.follow(fan["accessToken"], author["user"]["id"])
        stores = chirp(client).stores
        call(client, stores.media.put("media/1/early.png", b"early", "image/png"))
        token = author["accessToken"]

        def post(n: int) -> str:
            client.post_tweet(token, f"drill {n}")
            return f"drill {n}"

        with Acknowledged(post) as writer:
            time.sleep(0.5)
            created = run_chirp(settings, "backup", "create")  # online, the writer goes on
            assert created.returncode == 0, created.stderr
            time.sleep(0.5)
            t = datetime.now(UTC)
            time.sleep(0.5)
        call(client, stores.media.put("media/1/late.png", b"late", "image/png"))
        later = run_chirp(settings, "backup", "create")
        assert later.returncode == 0, later.stderr
        settled(client)
        written = list(writer.acknowledged)
        assert writer.errors == [], writer.errors  # every post while backing up went through

    listed = run_chirp(settings, "backup", "list")
    assert listed.returncode == 0 and len(listed.stdout.strip().splitlines()) == 2
    [first, _] = Backups(settings).sets()
    assert first.taken_at <= t

    shutil.rmtree(data)  # every engine's data: the database, its WAL, the media folder
    started = time.monotonic()
    restored = run_chirp(settings, "backup", "restore", "--to", t.isoformat())
    assert restored.returncode == 0, restored.stderr
    assert first.name in restored.stdout and "job(s) rebuilt" in restored.stdout

    with running_app(settings) as client:
        rto_s = time.monotonic() - started
        settled(client)  # the restored queue's jobs (index, fan-out) run again
        back = _texts(client, SEARCH, {"q": "drill"}, "search.edges")
        # The set is one moment between its start and its end: what was acknowledged before
        # it started is in it, what came after T is not.
        before = {text for _, done, text in written if done < first.started_at}
        after_t = {text for asked, _, text in written if asked > t}
        assert before and after_t
        assert before <= back
        assert not back & after_t
        stores = chirp(client).stores
        fan_id = int(fan["user"]["databaseId"])
        home = call(client, stores.timelines.page(TimelineKind.HOME, fan_id, 500))
        tweets = call(client, stores.tweets.get_many([e.tweet_id for e in home]))
        assert {tw.text for tw in tweets if tw.user_id != fan_id} == back
        counts = client.data(COUNTS, {"u": "drill_author"})["user"]
        assert counts == {"tweetsCount": len(back), "followersCount": 1}
        assert call(client, stores.media.get("media/1/early.png")) == b"early"
        assert call(client, stores.media.get("media/1/late.png")) is None
        lost = [at for _, at, text in written if text not in back and at <= t]
        rpo_s = (t - min(lost)).total_seconds() if lost else 0.0
    print(
        f"\nrestore drill (embedded): RPO {rpo_s:.1f} s here (design: 900 s; a set every "
        f"CHIRP_BACKUP_EVERY_S, 900 s, bounds it, plus the set's "
        f"{(first.taken_at - first.started_at).total_seconds():.2f} s), "
        f"RTO {rto_s:.1f} s (design: 7200 s); "
        f"{len(back)} tweets back, {len(after_t)} written after T absent"
    )


def test_the_worker_takes_sets_on_its_schedule_and_prunes(tmp_path: Path) -> None:
    """A set every 1.1 s, each followed by a prune: within one hour the schedule keeps only
    the newest, so the others go as the next ones come."""
    settings = drill_settings(tmp_path).with_overrides(
        backup=Backup(url=f"file:///{tmp_path}/backups", every_s=1.1)
    )
    before = METRICS.backups["taken"], METRICS.backups["pruned"]

    run_worker(settings, until=lambda: False, limit_s=3.9)
    taken = METRICS.backups["taken"] - before[0]
    pruned = METRICS.backups["pruned"] - before[1]
    sets = Backups(settings).sets()
    assert taken >= 2 and METRICS.backups["failed"] == 0
    assert 1 <= len(sets) <= 2  # two only if an hour began meanwhile
    assert pruned == taken - len(sets)
    assert all(set(s.parts) == {"sqlite", "media"} for s in sets)


def test_prune_removes_an_abandoned_set_but_not_one_being_taken(tmp_path: Path) -> None:
    settings = drill_settings(tmp_path)
    asyncio.run(migrate_all(settings))
    backups = Backups(settings)
    taken = backups.create()
    now = datetime.now(UTC)
    root = tmp_path / "backups"
    being_taken = root / (now - timedelta(minutes=5)).strftime(STAMP)
    abandoned = root / (now - timedelta(hours=2)).strftime(STAMP)
    for folder in (being_taken, abandoned):
        (folder / "sqlite").mkdir(parents=True)  # parts, and no manifest yet
    assert backups.prune() == []
    assert being_taken.exists() and not abandoned.exists()
    assert backups.sets() == [taken]


def test_a_restore_to_something_that_is_not_a_time_is_refused(tmp_path: Path) -> None:
    settings = drill_settings(tmp_path)
    refused = run_chirp(settings, "backup", "restore", "--to", "yesterday-ish")
    assert refused.returncode == 2
    assert "is not a time" in refused.stderr and "Traceback" not in refused.stderr
    nothing = run_chirp(settings, "backup", "restore", "--to", "2020-01-01T00:00")
    assert nothing.returncode == 2 and "no backup set" in nothing.stderr
