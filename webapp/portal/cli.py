"""``flask --app webapp import portal-ratings FILE`` (added to the existing ``import`` group)."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from webapp.imports.tables import ImportRejected
from webapp.portal.ratings import import_portal_ratings


@click.command("portal-ratings")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def import_portal_ratings_command(file: Path) -> None:
    """National public service portal ratings: dossier_number, unit, [service,] rated_on, rating."""

    try:
        click.echo(import_portal_ratings(file))
    except ImportRejected as error:
        raise click.ClickException(str(error)) from None
