"""Pages of recorded questions: ``/admin/audio`` (administrators) and ``/audio/<sha256>.<ext>`` (public).

* ``/admin/audio``: every questionnaire version with how many of its texts have an approved
  clip per language, and the review queue.
* ``/admin/audio/instruments/<id>``: the coverage table of one version (which targets lack
  audio in which language), playback of the approved clips, and the upload form.
* ``/admin/audio/review``: pending clips with a player, approve or reject (with a reason);
  nobody reviews their own clip.
* ``/audio/<sha256>.<ext>``: an approved clip, public and immutable (its address is its hash),
  with ``Range`` support for media players.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import func, select
from sqlalchemy.orm import undefer
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired

from surveys import languages
from surveys.stored import definition_of
from webapp.access import PUBLIC, declare_access, declare_staff_area
from webapp.audio import service
from webapp.audio.messages import describe, status_of
from webapp.extensions import db
from webapp.forms import ConfirmForm
from webapp.i18n import current_language
from webapp.models import Instrument
from webapp.models.audio import AUDIO_TYPES, QuestionAudio
from webapp.services import ServiceError

audio_admin = declare_staff_area(
    Blueprint("audio_admin", __name__, url_prefix="/admin/audio", template_folder="templates"), ["admin"]
)
audio_files = declare_access(Blueprint("audio_files", __name__, url_prefix="/audio"), PUBLIC)

#: A year: a clip's address is its hash, so it never changes.
IMMUTABLE = "public, max-age=31536000, immutable"


def language_name(code: str) -> str:
    """The language's name from the registry (surveys/languages.yaml), for a reader of the page's language."""
    found = languages.get(code)
    return found.name(current_language()) if found is not None else code


class UploadForm(FlaskForm):
    target = SelectField(
        _l("Question or answer"),
        validators=[DataRequired(_l("Choose a question or answer of this questionnaire version."))],
        validate_choice=False,
    )
    language = SelectField(
        _l("Language spoken"),
        validators=[DataRequired(_l("Choose the language the clip is spoken in."))],
        validate_choice=False,
    )
    file = FileField(_l("Recording"), validators=[FileRequired(_l("Choose an audio file to upload."))])


class RejectForm(FlaskForm):
    reason = TextAreaField(_l("Why is it rejected?"))


def _instrument_or_404(instrument_id: int) -> Instrument:
    row = db.session.get(Instrument, instrument_id)
    if row is None:
        abort(404)
    return row


@audio_admin.get("/")
def index():
    rows = db.session.scalars(select(Instrument).order_by(Instrument.code, Instrument.version.desc())).all()
    counts = dict(
        ((instrument_id, language), count)
        for instrument_id, language, count in db.session.execute(
            select(QuestionAudio.instrument_id, QuestionAudio.language, func.count())
            .where(QuestionAudio.status == "approved")
            .group_by(QuestionAudio.instrument_id, QuestionAudio.language)
        )
    )
    pending = db.session.scalar(select(func.count()).where(QuestionAudio.status == "pending"))
    versions = [
        {
            "row": row,
            "targets": len(service.targets(definition_of(row))),
            "covered": {code: counts.get((row.id, code), 0) for code in languages.codes()},
        }
        for row in rows
    ]
    return render_template(
        "audio/index.html", versions=versions, pending=pending, languages=languages.codes(), language_name=language_name
    )


def _render_instrument(row: Instrument, form: UploadForm, status: int = 200, problem: str | None = None):
    definition = definition_of(row)
    form.target.choices = [("", _("Choose a question or answer"))] + [
        (target.key, f"{target.label} – {target.text.get('vi')}") for target in service.targets(definition)
    ]
    form.language.choices = [(code, language_name(code)) for code in languages.codes()]
    return render_template(
        "audio/instrument.html",
        row=row,
        definition=definition,
        coverage=service.coverage(row),
        form=form,
        languages=languages.codes(),
        language_name=language_name,
        problem=problem,
        max_kb=service.MAX_BYTES // 1024,
    ), status


@audio_admin.get("/instruments/<int:instrument_id>")
def instrument(instrument_id: int):
    row = _instrument_or_404(instrument_id)
    form = UploadForm(formdata=None)
    if request.args.get("target"):
        form.target.data = request.args["target"]
    if request.args.get("language"):
        form.language.data = request.args["language"]
    return _render_instrument(row, form)


@audio_admin.post("/instruments/<int:instrument_id>")
def upload(instrument_id: int):
    row = _instrument_or_404(instrument_id)
    form = UploadForm()
    if not form.validate_on_submit():
        return _render_instrument(row, form, 400)
    data = form.file.data.read(service.MAX_BYTES + 1)
    try:
        service.upload(row, form.target.data, form.language.data, data, actor=current_user.user)
    except ServiceError as error:
        db.session.rollback()
        field = {"audio_target": form.target, "audio_language": form.language}.get(error.code, form.file)
        field.errors = [describe(error)]
        return _render_instrument(row, form, status_of(error))
    db.session.commit()
    flash(_("The clip is uploaded. Another administrator must approve it before kiosks and the online survey play it."))
    return redirect(url_for("audio_admin.instrument", instrument_id=row.id))


def _review_page(problem: str | None = None, status: int = 200):
    clips = db.session.scalars(
        select(QuestionAudio)
        .where(QuestionAudio.status == "pending")
        .order_by(QuestionAudio.uploaded_at, QuestionAudio.id)
    ).all()
    return render_template(
        "audio/review.html",
        clips=clips,
        confirm=ConfirmForm(),
        reject_form=RejectForm(formdata=None),
        language_name=language_name,
        problem=problem,
    ), status


@audio_admin.get("/review")
def review():
    return _review_page()


def _pending_or_404(clip_id: int) -> QuestionAudio:
    clip = db.session.get(QuestionAudio, clip_id)
    if clip is None:
        abort(404)
    return clip


def _refused(error: ServiceError):
    db.session.rollback()
    return _review_page(describe(error), status_of(error))


@audio_admin.post("/clips/<int:clip_id>/approve")
def approve(clip_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    clip = _pending_or_404(clip_id)
    try:
        service.approve(clip, actor=current_user.user)
    except ServiceError as error:
        return _refused(error)
    db.session.commit()
    flash(_("The clip is approved: kiosks and the online survey play it from now on."))
    return redirect(url_for("audio_admin.review"))


@audio_admin.post("/clips/<int:clip_id>/reject")
def reject(clip_id: int):
    form = RejectForm()
    if not form.validate_on_submit():
        abort(400)
    clip = _pending_or_404(clip_id)
    try:
        service.reject(clip, form.reason.data, actor=current_user.user)
    except ServiceError as error:
        return _refused(error)
    db.session.commit()
    flash(_("The clip is rejected."))
    return redirect(url_for("audio_admin.review"))


def _audio_response(clip: QuestionAudio, cache_control: str) -> Response:
    response = Response(clip.content, mimetype=clip.content_type)
    response.headers["Cache-Control"] = cache_control
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.set_etag(clip.sha256)
    return response.make_conditional(request, accept_ranges=True, complete_length=clip.size)


@audio_admin.get("/clips/<int:clip_id>/file")
def clip_file(clip_id: int):
    """Any clip, pending ones included, for the reviewers' player (never cached by shared caches)."""
    clip = db.session.scalar(
        select(QuestionAudio).options(undefer(QuestionAudio.content)).where(QuestionAudio.id == clip_id)
    )
    if clip is None:
        abort(404)
    return _audio_response(clip, "private, no-store")


@audio_files.get("/<sha256>.<ext>")
def clip(sha256: str, ext: str):
    """An approved clip by its hash: public, immutable, with ``Range`` support."""
    if len(sha256) != 64 or ext not in AUDIO_TYPES.values():
        abort(404)
    found = db.session.scalar(
        select(QuestionAudio)
        .options(undefer(QuestionAudio.content))
        .where(QuestionAudio.sha256 == sha256.lower(), QuestionAudio.status == "approved")
        .limit(1)
    )
    if found is None or found.extension != ext:
        abort(404)
    return _audio_response(found, IMMUTABLE)
