"""Background jobs (issue #15): a Dramatiq-based queue with Redis in production and an embedded default."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this part's blueprints, CLI commands and settings on ``app``."""
