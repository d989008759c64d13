"""No credentials in what Chirp prints: every DSN of a comma-separated list is masked."""

from __future__ import annotations

import pytest

from app import cli
from app.settings import redact_urls
from tests.backends import backend_url


def test_every_url_of_a_list_is_masked() -> None:
    urls = "postgresql://chirp:pw@db0:5432/shard0,postgresql://chirp@db1/shard1,redis://h:6379/0"
    assert redact_urls(urls) == (
        "postgresql://***@db0:5432/shard0,postgresql://***@db1/shard1,redis://h:6379/0"
    )
    assert redact_urls("http://h:9200/path@not-a-user") == "http://h:9200/path@not-a-user"


def test_chirp_migrate_prints_no_credentials(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    shards = backend_url("CHIRP_USERS_URL").split(",")
    with_password = ",".join(url.replace("://chirp@", "://chirp:hunter2@") for url in shards)
    monkeypatch.setenv("CHIRP_USERS_URL", with_password)
    for name in ("CHIRP_TWEETS_URL", "CHIRP_SEARCH_URL", "CHIRP_CACHE_URL", "CHIRP_QUEUE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CHIRP_TWEETS_URL", f"sqlite:///{tmp_path}/chirp.db")
    monkeypatch.setenv("CHIRP_SEARCH_URL", f"sqlite:///{tmp_path}/chirp.db")
    assert cli.main(["migrate"]) == 0
    printed = capsys.readouterr().out
    assert "hunter2" not in printed and "chirp@" not in printed
    assert printed.count("postgresql://***@") == len(shards)
