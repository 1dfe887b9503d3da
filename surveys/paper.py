"""Import paper forms keyed in by staff (CSV or XLSX).

One row per form. Columns: ``form_id`` (the number printed on the paper form), ``unit``,
``service``, ``answered_on`` (the date on the form, YYYY-MM-DD), optional ``instrument``
(default: the service's questionnaire) and ``respondent_type``, then one column per item
code of the questionnaire (``overall``, ``access_find``, ``comment``…); several choices of a
multiple-choice item are separated by ``;``. Every row is validated exactly as the online
survey validates answers; a file with any bad row is refused whole with a row-by-row report.
A form is identified by its unit and form number, so importing the same file again (or a
file that repeats forms) adds nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

from sqlalchemy import select

from surveys import definitions
from surveys.messages import describe
from surveys.stored import definition_of
from surveys.submission import Submission, SubmissionRejected, find_response_id, store_prepared, validate_submission
from webapp.audit import record_event
from webapp.extensions import db
from webapp.imports.tables import Problems, RowProblem, read_table
from webapp.models import Instrument, Service
from webapp.periods import VIETNAM

#: Namespace of paper forms' client ids: uuid5(namespace, "<unit>:<form_id>").
PAPER_NAMESPACE = uuid.UUID("5d0f6a52-6c1e-4b7e-9d55-2f3c8a0b9e11")
REQUIRED = ("form_id", "unit", "service", "answered_on")
META = REQUIRED + ("instrument", "respondent_type")
#: Forms are filled in during the office day; noon keeps the date right in any time zone.
NOON = time(12, 0)


@dataclass(frozen=True)
class PaperImported:
    new: int
    already: int

    def __str__(self) -> str:
        return f"Imported {self.new} paper forms ({self.already} already imported earlier, skipped)."


def paper_client_id(unit_code: str, form_id: str) -> uuid.UUID:
    return uuid.uuid5(PAPER_NAMESPACE, f"{unit_code}:{form_id}")


def _item_columns() -> tuple[str, ...]:
    codes: set[str] = set()
    for row in db.session.scalars(select(Instrument).where(Instrument.active.is_(True))):
        codes.update(item.code for item in definition_of(row).items)
    return tuple(sorted(codes))


def import_paper_responses(path: Path, *, actor: str = "cli", now: datetime | None = None) -> PaperImported:
    """Validate every row of ``path``; store the new forms in one transaction, or nothing."""
    services = {s.code: s for s in db.session.scalars(select(Service))}
    problems = Problems()
    prepared_rows: list[tuple[Submission, dict]] = []
    seen: dict[uuid.UUID, int] = {}
    already = 0
    # One query per questionnaire, not per row: a file may hold tens of thousands of rows.
    instruments: dict[str, Instrument | None] = {}
    for line, row in read_table(path, REQUIRED, optional=META + _item_columns()):
        form_id = row["form_id"]
        if not form_id or len(form_id) > 40:
            problems.append(RowProblem(line, "form_id", "give the number printed on the form"))
            continue
        client_id = paper_client_id(row["unit"], form_id)
        if client_id in seen:
            problems.append(
                RowProblem(line, "form_id", f"form {form_id} of {row['unit']} is also on line {seen[client_id]}")
            )
            continue
        seen[client_id] = line
        try:
            answered_on = date.fromisoformat(row["answered_on"])
        except ValueError:
            problems.append(RowProblem(line, "answered_on", f"{row['answered_on']!r} is not a date (YYYY-MM-DD)"))
            continue
        service = services.get(row["service"])
        instrument_code = row.get("instrument") or (service.instrument_code if service else "")
        if instrument_code not in instruments:
            instruments[instrument_code] = db.session.scalar(
                select(Instrument).where(Instrument.code == instrument_code, Instrument.active.is_(True))
            )
        instrument_row = instruments[instrument_code]
        if instrument_row is None:
            problems.append(
                RowProblem(
                    line,
                    "instrument" if row.get("instrument") else "service",
                    f"no questionnaire {instrument_code!r}"
                    if instrument_code
                    else f"unknown service code {row['service']!r}",
                )
            )
            continue
        definition = definition_of(instrument_row)
        raw = {
            code: value
            for code, value in row.items()
            if (code not in META or code == definitions.RESPONDENT_TYPE_ITEM)
            and value != ""
            and definition.has_item(code)
        }
        for code, value in list(raw.items()):
            if definition.item(code).type == "multi_choice":
                raw[code] = [part.strip() for part in value.split(";") if part.strip()]
        submission = Submission(
            client_id=client_id,
            instrument_code=instrument_code,
            unit_code=row["unit"],
            service_code=row["service"],
            channel="paper",
            answers=definitions.coerce_answers(definition, raw),
            answered_at=datetime.combine(answered_on, NOON, tzinfo=VIETNAM),
            respondent_type=row.get("respondent_type") or None,
        )
        if find_response_id(client_id) is not None:
            already += 1
            continue
        try:
            prepared_rows.append((submission, validate_submission(submission, now)))
        except SubmissionRejected as rejected:
            for error in rejected.errors:
                column = error.field.removeprefix("answers.")
                problems.append(RowProblem(line, column, describe(error)))
    if not prepared_rows and not already and not problems:
        problems.append(RowProblem(None, None, "the file has no data rows"))
    if problems:
        raise problems.rejected(str(path))
    try:
        new = sum(1 for submission, prepared in prepared_rows if store_prepared(submission, prepared) is not None)
        if new:
            record_event(
                "responses.import_paper",
                actor=actor,
                object_type="responses",
                detail=f"file {path.name}",
                after={"new": new, "already": already},
            )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return PaperImported(new, already)
