"""Machine clients of the provincial one-stop system and the dossiers they report (issue #15)."""

from __future__ import annotations

__all__: list[str] = []
