"""Receipt QR codes: issued only for dossiers the unit really handled.

**Allowance rule.** For the quarter of issuance (Việt Nam's calendar), the codes a unit may
issue for one service are:

* that quarter's imported transaction count for unit × service (all respondent types added up),
  if the quarter is imported;
* otherwise the largest quarterly count among the last four imported quarters before it
  (the unit's normal volume, while this quarter's figures are not in yet);
* nothing at all when no count was ever imported: import the service's dossier counts first
  (``flask import transactions``) or ask Sở Nội vụ.

Codes already issued in the quarter for unit × service and not revoked count against it;
reprinting a dossier's still-valid code costs nothing. A sheet holds at most
:data:`MAX_CASES_PER_SHEET` case numbers. A revoked, used or expired code is never printed
again. Every batch writes one audit event (counts, unit, service, quarter), never a case number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import func, or_, select

from surveys import tokens as token_store
from webapp.audit import record_event
from webapp.extensions import db
from webapp.models import ReceiptToken, Service, TransactionCount, Unit, User, utcnow
from webapp.periods import VIETNAM, Period
from webapp.services import ServiceError, actor_name

#: Case numbers per printed sheet: a busy counter's morning.
MAX_CASES_PER_SHEET = 100
MAX_CASE_LENGTH = 60
#: Imported quarters looked at when the current quarter has no count yet.
FALLBACK_QUARTERS = 4


@dataclass(frozen=True)
class Allowance:
    """How many codes unit × service may have in ``quarter`` and how many it has."""

    quarter: str
    limit: int
    used: int
    #: The imported quarter the limit comes from; ``None`` when nothing was imported.
    source_period: str | None

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)


@dataclass(frozen=True)
class IssuedReceipt:
    token: str
    row: ReceiptToken


def allowance(unit: Unit, service: Service, now: datetime | None = None) -> Allowance:
    """The rule of the module docstring for the quarter of ``now``."""
    current = Period.quarter_of(now or utcnow())
    quarter = current.label
    counts = db.session.execute(
        select(TransactionCount.period, func.sum(TransactionCount.count))
        .where(
            TransactionCount.unit_id == unit.id,
            TransactionCount.service_id == service.id,
            TransactionCount.period <= quarter,
        )
        .group_by(TransactionCount.period)
        .order_by(TransactionCount.period.desc())
        .limit(FALLBACK_QUARTERS + 1)
    ).all()
    limit, source = 0, None
    if counts and counts[0][0] == quarter:
        limit, source = int(counts[0][1]), quarter
    elif counts:
        period, total = max(counts[:FALLBACK_QUARTERS], key=lambda row: (row[1], row[0]))
        limit, source = int(total), period
    # The quarter's first instant and the next quarter's, in Việt Nam's calendar.
    start, end = (datetime.combine(p.start, time.min, tzinfo=VIETNAM) for p in (current, current.next()))
    used = db.session.scalar(
        select(func.count())
        .select_from(ReceiptToken)
        .where(
            ReceiptToken.unit_id == unit.id,
            ReceiptToken.service_id == service.id,
            # A used code counts for good: revoking it afterwards must not refill the allowance.
            or_(ReceiptToken.revoked_at.is_(None), ReceiptToken.used_at.is_not(None)),
            ReceiptToken.issued_at >= start,
            ReceiptToken.issued_at < end,
        )
    )
    return Allowance(quarter, limit, used or 0, source)


def clean_case_numbers(lines: list[str]) -> list[str]:
    """The distinct case numbers of ``lines`` (blank ones skipped, spaces collapsed), checked."""
    cases: list[str] = []
    for number, line in enumerate(lines, start=1):
        case = " ".join((line or "").split())
        if not case:
            continue
        if len(case) > MAX_CASE_LENGTH:
            raise ServiceError("case_too_long", line=number, max=MAX_CASE_LENGTH)
        if not case.isprintable():
            raise ServiceError("case_not_printable", line=number)
        if case not in cases:
            cases.append(case)
    if not cases:
        raise ServiceError("no_case_numbers")
    if len(cases) > MAX_CASES_PER_SHEET:
        raise ServiceError("too_many_cases", max=MAX_CASES_PER_SHEET)
    return cases


def issue_receipts(
    unit: Unit, service: Service, case_numbers: list[str], *, actor: User | None, now: datetime | None = None
) -> list[IssuedReceipt]:
    """A code per case number, under the allowance; all or nothing (a refusal writes nothing)."""
    if service not in unit.services_on((now or utcnow()).astimezone(VIETNAM).date()):
        raise ServiceError("service_not_offered", unit=unit.code, service=service.code)
    cases = clean_case_numbers(case_numbers)
    now = now or utcnow()
    found = [(case, *token_store.find_token(unit, case)) for case in cases]
    spent = [case for case, _token, row in found if row is not None and token_store.is_spent(row, now)]
    if spent:
        raise ServiceError("spent_codes", cases=spent)
    new = [case for case, _token, row in found if row is None]
    quota = allowance(unit, service, now)
    if new and quota.source_period is None:
        raise ServiceError("no_dossier_counts", unit=unit.code, service=service.code)
    if len(new) > quota.remaining:
        raise ServiceError(
            "over_allowance",
            remaining=quota.remaining,
            quarter=quota.quarter,
            limit=quota.limit,
            source=quota.source_period,
            used=quota.used,
            asked=len(new),
        )
    issued = []
    for case, token, row in found:
        if row is None:
            token, row = token_store.issue_token(unit, service, case, now=now, audit=False)
        issued.append(IssuedReceipt(token, row))
    record_event(
        "token.issue_batch",
        actor=actor_name(actor),
        object_type="unit",
        object_id=unit.code,
        after={
            "unit": unit.code,
            "service": service.code,
            "quarter": quota.quarter,
            "count": len(new),
            "reprinted": len(cases) - len(new),
            "allowance": quota.limit,
            "used_before": quota.used,
        },
    )
    return issued


#: Refusals that look like minting codes for dossiers that do not exist: shown on the integrity page.
ALLOWANCE_CODES = ("no_dossier_counts", "over_allowance")


def record_refusal(unit: Unit, service: Service, error: ServiceError, *, actor: User | None, asked: int) -> None:
    """Note a refused issue beyond the unit's dossiers for the integrity page (after the caller's rollback)."""
    if error.code not in ALLOWANCE_CODES:
        return
    record_event(
        "integrity.receipts_refused",
        actor=actor_name(actor),
        object_type="unit",
        object_id=unit.code,
        after={"service": service.code, "asked": asked, "reason": error.code},
        detail=f"{asked} receipt codes asked for {service.code} beyond the dossiers counted",
    )


def revoke_receipt(row: ReceiptToken, *, actor: User | None) -> bool:
    """Make a code unusable (a receipt printed by mistake); ``False`` if it was revoked already.

    A code that was already used is refused: its rating stands, and revoking it would only
    hide that the dossier's code was spent.
    """
    if row.revoked_at is not None:
        return False
    if row.used_at is not None:
        raise ServiceError("receipt_already_used")
    row.revoked_at = utcnow()
    record_event(
        "token.revoke",
        actor=actor_name(actor),
        object_type="receipt_token",
        object_id=row.id,
        before={"revoked_at": None},
        after={"revoked_at": row.revoked_at.isoformat()},
    )
    return True
