"""Moderating citizens' comments: the inbox, publish, hide, edit, reply, back to pending.

A comment is *pending* until someone reviews it (no :class:`CommentReview` row). Every action
is recorded in the audit trail with the review before and after, by the caller's transaction.
Comments were masked of personal data when they were stored; they are masked again before
they are shown (defence in depth), and a moderator's edit may only remove or mask words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select
from sqlalchemy.orm import joinedload

from surveys.pii import PLACEHOLDER_RE, mask_text
from surveys.themes import OTHER, theme_codes
from webapp.audit import record_event
from webapp.extensions import db
from webapp.insights.themes import themes_of
from webapp.models import Response, Unit, User, utcnow
from webapp.models.feedback import CommentReview
from webapp.models.insights import CommentTheme
from webapp.paging import Page
from webapp.safe_text import has_control_characters

STATUS_FILTERS = ("pending", "published", "hidden", "all")
PER_PAGE = 20
MAX_REASON = 500
MAX_REPLY = 2000
MAX_COMMENT = 2000
#: What a moderator types in place of words they remove.
MODERATOR_MASK = "[…]"
_MASK_TOKENS = re.compile(r"\[(?:…|\.\.\.)\]|\*{2,}|…|\.\.\.")
_WORD = re.compile(r"\w+")


class ModerationError(ValueError):
    """An action refused; ``str(error)`` is the reason for the moderator, in their language."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


@dataclass(frozen=True)
class Rating:
    """The respondent's overall answer: ``value`` on a scale of ``scale`` (3 for the kiosk, else 5)."""

    value: int
    scale: int


@dataclass(frozen=True)
class InboxItem:
    response: Response
    review: CommentReview | None
    #: The comment as stored, masked again.
    text: str
    #: The published text (the moderator's edit if any), masked again.
    public_text: str
    rating: Rating | None

    @property
    def status(self) -> str:
        return self.review.status if self.review else "pending"


def overall_rating(response: Response) -> Rating | None:
    value = (response.answers or {}).get("overall")
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        return None
    scale = 3 if response.instrument is not None and response.instrument.code == "counter-quick" else 5
    return Rating(value, scale) if value <= scale else None


def item_of(response: Response, review: CommentReview | None) -> InboxItem:
    text = mask_text(response.comment or "")
    public = mask_text(review.edited_text) if review is not None and review.edited_text else text
    return InboxItem(response, review, text, public, overall_rating(response))


def _inbox_query(unit: Unit, status: str, period: str | None, service_id: int | None):
    query = (
        select(Response, CommentReview)
        .outerjoin(CommentReview, CommentReview.response_id == Response.id)
        .where(Response.unit_id == unit.id, Response.comment.is_not(None), Response.comment != "")
    )
    if status == "pending":
        query = query.where(CommentReview.response_id.is_(None))
    elif status in ("published", "hidden"):
        query = query.where(CommentReview.status == status)
    if period:
        query = query.where(Response.period == period)
    if service_id:
        query = query.where(Response.service_id == service_id)
    return query


