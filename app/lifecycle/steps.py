"""The lifecycle's steps, in the order a pass runs them."""

from __future__ import annotations

from app.lifecycle import Step
from app.lifecycle.accounts import PurgeAccounts
from app.lifecycle.exports import ExpireExports
from app.lifecycle.tiers import ArchiveCold, EvictWarm
from app.lifecycle.tweets import PurgeDeletedTweets

STEPS: tuple[type[Step], ...] = (
    PurgeDeletedTweets,
    PurgeAccounts,
    ExpireExports,  # after purge_accounts
    EvictWarm,
    ArchiveCold,
)
