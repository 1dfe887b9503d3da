"""A unit's action plans: the list, a new plan, one plan with its progress notes.

Each view parses its form, calls :mod:`webapp.insights.actions` (where every rule lives) and
renders. Changes are POST forms (CSRF) for editors only; viewers read the plans (403 on a
change); a plan or unit outside the user's scope answers 404, exactly like a missing one.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.access import editor_required, require_in_scope, unit_or_404
from webapp.agency.action_forms import ActionPlanForm, ActionUpdateForm
from webapp.agency.blueprint import agency
from webapp.extensions import db
from webapp.insights import actions
from webapp.models import Unit
from webapp.models.insights import ActionPlan
from webapp.periods import vietnam_today


@agency.get("/units/<code>/actions")
def action_plans(code: str):
    """Every plan of the unit with its status and due date (overdue ones said so)."""
    unit = unit_or_404(code)
    return render_template(
        "agency/actions.html", unit=unit, section=actions.agency_section(unit, limit=None), today=vietnam_today()
    )


def _options(choices, chosen) -> list[dict]:
    return [{"value": value, "text": text, "selected": value == chosen} for value, text in choices]


def _render_new(unit: Unit, form: ActionPlanForm | None = None, *, status: int = 200):
    form = form or ActionPlanForm(formdata=None, baseline_period=actions.default_baseline())
    return (
        render_template(
            "agency/actions_new.html",
            unit=unit,
            form=form,
            subject_options=_options(actions.subject_choices(unit), form.subject.data),
            baseline_options=_options([(p, p) for p in actions.baseline_choices()], form.baseline_period.data),
            limits=actions.LIMITS,
        ),
        status,
    )


@agency.get("/units/<code>/actions/new")
def new_action_plan(code: str):
    """The form of a new plan (viewers see why they cannot use it)."""
    return _render_new(unit_or_404(code))


def _due_date(form: ActionPlanForm) -> date | None:
    """The due date typed as ``31/12/2026`` (as Vietnamese write it) or ``2026-12-31``; None when
    empty; a field error when it is not a date."""
    text = (form.due_on.data or "").strip()
    if not text:
        return None
    for parse in (date.fromisoformat, lambda t: datetime.strptime(t, "%d/%m/%Y").date()):  # noqa: DTZ007 (a date)
        try:
            return parse(text)
        except ValueError:
            continue
    raise actions.ActionError(_("Write the due date as day/month/year, for example 31/12/2026."), "due_on")


def _refused(form, error: actions.ActionError) -> None:
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [str(error)]
    else:
        form.form_errors.append(str(error))


@agency.post("/units/<code>/actions")
@editor_required
def create_action_plan(code: str):
    unit = unit_or_404(code)
    form = ActionPlanForm()
    if not form.validate_on_submit():
        return _render_new(unit, form, status=400)
    try:
        plan = actions.create_plan(
            unit,
            subject=form.subject.data,
            said=form.said.data,
            action=form.action.data,
            responsible=form.responsible.data,
            due_on=_due_date(form),
            baseline_period=form.baseline_period.data,
            user=current_user.user,
        )
    except actions.AlreadySaved as saved:
        db.session.rollback()
        flash(_("This plan was already saved: the form was sent twice."))
        return redirect(url_for("agency.action_plan", plan_id=saved.plan.id))
    except actions.ActionError as error:
        db.session.rollback()
        _refused(form, error)
        return _render_new(unit, form, status=400)
    db.session.commit()
    flash(_("The plan is saved. It is shown on the unit's public page."))
    return redirect(url_for("agency.action_plan", plan_id=plan.id))


def _plan_or_404(plan_id: int) -> ActionPlan:
    plan = actions.find_plan(plan_id)
    if plan is None:
        abort(404)
    require_in_scope(plan.unit)
    return plan


def _render_plan(plan: ActionPlan, form: ActionUpdateForm | None = None, *, status: int = 200):
    form = form or ActionUpdateForm(formdata=None, status=plan.status)
    return (
        render_template(
            "agency/actions_plan.html",
            unit=plan.unit,
            view=actions.plan_view(plan),
            form=form,
            status_options=_options(actions.status_choices(), form.status.data),
            limits=actions.LIMITS,
        ),
        status,
    )


@agency.get("/actions/<int:plan_id>")
def action_plan(plan_id: int):
    """One plan, its progress notes and (for editors) the form to add one."""
    return _render_plan(_plan_or_404(plan_id))


@agency.post("/actions/<int:plan_id>/updates")
@editor_required
def update_action_plan(plan_id: int):
    plan = _plan_or_404(plan_id)
    form = ActionUpdateForm()
    if not form.validate_on_submit():
        return _render_plan(plan, form, status=400)
    try:
        actions.add_update(
            plan, status=form.status.data, note=form.note.data, outcome=form.outcome.data, user=current_user.user
        )
    except actions.AlreadySaved:
        db.session.rollback()
        flash(_("This progress note was already saved: the form was sent twice."))
        return redirect(url_for("agency.action_plan", plan_id=plan_id))
    except actions.ActionError as error:
        db.session.rollback()
        _refused(form, error)
        return _render_plan(_plan_or_404(plan_id), form, status=400)
    db.session.commit()
    flash(_("The progress note is saved and shown on the unit's public page."))
    return redirect(url_for("agency.action_plan", plan_id=plan.id))
