"""Language packs: the instruments' texts and the interface catalog of each pack, for the CLI and the admin page.

A pack has two parts, both gettext PO files so translators use one set of tools:

* the interface: ``<catalogs>/<code>/LC_MESSAGES/messages.po`` (msgid: the English source string),
  compiled to ``messages.mo`` and loaded by :mod:`webapp.languages.catalogs` with Vietnamese as
  its fallback;
* the instruments: ``<INSTRUMENT_TRANSLATIONS_DIR>/<code>/<instrument>.v<N>.po`` and
  ``standard.po`` (the answer scales shared by every instrument); msgctxt is the text's key
  (``onestop.v2:items.q1.text``), msgid its Vietnamese text, the English one a comment.

An entry counts, and is shown, only when it is **reviewed**: translated and not marked ``fuzzy``.
A translation awaiting review stays in the file with the ``fuzzy`` flag and the page shows the
Vietnamese text meanwhile. No text is ever machine-translated here.
"""

from __future__ import annotations

import functools
import io
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileError, read_po, write_po
from flask import current_app, has_app_context
from flask_babel import get_babel, gettext
from sqlalchemy import select

from surveys import definitions
from surveys import languages as registry
from surveys.stored import definition_of
from webapp.extensions import db
from webapp.i18n import current_language, percent
from webapp.models import Instrument
from webapp.safe_text import has_control_characters

STANDARD = definitions.STANDARD_CONTEXT
PLURAL_FORMS = "nplurals=1; plural=0;"
#: ``%(name)s``, ``%s``, ``%d`` and ``{name}``: what must come through a translation unchanged.
_PLACEHOLDER = re.compile(r"%\([A-Za-z_][A-Za-z0-9_]*\)[sdifr]|%[sdifr]|\{[A-Za-z_][A-Za-z0-9_]*\}")


class PackError(ValueError):
    """A pack file cannot be used; ``problems`` lists every reason (``line N: …``)."""

    def __init__(self, message: str, problems: Iterable[str] = ()):
        self.problems = list(problems)
        super().__init__(message + "".join(f"\n  {problem}" for problem in self.problems))


# --------------------------------------------------------------------------------------
# Where things are
# --------------------------------------------------------------------------------------


def instruments_dir() -> Path:
    if has_app_context():
        return Path(current_app.config["INSTRUMENT_TRANSLATIONS_DIR"])
    return registry.REGISTRY_PATH.parent / "translations"


def catalogs_dir() -> Path:
    """Where the interface catalogs are (the first of Flask-Babel's translation directories)."""
    return Path(get_babel().translation_directories[0])


def catalog_path(code: str) -> Path:
    return catalogs_dir() / code / "LC_MESSAGES" / "messages.po"


def _file_of(key: str) -> str:
    return key.split(":", 1)[0] + ".po"


# --------------------------------------------------------------------------------------
# Reading the instrument store (what LocalizedText.get asks)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    key: str
    vi: str
    text: str
    reviewed: bool


def _read(path: Path) -> Catalog:
    try:
        with path.open("rb") as handle:
            return read_po(handle, abort_invalid=True)
    except (PoFileError, UnicodeDecodeError, ValueError) as exc:
        raise PackError(f"{path}: not a readable PO file ({exc})") from exc


@functools.lru_cache(maxsize=256)
def _entries(path: Path, _stamp: tuple) -> dict[str, Entry]:
    catalog = _read(path)
    return {
        message.context: Entry(
            message.context, message.id, message.string or "", bool(message.string) and not message.fuzzy
        )
        for message in catalog
        if message.id and message.context and isinstance(message.id, str) and isinstance(message.string, str)
    }


def stored_entries(code: str, file_name: str) -> dict[str, Entry]:
    """The entries of one pack file (empty when there is none)."""
    path = instruments_dir() / code / file_name
    stamp = registry.file_stamp(path)
    return {} if stamp is None else _entries(path, stamp)


def lookup(key: str, language: str, vi: str) -> str | None:
    """The reviewed text of ``key`` in ``language``, if its Vietnamese source is still ``vi``."""
    entry = stored_entries(language, _file_of(key)).get(key)
    if entry is None or not entry.reviewed or entry.vi != vi:
        return None
    return entry.text


