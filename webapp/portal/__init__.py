"""Ratings imported from the national public service portal (issue #15)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this part's blueprints, CLI commands and settings on ``app``."""
