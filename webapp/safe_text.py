"""Text that is safe to keep and to write: no control characters, no live spreadsheet formulas.

Two rules, shared by every place that accepts free text or writes a file people open:

* **At input**, free text (survey comments, moderators' edits and replies, paper forms) is
  refused when it holds a control character other than tab, line feed or carriage return
  (:func:`has_control_characters`): such characters are invisible to a moderator and break
  XML documents (DOCX, XLSX).
* **At output**, every writer strips what XML cannot hold (:func:`strip_unsafe`), so text stored
  before the input rule never makes a report fail, and every text cell of a spreadsheet (CSV or
  XLSX) that a spreadsheet program would read as a formula gets a leading ``'``
  (:func:`spreadsheet_value`, OWASP's advice against CSV injection). Numbers stay numbers.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

#: A cell starting with one of these is a formula (or becomes one) in Excel, LibreOffice and Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: C0 controls but tab, LF and CR; DEL and C1 controls; lone surrogates; the non-characters U+FFFE/FFFF.
#: XML 1.0 cannot hold C0 controls, surrogates or U+FFFE/FFFF; DEL and C1 are legal but invisible.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def has_control_characters(text: str) -> bool:
    """Whether ``text`` holds a character refused in free text (tab and line breaks are fine)."""
    return _UNSAFE.search(text) is not None


def strip_unsafe(text: str) -> str:
    """``text`` without control characters, lone surrogates and non-characters (tab and line breaks kept)."""
    return _UNSAFE.sub("", text)


def neutralise_formula(text: str) -> str:
    """``text`` with a leading ``'`` when a spreadsheet would otherwise evaluate it."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def spreadsheet_text(text: str) -> str:
    """A text cell as written to a CSV or XLSX file: stripped, then neutralised."""
    return neutralise_formula(strip_unsafe(text))


def spreadsheet_value(value: Any) -> Any:
    """A value as written to an XLSX cell: numbers, dates and booleans unchanged, text made safe."""
    if value is None or isinstance(value, bool | int | float | Decimal | datetime | date | time):
        return value
    return spreadsheet_text(str(value))


def csv_cell(value: Any) -> str:
    """A value as written to a CSV file: empty for None, ``repr`` for floats (exact), text made safe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int | Decimal):
        return str(value)
    return spreadsheet_text(str(value))
