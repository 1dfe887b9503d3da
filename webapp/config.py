"""Configuration classes, read from the environment.

``Config`` holds the defaults shared by every environment; ``DevelopmentConfig`` is what
``make run`` uses, ``TestConfig`` needs no environment variable at all, and
``ProductionConfig`` refuses to start without ``SECRET_KEY`` and ``DATABASE_URL``.

There is no default secret key anywhere: outside production and tests, an instance without
``SECRET_KEY`` generates its own, once, in ``instance/secret_key`` (see :func:`instance_secret`).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from surveys import languages as _languages

INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"

#: Secret keys that were public at some point (in the code or in the tests): refused outside tests.
PUBLIC_SECRET_KEYS = frozenset({"dev-only-not-secret", "test-secret-key"})


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _bool_env(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def rate_limit_storage_uri(environ: Mapping[str, str] = os.environ) -> str:
    """Where rate limits count: ``RATELIMIT_STORAGE_URI``, else ``REDIS_URL``, else ``memory://``.

    ``memory://`` counts per process, so it is right only for ``make run``'s single process:
    several gunicorn workers need a shared store (Redis), or every limit is multiplied.
    """
    return environ.get("RATELIMIT_STORAGE_URI") or environ.get("REDIS_URL") or "memory://"


def instance_secret(path: str | os.PathLike[str]) -> str:
    """The secret key kept in ``path``, generated (mode 0600, atomically) the first time.

    The key is written to a private temporary file and hard-linked into place, so that two
    processes starting at once never read a half-written key nor keep two different ones.
    """
    target = Path(path)
    with contextlib.suppress(FileNotFoundError):
        key = target.read_text(encoding="ascii").strip()
        if key:
            return key
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process was first: use its key
            os.link(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    key = target.read_text(encoding="ascii").strip()
    if not key:
        raise RuntimeError(f"{target} is empty: remove it and start again to generate a secret key")
    return key


def resolve_secret_key(config: Mapping[str, Any]) -> str:
    """The secret key this app must use, or ``RuntimeError`` when it would be a public one.

    ``SECRET_KEY`` (from the environment) wins; tests use their fixed key; any other
    non-production configuration uses the instance's own generated key.
    """
    key = config.get("SECRET_KEY") or os.environ.get("SECRET_KEY")
    if not key:
        if config.get("ENVIRONMENT") == "production":
            raise RuntimeError("Production configuration needs the environment variable(s): SECRET_KEY")
        return instance_secret(config["SECRET_KEY_FILE"])
    if key in PUBLIC_SECRET_KEYS and not config.get("TESTING"):
        raise RuntimeError(
            "SECRET_KEY is a value published in the code: unset it (an instance key is generated) or set a random one"
        )
    return key


class Config:
    """Defaults for every environment."""

    #: ``None`` unless set: see :func:`resolve_secret_key` (never a default value).
    SECRET_KEY = os.environ.get("SECRET_KEY") or None
    #: Where an instance without ``SECRET_KEY`` keeps the key it generated (not in production).
    SECRET_KEY_FILE = os.environ.get("SECRET_KEY_FILE") or str(INSTANCE_DIR / "secret_key")
    ENVIRONMENT = "development"
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or _sqlite_url(INSTANCE_DIR / "sonla.sqlite3")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    SQLALCHEMY_RECORD_QUERIES = False
    BABEL_DEFAULT_LOCALE = "vi"
    BABEL_DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
    #: Vietnamese, English and the language packs of the registry (surveys/languages.yaml; docs/languages.md).
    LANGUAGE_REGISTRY = str(_languages.REGISTRY_PATH)
    LANGUAGES = _languages.codes_in(_languages.REGISTRY_PATH)
    #: Reviewed instrument texts of the packs: <dir>/<code>/<instrument>.v<N>.po.
    INSTRUMENT_TRANSLATIONS_DIR = str(_languages.REGISTRY_PATH.parent / "translations")
    WTF_CSRF_TIME_LIMIT = 3600 * 8
    #: Staff sessions end after a working day; administrators must use a TOTP second factor.
    PERMANENT_SESSION_LIFETIME = 3600 * 10
    ADMIN_TOTP_REQUIRED = _bool_env("ADMIN_TOTP_REQUIRED", True)
    RATELIMIT_STORAGE_URI = rate_limit_storage_uri()
    #: Prefix of this site's keys in a shared Redis (tests use their own and remove only those).
    RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "sonla")
    RATELIMIT_HEADERS_ENABLED = True
    #: If Redis stops answering, count in memory (per process) meanwhile instead of failing requests.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool_env("SESSION_COOKIE_SECURE", False)
    #: Flask-Login's "remember me" cookie follows the session cookie's rules.
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    MAX_CONTENT_LENGTH = 5 * 1024 * 1024
    #: Public base URL used in printed links (QR codes, kiosk URLs).
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    #: Number of proxies in front of the app whose X-Forwarded-* headers are trusted.
    PROXY_FIX_X_FOR = int(os.environ.get("PROXY_FIX_X_FOR", "0"))
    #: Request log lines: "json" (one object per line) or "text"; production defaults to json.
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
    #: /metrics (Prometheus) answers only when enabled; with a token, only to "Bearer <token>".
    METRICS_ENABLED = _bool_env("METRICS_ENABLED", False)
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN") or None
    TESTING = False
    DEBUG = False


class DevelopmentConfig(Config):
    """``make run``: an SQLite file in ``instance/`` unless ``DATABASE_URL`` is set."""

    DEBUG = False


class TestConfig(Config):
    """The test suite: in-memory rate limits, no CSRF on API tests unless a test enables it."""

    TESTING = True
    ENVIRONMENT = "test"
    #: Refused by :func:`resolve_secret_key` in any configuration that is not a test one.
    SECRET_KEY = "test-secret-key"  # noqa: S105 (tests only)  # nosec B105
    # tests/conftest.py points this at a migrated SQLite file or at TEST_DATABASE_URL.
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    RATELIMIT_STORAGE_URI = "memory://"
    # Any outside call in tests must fail loudly rather than reach a real host.
    PUBLIC_BASE_URL = "http://sonla-index.test.invalid"


class ProductionConfig(Config):
    """gunicorn behind a proxy, PostgreSQL; refuses to start without its secrets."""

    ENVIRONMENT = "production"
    SESSION_COOKIE_SECURE = _bool_env("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")

    @classmethod
    def check(cls) -> None:
        """Raise ``RuntimeError`` when a required environment variable is missing."""
        missing = [name for name in ("SECRET_KEY", "DATABASE_URL") if not os.environ.get(name)]
        if missing:
            raise RuntimeError("Production configuration needs the environment variable(s): " + ", ".join(missing))


def shared_rate_limit_problem(config: Mapping[str, Any], workers: int) -> str | None:
    """Why ``workers`` processes cannot enforce this app's rate limits, or ``None``.

    Called by gunicorn.conf.py when the server starts: production refuses to start on it,
    other configurations print it as a loud warning.
    """
    uri = str(config.get("RATELIMIT_STORAGE_URI") or "memory://")
    if workers <= 1 or not uri.startswith("memory://") or config.get("TESTING"):
        return None
    return (
        f"RATELIMIT_STORAGE_URI={uri} with {workers} gunicorn workers: each worker counts on its own, so every rate"
        f" limit is multiplied by {workers}. Set RATELIMIT_STORAGE_URI (or REDIS_URL) to a Redis, e.g."
        " redis://127.0.0.1:6379/0, or run one worker (WEB_CONCURRENCY=1)."
    )


CONFIGS = {
    "development": DevelopmentConfig,
    "test": TestConfig,
    "production": ProductionConfig,
}


def config_from_environment() -> type[Config]:
    """Pick the configuration class named by ``APP_ENV`` (default: development)."""
    name = os.environ.get("APP_ENV", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(f"APP_ENV={name!r} is not one of {sorted(CONFIGS)}") from None
