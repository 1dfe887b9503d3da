"""Configuration classes, read from the environment.

``Config`` holds the defaults shared by every environment; ``DevelopmentConfig`` is what
``make run`` uses, ``TestConfig`` needs no environment variable at all, and
``ProductionConfig`` refuses to start without ``SECRET_KEY`` and ``DATABASE_URL``.
"""

from __future__ import annotations

import os
from pathlib import Path

INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _bool_env(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    """Defaults for every environment."""

    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-not-secret")
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or _sqlite_url(INSTANCE_DIR / "sonla.sqlite3")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    SQLALCHEMY_RECORD_QUERIES = False
    BABEL_DEFAULT_LOCALE = "vi"
    BABEL_DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
    LANGUAGES = ("vi", "en")
    WTF_CSRF_TIME_LIMIT = 3600 * 8
    #: Staff sessions end after a working day; administrators must use a TOTP second factor.
    PERMANENT_SESSION_LIFETIME = 3600 * 10
    ADMIN_TOTP_REQUIRED = _bool_env("ADMIN_TOTP_REQUIRED", True)
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
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
    SECRET_KEY = "test-secret-key"  # noqa: S105 (tests only)  # nosec B105
    # tests/conftest.py points this at a migrated SQLite file or at TEST_DATABASE_URL.
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    RATELIMIT_STORAGE_URI = "memory://"
    # Any outside call in tests must fail loudly rather than reach a real host.
    PUBLIC_BASE_URL = "http://sonla-index.test.invalid"


class ProductionConfig(Config):
    """gunicorn behind a proxy, PostgreSQL; refuses to start without its secrets."""

    SESSION_COOKIE_SECURE = _bool_env("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")

    @classmethod
    def check(cls) -> None:
        """Raise ``RuntimeError`` when a required environment variable is missing."""
        missing = [name for name in ("SECRET_KEY", "DATABASE_URL") if not os.environ.get(name)]
        if missing:
            raise RuntimeError(
                "Production configuration needs the environment variable(s): " + ", ".join(missing)
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
