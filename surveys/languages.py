"""The languages a survey can be shown in: Vietnamese (the source), English, and language packs.

Vietnamese is the language every instrument is written in and the fallback of every other one.
The registry is ``surveys/languages.yaml`` (an application may point ``LANGUAGE_REGISTRY`` at
another file: the tests' toy language lives in a temporary copy). Language packs (Thái, Mông…)
are added by ``flask --app webapp languages add`` (README, "Adding a language").
"""

from __future__ import annotations

import functools
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml
from flask import current_app, has_app_context

#: Always available: the instruments carry both texts.
BUILT_IN = ("vi", "en")
SOURCE = "vi"
REGISTRY_PATH = Path(__file__).resolve().parent / "languages.yaml"
STATUSES = ("empty", "not reviewed", "reviewed samples", "reviewed")
#: An ISO 639 code (2 or 3 letters, ``qaa``–``qtz`` for local use), optionally ``_`` + region or script.
CODE_PATTERN = re.compile(r"^[a-z]{2,3}(?:_[A-Z][a-z]{3})?(?:_[A-Z]{2})?$")
_FIELDS = ("code", "tag", "native", "name_vi", "name_en", "script", "direction", "font", "formatting", "status")


class RegistryError(ValueError):
    """The language registry is broken, or an entry cannot be added."""


@dataclass(frozen=True)
class Language:
    code: str
    native: str
    name_vi: str
    name_en: str
    tag: str = ""
    script: str = "Latn"
    direction: str = "ltr"
    font: str | None = None
    #: CLDR locale for numbers and dates.
    formatting: str = SOURCE
    status: str = "empty"

    @property
    def is_pack(self) -> bool:
        return self.code not in BUILT_IN

    @property
    def html_lang(self) -> str:
        """The BCP 47 tag for ``lang="…"``."""
        return self.tag or self.code.replace("_", "-")

    def name(self, language: str) -> str:
        """Its name for a reader of ``language`` (English only for English readers)."""
        return self.name_en if language == "en" else self.name_vi

    def as_dict(self) -> dict[str, str]:
        return {key: value for key, value in asdict(self).items() if value is not None}


def registry_path() -> Path:
    """The application's registry inside an application context, else the shipped one."""
    if has_app_context():
        return Path(current_app.config.get("LANGUAGE_REGISTRY") or REGISTRY_PATH)
    return REGISTRY_PATH


def file_stamp(path: Path) -> tuple[int, int, int] | None:
    """What changes when a file is written (two writes within one clock tick differ in size or inode)."""
    try:
        found = path.stat()
    except OSError:
        return None
    return (found.st_mtime_ns, found.st_size, found.st_ino)


def load(path: Path | None = None) -> tuple[Language, ...]:
    """Every language of the registry at ``path``, built-in first (read again when the file changes)."""
    path = Path(path) if path is not None else registry_path()
    stamp = file_stamp(path)
    if stamp is None:
        raise RegistryError(f"{path}: cannot read the language registry")
    return _load(path, stamp)


@functools.lru_cache(maxsize=16)
def _load(path: Path, _stamp: tuple) -> tuple[Language, ...]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out: list[Language] = []
    for index, entry in enumerate(data.get("languages") or ()):
        where = f"{path}: languages[{index}]"
        if not isinstance(entry, dict) or set(entry) - set(_FIELDS):
            raise RegistryError(f"{where}: expected the fields {', '.join(_FIELDS)}")
        try:
            language = Language(**{key: str(value) for key, value in entry.items()})
        except TypeError as exc:
            raise RegistryError(f"{where}: {exc}") from exc
        check(language, where)
        out.append(language)
    found = [language.code for language in out]
    if found[:2] != list(BUILT_IN) or len(set(found)) != len(found):
        raise RegistryError(f"{path}: vi and en come first, and each code once")
    return tuple(out)


def check(language: Language, where: str = "") -> None:
    """Refuse an entry with a malformed code, status or direction."""
    prefix = f"{where}: " if where else ""
    if not CODE_PATTERN.match(language.code):
        raise RegistryError(f"{prefix}{language.code!r} is not a language code (ISO 639: 2 or 3 lower-case letters)")
    if language.status not in STATUSES:
        raise RegistryError(f"{prefix}status {language.status!r} is not one of: {', '.join(STATUSES)}")
    if language.direction not in ("ltr", "rtl"):
        raise RegistryError(f"{prefix}direction must be ltr or rtl")
    if not language.native.strip() or not language.name_vi.strip() or not language.name_en.strip():
        raise RegistryError(f"{prefix}the native, Vietnamese and English names are required")


def add(language: Language, path: Path | None = None) -> None:
    """Append ``language`` to the registry file (refused if its code is already there)."""
    path = Path(path) if path is not None else registry_path()
    check(language)
    if language.code in {known.code for known in load(path)}:
        raise RegistryError(f"{language.code!r} is already in {path}")
    entry = yaml.safe_dump([language.as_dict()], allow_unicode=True, sort_keys=False, width=1000)
    text = path.read_text(encoding="utf-8")
    if not text.endswith("\n"):
        text += "\n"
    path.write_text(text + "".join("  " + line + "\n" for line in entry.splitlines()), encoding="utf-8")


def languages() -> tuple[Language, ...]:
    return load()


def packs() -> tuple[Language, ...]:
    return tuple(language for language in load() if language.is_pack)


def get(code: str) -> Language | None:
    return next((language for language in load() if language.code == code), None)


def codes_in(path: Path) -> tuple[str, ...]:
    """The codes of the registry at ``path`` (the configuration's default, outside any application)."""
    return tuple(language.code for language in load(path))


def codes() -> tuple[str, ...]:
    """Every language a response may record, built-in first."""
    return tuple(language.code for language in load())


def is_known(code: str) -> bool:
    return code in codes()
