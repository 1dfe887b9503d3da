"""``flask --app webapp integrity ...``: the weekly summary, and the same review as the admin page."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from webapp.extensions import db
from webapp.integrity.review import REASON_MAX_LENGTH, ReviewError, exclude_response, reinstate_response
from webapp.integrity.summary import weekly_summary

integrity_cli = AppGroup("integrity", help="Signals of stuffed ratings and the review of flagged responses.")

REVIEW_MESSAGES = {
    "reason_required": "give a reason with --reason",
    "reason_too_long": "the reason is too long ({limit} characters at most)",
    "not_found": "no response with this number",
    "not_flagged": "this response is not flagged",
    "not_valid": "this response is not valid (already flagged or excluded)",
}


@integrity_cli.command("summary")
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 366), help="How many days back.")
@click.option("--format", "output", default="text", show_default=True, type=click.Choice(["text", "json"]))
def summary(days: int, output: str) -> None:
    """Print the last DAYS days' signals: counts per signal and the units with the most serious ones."""

    found = weekly_summary(days)
    click.echo(found.as_json() if output == "json" else found.as_text())


def _review(action, response_id: int, reason: str) -> None:

    try:
        response = action(response_id, reason, actor="cli")
    except ReviewError as error:
        db.session.rollback()
        message = REVIEW_MESSAGES.get(error.code, error.code).format(limit=REASON_MAX_LENGTH)
        raise click.ClickException(message) from None
    db.session.commit()
    click.echo(f"Response {response.id}: {response.status} (flags: {', '.join(response.quality_flags) or '-'})")


@integrity_cli.command("reinstate")
@click.argument("response_id", type=int)
@click.option("--reason", required=True, help="Why the flagged response should count (kept in the audit log).")
def reinstate(response_id: int, reason: str) -> None:
    """Count a flagged response again; its flags are kept."""

    _review(reinstate_response, response_id, reason)


@integrity_cli.command("exclude")
@click.argument("response_id", type=int)
@click.option("--reason", required=True, help="Why the response must not count (kept in the audit log).")
def exclude(response_id: int, reason: str) -> None:
    """Take a valid response out of the estimates (flag admin_excluded)."""

    _review(exclude_response, response_id, reason)
