"""``flask --app webapp integrations create|list|revoke``: machine clients of the one-stop system."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import force_locale
from sqlalchemy import select

from webapp.extensions import db
from webapp.integrations import service
from webapp.integrations.messages import describe_refusal
from webapp.models import Unit
from webapp.services import ServiceError
from webapp.urls import public_url

integrations_cli = AppGroup("integrations", help="Machine clients (the one-stop system) of POST /api/v1/dossiers.")


def _when(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


@integrations_cli.command("create")
@click.option("--name", required=True, help="What the client is, e.g. 'Hệ thống một cửa tỉnh'.")
@click.option("--unit", "unit_code", required=True, help="The unit it acts for (and every unit below it), e.g. sl.")
def create_command(name: str, unit_code: str) -> None:
    """Make a client and print its id and secret token, once (only a hash of the token is kept)."""

    unit = db.session.scalar(select(Unit).where(Unit.code == unit_code.strip()))
    if unit is None:
        raise click.ClickException(f"unknown unit code {unit_code!r} (see /api/v1/units)")
    try:
        new = service.create_client(name, unit, actor=None)
    except ServiceError as error:
        db.session.rollback()
        with force_locale("en"):
            raise click.ClickException(describe_refusal(error)) from None
    db.session.commit()
    click.echo(f"Client id: {new.client.client_id}")
    click.echo(f"Token:     {new.token}")
    click.echo(
        f"Acts for {unit.code} and every unit below it. Send: Authorization: Bearer <token> to "
        f"{public_url('/api/v1/dossiers')}"
    )
    click.echo("The token is shown only now and is not stored: keep it in the one-stop system's secret store.")


@integrations_cli.command("list")
def list_command() -> None:
    """Every client: id, name, unit, created, last used, revoked."""
    clients = service.list_clients()
    if not clients:
        click.echo("No integration clients.")
        return
    click.echo("\t".join(("client_id", "name", "unit", "created", "last_used", "revoked")))
    for client in clients:
        click.echo(
            "\t".join(
                (
                    client.client_id,
                    client.name,
                    client.unit.code,
                    _when(client.created_at),
                    _when(client.last_used_at),
                    _when(client.revoked_at),
                )
            )
        )


@integrations_cli.command("revoke")
@click.argument("client_id")
def revoke_command(client_id: str) -> None:
    """Stop a client's token at once (its dossiers and links stay)."""
    client = service.find_client(client_id)
    if client is None:
        raise click.ClickException(f"no integration client {client_id!r} (see 'integrations list')")
    if not service.revoke_client(client, actor=None):
        click.echo(f"Client {client.client_id} was already revoked.")
        return
    db.session.commit()
    click.echo(f"Client {client.client_id} is revoked: its token is refused from now on.")
