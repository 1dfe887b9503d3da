"""``flask actions list``: the action plans of every unit (or one), as the agency pages list them."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from webapp.extensions import db
from webapp.insights import actions
from webapp.models import Unit
from webapp.models.insights import ACTION_STATUSES, ActionPlan

actions_cli = AppGroup("actions", help="Action plans: what units said they will change (issue #16).")


@actions_cli.command("list")
@click.option("--unit", "unit_code", help="Only this unit's plans (its code).")
@click.option("--status", type=click.Choice(ACTION_STATUSES), help="Only plans with this status.")
def list_command(unit_code: str | None, status: str | None) -> None:
    """One line per plan: id, unit, status (and overdue), due date, baseline, subject, what will change."""
    units = db.session.scalars(select(Unit).where(Unit.id.in_(select(ActionPlan.unit_id))).order_by(Unit.code)).all()
    if unit_code is not None:
        units = [u for u in units if u.code == unit_code]
        if not units and db.session.scalar(select(Unit.id).where(Unit.code == unit_code)) is None:
            raise click.ClickException(f"no unit {unit_code!r}")
    shown = 0
    for unit in units:
        for plan in actions.plans_of(unit):
            if status and plan.status != status:
                continue
            state = plan.status + (" (overdue)" if actions.is_overdue(plan) else "")
            subject = f"aspect {plan.indicator}/{plan.aspect}" if plan.aspect else f"theme {plan.theme}"
            click.echo(
                f"{plan.id}\t{unit.code}\t{state}\tdue {plan.due_on}\tfrom {plan.baseline_period}\t{subject}\t"
                f"{' '.join(plan.action.split())[:80]}"
            )
            shown += 1
    if not shown:
        click.echo("No action plan.")
