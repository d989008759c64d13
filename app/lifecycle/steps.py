"""The lifecycle's steps, in the order a pass runs them."""

from __future__ import annotations

from app.lifecycle import Step

STEPS: tuple[type[Step], ...] = ()
