"""The comments inbox of a unit and the moderation actions on one comment.

Actions are POST forms (CSRF) for editors only; a comment of a unit outside the user's scope
answers 404, exactly like a missing one.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.access import editor_required, require_in_scope, unit_or_404
from webapp.agency import moderation
from webapp.agency.blueprint import agency
from webapp.agency.forms import ConfirmForm, EditForm, HideForm, ReplyForm
from webapp.extensions import db
from webapp.insights import themes as insights_themes
from webapp.models import Response
from webapp.periods import Period
from webapp.urls import safe_next


def _filters(unit) -> dict:
    """The inbox filters from the query string; unknown values fall back to the defaults."""
    status = request.args.get("status", "pending")
    if status not in moderation.STATUS_FILTERS:
        status = "pending"
    period = (request.args.get("period") or "").strip()
    try:
        period = Period.parse(period).label if period and Period.parse(period).kind == "Q" else ""
    except ValueError:
        period = ""
    service = (request.args.get("service") or "").strip()
    offered = {s.code: s for s in unit.services}
    if service not in offered:
        service = ""
    return {"status": status, "period": period, "service": service, "service_row": offered.get(service)}


@agency.get("/units/<code>/comments")
def comments(code: str):
    """The unit's comments, newest first: pending by default, or published, hidden, all."""
    unit = unit_or_404(code)
    chosen = _filters(unit)
    page = moderation.inbox(
        unit,
        chosen["status"],
        chosen["period"] or None,
        chosen["service_row"].id if chosen["service_row"] else None,
        request.args.get("page", 1, type=int) or 1,
    )
    return render_template(
        "agency/comments.html",
        unit=unit,
        page=page,
        chosen=chosen,
        periods=moderation.comment_periods(unit),
        form=ConfirmForm(),
        here=request.full_path.rstrip("?"),
    )


def _comment_or_404(response_id: int) -> tuple[Response, object]:
    found = moderation.find_comment(response_id)
    if found is None:
        abort(404)
    require_in_scope(found[0].unit)
    return found


def _render_comment(
    response: Response,
    review,
    *,
    status: int = 200,
    problems=(),
    hide_form=None,
    edit_form=None,
    reply_form=None,
    theme_error=None,
    theme_values=None,
):
    item = moderation.item_of(response, review)
    themes = insights_themes.themes_of(response.id)
    edit_form = edit_form or EditForm(formdata=None, text=item.public_text)
    reply_form = reply_form or ReplyForm(formdata=None, reply=review.reply if review else None)
    return (
        render_template(
            "agency/comment.html",
            unit=response.unit,
            item=item,
            problems=list(problems),
            confirm_form=ConfirmForm(),
            hide_form=hide_form or HideForm(formdata=None, reason=review.hidden_reason if review else None),
            edit_form=edit_form,
            reply_form=reply_form,
            back=_back(response),
            themes=themes,
            theme_choices=insights_themes.theme_choices(),
            theme_error=theme_error,
            # What the form shows: the moderator's last attempt, else the stored themes.
            theme_values=theme_values
            if theme_values is not None
            else {row.theme: "complaint" if row.negative else "mention" for row in themes},
        ),
        status,
    )


def _back(response: Response) -> str:
    """Where to go after an action: the inbox page the moderator came from, if it is one."""
    inbox = url_for("agency.comments", code=response.unit.code)
    target = safe_next(request.values.get("next"))
    return target if target and target.startswith(inbox) else inbox


@agency.get("/comments/<int:response_id>")
def comment(response_id: int):
    """One comment with every action: publish, hide, edit the published text, answer, back to pending."""
    response, review = _comment_or_404(response_id)
    return _render_comment(response, review)


def _done(response: Response, message: str):
    db.session.commit()
    flash(message)
    return redirect(_back(response))


@agency.post("/comments/<int:response_id>/publish")
@editor_required
def publish_comment(response_id: int):
    response, _review = _comment_or_404(response_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    moderation.publish(response, current_user.user)
    return _done(response, _("The comment is published on the unit's public page."))


@agency.post("/comments/<int:response_id>/hide")
@editor_required
def hide_comment(response_id: int):
    response, review = _comment_or_404(response_id)
    form = HideForm()
    if not form.validate_on_submit():
        return _render_comment(response, review, status=400, hide_form=form)
    try:
        moderation.hide(response, form.reason.data, current_user.user)
    except moderation.ModerationError as error:
        db.session.rollback()
        return _render_comment(response, review, status=400, problems=[str(error)], hide_form=form)
    return _done(response, _("The comment is hidden. It will not be shown in public."))


@agency.post("/comments/<int:response_id>/edit")
@editor_required
def edit_comment(response_id: int):
    response, review = _comment_or_404(response_id)
    form = EditForm()
    if not form.validate_on_submit():
        return _render_comment(response, review, status=400, edit_form=form)
    try:
        moderation.edit_text(response, form.text.data or "", current_user.user)
    except moderation.ModerationError as error:
        db.session.rollback()
        form.text.errors = [str(error)]
        return _render_comment(response, review, status=400, edit_form=form)
    return _done(response, _("The published text of the comment is saved."))


@agency.post("/comments/<int:response_id>/reply")
@editor_required
def reply_comment(response_id: int):
    response, review = _comment_or_404(response_id)
    form = ReplyForm()
    if not form.validate_on_submit():
        return _render_comment(response, review, status=400, reply_form=form)
    try:
        moderation.set_reply(response, form.reply.data, current_user.user)
    except moderation.ModerationError as error:
        db.session.rollback()
        form.reply.errors = [str(error)]
        return _render_comment(response, review, status=400, reply_form=form)
    return _done(response, _("Your answer is published under the comment."))


@agency.post("/comments/<int:response_id>/remove-reply")
@editor_required
def remove_reply(response_id: int):
    response, _review = _comment_or_404(response_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    moderation.remove_reply(response, current_user.user)
    return _done(response, _("The answer is removed."))


@agency.post("/comments/<int:response_id>/pending")
@editor_required
def comment_to_pending(response_id: int):
    response, _review = _comment_or_404(response_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    moderation.back_to_pending(response, current_user.user)
    return _done(response, _("The comment is waiting for review again and is not public."))


@agency.post("/comments/<int:response_id>/themes")
@editor_required
def comment_themes(response_id: int):
    """Correct the comment's themes: for each one, not about it, a complaint, or a mention."""
    response, review = _comment_or_404(response_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    values = {key.removeprefix("theme-"): value for key, value in request.form.items() if key.startswith("theme-")}
    try:
        moderation.set_themes(response, moderation.parse_theme_choices(request.form), current_user.user)
    except moderation.ModerationError as error:
        db.session.rollback()
        return _render_comment(response, review, status=400, theme_error=str(error), theme_values=values)
    return _done(response, _("The themes of the comment are saved."))
