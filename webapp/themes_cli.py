"""``flask themes``: the comment themes of issue #16 (see docs/comment-themes.md)."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from surveys.themes import assign, rules_version
from webapp.audit import record_event
from webapp.extensions import db
from webapp.insights.themes import assign_missing
from webapp.models import Unit

themes_cli = AppGroup("themes", help="Themes of citizens' comments (rules in surveys/themes.yaml).")


@themes_cli.command("assign")
@click.option("--unit", "unit_code", default=None, help="Only this unit's comments (its code).")
def assign_command(unit_code: str | None) -> None:
    """Theme comments without themes or themed by older rules; never a moderator's correction."""

    unit_ids = None
    if unit_code is not None:
        unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
        if unit is None:
            raise click.ClickException(f"no unit {unit_code!r}")
        unit_ids = [unit.id]
    done = assign_missing(unit_ids)
    if done:
        record_event("themes.assign", actor="cli", detail=f"rules {rules_version()}", after={"comments": done})
    db.session.commit()
    click.echo(f"{done} comments themed with rules {rules_version()}.")


@themes_cli.command("explain")
@click.argument("text")
def explain_command(text: str) -> None:
    """Show which rule found which theme in TEXT, and its verdict (nothing is stored)."""

    for found in assign(text):
        click.echo(f"{found.theme}: {'complaint' if found.negative else 'not a complaint'}")
        for mention in found.mentions:
            negated = " (negated)" if mention.negated else ""
            click.echo(
                f"  {mention.rule}: «{mention.phrase}»{negated} -> {'negative' if mention.negative else 'non-negative'}"
            )
