"""``flask --app webapp sms purge``: close conversations that waited too long, delete those older than 30 days."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from webapp.sms.service import purge

sms_cli = AppGroup("sms", help="The two-way SMS survey.")


@sms_cli.command("purge")
def purge_command() -> None:
    """Store ratings left waiting for their second answer, end unanswered questions, and delete conversations
    (with their phone digests) and processed message ids older than 30 days. Run it daily (cron)."""

    counts = purge()
    click.echo(
        f"stored {counts['stored']} waiting answers, ended {counts['ended']} unanswered conversations; "
        f"deleted {counts['conversations']} conversations and {counts['messages']} message ids older than 30 days"
    )