# --------------------------------------------------------------------------------------
# Instruments in use
# --------------------------------------------------------------------------------------


def active_instruments() -> list[definitions.Instrument]:
    """The instrument versions respondents are asked now (the database's active rows, else the files' latest)."""
    try:
        rows = db.session.scalars(
            select(Instrument).where(Instrument.active).order_by(Instrument.code, Instrument.version)
        )
        found = [definition_of(row) for row in rows]
    except Exception:  # noqa: BLE001 - no database (a translator's laptop): the shipped files
        db.session.rollback()
        found = []
    return found or list(definitions.latest_instruments().values())


def _all_texts(instruments: Iterable[definitions.Instrument]) -> dict[str, list[definitions.LocalizedText]]:
    """Texts by pack file name, each key once (standard option labels in ``standard.po``)."""
    out: dict[str, list[definitions.LocalizedText]] = {}
    seen: set[str] = set()
    for instrument in instruments:
        for text in definitions.texts(instrument):
            if text.key in seen:
                continue
            seen.add(text.key)
            out.setdefault(_file_of(text.key), []).append(text)
    return out


# --------------------------------------------------------------------------------------
# Export and import
# --------------------------------------------------------------------------------------


def _catalog(code: str) -> Catalog:
    catalog = Catalog(locale=code, project="Son La Satisfaction Index", fuzzy=False)
    catalog.mime_headers = [*catalog.mime_headers, ("Plural-Forms", PLURAL_FORMS)]
    return catalog


def _write(catalog: Catalog, path: Path) -> None:
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=76, sort_output=False, include_previous=False)
    _replace(path, buffer.getvalue())


def _replace(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file and move it over ``path``: a reader sees the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.new")
    temporary.write_bytes(data)
    temporary.replace(path)


def export(code: str, instruments: Iterable[definitions.Instrument] | None = None) -> bytes:
    """One PO file with every instrument text for ``code``'s translators, stored translations filled in."""
    _require_pack(code)
    catalog = _catalog(code)
    for file_name, found in _all_texts(instruments or active_instruments()).items():
        stored = stored_entries(code, file_name)
        for text in found:
            entry = stored.get(text.key)
            same = entry is not None and entry.vi == text.vi
            catalog.add(
                text.vi,
                entry.text if same else "",
                auto_comments=[f"en: {text.en}"],
                flags=("fuzzy",) if same and entry.text and not entry.reviewed else (),
                context=text.key,
            )
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=76, sort_output=False)
    return buffer.getvalue()


@dataclass
class ImportReport:
    instruments: int = 0
    interface: int = 0
    reviewed: int = 0
    skipped: list[str] = field(default_factory=list)


def _placeholders(text: str) -> list[str]:
    return sorted(_PLACEHOLDER.findall(text))


