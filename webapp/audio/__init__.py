"""Issue #17 (see the module's own documentation once written)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this part's blueprints and commands."""
