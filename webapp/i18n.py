"""Locale choice and locale-aware formatting.

The locale comes from ``?lang=`` (remembered in the session), then the session, then the
browser's ``Accept-Language``, then Vietnamese.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask, current_app, has_request_context, request, session
from flask_babel import format_date, format_datetime, format_number, format_percent, get_locale
from jinja2 import pass_context

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"


def select_locale() -> str:
    """The locale for this request (see module docstring); Vietnamese outside requests (CLI)."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    asked = request.args.get("lang")
    if asked in languages:
        session["lang"] = asked
        return asked
    remembered = session.get("lang")
    if remembered in languages:
        return remembered
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    return DEFAULT_TIMEZONE


def current_language() -> str:
    """``vi`` or ``en``: the language of the page being rendered."""
    return str(get_locale() or "vi")


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
    pattern = "dd/MM/yyyy" if current_language() == "vi" else "d MMM yyyy"
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
    from urllib.parse import urlencode

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
    # Deferred: the report labels import this module's number formats.
    from webapp.reports.labels import secondary_name

    app.jinja_env.globals["secondary_label"] = secondary_name
