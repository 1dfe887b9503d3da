"""Operations commands: ``flask --app webapp <group> <command>``.

Every command validates its whole input before writing, and stops with a clear message
naming the file and line on bad input (exit status 1, nothing written).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup
from flask_babel import force_locale
from sqlalchemy import select

from surveys.definitions import DefinitionError
from surveys.paper import import_paper_responses
from surveys.pii import mask_text
from surveys.qr import qr_png, qr_svg
from surveys.tokens import display_token
from webapp.extensions import db
from webapp.imports.margins import load_margins
from webapp.imports.tables import ImportRejected
from webapp.imports.transactions import import_transactions
from webapp.insights.action_cli import actions_cli
from webapp.integrity.cli import integrity_cli
from webapp.models import Counter, Device, Service, Unit
from webapp.periods import vietnam_today
from webapp.portal.ratings import import_portal_ratings
from webapp.privacy_cli import privacy_cli
from webapp.publishing.disclosure_cli import disclosure_cli
from webapp.publishing.microdata import export_microdata, export_restricted_microdata
from webapp.publishing.publish import PublishError, publish_ended_periods, publish_period
from webapp.reports.cli import report_command
from webapp.services import ServiceError, describe
from webapp.services.devices import approve_device, close_counter, create_device, revoke_device
from webapp.services.receipts import issue_receipts, record_refusal
from webapp.themes_cli import themes_cli
from webapp.urls import public_url
from webapp.users_cli import users_cli

registry_cli = AppGroup("registry", help="The registry of units and services.")
demo_cli = AppGroup("demo", help="Synthetic demonstration data.")
import_cli = AppGroup("import", help="Import files (CSV or XLSX); a file with any bad row is refused whole.")
devices_cli = AppGroup("devices", help="Kiosk tablets at the one-stop counters.")
tokens_cli = AppGroup("tokens", help="Single-use survey codes printed on receipts.")
counters_cli = AppGroup("counters", help="The one-stop counters of the units.")


def _unit(code: str):

    unit = db.session.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        raise click.ClickException(f"unknown unit code {code!r} (see /api/v1/units)")
    return unit


def _refused(error) -> click.ClickException:
    """A service's refusal as a CLI error (English, exit status 1); the caller wrote nothing."""
    db.session.rollback()
    with force_locale("en"):
        return click.ClickException(describe(error))


@devices_cli.command("create")
@click.option("--unit", "unit_code", required=True, help="Code of the unit, e.g. sl-ttpvhcc.")
@click.option("--counter", "counter_name", required=True, help="Name of the counter, e.g. 'Quầy 1'.")
@click.option("--label", default=None, help="A note to recognise the tablet.")
def devices_create(unit_code: str, counter_name: str, label: str | None) -> None:
    """Register a tablet, approved (the operator acts as an administrator), and print its kiosk URL once."""

    try:
        new = create_device(_unit(unit_code), counter_name, label, actor=None)
    except ServiceError as error:
        raise _refused(error) from None
    db.session.commit()
    click.echo(f"Device {new.device.id} at {unit_code} / {new.device.counter.name}")
    click.echo(public_url(f"/kiosk/{new.key}"))
    click.echo("Open this address on the tablet. Keep it secret: anyone with it can submit ratings for this counter.")


def _device(device_id: int):

    device = db.session.get(Device, device_id)
    if device is None:
        raise click.ClickException(f"no device {device_id}")
    return device


@devices_cli.command("approve")
@click.argument("device_id", type=int)
def devices_approve(device_id: int) -> None:
    """Let a tablet waiting for approval take ratings."""

    try:
        changed = approve_device(_device(device_id), actor=None)
    except ServiceError as error:
        raise _refused(error) from None
    db.session.commit()
    click.echo(f"Device {device_id} approved." if changed else f"Device {device_id} was already approved.")


@devices_cli.command("revoke")
@click.argument("device_id", type=int)
def devices_revoke(device_id: int) -> None:
    """Refuse a tablet's key from now on, or reject one waiting for approval (its earlier ratings stay)."""

    revoke_device(_device(device_id), actor=None)
    db.session.commit()
    click.echo(f"Device {device_id} revoked.")


