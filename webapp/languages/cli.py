"""``flask languages``: add a language pack, export texts for translators, import reviewed ones, coverage."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from surveys import languages as registry
from surveys.languages import Language, RegistryError
from webapp.audit import record_event
from webapp.extensions import db
from webapp.languages import packs

languages_cli = AppGroup("languages", help="Language packs beyond Vietnamese and English (docs/languages.md).")


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


def _audit(action: str, detail: str, after: dict) -> None:
    """Record the change in the audit log when the database is there (a translator's laptop may have none)."""

    try:
        record_event(action, actor="cli", detail=detail, after=after)
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()


@languages_cli.command("add")
@click.argument("code")
@click.option("--name", "name_en", required=True, help="Its name in English (e.g. 'Tai Dam (Thái)').")
@click.option("--name-vi", default=None, help="Its name in Vietnamese (default: --name).")
@click.option("--native", required=True, help="Its name in itself, as a native speaker writes it.")
@click.option("--script", default="Latn", show_default=True, help="ISO 15924 script code (Tavt for Tai Viet).")
@click.option("--tag", default="", help='BCP 47 tag for lang="…" when it is not the code (hnj-Latn).')
@click.option("--direction", type=click.Choice(["ltr", "rtl"]), default="ltr", show_default=True)
@click.option("--font", default=None, help="Web font family the pages need for its script.")
def add_command(code, name_en, name_vi, native, script, tag, direction, font) -> None:
    """Add language CODE: its registry entry, its empty interface catalog and its instrument pack folder."""

    language = Language(
        code=code,
        native=native,
        name_vi=name_vi or name_en,
        name_en=name_en,
        tag=tag,
        script=script,
        direction=direction,
        font=font,
        status="empty",
    )
    try:
        made = packs.add_language(language)
    except (RegistryError, packs.PackError, OSError) as exc:
        raise _fail(exc) from exc
    _audit("languages.add", code, language.as_dict())
    click.echo(f"Added {code} ({name_en}). Translators: flask --app webapp languages export {code} -o {code}.po")
    for path in made:
        click.echo(f"  {path}")


@languages_cli.command("export")
@click.argument("code")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def export_command(code: str, output: Path) -> None:
    """Write every text of the active instruments for CODE's translators (a PO file; stored translations filled in)."""

    try:
        output.write_bytes(packs.export(code))
    except (packs.PackError, OSError) as exc:
        raise _fail(exc) from exc
    click.echo(f"Wrote {output}. The interface strings are in {packs.catalog_path(code)}.")


@languages_cli.command("import")
@click.argument("code")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(code: str, file: Path) -> None:
    """Store the translations of FILE (a PO file: instrument texts and/or interface strings) in CODE's pack.

    Entries marked fuzzy are kept as awaiting review and not shown; a file with a broken entry
    (placeholders not those of the source, control characters) is refused whole.
    """

    try:
        report = packs.import_file(code, file.read_bytes())
    except (packs.PackError, OSError) as exc:
        raise _fail(exc) from exc
    after = {"instrument_texts": report.instruments, "interface_strings": report.interface, "reviewed": report.reviewed}
    _audit("languages.import", f"{code} {file.name}", after)
    click.echo(
        f"Imported {report.instruments} instrument texts and {report.interface} interface strings "
        f"({report.reviewed} reviewed) into {code}."
    )
    for skipped in report.skipped:
        click.echo(f"  skipped {skipped}")


@languages_cli.command("coverage")
@click.argument("code", required=False)
@click.option("--missing", is_flag=True, help="List every text still shown in Vietnamese.")
def coverage_command(code: str | None, missing: bool) -> None:
    """Reviewed, awaiting review and missing texts of each pack (or of CODE), per instrument."""

    chosen = [code] if code else [language.code for language in registry.packs()]
    try:
        reports = [packs.coverage(one) for one in chosen]
    except packs.PackError as exc:
        raise _fail(exc) from exc
    for report in reports:
        language = report.language
        click.echo(f"{language.code} {language.name_en} [{language.status}]: {report.share:.0%} reviewed")
        for part in report.parts:
            click.echo(
                f"  {part.name}: {part.reviewed}/{part.total} reviewed, {part.awaiting} awaiting review, "
                f"{len(part.missing)} shown in Vietnamese"
            )
            if missing:
                for key in part.missing:
                    click.echo(f"    missing {key}")
