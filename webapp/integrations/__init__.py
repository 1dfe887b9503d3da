"""Machine clients (the provincial one-stop system) and POST /api/v1/dossiers (issue #15).

* ``service.py`` — the rules: clients (create, revoke, authenticate) and dossiers (one survey link each);
* ``schema.py`` — what a dossier report may hold, shared by the server and the OpenAPI document;
* ``api.py`` — ``POST /api/v1/dossiers`` and ``/dossiers/batch`` (bearer token, rate-limited per client);
* ``cli.py`` — ``flask --app webapp integrations create|list|revoke``; the admin page is
  ``webapp/admin/integrations_views.py``.
"""

from __future__ import annotations

import os

from flask import Flask

from webapp.integrations.api import integrations_api
from webapp.integrations.cli import integrations_cli


def init_app(app: Flask) -> None:
    """Register this part's blueprints, CLI commands and settings on ``app``."""

    # Per client token (Flask-Limiter syntax). The one-stop system of a province reports a few
    # thousand dossiers a day; a nightly sync sends batches of up to 500.
    app.config.setdefault("INTEGRATION_RATE_LIMIT", os.environ.get("INTEGRATION_RATE_LIMIT", "600/minute"))
    app.config.setdefault("INTEGRATION_BATCH_RATE_LIMIT", os.environ.get("INTEGRATION_BATCH_RATE_LIMIT", "60/minute"))
    app.register_blueprint(integrations_api)
    app.cli.add_command(integrations_cli)
