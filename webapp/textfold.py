"""Vietnamese text without its accents, for comparing names as people type them."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Lower case without accents, ``đ`` as ``d``, spaces collapsed: "Chiềng Đen" → "chieng den"."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return " ".join(stripped.casefold().split())