def import_file(code: str, data: bytes, instruments: Iterable[definitions.Instrument] | None = None) -> ImportReport:
    """Store the translations of a reviewed PO file (instrument texts and interface strings).

    Refused whole, with every reason, when any translation's placeholders differ from its source
    or it holds control characters. Entries of texts no longer asked, or whose source changed
    since the export, are skipped and listed. Empty translations change nothing.
    """
    _require_pack(code)
    try:
        incoming = read_po(io.BytesIO(data), abort_invalid=True)
    except (PoFileError, UnicodeDecodeError, ValueError) as exc:
        raise PackError(f"not a readable PO file ({exc})") from exc
    problems = []
    for message in incoming:
        if not message.id or not isinstance(message.string, str) or not message.string:
            continue
        where = f"line {message.lineno}" + (f" ({message.context})" if message.context else "")
        if _placeholders(message.id if isinstance(message.id, str) else message.id[0]) != _placeholders(message.string):
            problems.append(
                f"{where}: the placeholders must be those of the source text: "
                f"{' '.join(_placeholders(str(message.id))) or 'none'}"
            )
        if has_control_characters(message.string):
            problems.append(f"{where}: the translation holds control characters")
    if problems:
        raise PackError("The file was not imported: fix these entries and import it again.", problems)

    report = ImportReport()
    texts = {text.key: text for found in _all_texts(instruments or active_instruments()).values() for text in found}
    interface = _read(catalog_path(code)) if catalog_path(code).exists() else None
    by_file: dict[str, list] = {}
    interface_changed = False
    for message in incoming:
        if not message.id or not isinstance(message.string, str) or not message.string:
            continue
        if message.context and message.context in texts:
            if texts[message.context].vi != message.id:
                report.skipped.append(
                    f"line {message.lineno} ({message.context}): the Vietnamese text changed since the export"
                )
                continue
            by_file.setdefault(_file_of(message.context), []).append(message)
            report.instruments += 1
        elif interface is not None and interface.get(message.id, message.context) is not None:
            target = interface.get(message.id, message.context)
            target.string, target.flags = message.string, set(message.flags)
            interface_changed = True
            report.interface += 1
        else:
            report.skipped.append(f"line {message.lineno}: no such text ({message.context or message.id[:40]})")
            continue
        report.reviewed += not message.fuzzy
    for file_name, messages in by_file.items():
        path = instruments_dir() / code / file_name
        catalog = _read(path) if path.exists() else _catalog(code)
        for message in messages:
            stored = catalog.get(message.id, message.context)
            if stored is not None:
                catalog.delete(message.id, message.context)
            catalog.add(
                message.id,
                message.string,
                auto_comments=message.auto_comments,
                flags=("fuzzy",) if message.fuzzy else (),
                context=message.context,
            )
        _write(catalog, path)
    if interface_changed:
        _write(interface, catalog_path(code))
        compile_catalog(code)
    return report


# --------------------------------------------------------------------------------------
# Adding a language, compiling its catalog
# --------------------------------------------------------------------------------------


def _require_pack(code: str) -> registry.Language:
    language = registry.get(code)
    if language is None:
        raise PackError(f"{code!r} is not in the language registry ({registry.registry_path()}): add it first")
    if not language.is_pack:
        raise PackError(f"{code!r} is built in: its texts are in the instrument files and the vi/en catalogs")
    return language


def add_language(language: registry.Language) -> list[Path]:
    """Register ``language`` and create its empty interface catalog (from the current POT) and pack folder."""
    if catalog_path(language.code).exists():
        raise PackError(f"{catalog_path(language.code)} exists already")
    registry.add(language)
    return create_files(language.code)


def create_files(code: str) -> list[Path]:
    """The empty interface catalog of ``code`` (every string of the current POT) and its instrument folder."""
    pot = catalogs_dir() / "messages.pot"
    with pot.open("rb") as handle:
        template = read_po(handle)
    catalog = _catalog(code)
    for message in template:
        if message.id:
            catalog.add(
                message.id,
                "",
                locations=message.locations,
                flags=message.flags - {"fuzzy"},
                auto_comments=message.auto_comments,
                context=message.context,
            )
    made = [catalog_path(code), instruments_dir() / code / "README"]
    _write(catalog, made[0])
    compile_catalog(code)
    made[1].parent.mkdir(parents=True, exist_ok=True)
    made[1].write_text(
        "Reviewed instrument texts of this language pack, one PO file per instrument version\n"
        "(flask --app webapp languages import). Entries marked fuzzy await review and are not shown.\n",
        encoding="utf-8",
    )
    return made + create_instrument_files(code)


def create_instrument_files(code: str) -> list[Path]:
    """An empty PO file per active instrument version (and ``standard.po``) that has none yet."""
    made = []
    for file_name, found in _all_texts(active_instruments()).items():
        path = instruments_dir() / code / file_name
        if path.exists():
            continue
        catalog = _catalog(code)
        for text in found:
            catalog.add(text.vi, "", auto_comments=[f"en: {text.en}"], context=text.key)
        _write(catalog, path)
        made.append(path)
    return made


def compile_catalog(code: str) -> Path:
    """``messages.po`` → ``messages.mo`` (reviewed entries only: gettext leaves fuzzy and empty ones out)."""
    source = catalog_path(code)
    target = source.with_suffix(".mo")
    catalog = _read(source)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    _replace(target, buffer.getvalue())
    return target


