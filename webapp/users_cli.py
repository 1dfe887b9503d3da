"""``flask --app webapp users ...``: staff accounts from the command line.

The first administrator is created here (``users create --email E --role admin``); the
one-time password is printed once and must be changed at the first sign-in.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from webapp.audit import record_event
from webapp.extensions import db
from webapp.models import User
from webapp.models.accounts import ROLES
from webapp.users import AccountError, create_user, find_user, reset_password

users_cli = AppGroup("users", help="Staff accounts (administrators, agency managers, viewers).")


def _account(email: str):

    user = find_user(email)
    if user is None:
        raise click.ClickException(f"no account for {email}")
    return user


def _print_password(new, action: str) -> None:
    click.echo(f"{action} {new.user.email} ({new.user.role}{', ' + new.user.unit.code if new.user.unit else ''}).")
    click.echo(f"One-time password: {new.password}")
    click.echo("Give it to the person privately; they must choose their own password when they first sign in.")


@users_cli.command("create")
@click.option("--email", required=True, help="The person's work e-mail address (their sign-in name).")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What they may do.")
@click.option(
    "--unit",
    "unit_code",
    default=None,
    help="For agency_manager, viewer and interviewer: the unit (and subtree) they see or interview about.",
)
def create(email: str, role: str, unit_code: str | None) -> None:
    """Create an account and print its one-time password."""
    from webapp.cli import _unit  # cycle: webapp.cli imports this module to register the group

    unit = _unit(unit_code) if unit_code else None
    try:
        new = create_user(email, role, unit)
    except AccountError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    db.session.commit()
    _print_password(new, "Created")


@users_cli.command("reset-password")
@click.option("--email", required=True)
def reset(email: str) -> None:
    """Give an account a new one-time password, unlock it and sign it out everywhere."""

    new = reset_password(_account(email))
    db.session.commit()
    _print_password(new, "Reset")


@users_cli.command("reset-two-factor")
@click.option("--email", required=True)
def reset_two_factor(email: str) -> None:
    """Remove an account's TOTP second factor (a lost phone); an admin must set it up again."""

    user = _account(email)
    user.totp_secret = None
    user.totp_last_step = None
    user.session_version += 1
    record_event("user.second_factor_removed", actor="cli", object_type="user", object_id=user.id)
    db.session.commit()
    click.echo(f"Two-step sign-in removed for {user.email}; they set it up again at their next sign-in.")


@users_cli.command("disable")
@click.option("--email", required=True)
def disable(email: str) -> None:
    """Stop an account from signing in (its history stays)."""

    user = _account(email)
    user.active = False
    user.session_version += 1
    record_event("user.disable", actor="cli", object_type="user", object_id=user.id)
    db.session.commit()
    click.echo(f"Disabled {user.email}.")


@users_cli.command("list")
def list_users() -> None:
    """List accounts with role, unit and state."""

    for user in db.session.scalars(select(User).order_by(User.email)):
        state = "active" if user.active else "disabled"
        unit = user.unit.code if user.unit else "-"
        totp = "2FA" if user.totp_secret else "no 2FA"
        click.echo(f"{user.email}\t{user.role}\t{unit}\t{state}\t{totp}")
