"""Two-way SMS survey for feature phones (issue #17, part 1); see docs/sms.md.

After a dossier is returned (the one-stop integration's ``deliver: ["sms_survey"]``) or when a citizen
texts a poster's code (``DG <unit> [<service>]``), the citizen is asked the ``sms-quick`` questionnaire by
SMS; replies come back signed to ``POST /sms/inbound`` (:mod:`webapp.sms.webhook`), are read by
:mod:`webapp.sms.parser` and handled by :mod:`webapp.sms.service`, which stores the answer through the
submission service with channel and mode ``sms``. Outbound messages go through the SMS adapter of
``webapp.delivery.senders`` as background jobs. ``flask --app webapp sms purge`` deletes conversations
after 30 days.

Settings (environment variables): ``SMS_INBOUND_SECRET`` (the webhook's HMAC key; unset: the endpoint
answers 404), ``SMS_INBOUND_MAX_SKEW`` (seconds, default 300), ``SMS_INBOUND_RATE_LIMIT`` (default
``1200/minute`` per address); outbound messages use ``SMS_GATEWAY_URL`` and ``SMS_GATEWAY_TOKEN``.
"""

from __future__ import annotations

import os

from flask import Flask

from webapp.sms import service  # noqa: F401  (registers the ``sms_reply`` job handler)
from webapp.sms.cli import sms_cli
from webapp.sms.webhook import sms_webhook


def init_app(app: Flask) -> None:
    """Register this part's blueprints and commands."""
    app.config.setdefault("SMS_INBOUND_SECRET", os.environ.get("SMS_INBOUND_SECRET", ""))
    app.config.setdefault("SMS_INBOUND_MAX_SKEW", float(os.environ.get("SMS_INBOUND_MAX_SKEW") or 300))
    app.config.setdefault("SMS_INBOUND_RATE_LIMIT", os.environ.get("SMS_INBOUND_RATE_LIMIT") or "1200/minute")

    app.register_blueprint(sms_webhook)
    app.cli.add_command(sms_cli)