def copy_catalogs(source: Path, target: Path) -> None:
    """Copy a translations folder (tests start a toy language from the real catalogs)."""
    shutil.copytree(source, target, dirs_exist_ok=True)


# --------------------------------------------------------------------------------------
# Coverage
# --------------------------------------------------------------------------------------


@dataclass
class Coverage:
    """Counts of one part of a pack: ``reviewed`` of ``total``, ``awaiting`` review; ``missing`` keys."""

    name: str
    total: int = 0
    reviewed: int = 0
    awaiting: int = 0
    missing: list[str] = field(default_factory=list)

    @property
    def share(self) -> float:
        return self.reviewed / self.total if self.total else 1.0


@dataclass
class LanguageCoverage:
    language: registry.Language
    interface: Coverage
    instruments: list[Coverage]

    @property
    def parts(self) -> list[Coverage]:
        return [self.interface, *self.instruments]

    @property
    def share(self) -> float:
        total = sum(part.total for part in self.parts)
        return sum(part.reviewed for part in self.parts) / total if total else 1.0


def _translated(message) -> bool:
    """Whether every form of the message has a translation (plural messages have several)."""
    forms = message.string if isinstance(message.string, (list, tuple)) else (message.string,)
    return all(forms) and bool(forms)


def interface_coverage(code: str) -> Coverage:
    coverage = Coverage("interface")
    path = catalog_path(code)
    if not path.exists():
        return coverage
    for message in _read(path):
        if not message.id:
            continue
        coverage.total += 1
        if _translated(message) and not message.fuzzy:
            coverage.reviewed += 1
        else:
            coverage.awaiting += _translated(message)
            coverage.missing.append(message.id if isinstance(message.id, str) else message.id[0])
    return coverage


def coverage(code: str, instruments: Iterable[definitions.Instrument] | None = None) -> LanguageCoverage:
    """What of ``code`` is reviewed, awaiting review or missing: the interface and each instrument version."""
    language = _require_pack(code)
    instruments = list(instruments or active_instruments())
    parts = []
    for file_name, found in _all_texts(instruments).items():
        part = Coverage(file_name.removesuffix(".po"))
        stored = stored_entries(code, file_name)
        for text in found:
            part.total += 1
            entry = stored.get(text.key)
            if entry is not None and entry.reviewed and entry.vi == text.vi:
                part.reviewed += 1
            else:
                part.awaiting += bool(entry and entry.text and entry.vi == text.vi)
                part.missing.append(text.key)
        parts.append(part)
    return LanguageCoverage(language, interface_coverage(code), parts)


# --------------------------------------------------------------------------------------
# The language switch
# --------------------------------------------------------------------------------------


@functools.cache
def _shipped_instruments() -> tuple[definitions.Instrument, ...]:
    return tuple(definitions.latest_instruments().values())


@functools.lru_cache(maxsize=64)
def _cached_share(code: str, _where: tuple[str, str], _stamps: tuple) -> float:
    return coverage(code, _shipped_instruments()).share


def reviewed_share(code: str) -> float:
    """The share of ``code``'s texts (interface and shipped instruments) reviewed; cached until a file changes."""
    folder = instruments_dir() / code
    files = sorted(folder.glob("*.po")) if folder.is_dir() else []
    stamps = (registry.file_stamp(catalog_path(code)), *((path.name, registry.file_stamp(path)) for path in files))
    return _cached_share(code, (str(folder), str(catalog_path(code))), stamps)


def language_choices() -> list[dict]:
    """The language switch's entries: code, BCP 47 tag, native name, a note for packs, whether current."""

    current = current_language()
    out = []
    for language in registry.languages():
        note = None
        if language.is_pack:
            note = language.name(current)
            if language.status != "reviewed":
                note = gettext(
                    "%(name)s, not fully translated: %(share)s reviewed",
                    name=note,
                    share=percent(reviewed_share(language.code), 0),
                )
        out.append(
            {
                "code": language.code,
                "tag": language.html_lang,
                "native": language.native,
                "note": note,
                "current": language.code == current,
            }
        )
    return out