@devices_cli.command("list")
@click.option("--unit", "unit_code", default=None, help="Only this unit's devices.")
def devices_list(unit_code: str | None) -> None:
    """List devices with their counter, state and last contact."""

    query = select(Device).join(Counter).order_by(Device.id)
    if unit_code:
        query = query.where(Counter.unit_id == _unit(unit_code).id)
    for device in db.session.scalars(query):
        state = "revoked" if device.revoked_at else "active" if device.approved_at else "pending"
        seen = device.last_seen_at.isoformat(timespec="minutes") if device.last_seen_at else "never"
        click.echo(f"{device.id}\t{device.counter.unit.code}\t{device.counter.name}\t{state}\tlast seen {seen}")


@counters_cli.command("close")
@click.option("--unit", "unit_code", required=True, help="Code of the unit.")
@click.option("--counter", "counter_name", required=True, help="Name of the counter.")
def counters_close(unit_code: str, counter_name: str) -> None:
    """Close a counter: it takes no more tablets and its tablets' keys are revoked."""

    unit = _unit(unit_code)
    name = " ".join(counter_name.split())
    counter = db.session.scalar(select(Counter).where(Counter.unit_id == unit.id, Counter.name == name))
    if counter is None:
        raise click.ClickException(f"unit {unit_code} has no counter {name!r}")
    revoked = close_counter(counter, actor=None)
    db.session.commit()
    click.echo(f"Counter {name} of {unit_code} is closed; {len(revoked)} tablets revoked.")


@tokens_cli.command("issue")
@click.option("--unit", "unit_code", required=True, help="Code of the unit that handled the dossier.")
@click.option("--service", "service_code", required=True, help="Code of the service, e.g. land.")
@click.option("--case", "case_number", required=True, help="The dossier's case number (never stored in clear).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the QR code to this .svg or .png file.",
)
def tokens_issue(unit_code: str, service_code: str, case_number: str, output: Path | None) -> None:
    """Print the single-use survey link for one dossier (the same case gives the same link).

    The same rules as the agency page: only up to the unit's imported dossier counts, and a
    used, revoked or expired code is not printed again.
    """

    if output is not None and output.suffix.lower() not in (".png", ".svg"):
        raise click.ClickException("the QR file must end in .svg or .png")
    unit = _unit(unit_code)
    service = db.session.scalar(select(Service).where(Service.code == service_code))
    if service is None:
        raise click.ClickException(f"unknown service code {service_code!r}")
    if service not in unit.services_on(vietnam_today()):
        raise click.ClickException(f"unit {unit_code} does not offer service {service_code} today")
    try:
        [receipt] = issue_receipts(unit, service, [case_number], actor=None)
    except ServiceError as error:
        db.session.rollback()
        record_refusal(unit, service, error, actor=None, asked=1)
        db.session.commit()
        raise _refused(error) from None
    db.session.commit()
    url = public_url(f"/r/{receipt.token}")
    click.echo(url)
    click.echo(
        f"Code to type: {display_token(receipt.token)} (valid until {receipt.row.expires_at.date().isoformat()})"
    )
    if output is not None:
        if output.suffix.lower() == ".png":
            output.write_bytes(qr_png(url))
        else:
            output.write_text(qr_svg(url, title=url), encoding="utf-8")
        click.echo(f"QR code written to {output}")


@registry_cli.command("load")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder with manifest.yaml and the CSV files (default: the shipped registry).",
)
def registry_load(directory: Path | None) -> None:
    """Load units, services, offerings, the 2025 mapping, instruments and indicators."""
    # start-up: only this command needs the registry loader; web workers never load it
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
@click.option(
    "--seed", "random_seed", type=int, default=2012, show_default=True, help="Random seed, for reproducible data."
)
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already holds responses.")
def demo_seed(responses: int | None, random_seed: int, if_empty: bool) -> None:
    """Create transaction counts, counters, devices and responses with known true rates."""
    # start-up: only this command needs the demo seeder; web workers never load it
    from webapp.demo.seed import DEFAULT_RESPONSES, DemoError, database_has_responses, seed_demo

    if if_empty and database_has_responses():
        click.echo("The database already holds responses; demo data not added.")
        return
    try:
        summary = seed_demo(
            responses=DEFAULT_RESPONSES if responses is None else responses, seed=random_seed, progress=True
        )
    except DemoError as error:
        raise click.ClickException(str(error)) from None
    click.echo(summary)
    # start-up: the one-stop system's dossiers, through the API, for the demo only
    from webapp.demo.dossiers import dossiers_for, seed_dossiers

    click.echo(seed_dossiers(dossiers_for(DEFAULT_RESPONSES if responses is None else responses), seed=random_seed))
    if responses != 0:
        click.echo(import_portal_ratings(Path(__file__).parent / "demo" / "portal_sample.csv", actor="demo"))


