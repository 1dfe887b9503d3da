"""Admin pages of issue #15 (filled in by its work)."""
