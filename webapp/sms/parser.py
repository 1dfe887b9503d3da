"""Reading an SMS reply: a digit, a Vietnamese number word, a stop word or a poster's start keyword.

Feature-phone users answer the way they type: ``"5"``, ``" 5 "``, ``"5."``, ``"năm"`` or ``"nam"`` (no
accents on many phones), ``"5 rat hai long"``. The rule: the **first word** is the answer, a digit or a
number word (``một/mot`` … ``năm/nam``, ``bốn/bon/tư/tu`` for 4); whatever follows is ignored. Anything
else — ``"7"``, ``"55"``, a label typed out, an empty text — is not an answer (``None``), and the
conversation sends its one polite retry.

A number word is read only with its own accents or with none: ``"hài lòng"`` is not ``hai`` (2), and an
unaccented ``"hai long"`` (how "hài lòng" is typed without accents) is not 2 either.
"""

from __future__ import annotations

import re
import unicodedata

#: Number words (lower case, NFC) and their value: with their accents, and as typed without them.
NUMBER_WORDS = {
    "không": 0,
    "khong": 0,
    "một": 1,
    "mot": 1,
    "hai": 2,
    "ba": 3,
    "bốn": 4,
    "bon": 4,
    "tư": 4,
    "tu": 4,
    "năm": 5,
    "nam": 5,
}
#: Words that, after ``hai``, make it "hài lòng" typed without accents rather than the number 2.
NOT_A_NUMBER_AFTER = {"long", "lòng"}
#: Opt-out words (the first word, any case, accents or not), as Vietnamese gateways and RapidPro use them.
STOP_WORDS = {"stop", "huy", "hủy", "huỷ", "tuchoi", "unsubscribe"}
#: The poster keyword: ``DG <unit code> [<service code>]`` ("đánh giá").
START_WORDS = {"dg", "đg", "danhgia", "đánhgiá"}
_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_EDGE_PUNCTUATION = ".,;:!?*#()[]\"'-_/"


def words(text: str | None) -> list[str]:
    """The reply's words: NFKC (full-width digits become digits), lower case, punctuation at the edges removed."""
    normalised = unicodedata.normalize("NFKC", text or "").lower()
    normalised = unicodedata.normalize("NFC", normalised)
    out = []
    for word in normalised.split():
        word = word.strip(_EDGE_PUNCTUATION)
        if word:
            out.append(word)
    return out


def read_number(text: str | None, choices: range) -> int | None:
    """The number the reply answers, if it is one of ``choices``; else ``None``."""
    parts = words(text)
    if not parts:
        return None
    first = parts[0]
    if first.isascii() and first.isdigit():
        value = int(first)
    elif first in NUMBER_WORDS:
        if first == "hai" and len(parts) > 1 and parts[1] in NOT_A_NUMBER_AFTER:
            return None
        value = NUMBER_WORDS[first]
    else:
        return None
    return value if value in choices else None


def is_stop(text: str | None) -> bool:
    parts = words(text)
    return bool(parts) and parts[0].replace(" ", "") in STOP_WORDS


def read_start(text: str | None) -> tuple[str, str | None] | None:
    """``(unit code, service code or None)`` of a poster's start message ``DG <unit> [<service>]``, else ``None``.

    A start message with a malformed code gives ``("", None)``: it was meant as a start.
    """
    parts = words(text)
    if not parts or parts[0] not in START_WORDS:
        return None
    codes = parts[1:3]
    if not codes or len(parts) > 3 or not all(_CODE.match(code) for code in codes):
        return ("", None)
    return codes[0], (codes[1] if len(codes) > 1 else None)
