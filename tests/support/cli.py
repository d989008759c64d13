"""`chirp ...` run as users run it: a subprocess with the settings of a test in its
environment."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from app.settings import Settings


def chirp_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment that makes `chirp` open the same stores as `settings`."""
    lifecycle = settings.lifecycle
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CHIRP_") and key != "CI"
    }
    env.update(
        {
            "CHIRP_USERS_URL": settings.users_url,
            "CHIRP_TWEETS_URL": settings.tweets_url,
            "CHIRP_SEARCH_URL": settings.search_url,
            "CHIRP_CACHE_URL": settings.cache_url,
            "CHIRP_MEDIA_URL": settings.media_url,
            "CHIRP_QUEUE_URL": settings.queue_url,
            "CHIRP_DATA_DIR": str(settings.data_dir),
            "CHIRP_SECRET_KEY": settings.secret_key,
            "CHIRP_PUBLIC_BASE_URL": settings.public_base_url,
            "CHIRP_TWEET_GRACE_S": str(lifecycle.tweet_grace_s),
            "CHIRP_ACCOUNT_CANCEL_S": str(lifecycle.account_cancel_s),
            "CHIRP_ACCOUNT_PURGE_S": str(lifecycle.account_purge_s),
            "CHIRP_HOT_S": str(lifecycle.hot_s),
            "CHIRP_COLD_S": str(lifecycle.cold_s),
            "CHIRP_EXPORT_TTL_S": str(lifecycle.export_ttl_s),
            "CHIRP_LIFECYCLE_BATCH": str(lifecycle.batch),
            "CHIRP_BACKUP_URL": settings.backup.url,
            "CHIRP_BACKUP_EVERY_S": str(settings.backup.every_s),
            "CHIRP_BACKUP_FULL_EVERY_S": str(settings.backup.full_every_s),
            "CHIRP_BACKUP_BARMAN": settings.backup.barman,
            "CHIRP_BACKUP_NODETOOL": settings.backup.nodetool,
            "CHIRP_BACKUP_CASSANDRA_DATA": settings.backup.cassandra_data,
        }
    )
    env.update(extra)
    return env


def chirp_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "app.cli", *args]


def run_chirp(settings: Settings, *args: str, timeout_s: float = 120, **extra: str) -> Any:
    """Run `chirp ARGS` to the end; the CompletedProcess (text output captured)."""
    return subprocess.run(
        chirp_command(*args),
        env=chirp_env(settings, **extra),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
