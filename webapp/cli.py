"""Operations commands: ``flask --app webapp <group> <command>``.

Every command validates its whole input before writing, and stops with a clear message
naming the file and line on bad input (exit status 1, nothing written).
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

registry_cli = AppGroup("registry", help="The registry of units and services.")
demo_cli = AppGroup("demo", help="Synthetic demonstration data.")
import_cli = AppGroup("import", help="Import files (CSV or XLSX); a file with any bad row is refused whole.")


@registry_cli.command("load")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder with manifest.yaml and the CSV files (default: the shipped registry).")
def registry_load(directory: Path | None) -> None:
    """Load units, services, offerings, the 2025 mapping, instruments and indicators."""
    from surveys.definitions import DefinitionError
    from webapp.registry.loader import DATA_DIR, RegistryError
    from webapp.registry.service import load_everything

    try:
        report = load_everything(directory or DATA_DIR)
    except (RegistryError, DefinitionError) as error:
        raise click.ClickException(str(error)) from None
    if not report.changed:
        click.echo("Registry already up to date; nothing changed.")
        return
    for label, bucket in (("created", report.created), ("updated", report.updated)):
        if bucket:
            click.echo(f"{label}: " + ", ".join(f"{count} {what}" for what, count in sorted(bucket.items())))


@demo_cli.command("seed")
@click.option("--responses", type=click.IntRange(min=0), default=None, help="Number of responses (default 120,000).")
@click.option("--seed", "random_seed", type=int, default=2012, show_default=True, help="Random seed, for reproducible data.")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already holds responses.")
def demo_seed(responses: int | None, random_seed: int, if_empty: bool) -> None:
    """Create transaction counts, counters, devices and responses with known true rates."""
    from webapp.demo.seed import DEFAULT_RESPONSES, DemoError, database_has_responses, seed_demo

    if if_empty and database_has_responses():
        click.echo("The database already holds responses; demo data not added.")
        return
    try:
        summary = seed_demo(responses=DEFAULT_RESPONSES if responses is None else responses, seed=random_seed, progress=True)
    except DemoError as error:
        raise click.ClickException(str(error)) from None
    click.echo(summary)


@import_cli.command("transactions")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def import_transactions_command(file: Path) -> None:
    """Transaction counts per quarter: columns period, unit, service, [respondent_type,] count."""
    from webapp.imports.tables import ImportRejected
    from webapp.imports.transactions import import_transactions

    try:
        click.echo(import_transactions(file))
    except ImportRejected as error:
        raise click.ClickException(str(error)) from None


def init_app(app: Flask) -> None:
    app.cli.add_command(registry_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(import_cli)
