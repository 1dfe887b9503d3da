"""``flask --app webapp audio carry-over CODE``: approved clips follow unchanged texts to the active version."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from webapp.audio import service
from webapp.extensions import db
from webapp.models import Instrument

audio_cli = AppGroup("audio", help="Recorded questions (questions read aloud).")


@audio_cli.command("carry-over")
@click.argument("code")
def carry_over(code: str) -> None:
    """Copy the approved clips of CODE's previous version to its active version where the text is unchanged."""
    active = db.session.scalar(select(Instrument).where(Instrument.code == code, Instrument.active.is_(True)))
    if active is None:
        raise click.ClickException(f"no active version of instrument {code}")
    previous = db.session.scalar(
        select(Instrument)
        .where(Instrument.code == code, Instrument.version < active.version)
        .order_by(Instrument.version.desc())
        .limit(1)
    )
    if previous is None:
        click.echo(f"{code} v{active.version} has no earlier version: nothing to carry over")
        return
    copied = service.carry_over(previous, active, actor=None)
    db.session.commit()
    click.echo(f"{copied} clips carried over from {code} v{previous.version} to v{active.version}")
