"""Progress on the plan's targets that the survey does not measure, entered by hand with a source."""

from __future__ import annotations

from datetime import datetime, time

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from webapp.access import editor_required
from webapp.admin import admin
from webapp.admin.forms import PlanValueForm
from webapp.audit import record_event
from webapp.extensions import db
from webapp.models import PlanProgressValue
from webapp.periods import VIETNAM

#: A value describes a day; noon in Vietnam keeps that day in any time zone the page is read in.
NOON = time(12, 0)


def manual_targets() -> list[dict]:
    """The targets of ``public/plan_targets.yaml`` without an ``indicator`` (not measured by the survey)."""
    from public.downloads import plan_targets

    return [target for target in plan_targets()["targets"] if not target.get("indicator")]


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
    target = next((t for t in manual_targets() if t["id"] == target_id), None)
    if target is None:
        abort(404)
    form = PlanValueForm()
    status = 200
    if form.validate_on_submit():
        row = PlanProgressValue(
            target_id=target_id,
            value=form.value.share,
            as_of=datetime.combine(form.as_of.parsed, NOON, tzinfo=VIETNAM),
            source=form.source.data.strip(),
            note=(form.note.data or "").strip() or None,
            entered_by_id=current_user.id,
        )
        db.session.add(row)
        db.session.flush()
        record_event(
            "plan_progress.create",
            object_type="plan_progress_value",
            object_id=row.id,
            before=None,
            after={
                "target": target_id,
                "value": row.value,
                "as_of": form.as_of.parsed.isoformat(),
                "source": row.source,
                "note": row.note,
            },
        )
        db.session.commit()
        flash(_l("The value is saved. The public plan page shows the latest value of each target."))
        return redirect(url_for("admin.plan_target", target_id=target_id))
    if request.method == "POST":
        status = 400
    history = db.session.scalars(
        select(PlanProgressValue)
        .where(PlanProgressValue.target_id == target_id)
        .order_by(PlanProgressValue.as_of.desc(), PlanProgressValue.id.desc())
    ).all()
    return render_template("admin/plan_target.html", target=target, form=form, history=history), status
