"""Progress on the plans' targets that the survey does not measure, entered by hand with a source.

The rule (a value, a date and a source, or nothing is stored) lives in
:mod:`webapp.services.plan_progress`; these views parse the form and show the history.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from webapp.access import editor_required
from webapp.admin.blueprint import admin
from webapp.admin.forms import PlanValueForm
from webapp.extensions import db
from webapp.models import PlanProgressValue
from webapp.services.plan_progress import PlanValueError, manual_target, manual_targets, record_plan_value


def latest_values() -> dict[str, PlanProgressValue]:
    latest: dict[str, PlanProgressValue] = {}
    for row in db.session.scalars(select(PlanProgressValue).order_by(PlanProgressValue.as_of, PlanProgressValue.id)):
        latest[row.target_id] = row
    return latest


@admin.get("/plan")
def plan():
    return render_template("admin/plan.html", targets=manual_targets(), latest=latest_values())


@admin.route("/plan/<target_id>", methods=["GET", "POST"])
@editor_required
def plan_target(target_id: str):
    target = manual_target(target_id)
    if target is None:
        abort(404)
    form = PlanValueForm()
    status = 200
    if form.validate_on_submit():
        try:
            record_plan_value(
                target_id,
                form.value.share,
                form.as_of.parsed,
                form.source.data,
                actor=current_user,
                note=form.note.data,
            )
        except PlanValueError as error:
            field = {"value_not_share": form.value, "note_too_long": form.note}.get(error.code, form.source)
            field.errors = [*field.errors, error.message()]
            status = error.status
        else:
            db.session.commit()
            flash(_l("The value is saved. The public plan page shows the latest value of each target."))
            return redirect(url_for("admin.plan_target", target_id=target_id))
    elif request.method == "POST":
        status = 400
    history = db.session.scalars(
        select(PlanProgressValue)
        .where(PlanProgressValue.target_id == target_id)
        .order_by(PlanProgressValue.as_of.desc(), PlanProgressValue.id.desc())
    ).all()
    return render_template("admin/plan_target.html", target=target, form=form, history=history), status
