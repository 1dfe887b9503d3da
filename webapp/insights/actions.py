"""Page sections for issue #16 (actions). Filled in by its own change."""

from __future__ import annotations


def public_section(unit):
    """What the public unit page shows (actions), or None."""
    return None


def agency_section(unit):
    """What the agency's unit dashboard shows (actions), or None."""
    return None
