"""Withdrawing consent: deleting a response's "About you" answers (Decree 13/2023/NĐ-CP).

The "About you" questions (gender, age band, ethnic group, commune or ward of residence) are
asked only with consent, and ethnicity is sensitive personal data. After sending, the
respondent may withdraw that consent and have those answers deleted. A response keeps no
name, so it can be found only by the code printed on its receipt (Giấy tiếp nhận hồ sơ và hẹn
trả kết quả): :func:`find_response_by_code` reads a typed code exactly as ``/r/<code>`` does.

:func:`withdraw_demographics` clears the demographic columns, removes the demographic items
from ``answers`` and sets ``consent_demographics`` to "no". The rating itself, its scores and
every other answer stay: published figures never use demographics (weights come from the
dossier counts), so nothing published changes. One audit event per withdrawal names the
response and which fields were cleared, never their values; a second call changes nothing
and says it was already done (the audit trail tells it from a response that never held
such answers).

The self-service page (``/privacy/withdraw``) and the staff command (``flask privacy
withdraw``, for requests made by phone or in person at Sở Nội vụ) both call these functions.
"""

from __future__ import annotations

from enum import Enum

from flask_babel import gettext as _
from sqlalchemy import exists, select

from surveys import definitions
from surveys.pii import mask_text
from surveys.stored import definition_of
from surveys.tokens import TokenState, check_token
from webapp.audit import record_event
from webapp.extensions import db
from webapp.models import AuditEvent, Response
from webapp.services import ServiceError

#: The response columns that hold "About you" answers.
DEMOGRAPHIC_COLUMNS = ("gender", "age_band", "ethnicity_group", "residence_area", "residence_unit_id")
#: The audit action of a withdrawal (``object_type`` "response", ``object_id`` its id).
WITHDRAW_ACTION = "privacy.withdraw_demographics"
#: Longest reason kept in the audit trail.
MAX_REASON_LENGTH = 500


class Withdrawal(Enum):
    """What :func:`withdraw_demographics` did."""

    WITHDRAWN = "withdrawn"
    ALREADY_WITHDRAWN = "already_withdrawn"


class PrivacyError(ServiceError):
    """A refused withdrawal; nothing was changed."""

    STATUS = {
        "code_empty": 422,
        "code_mistyped": 400,
        "code_unknown": 404,
        "code_not_used": 404,
        "nothing_to_withdraw": 409,
        "reason_required": 400,
    }


def describe_privacy_error(error: ServiceError) -> str:
    """What was refused and what to do, in the current locale."""
    messages = {
        "code_empty": lambda: _("Enter the code printed on your receipt."),
        "code_mistyped": lambda: _(
            "Some letters or numbers of this code are wrong or missing. The code has 16 letters and numbers:"
            " check each one against your receipt and type it again."
        ),
        "code_unknown": lambda: _(
            "We do not know this code. Check that you typed it exactly as it is printed on your receipt."
        ),
        "code_not_used": lambda: _("No answers were sent with this code, so there is nothing to delete."),
        "nothing_to_withdraw": lambda: _(
            "The answers sent with this code hold no “About you” answers, so there is nothing to delete."
        ),
        "reason_required": lambda: _("Give the reason for the deletion, for example how the request was made."),
    }
    message = messages.get(error.code)
    return message() if message else _("This action is not allowed.")


def find_response_by_code(code: str) -> Response:
    """The response answered with the receipt code ``code`` (typed as on paper, dashes and case ignored).

    Raises :class:`PrivacyError`: ``code_empty``, ``code_mistyped`` (not a well-formed code),
    ``code_unknown`` (never issued, or revoked) or ``code_not_used`` (no answers were sent with it).
    """
    if not (code or "").strip():
        raise PrivacyError("code_empty")
    checked = check_token(code)
    if checked.state is TokenState.MISTYPED:
        raise PrivacyError("code_mistyped")
    if checked.state is TokenState.UNKNOWN or checked.token is None:
        raise PrivacyError("code_unknown")
    if checked.state is not TokenState.USED or checked.token.response_id is None:
        raise PrivacyError("code_not_used")
    return db.session.get(Response, checked.token.response_id)


def demographic_item_codes(response: Response) -> frozenset[str]:
    """The "About you" item codes of the response's instrument version (``demographic: true``)."""
    return frozenset(item.code for item in definition_of(response.instrument).demographic_items)


def held_demographics(response: Response) -> list[str]:
    """The names of the columns and answers that still hold "About you" data (empty when none)."""
    codes = demographic_item_codes(response)
    answers = response.answers or {}
    held = [name for name in DEMOGRAPHIC_COLUMNS if getattr(response, name) is not None]
    held += [f"answers.{code}" for code in sorted(codes) if code in answers]
    if response.consent_demographics or answers.get(definitions.CONSENT_ITEM) == "yes":
        held.insert(0, definitions.CONSENT_ITEM)
    return held


def was_withdrawn(response: Response) -> bool:
    """Whether the response's "About you" answers were deleted before (by the audit trail)."""
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    AuditEvent.action == WITHDRAW_ACTION,
                    AuditEvent.object_type == "response",
                    AuditEvent.object_id == str(response.id),
                )
            )
        )
    )


def withdrawal_needed(response: Response) -> bool:
    """Whether the response still holds "About you" answers to delete (``False``: deleted before).

    Raises :class:`PrivacyError` ``nothing_to_withdraw`` when it never held any.
    """
    if held_demographics(response):
        return True
    if was_withdrawn(response):
        return False
    raise PrivacyError("nothing_to_withdraw")


def _clean_reason(reason: str) -> str:
    """The reason as kept in the audit trail: personal data masked, spaces collapsed, cut to length."""

    cleaned = " ".join((reason or "").split())
    if not cleaned:
        raise PrivacyError("reason_required")
    return mask_text(cleaned)[:MAX_REASON_LENGTH]


def withdraw_demographics(response: Response, *, actor: str, reason: str) -> Withdrawal:
    """Delete the response's "About you" answers and record the withdrawal of consent.

    ``actor`` names who acted in the audit trail (``respondent`` for the self-service page,
    ``cli`` or a staff e-mail otherwise); ``reason`` says how the request was made (personal
    data in it is masked). Returns :attr:`Withdrawal.ALREADY_WITHDRAWN` when an earlier call
    deleted them; raises :class:`PrivacyError` ``nothing_to_withdraw`` when the response never
    held any. The caller commits.
    """
    detail = _clean_reason(reason)
    # Two confirmations sent at once: the second waits for the first and finds nothing left.
    db.session.refresh(response, with_for_update=True)
    if not withdrawal_needed(response):
        return Withdrawal.ALREADY_WITHDRAWN
    held = held_demographics(response)
    codes = demographic_item_codes(response)
    answers = {code: value for code, value in (response.answers or {}).items() if code not in codes}
    if definitions.CONSENT_ITEM in answers or response.consent_demographics:
        answers[definitions.CONSENT_ITEM] = "no"
    for name in DEMOGRAPHIC_COLUMNS:
        setattr(response, name, None)
    response.consent_demographics = False
    # A new dict: the JSON column notices a replaced value, not a changed one.
    response.answers = answers
    record_event(
        WITHDRAW_ACTION,
        actor=actor,
        object_type="response",
        object_id=response.id,
        before={"cleared": held},
        after={"consent_demographics": False},
        detail=detail,
    )
    return Withdrawal.WITHDRAWN
