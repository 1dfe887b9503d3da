"""The Sơn La Satisfaction Index web application.

``create_app`` binds the extensions and registers the blueprints of every audience:
``public`` (transparency pages and the read-only API), ``surveys`` (collection) and the
application's own pages. Blueprints and the parts' ``init_app`` are imported inside the factory:
every module of the application imports this package first, so importing them here at the top
would meet public and surveys modules (and the packages importing them) half-loaded.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from flask_babel import get_translations
from itsdangerous import URLSafeTimedSerializer
from jinja2 import TemplateError
from werkzeug.middleware.proxy_fix import ProxyFix

from surveys import pii, themes
from webapp import errors
from webapp.config import Config, ProductionConfig, config_from_environment, resolve_secret_key
from webapp.extensions import babel, csrf, db, limiter, login_manager, migrate
from webapp.security import init_app as init_security_headers


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the signing serializer made once per secret key.

    Flask builds a new serializer for every request, even one without a session cookie,
    which is a measurable share of a cached public page's time.
    """

    _serializer: tuple[tuple[object, ...], URLSafeTimedSerializer | None] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        made = self._serializer
        if made is None or made[0] != keys:
            made = self._serializer = (keys, super().get_signing_serializer(app))
        return made[1]


def create_app(config: type[Config] | Mapping[str, Any] | None = None) -> Flask:
    """Build the application.

    ``config`` is a configuration class, or a mapping of settings applied on top of the
    class named by ``APP_ENV`` (tests pass ``{"SQLALCHEMY_DATABASE_URI": ...}``).
    """
    app = Flask(__name__, instance_relative_config=False)
    base = config if isinstance(config, type) else config_from_environment()
    if base is ProductionConfig:
        ProductionConfig.check()
    app.config.from_object(base)
    if isinstance(config, Mapping):
        app.config.update(config)
    # Never a public default: the environment's key, the tests' key, or this instance's own.
    app.config["SECRET_KEY"] = resolve_secret_key(app.config)

    # cycle: public.cache imports webapp.* modules (see the module's docstring)
    from public.cache import FastPath  # cache hits of public pages without Flask's request machinery (#18)

    app.wsgi_app = FastPath(app, app.wsgi_app)  # type: ignore[method-assign]
    if app.config["PROXY_FIX_X_FOR"]:
        hops = app.config["PROXY_FIX_X_FOR"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    _ensure_instance_dir(app)
    app.session_interface = SessionInterface()
    _init_extensions(app)
    _register_blueprints(app)

    # cycle: these import webapp.* modules that import public and surveys (see the module's docstring)
    from webapp import accounts, cli, i18n

    accounts.init_app(app)

    i18n.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    # Issue #15: the job queue, the one-stop integration, link delivery, national portal ratings.
    # cycle: as above
    from webapp import delivery, integrations, jobs, portal

    for part in (jobs, integrations, delivery, portal):
        part.init_app(app)
    # Issue #17: two-way SMS, questions read aloud, language packs, assisted interviews.
    # cycle: as above
    from webapp import audio, interview, languages, sms

    for part in (sms, audio, languages, interview):
        part.init_app(app)
    # cycle: as above; backups, request logs, /metrics
    from webapp.ops import init_app as init_operations

    init_operations(app)
    init_security_headers(app)
    return app


def warm_up(app: Flask) -> None:
    """Compile every template, load every translation catalogue and language model, render the home page now.

    ``wsgi.py`` calls it in gunicorn's master (``preload_app``), so each worker, including
    those ``max_requests`` restarts, starts with them instead of spending about a second of
    CPU on its first pages while requests queue behind it (see ``public.cache.prerender``).
    """

    for name in app.jinja_env.list_templates(extensions=("html", "svg", "txt", "xml")):
        try:
            app.jinja_env.get_template(name)
        except TemplateError:  # compiled (and reported) again when a page uses it
            logging.getLogger(__name__).warning("template %s does not compile", name, exc_info=True)
    for language in app.config["LANGUAGES"]:
        with app.test_request_context(f"/?lang={language}"):
            get_translations()
    # The Vietnamese language models (names in the masker, word segmentation for comment themes),
    # loaded once here rather than on the first comment each worker receives.
    pii.warm_up()
    themes.assign("Chờ đợi lâu.")
    from public.cache import prerender  # cycle: see FastPath in create_app

    prerender(app)


def _ensure_instance_dir(app: Flask) -> None:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite:///") and uri != "sqlite:///:memory:":
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


def _init_extensions(app: Flask) -> None:
    # cycle: the models and webapp.i18n import webapp.* modules (see the module's docstring)
    from webapp import models  # noqa: F401  (registers the tables on the metadata)
    from webapp.i18n import select_locale, select_timezone

    db.init_app(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()), render_as_batch=True, compare_type=True)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)


def _migrations_dir():

    return Path(__file__).resolve().parent.parent / "migrations"


def _register_blueprints(app: Flask) -> None:
    # cycle: the views import webapp.* modules (see the module's docstring)
    from public.api import api
    from public.info import public_info
    from public.pages import public_pages
    from surveys.api import collection_api
    from surveys.kiosk import kiosk
    from surveys.online import survey
    from surveys.privacy import privacy
    from webapp.auth import auth
    from webapp.pages import pages

    for blueprint in (pages, api, public_pages, public_info, collection_api, survey, privacy, kiosk, auth):
        app.register_blueprint(blueprint)
    from webapp.admin import admin  # cycle: as above

    app.register_blueprint(admin)
    from webapp.agency import agency  # cycle: as above

    app.register_blueprint(agency)
