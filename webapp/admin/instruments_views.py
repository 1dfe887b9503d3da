"""Instruments (questionnaire versions) and indicators with their targets.

``registry load`` sets the latest version of each questionnaire active and the targets of
``surveys/indicators.yaml`` again: the YAML files stay the source, the pages say so.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from webapp.access import editor_required
from webapp.admin.blueprint import admin
from webapp.admin.forms import ConfirmForm, TargetForm
from webapp.extensions import db
from webapp.models import Indicator, IndicatorTarget, Instrument, Response
from webapp.services import ServiceError, describe
from webapp.services import indicators as indicators_service


@admin.get("/instruments")
def instruments():
    rows = db.session.scalars(select(Instrument).order_by(Instrument.code, Instrument.version)).all()
    counts = dict(
        db.session.execute(select(Response.instrument_id, func.count()).group_by(Response.instrument_id)).all()
    )
    return render_template("admin/instruments.html", instruments=rows, counts=counts, confirm=ConfirmForm())


@admin.post("/instruments/<int:instrument_id>/activate")
@editor_required
def instrument_activate(instrument_id: int):
    """Make this version the one new respondents get; the other versions of the code stop."""
    instrument = db.session.get(Instrument, instrument_id)
    if instrument is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if indicators_service.activate_instrument(instrument):
        flash(
            _l(
                "Version %(version)s of %(code)s is now the one respondents get.",
                version=instrument.version,
                code=instrument.code,
            )
        )
    return redirect(url_for("admin.instruments"))


@admin.get("/indicators")
def indicators():
    rows = db.session.scalars(select(Indicator).options(selectinload(Indicator.targets)).order_by(Indicator.id)).all()
    return render_template("admin/indicators.html", indicators=rows)


def _indicator(code: str) -> Indicator:
    indicator = db.session.scalar(
        select(Indicator).where(Indicator.code == code).options(selectinload(Indicator.targets))
    )
    if indicator is None:
        abort(404)
    return indicator


@admin.get("/indicators/<code>")
def indicator_detail(code: str):
    return render_template(
        "admin/indicator.html", indicator=_indicator(code), form=TargetForm(formdata=None, comparison="gt")
    )


def _target_values(form: TargetForm) -> indicators_service.TargetValues:
    return indicators_service.TargetValues(
        year=int(form.year.data),
        value=form.value.share,
        comparison=form.comparison.data,
        source_vi=(form.source_vi.data or "").strip() or None,
        source_en=(form.source_en.data or "").strip() or None,
    )


@admin.post("/indicators/<code>/targets")
@editor_required
def target_add(code: str):
    indicator = _indicator(code)
    form = TargetForm()
    if form.validate_on_submit():
        try:
            target = indicators_service.add_target(indicator, _target_values(form))
        except ServiceError as error:
            form.year.errors = [describe(error)]
        else:
            flash(_l("Target for %(year)s added.", year=target.year))
            return redirect(url_for("admin.indicator_detail", code=indicator.code))
    return render_template("admin/indicator.html", indicator=indicator, form=form), 400


@admin.route("/targets/<int:target_id>/edit", methods=["GET", "POST"])
@editor_required
def target_edit(target_id: int):
    target = db.session.get(IndicatorTarget, target_id)
    if target is None:
        abort(404)
    form = TargetForm(
        data={
            "year": str(target.year),
            "value": f"{target.value * 100:g}",
            "comparison": target.comparison,
            "source_vi": target.source_vi or "",
            "source_en": target.source_en or "",
        }
    )
    status = 200
    if form.validate_on_submit():
        try:
            changed = indicators_service.update_target(target, _target_values(form))
        except ServiceError as error:
            form.year.errors = [describe(error)]
            status = error.status
        else:
            if changed:
                flash(_l("The target is saved."))
            return redirect(url_for("admin.indicator_detail", code=target.indicator.code))
    elif request.method == "POST":
        status = 400
    return render_template("admin/target_edit.html", target=target, form=form), status
