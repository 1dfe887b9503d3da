"""Ratings imported from the national public service portal, and exact response rates (issue #15).

* :mod:`webapp.portal.ratings`: ``flask --app webapp import portal-ratings FILE`` (its own table, never
  pooled with our scales); :mod:`webapp.portal.figures`: the portal's share satisfied for a unit page.
* :mod:`webapp.portal.response_rates`: survey links issued, delivered and answered per unit and service.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this part's blueprints, CLI commands and settings on ``app``."""
    # cycle: webapp.cli imports webapp.reports, whose data module imports this package
    from webapp.cli import import_cli
    from webapp.portal.cli import import_portal_ratings_command

    # The ``import`` group is shared by every import; adding the command to it again is harmless.
    import_cli.add_command(import_portal_ratings_command)
