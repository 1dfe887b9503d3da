"""An administrator's review of one response: reinstate a flagged one, or exclude a valid one.

Both need a reason, change the row with a conditional ``UPDATE`` (so two administrators acting
at once cannot both succeed on the same response), and write an audit event with the before
and after values in the same transaction. They do not commit: the caller does, so the change
and its audit row are stored together or not at all.

Reinstating keeps ``quality_flags`` (the reasons stay visible) and sets ``reinstated_at``;
excluding adds ``admin_excluded`` to the flags and clears ``reinstated_at``. Either changes the
estimates of a published period only at its next revision.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update

from webapp.audit import record_event
from webapp.extensions import db
from webapp.models import Response, utcnow

#: The longest reason kept in the audit log.
REASON_MAX_LENGTH = 500
EXCLUDED_FLAG = "admin_excluded"
#: Audit actions (deliberately not ``integrity.*``, which are refused submissions).
REINSTATE_ACTION = "response.reinstate"
EXCLUDE_ACTION = "response.exclude"
AUDITED_FIELDS = ("status", "quality_flags", "reinstated_at")


class ReviewError(ValueError):
    """The review cannot be done; ``code`` is ``reason_required``, ``reason_too_long``,
    ``not_found``, ``not_flagged`` or ``not_valid``. Nothing was changed."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _clean_reason(reason: str | None) -> str:
    text = " ".join((reason or "").split())
    if not text:
        raise ReviewError("reason_required")
    if len(text) > REASON_MAX_LENGTH:
        raise ReviewError("reason_too_long")
    return text


def _state(response: Response) -> dict[str, Any]:
    return {
        "status": response.status,
        "quality_flags": list(response.quality_flags or []),
        "reinstated_at": response.reinstated_at.isoformat() if response.reinstated_at else None,
    }


def _load(response_id: int) -> Response:
    response = db.session.get(Response, response_id)
    if response is None:
        raise ReviewError("not_found")
    return response


def reinstate_response(
    response_id: int, reason: str | None, *, actor: str | None = None, now: datetime | None = None
) -> Response:
    """Count a flagged response again (status ``valid``, ``reinstated_at`` set, flags kept)."""
    text = _clean_reason(reason)
    response = _load(response_id)
    values = {"status": "valid", "reinstated_at": now or utcnow()}
    return _change(response, "flagged", values, REINSTATE_ACTION, text, actor)


def exclude_response(response_id: int, reason: str | None, *, actor: str | None = None) -> Response:
    """Take a valid response out of the estimates by hand (status ``flagged`` with ``admin_excluded``)."""
    text = _clean_reason(reason)
    response = _load(response_id)
    flags = list(response.quality_flags or [])
    if EXCLUDED_FLAG not in flags:
        flags.append(EXCLUDED_FLAG)
    values = {"status": "flagged", "quality_flags": flags, "reinstated_at": None}
    return _change(response, "valid", values, EXCLUDE_ACTION, text, actor)


def _change(
    response: Response, status: str, values: dict[str, Any], action: str, reason: str, actor: str | None
) -> Response:
    """Set ``values`` on ``response`` only while its status is ``status`` (else ``ReviewError("not_<status>")``,
    nothing changed), then write the audit event with the before and after values."""
    error = f"not_{status}"
    if response.status != status:
        raise ReviewError(error)
    before = _state(response)
    changed = db.session.execute(
        update(Response)
        .where(Response.id == response.id, Response.status == status)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        raise ReviewError(error)
    db.session.refresh(response)
    _audit(action, response, before, reason, actor)
    return response


def _audit(action: str, response: Response, before: dict[str, Any], reason: str, actor: str | None) -> None:
    unit = response.unit.code if response.unit else None
    record_event(
        action,
        actor=actor,
        object_type="response",
        object_id=response.id,
        before=before,
        after=_state(response),
        detail=f"{unit} {response.period}: {reason}" if unit else reason,
    )
