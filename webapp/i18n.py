"""Locale choice and locale-aware formatting.

The locale comes from ``?lang=`` (remembered in the session), then the session, then the
browser's ``Accept-Language``, then Vietnamese. The languages are those of the registry
(``surveys/languages.yaml``): Vietnamese, English and the language packs.

A language pack's code may be unknown to Babel's CLDR data (a code for local use, ``qaa``), or
known with conventions that are not Vietnam's (CLDR's ``hnj`` writes Hmong in the Nyiakeng
Puachue script). So a pack's locale is a :class:`PackLocale`: its identifier is the pack's code,
which is what the gettext catalogs are looked up by and what ``current_language()`` returns,
while numbers and dates are formatted with the registry's ``formatting`` locale (Vietnamese).
"""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import urlencode

from babel import Locale
from flask import Flask, current_app, has_request_context, request, session
from flask_babel import format_date, format_datetime, format_number, format_percent, get_locale
from jinja2 import pass_context

from surveys import languages as registry

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"


class PackLocale(Locale):
    """A language pack's locale: named by the pack's code, formatting like ``formatting``."""

    def __init__(self, code: str, formatting: str = registry.SOURCE) -> None:
        self.__dict__.update(Locale.parse(formatting).__dict__)
        self.language, self.territory, self.script, self.variant, self.modifier = code, None, None, None, None


def locale_for(code: str) -> Locale | str:
    """What Flask-Babel gets for ``code``: the code itself for vi and en, a :class:`PackLocale` for a pack."""
    language = registry.get(code)
    if language is None or not language.is_pack:
        return code
    return PackLocale(code, language.formatting)


def select_locale() -> Locale | str:
    """The locale for this request (see module docstring); Vietnamese outside requests (CLI)."""
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    languages = registry.codes()
    asked = request.args.get("lang")
    if asked in languages:
        session["lang"] = asked
        return locale_for(asked)
    remembered = session.get("lang")
    if remembered in languages:
        return locale_for(remembered)
    best = request.accept_languages.best_match(languages)
    return locale_for(best) if best else current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    return DEFAULT_TIMEZONE


def current_language() -> str:
    """The code of the page's language: ``vi``, ``en`` or a language pack's (``blt``)."""
    return str(get_locale() or "vi")


def html_lang(code: str | None = None) -> str:
    """The BCP 47 tag for ``lang="…"`` of ``code`` (default: the page's language)."""
    code = code or current_language()
    language = registry.get(code)
    return language.html_lang if language is not None else code


def lang_of(text) -> str:
    """The ``lang`` tag of an instrument text as the page shows it (``vi`` where a pack lacks it).

    For templates that tag fallbacks: ``<p lang="{{ lang_of(item.text) }}">{{ item.text.get(language) }}</p>``.
    """
    return html_lang(text.language_of(current_language()))


def percent(value: float | None, decimals: int = 1) -> str:
    """A share as a percentage in the current locale: ``85,3%`` in Vietnamese, ``85.3%`` in English."""
    if value is None:
        return "–"
    pattern = "#,##0%" if decimals == 0 else "#,##0." + "0" * decimals + "%"
    return format_percent(value, format=pattern)


def number(value: int | float | None) -> str:
    """A count with the locale's grouping: ``12.345`` in Vietnamese, ``12,345`` in English."""
    if value is None:
        return "–"
    return format_number(value)


def short_date(value: date | datetime | None) -> str:
    """A date as people write it: ``01/07/2025`` in Vietnamese, ``1 Jul 2025`` in English."""
    if value is None:
        return ""
    pattern = "d MMM yyyy" if current_language() == "en" else "dd/MM/yyyy"
    if isinstance(value, datetime):
        return format_datetime(value, pattern)
    return format_date(value, pattern)


def localized(obj, field: str = "name") -> str:
    """``obj.<field>_vi`` or ``obj.<field>_en`` (or a ``{"vi":…, "en":…}`` mapping) for the current locale."""
    lang = current_language()
    if isinstance(obj, dict):
        return obj.get(lang) or obj.get("vi") or ""
    return getattr(obj, f"{field}_{lang}", None) or getattr(obj, f"{field}_vi")


def switch_language_url(lang: str) -> str:
    """This page's URL with ``lang`` set, keeping the other query arguments."""
    args = request.args.to_dict(flat=False)
    args["lang"] = [lang]

    return request.path + "?" + urlencode(args, doseq=True)


def _per_render(function):
    """A template filter that Jinja may not pre-compute: its result depends on the request's locale."""

    @pass_context
    def filter_(context, *args, **kwargs):
        return function(*args, **kwargs)

    return filter_


def init_app(app: Flask) -> None:
    app.jinja_env.filters["percent"] = _per_render(percent)
    app.jinja_env.filters["number"] = _per_render(number)
    app.jinja_env.filters["short_date"] = _per_render(short_date)
    app.jinja_env.filters["localized"] = localized
    app.jinja_env.globals["current_language"] = current_language
    app.jinja_env.globals["switch_language_url"] = switch_language_url
    app.jinja_env.globals["html_lang"] = html_lang
    app.jinja_env.globals["lang_of"] = lang_of
    from webapp.reports.labels import secondary_name  # cycle: the report labels import this module's formats

    app.jinja_env.globals["secondary_label"] = secondary_name
