"""The languages a survey can be shown in: Vietnamese (the source), English, and language packs.

Vietnamese is the language every instrument is written in and the fallback of every other one.
Language packs (Thái, Mông…) are added by ``flask --app webapp languages add`` (README).
"""

from __future__ import annotations

#: Always available: the instruments carry both texts.
BUILT_IN = ("vi", "en")
SOURCE = "vi"


def codes() -> tuple[str, ...]:
    """Every language a response may record, built-in first."""
    return BUILT_IN


def is_known(code: str) -> bool:
    return code in codes()
