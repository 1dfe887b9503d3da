"""Background jobs (issue #15): one row per job, with its kind, idempotency key, state and progress."""

from __future__ import annotations

__all__: list[str] = []
