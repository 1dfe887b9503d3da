"""Ratings imported from the national public service portal (issue #15), kept apart from our scales."""

from __future__ import annotations

__all__: list[str] = []
