"""Page sections for issue #16 (drivers). Filled in by its own change."""

from __future__ import annotations


def public_section(unit):
    """What the public unit page shows (drivers), or None."""
    return None


def agency_section(unit):
    """What the agency's unit dashboard shows (drivers), or None."""
    return None
