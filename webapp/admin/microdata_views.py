"""Restricted microdata: the full-detail file for an approved researcher (issue #13, finding 2).

Administrators only (the admin area's rule). The form asks which published period and
indicator, and who receives the file, why and under which approval; the download is
refused without that statement, recorded in the audit trail with it, and answered as an
attachment that no browser or proxy may store.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Response, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import TextAreaField

from public.microdata_files import satisfaction_indicators
from webapp.admin.blueprint import admin
from webapp.extensions import db
from webapp.models import PublishedSnapshot
from webapp.publishing.microdata import MIN_PURPOSE_LENGTH, export_restricted_microdata
from webapp.publishing.publish import PublishError


class RestrictedMicrodataForm(FlaskForm):
    """Only the CSRF token and the purpose: period and indicator are checked against the lists."""

    purpose = TextAreaField()


def _choices() -> tuple[list[str], list]:

    periods = sorted(set(db.session.scalars(select(PublishedSnapshot.period))), reverse=True)
    return periods, satisfaction_indicators()


def _page(form: RestrictedMicrodataForm, errors: list[str] = (), status: int = 200):
    periods, indicators = _choices()
    return render_template(
        "admin/microdata.html",
        form=form,
        periods=periods,
        indicators=indicators,
        errors=list(errors),
        chosen=request.form,
    ), status


@admin.get("/microdata")
def microdata():
    return _page(RestrictedMicrodataForm(formdata=None))


@admin.post("/microdata")
def microdata_download():

    form = RestrictedMicrodataForm()
    if not form.validate_on_submit():
        return _page(form, [str(_l("The form has expired: reload the page and try again."))], 400)
    periods, indicators = _choices()
    period, indicator = request.form.get("period", ""), request.form.get("indicator", "")
    errors = []
    if period not in periods:
        errors.append(str(_l("Choose one of the published periods in the list.")))
    if indicator not in {i.code for i in indicators}:
        errors.append(str(_l("Choose one of the satisfaction indicators in the list.")))
    if len(" ".join((form.purpose.data or "").split())) < MIN_PURPOSE_LENGTH:
        errors.append(
            str(
                _l(
                    "Name the approved researcher, the purpose and the approval reference (at least %(n)s characters).",
                    n=MIN_PURPOSE_LENGTH,
                )
            )
        )
    if errors:
        return _page(form, errors, 400)
    name = f"son-la-microdata-restricted-{period}-{indicator}.csv"
    with tempfile.TemporaryDirectory(prefix="restricted-") as work:
        try:
            result = export_restricted_microdata(
                period, indicator, Path(work) / name, purpose=form.purpose.data or "", actor=current_user.email
            )
        except (PublishError, ValueError):
            return _page(form, [str(_l("This file cannot be made: check the period and the indicator."))], 400)
        body = result.csv_path.read_bytes()
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
