"""``flask --app webapp privacy ...``: personal data requests made by phone or in person at Sở Nội vụ.

``privacy withdraw --code CODE --reason TEXT`` does what ``/privacy/withdraw`` does for a
respondent who cannot use the page: it deletes the "About you" answers of the response sent
with the receipt's code (:mod:`webapp.services.privacy`). The reason (how the request was
made, a reference) goes to the audit trail with personal data masked.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import force_locale

from webapp.extensions import db
from webapp.services.privacy import (
    PrivacyError,
    Withdrawal,
    describe_privacy_error,
    find_response_by_code,
    withdraw_demographics,
)

privacy_cli = AppGroup("privacy", help="Personal data requests (Decree 13/2023/NĐ-CP).")


@privacy_cli.command("withdraw")
@click.option("--code", required=True, help="The code printed on the respondent's receipt, e.g. ABCD-EFGH-JKMN-PQRS.")
@click.option("--reason", required=True, help="How the request was made, e.g. 'phone call, reference 12/2026'.")
def withdraw(code: str, reason: str) -> None:
    """Withdraw consent and delete the "About you" answers sent with a receipt's code."""

    try:
        response = find_response_by_code(code)
        outcome = withdraw_demographics(response, actor="cli", reason=reason)
    except PrivacyError as error:
        db.session.rollback()
        with force_locale("en"):
            raise click.ClickException(describe_privacy_error(error)) from None
    db.session.commit()
    if outcome is Withdrawal.ALREADY_WITHDRAWN:
        click.echo(f'The "About you" answers of response {response.id} were already deleted: nothing changed.')
    else:
        click.echo(f'Deleted the "About you" answers of response {response.id} and withdrew its consent.')
