"""Import problems in the administrator's language.

The importers (``webapp/imports``, ``surveys/paper.py``) report problems in English, for the
command line. Their messages follow a few fixed patterns; each known pattern is matched here
and said again through Babel with its values. An unknown message is shown as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import gettext as _

from webapp.admin.forms import IMPORT_MAX_BYTES
from webapp.imports.tables import RowProblem

_VALUE = r"(?P<value>'.*'|\".*\")"


def _quoted(text: str) -> str:
    return "“" + text[1:-1] + "”" if len(text) >= 2 and text[0] in "'\"" else text


_PATTERNS: list[tuple[re.Pattern[str], Callable[[dict[str, str]], str]]] = [
    (
        re.compile(r"^too_large$"),
        lambda g: _("The file is too large: send at most %(mb)s MB.", mb=IMPORT_MAX_BYTES // (1024 * 1024)),
    ),
    (re.compile(r"^file not found$"), lambda g: _("The file could not be read.")),
    (re.compile(r"^use a \.csv \(UTF-8\) or \.xlsx file$"), lambda g: _("Use a .csv (UTF-8) or .xlsx file.")),
    (re.compile(r"^the file is empty$"), lambda g: _("The file is empty.")),
    (re.compile(r"^the file has no data rows$"), lambda g: _("The file has no data rows.")),
    (
        re.compile(r"^missing column\(s\): (?P<columns>.+)$"),
        lambda g: _("Missing column(s): %(columns)s.", columns=g["columns"]),
    ),
    (re.compile(r"^the file is not UTF-8 text"), lambda g: _("The file is not UTF-8 text: save it as “CSV UTF-8”.")),
    (re.compile(r"^not a readable \.xlsx file"), lambda g: _("This is not a readable .xlsx file.")),
    (
        re.compile(r"^counts are per quarter \(e\.g\. (?P<example>\S+)\), not (?P<period>\S+)$"),
        lambda g: _(
            "Counts are per quarter (for example %(example)s), not %(period)s.",
            example=g["example"],
            period=g["period"],
        ),
    ),
    (
        re.compile(rf"^period {_VALUE} is not written like"),
        lambda g: _("The period %(value)s is not written like 2026-Q3, 2026-H1 or 2026.", value=_quoted(g["value"])),
    ),
    (
        re.compile(rf"^period {_VALUE}: year out of range$"),
        lambda g: _("The period %(value)s: the year is out of range.", value=_quoted(g["value"])),
    ),
    (
        re.compile(rf"^period {_VALUE}: there is no such quarter or half-year$"),
        lambda g: _("The period %(value)s: there is no such quarter or half-year.", value=_quoted(g["value"])),
    ),
    (
        re.compile(rf"^unknown unit code {_VALUE}$"),
        lambda g: _("Unknown unit code %(value)s.", value=_quoted(g["value"])),
    ),
    (
        re.compile(rf"^unknown service code {_VALUE}$"),
        lambda g: _("Unknown service code %(value)s.", value=_quoted(g["value"])),
    ),
    (re.compile(r"^must be one of (?P<choices>.+)$"), lambda g: _("Use one of: %(choices)s.", choices=g["choices"])),
    (re.compile(r"^use one of (?P<choices>.+)$"), lambda g: _("Use one of: %(choices)s.", choices=g["choices"])),
    (
        re.compile(rf"^{_VALUE} is not a whole number between 0 and (?P<max>.+)$"),
        lambda g: _("%(value)s is not a whole number between 0 and %(max)s.", value=_quoted(g["value"]), max=g["max"]),
    ),
    (
        re.compile(rf"^unit {_VALUE} did not exist in (?P<period>\S+)$"),
        lambda g: _("The unit %(value)s did not exist in %(period)s.", value=_quoted(g["value"]), period=g["period"]),
    ),
    (
        re.compile(r"^unit (?P<unit>'.*'|\".*\") does not offer service (?P<service>'.*'|\".*\")$"),
        lambda g: _(
            "The unit %(unit)s does not offer the service %(service)s.",
            unit=_quoted(g["unit"]),
            service=_quoted(g["service"]),
        ),
    ),
    (
        re.compile(r"^this period, unit, service and respondent type appear twice$"),
        lambda g: _("This period, unit, service and respondent type appear twice."),
    ),
    (
        re.compile(r"^a cell is either split by respondent type or 'all', not both$"),
        lambda g: _("A cell is either split by respondent type or “all”, not both."),
    ),
    (re.compile(rf"^{_VALUE} is not a number$"), lambda g: _("%(value)s is not a number.", value=_quoted(g["value"]))),
    (re.compile(r"^must be 0 or more$"), lambda g: _("Must be 0 or more.")),
    (
        re.compile(r"^must be a number from 0 to (?P<max>\S+)$"),
        lambda g: _("Must be a number from 0 to %(max)s.", max=g["max"]),
    ),
    (
        re.compile(r"^(?P<variable>\S+) = (?P<category>\S+) appears twice$"),
        lambda g: _("%(variable)s = %(category)s appears twice.", variable=g["variable"], category=g["category"]),
    ),
    (
        re.compile(
            r"^(?P<variable>\S+) adds up to (?P<total>\S+), not (?P<reference>\S+): margins must describe one population$"
        ),
        lambda g: _(
            "%(variable)s adds up to %(total)s, not %(reference)s: the margins must describe one population.",
            variable=g["variable"],
            total=g["total"],
            reference=g["reference"],
        ),
    ),
    (re.compile(r"^give the number printed on the form$"), lambda g: _("Give the number printed on the form.")),
    (
        re.compile(r"^form (?P<form>.+) of (?P<unit>\S+) is also on line (?P<line>\d+)$"),
        lambda g: _(
            "Form %(form)s of %(unit)s is also on line %(line)s.", form=g["form"], unit=g["unit"], line=g["line"]
        ),
    ),
    (
        re.compile(rf"^{_VALUE} is not a date \(YYYY-MM-DD\)$"),
        lambda g: _("%(value)s is not a date (YYYY-MM-DD).", value=_quoted(g["value"])),
    ),
    (
        re.compile(rf"^no questionnaire {_VALUE}$"),
        lambda g: _("There is no questionnaire %(value)s.", value=_quoted(g["value"])),
    ),
]


def translate(message: str) -> str:
    """``message`` (an importer's English text) in the current language, when its pattern is known."""
    for pattern, say in _PATTERNS:
        match = pattern.match(message)
        if match:
            return say(match.groupdict())
    return message


@dataclass(frozen=True)
class ReportRow:
    line: int | None
    column: str | None
    message: str


def report(problems: list[RowProblem]) -> list[ReportRow]:
    return [ReportRow(problem.line, problem.column, translate(problem.message)) for problem in problems]