def inbox(
    unit: Unit,
    status: str = "pending",
    period: str | None = None,
    service_id: int | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> Page[InboxItem]:
    """One page of the unit's comments with ``status`` (``all`` for every one), newest first."""
    query = _inbox_query(unit, status, period, service_id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = min(max(page, 1), max(1, -(-total // per_page)))
    rows = db.session.execute(
        query.options(joinedload(Response.instrument), joinedload(Response.service))
        .order_by(Response.answered_at.desc(), Response.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return Page([item_of(response, review) for response, review in rows], page, total, per_page)


def comment_periods(unit: Unit) -> list[str]:
    """The quarters in which the unit received comments, newest first."""
    query = (
        select(Response.period)
        .distinct()
        .where(Response.unit_id == unit.id, Response.comment.is_not(None), Response.comment != "")
        .order_by(Response.period.desc())
    )
    return list(db.session.scalars(query))


def pending_count(unit: Unit) -> int:
    return (
        db.session.scalar(select(func.count()).select_from(_inbox_query(unit, "pending", None, None).subquery())) or 0
    )


def find_comment(response_id: int) -> tuple[Response, CommentReview | None] | None:
    """The response with a comment and its review; ``None`` when there is no such comment."""
    response = db.session.scalar(
        select(Response)
        .where(Response.id == response_id, Response.comment.is_not(None), Response.comment != "")
        .options(joinedload(Response.unit), joinedload(Response.instrument), joinedload(Response.service))
    )
    if response is None:
        return None
    return response, db.session.get(CommentReview, response.id)


def _state(review: CommentReview | None) -> dict[str, Any]:
    if review is None:
        return {"status": "pending"}
    return {
        "status": review.status,
        "hidden_reason": review.hidden_reason,
        "edited_text": review.edited_text,
        "reply": review.reply,
    }


def _review_for(response: Response, user: User) -> CommentReview:
    review = db.session.get(CommentReview, response.id)
    if review is None:
        review = CommentReview(response_id=response.id, status="published")
        db.session.add(review)
    review.reviewed_by_id = user.id
    review.reviewed_at = utcnow()
    return review


def _audit(action: str, response: Response, before: dict, review: CommentReview | None) -> None:
    record_event(
        f"comment.{action}",
        object_type="response",
        object_id=response.id,
        before=before,
        after=_state(review),
        detail=response.unit.code,
    )


def publish(response: Response, user: User) -> CommentReview:
    """Make the comment public on the unit's page."""
    before = _state(db.session.get(CommentReview, response.id))
    review = _review_for(response, user)
    review.status = "published"
    review.hidden_reason = None
    _audit("publish", response, before, review)
    return review


def hide(response: Response, reason: str, user: User) -> CommentReview:
    """Keep the comment off the public page, with the reason (staff only); its reply goes too."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise ModerationError(_l("Say why the comment is hidden."))
    if len(reason) > MAX_REASON:
        raise ModerationError(_l("Write the reason in %(count)s characters or fewer.", count=MAX_REASON))
    before = _state(db.session.get(CommentReview, response.id))
    review = _review_for(response, user)
    review.status = "hidden"
    review.hidden_reason = reason
    _audit("hide", response, before, review)
    return review


def only_masks_more(original: str, edited: str) -> bool:
    """Whether ``edited`` keeps the words of ``original`` in order, only removing or masking some.

    Placeholders (``[số điện thoại]``, ``[…]``, ``***``) may stand anywhere; punctuation and
    spacing may change; no word may be added, changed or moved.
    """

    def words(text: str) -> list[str]:
        return _WORD.findall(_MASK_TOKENS.sub(" ", PLACEHOLDER_RE.sub(" ", text)).casefold())

    remaining = iter(words(original))
    return all(any(word == candidate for candidate in remaining) for word in words(edited))


def _refuse_control_characters(text: str) -> None:
    """Invisible characters would be published unseen and break the reports; tab and line breaks are fine."""
    if has_control_characters(text):
        raise ModerationError(
            _l("The text holds invisible control characters: type it again, or paste it as plain text.")
        )


def edit_text(response: Response, text: str, user: User) -> CommentReview:
    """Publish the comment with more of it masked (``[…]`` for what is removed); empty: undo the edit."""
    text = (text or "").strip()
    original = mask_text(response.comment or "")
    review = db.session.get(CommentReview, response.id)
    if review is None or review.status != "published":
        raise ModerationError(_l("Publish the comment before you edit its published text."))
    if len(text) > MAX_COMMENT:
        raise ModerationError(_l("Write the text in %(count)s characters or fewer.", count=MAX_COMMENT))
    _refuse_control_characters(text)
    if text and not only_masks_more(original, text):
        raise ModerationError(
            _l(
                "The published text may only leave words out or mask them with […]: it must not add, change or move words."
            )
        )
    before = _state(review)
    review = _review_for(response, user)
    masked = mask_text(text) if text else None
    review.edited_text = None if masked is None or masked == original else masked
    _audit("edit", response, before, review)
    return review


def set_reply(response: Response, text: str, user: User) -> CommentReview:
    """The unit's public answer under the published comment (replaces an earlier one)."""
    text = (text or "").strip()
    review = db.session.get(CommentReview, response.id)
    if review is None or review.status != "published":
        raise ModerationError(
            _l("Publish the comment before you answer it: answers are shown under published comments.")
        )
    if not text:
        raise ModerationError(_l("Write your answer."))
    if len(text) > MAX_REPLY:
        raise ModerationError(_l("Write the answer in %(count)s characters or fewer.", count=MAX_REPLY))
    _refuse_control_characters(text)
    before = _state(review)
    review.reply = mask_text(text)
    review.replied_by_id = user.id
    review.replied_at = utcnow()
    _audit("reply", response, before, review)
    return review


def remove_reply(response: Response, user: User) -> CommentReview | None:
    review = db.session.get(CommentReview, response.id)
    if review is None or review.reply is None:
        return review
    before = _state(review)
    review.reply = None
    review.replied_by_id = None
    review.replied_at = None
    _audit("remove_reply", response, before, review)
    return review


def back_to_pending(response: Response, user: User) -> None:
    """Forget the review (and its reply): the comment is pending again and not public."""
    review = db.session.get(CommentReview, response.id)
    if review is None:
        return
    before = _state(review)
    db.session.delete(review)
    _audit("pending", response, before, None)


# --- themes (issue #16): a moderator corrects what the rules found ------------------------------

#: The moderator's answer for one theme: a complaint, or a mention that is not one.
THEME_VERDICTS = {"complaint": True, "mention": False}


def theme_state(response: Response) -> list[dict[str, Any]]:
    """The comment's themes as the audit trail records them."""

    return [
        {"theme": row.theme, "negative": bool(row.negative), "source": row.source, "rules_version": row.rules_version}
        for row in themes_of(response.id)
    ]


def parse_theme_choices(form: Any) -> dict[str, bool]:
    """``{theme: negative}`` from the form's ``theme-<code>`` fields ('' = not this theme)."""

    chosen: dict[str, bool] = {}
    for code in theme_codes():
        value = (form.get(f"theme-{code}") or "").strip()
        if not value:
            continue
        if value not in THEME_VERDICTS:
            raise ModerationError(_l("Choose for each theme whether the comment is about it."))
        chosen[code] = THEME_VERDICTS[value]
    return chosen


def set_themes(response: Response, chosen: dict[str, bool], user: User) -> list[dict[str, Any]]:
    """Replace the comment's themes by the moderator's (``{theme: negative}``); audited.

    The rules never change them again (``flask themes assign`` skips corrected comments). The
    moderator's own themes chosen again (a form sent twice) change nothing and are not audited.
    """

    unknown = [code for code in chosen if code not in theme_codes()]
    if unknown:
        raise ModerationError(_l("Unknown theme: %(code)s.", code=unknown[0]))
    if not chosen:
        raise ModerationError(_l("Choose at least one theme; choose “Other” when none fits."))
    if OTHER in chosen and len(chosen) > 1:
        raise ModerationError(_l("“Other” means none of the themes: do not choose it with another theme."))
    before = theme_state(response)
    if (
        all(row["source"] == "moderator" for row in before)
        and {row["theme"]: row["negative"] for row in before} == chosen
    ):
        return before
    db.session.execute(delete(CommentTheme).where(CommentTheme.response_id == response.id))
    now = utcnow()
    for code in theme_codes():
        if code in chosen:
            db.session.add(
                CommentTheme(
                    response_id=response.id,
                    theme=code,
                    negative=chosen[code],
                    source="moderator",
                    rules_version=None,
                    assigned_at=now,
                    assigned_by_id=user.id,
                )
            )
    db.session.flush()
    after = theme_state(response)
    record_event(
        "comment.themes",
        object_type="response",
        object_id=response.id,
        before={"themes": before},
        after={"themes": after},
        detail=response.unit.code,
    )
    return after
