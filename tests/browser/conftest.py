"""Browser tests: Debian's Chromium driven by Playwright against a live server.

Every test under ``tests/browser`` gets the ``browser`` marker (``make test-fast`` leaves
them out with ``-m "not browser"``).

The application runs once per session on its own migrated SQLite *file* (not the
parametrised ``app`` fixture of ``tests/conftest.py``: a real server thread needs committed
data that no per-test cleanup empties), with the registry and a small demo data set, served
by werkzeug on a free port of 127.0.0.1.

When ``/usr/bin/chromium`` is missing the browser tests are skipped locally, with the
command that installs it, and fail in CI (``CI=true``): there a missing dependency is a
failure, never a skip. Playwright's own browser download is never needed nor used.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI, make_app, migrate_database

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
INSTALL_HINT = "install Debian's chromium: apt-get install -y chromium"

DESKTOP = {"width": 1280, "height": 800}
#: The narrowest screen WCAG 1.4.10 (Reflow) asks for: 320 CSS pixels.
NARROW = {"width": 320, "height": 640}
#: A browser that prefers Vietnamese, like most visitors' phones in Sơn La.
VIETNAMESE_BROWSER = "vi-VN"
#: Playwright waits this long (ms) for an element or a navigation before failing.
TIMEOUT_MS = 10_000

BROWSER_DIR = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items) -> None:
    """Mark every test of this directory ``browser``; skip them locally without Chromium."""
    missing = not CHROMIUM.exists()
    for item in items:
        if BROWSER_DIR not in Path(item.path).resolve().parents:
            continue
        item.add_marker(pytest.mark.browser)
        if missing and not IN_CI:
            item.add_marker(pytest.mark.skip(reason=f"{CHROMIUM} not found; {INSTALL_HINT}"))


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if IN_CI:
        pytest.fail(
            f"CI=true and {CHROMIUM} is missing: browser tests may not be skipped in CI; {INSTALL_HINT}", pytrace=False
        )
    pytest.skip(f"{CHROMIUM} not found; {INSTALL_HINT}")


# --- the application ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    """The application the live server runs: use ``with live_app.app_context()`` to set data up
    (devices, receipt tokens) or to read what a browser test stored."""
    from webapp.demo.seed import seed_demo
    from webapp.extensions import db
    from webapp.registry.loader import DATA_DIR
    from webapp.registry.service import load_everything

    database = tmp_path_factory.mktemp("browser-db") / "browser.sqlite3"
    # Plain http on 127.0.0.1: the session cookie (remembered language) must not be Secure-only.
    app = make_app(f"sqlite:///{database}", SESSION_COOKIE_SECURE=False)
    migrate_database(app)
    with app.app_context():
        load_everything(DATA_DIR)
        seed_demo(responses=2000, seed=1)
        db.session.remove()
    return app


@pytest.fixture(scope="session")
def live_server(live_app) -> Iterator[str]:
    """Base URL (``http://127.0.0.1:<port>``, no trailing slash) of the running application."""
    from werkzeug.serving import make_server

    from webapp.extensions import db

    app = live_app
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="browser-live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.engine.dispose()


# --- the browser -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium, shared by the whole session."""
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def context_options(base_url: str, **overrides) -> dict[str, Any]:
    """Options of a fresh browser context: desktop size, Vietnamese browser, relative URLs."""
    options: dict[str, Any] = {"base_url": base_url, "viewport": dict(DESKTOP), "locale": VIETNAMESE_BROWSER}
    options.update(overrides)
    return options


def open_page(browser, base_url: str, **overrides):
    """A page in a new context (``overrides`` go to ``browser.new_context``); close its ``.context`` after."""
    context = browser.new_context(**context_options(base_url, **overrides))
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    return context.new_page()


def open_narrow_page(browser, base_url: str, **overrides):
    """A page 320 CSS pixels wide (WCAG 1.4.10 Reflow), on a touch phone."""
    overrides = {"viewport": dict(NARROW), "is_mobile": True, "has_touch": True, "device_scale_factor": 2, **overrides}
    return open_page(browser, base_url, **overrides)


@pytest.fixture()
def page(request, browser, live_server) -> Iterator[Any]:
    """A page in its own context, 1280×800, with a Vietnamese browser.

    Parametrise indirectly to change the context, e.g.
    ``@pytest.mark.parametrize("page", [{"viewport": {"width": 320, "height": 640}}], indirect=True)``.
    """
    overrides = getattr(request, "param", None) or {}
    new_page = open_page(browser, live_server, **overrides)
    try:
        yield new_page
    finally:
        new_page.context.close()


@pytest.fixture()
def narrow_page(browser, live_server) -> Iterator[Any]:
    """A page 320 CSS pixels wide; its context is closed after the test."""
    new_page = open_narrow_page(browser, live_server)
    try:
        yield new_page
    finally:
        new_page.context.close()


@pytest.fixture()
def new_page(browser, live_server) -> Iterator[Callable[..., Any]]:
    """Factory for extra pages (``new_page(locale="en-GB")``), each in a context closed after the test."""
    opened: list[Any] = []

    def factory(**overrides):
        made = open_page(browser, live_server, **overrides)
        opened.append(made)
        return made

    yield factory
    for made in opened:
        made.context.close()


# --- staff accounts for the signed-in areas --------------------------------------------------


def ensure_staff(email: str, role: str = "admin", unit_code: str | None = None) -> str:
    """The TOTP secret of the staff account ``email`` (created with ``role`` in ``unit_code``, ready to
    sign in with :data:`tests.conftest.STAFF_PASSWORD`, if missing); needs an app context."""
    import pyotp
    from sqlalchemy import select

    from tests.conftest import STAFF_PASSWORD
    from webapp.extensions import db
    from webapp.models import Unit, User
    from webapp.users import hash_password

    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        unit = db.session.scalar(select(Unit).where(Unit.code == unit_code)) if unit_code else None
        user = User(
            email=email,
            password_hash=hash_password(STAFF_PASSWORD),
            role=role,
            unit=unit,
            must_change_password=False,
            totp_secret=pyotp.random_base32(),
        )
        db.session.add(user)
        db.session.commit()
    return user.totp_secret


def ensure_admin(email: str) -> str:
    """The TOTP secret of the admin ``email`` (see :func:`ensure_staff`)."""
    return ensure_staff(email)


_used_totp_steps: set[tuple[str, int]] = set()


def sign_in_with_totp(page, email: str, secret: str, landing: str = "**/admin/") -> None:
    """Sign in through the real forms; a TOTP code is accepted once, so wait for an unused time step."""
    import time

    import pyotp

    from tests.conftest import STAFF_PASSWORD

    page.goto("/auth/login")
    page.fill("#field-email", email)
    page.fill("#field-password", STAFF_PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url("**/auth/code")
    totp = pyotp.TOTP(secret)
    step = int(time.time() // totp.interval)
    while (secret, step) in _used_totp_steps:
        time.sleep(0.5)
        step = int(time.time() // totp.interval)
    _used_totp_steps.add((secret, step))
    page.fill("#field-code", totp.now())
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(landing)
