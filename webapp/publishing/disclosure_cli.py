"""``flask --app webapp disclosure audit [PERIOD]``: the attacks on what is public, and what they recover."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from webapp.periods import Period
from webapp.publishing.disclosure import audit_microdata, audit_tables, published_periods

disclosure_cli = AppGroup("disclosure", help="Disclosure control of the published tables and microdata.")


@disclosure_cli.command("audit")
@click.argument("period", required=False)
@click.option("--tables-only", is_flag=True, help="Skip the microdata (labels and rare combinations).")
def audit(period: str | None, tables_only: bool) -> None:
    """Differencing across periods and the hierarchy (both unit trees), microdata labels and
    uniqueness: print every hidden value recoverable from what is public; exit 1 if any."""

    if period is not None:
        try:
            periods = [Period.parse(period)]
        except ValueError as error:
            raise click.UsageError(str(error)) from None
    else:
        periods = published_periods()
    found = 0
    for chosen in periods:
        findings = audit_tables(chosen) + ([] if tables_only else audit_microdata(chosen))
        for finding in findings:
            click.echo(str(finding))
        found += len(findings)
    click.echo(f"{len(periods)} period(s) audited: {found} recoverable value(s).")
    if found:
        raise SystemExit(1)