@import_cli.command("transactions")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def import_transactions_command(file: Path) -> None:
    """Transaction counts per quarter: columns period, unit, service, [respondent_type,] count."""

    try:
        click.echo(import_transactions(file))
    except ImportRejected as error:
        raise click.ClickException(str(error)) from None


@import_cli.command("margins")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dataset", required=True, help="Name of the dataset, e.g. census-2029; loading it again replaces it.")
@click.option("--source", default=None, help="Where the figures come from (publication, table, date).")
def import_margins_command(file: Path, dataset: str, source: str | None) -> None:
    """Population margins for raking: columns variable, category, total."""

    try:
        written = load_margins(file, dataset, source=source)
        db.session.commit()
    except ImportRejected as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    click.echo(f"Loaded {written} margins into {dataset}." if written else f"{dataset} is already up to date.")


@import_cli.command("responses")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def import_responses_command(file: Path) -> None:
    """Keyed-in paper forms: form_id, unit, service, answered_on, then one column per question."""

    try:
        click.echo(import_paper_responses(file))
    except ImportRejected as error:
        raise click.ClickException(str(error)) from None


@click.command("publish")
@click.argument("period", required=False)
@click.option("--reason", default=None, help="Why a period already published is published again (required then).")
@click.option("--all-ended", is_flag=True, help="Publish every ended quarter, half-year and year not yet published.")
def publish_command(period: str | None, reason: str | None, all_ended: bool) -> None:
    """Compute and freeze the estimates of PERIOD (2026-Q3, 2026-H1 or 2026)."""

    if all_ended:
        with click.progressbar(length=15 * 7, label="Publishing ended periods") as bar:
            run = publish_ended_periods(progress=lambda period: bar.update(1))
        click.echo(f"Published {len(run.published)} periods.")
        if run.skipped:
            labels = [label for label, _ in run.skipped]
            shown = ", ".join(labels) if len(labels) <= 10 else f"{labels[0]} … {labels[-1]}"
            click.echo(f"Skipped {len(labels)} periods without responses ({shown}).")
        for label, message in run.failed:
            click.echo(f"Failed {label}: {message}")
        if run.failed:
            raise click.ClickException(
                f"{len(run.failed)} periods failed: {', '.join(label for label, _ in run.failed)}; "
                "the others were published"
            )
        return
    if period is None:
        raise click.UsageError("give a PERIOD or --all-ended")
    try:
        click.echo(publish_period(period, reason=reason))
    except PublishError as error:
        raise click.ClickException(str(error)) from None


export_cli = AppGroup("export", help="Open data files.")


@export_cli.command("microdata")
@click.argument("period")
@click.option("--indicator", required=True, help="Indicator code, e.g. sat-agencies.")
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="CSV file to write."
)
@click.option(
    "--tier",
    type=click.Choice(["public", "restricted"]),
    default="public",
    show_default=True,
    help="public: the open data file; restricted: full detail for an approved researcher (audited).",
)
@click.option("--purpose", default="", help="Restricted tier: approved researcher, purpose and reference.")
def export_microdata_command(period: str, indicator: str, output: Path, tier: str, purpose: str) -> None:
    """Microdata behind a published indicator, with an R script beside it."""

    try:
        if tier == "restricted":
            click.echo(export_restricted_microdata(period, indicator, output, purpose=purpose, actor="cli"))
        else:
            click.echo(export_microdata(period, indicator, output))
    except (PublishError, ValueError) as error:
        raise click.ClickException(str(error)) from None


pii_cli = AppGroup("pii", help="Personal data in free text.")


@pii_cli.command("mask")
def pii_mask_command() -> None:
    """Read text on standard input and print it with personal data masked (the function comments go through)."""

    click.echo(mask_text(sys.stdin.read()), nl=False)


def init_app(app: Flask) -> None:
    app.cli.add_command(registry_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(import_cli)
    app.cli.add_command(devices_cli)
    app.cli.add_command(tokens_cli)
    app.cli.add_command(counters_cli)
    app.cli.add_command(publish_command)
    app.cli.add_command(export_cli)
    app.cli.add_command(pii_cli)

    app.cli.add_command(users_cli)

    app.cli.add_command(privacy_cli)

    app.cli.add_command(report_command)

    app.cli.add_command(integrity_cli)

    app.cli.add_command(disclosure_cli)

    app.cli.add_command(themes_cli)

    app.cli.add_command(actions_cli)
