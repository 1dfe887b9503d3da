"""Issue #12, accounts and secrets: findings 4, 5, 6, 7 and 12 reproduced, then fixed.

* 4: outside production the secret key was a public constant (forged admin cookies).
* 5: five wrong passwords from anyone locked any account and ended its sessions; the answer
  told real accounts from unknown e-mails.
* 6: rate limits counted per gunicorn worker (``memory://``), multiplying every limit.
* 7: a session cookie replayed after "Sign out" still worked; first-time TOTP setup needed
  no password.
* 12: ``next=`` with CR/LF on sign-in gave a 500.

The Redis tests fail (never skip) in CI when Redis does not answer (``.ci/run`` starts one).
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import select

from tests.conftest import IN_CI, REPO, STAFF_PASSWORD, csrf_from, make_app, migrate_database, next_totp_code
from tests.webapp.test_ops_faults import free_port, gunicorn

ATTACKER = {"REMOTE_ADDR": "203.0.113.66"}
OFFICE = {"REMOTE_ADDR": "10.0.0.1"}
HOME = {"REMOTE_ADDR": "10.0.0.2"}


def post_login(http, email, password=STAFF_PASSWORD, environ=None, next_url=None, **headers):
    environ = environ or {}
    page = http.get("/auth/login", environ_overrides=environ)
    url = "/auth/login" if next_url is None else f"/auth/login?next={next_url}"
    return http.post(
        url,
        data={"csrf_token": csrf_from(page), "email": email, "password": password},
        headers=headers,
        environ_overrides=environ,
    )


# --- finding 4: no public secret key outside production --------------------------------------


def dev_config(tmp_path: Path, name: str, **settings):
    """A DevelopmentConfig on its own instance directory and migrated SQLite file."""
    from webapp.config import DevelopmentConfig

    instance = tmp_path / name
    return type(
        f"Dev{name}",
        (DevelopmentConfig,),
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'dev.sqlite3'}",
            "SECRET_KEY_FILE": str(instance / "secret_key"),
            **settings,
        },
    )


def test_finding_04_development_secret_is_per_instance_and_private(monkeypatch, tmp_path):
    from webapp import create_app

    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = create_app(dev_config(tmp_path, "one"))
    second = create_app(dev_config(tmp_path, "two"))
    public = {"dev-only-not-secret", "test-secret-key", None, ""}
    assert first.secret_key not in public and second.secret_key not in public
    assert first.secret_key != second.secret_key, "two instances must not share a key"
    key_file = tmp_path / "one" / "secret_key"
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first.secret_key) >= 32
    # The same instance keeps its key across restarts (sessions survive `make run` restarts).
    assert create_app(dev_config(tmp_path, "one")).secret_key == first.secret_key


def test_finding_04_known_public_secrets_are_refused_outside_tests(monkeypatch, tmp_path):
    from webapp import create_app

    for known in ("dev-only-not-secret", "test-secret-key"):
        with pytest.raises(RuntimeError, match="SECRET_KEY"):
            create_app(dev_config(tmp_path, f"known-{known}", SECRET_KEY=known))


def test_finding_04_cookie_signed_with_the_old_constant_is_refused(monkeypatch, tmp_path):
    """An admin session cookie forged with ``dev-only-not-secret`` does not open the admin area."""
    import pyotp

    from webapp import create_app
    from webapp.extensions import db
    from webapp.models import User
    from webapp.users import hash_password

    monkeypatch.delenv("SECRET_KEY", raising=False)
    app = create_app(dev_config(tmp_path, "forged"))
    migrate_database(app)
    with app.app_context():
        admin = User(
            email="admin@sonla.gov.vn",
            password_hash=hash_password(STAFF_PASSWORD),
            role="admin",
            must_change_password=False,
            totp_secret=pyotp.random_base32(),
        )
        db.session.add(admin)
        db.session.commit()
        admin_id, version = admin.id, admin.session_version

    class Forger:
        secret_key = "dev-only-not-secret"  # noqa: S105 (the old public constant under test)
        config = {**app.config, "SECRET_KEY": secret_key, "SECRET_KEY_FALLBACKS": []}

    serializer = SecureCookieSessionInterface().get_signing_serializer(Forger)
    forged = serializer.dumps({"_user_id": f"{admin_id}:{version}", "_fresh": True, "sid": "x" * 43})
    http = app.test_client()
    http.set_cookie(app.config["SESSION_COOKIE_NAME"], forged)
    answer = http.get("/admin/")
    assert answer.status_code == 302 and "/auth/login" in answer.headers["Location"]
    with app.app_context():
        db.engine.dispose()


# --- finding 5: throttles per (account, address), no lockout anyone can trigger ---------------


@pytest.fixture()
def clock(monkeypatch):
    """A fixed clock for the throttle (``webapp.users.now``), moved by hand."""
    from webapp import users

    state = {"now": datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)}

    def now() -> datetime:
        return state["now"]

    def advance(seconds: float) -> None:
        state["now"] += timedelta(seconds=seconds)

    monkeypatch.setattr(users, "now", now)
    now.advance = advance  # type: ignore[attr-defined]
    return now


def test_finding_05_wrong_passwords_from_elsewhere_neither_lock_nor_sign_out(app, client, make_user, sign_in):
    user = make_user("agency_manager", "sl-ttpvhcc", totp=False)
    office = app.test_client()
    office.environ_base.update(OFFICE)
    sign_in(user, office)
    for _ in range(8):
        post_login(client, user.email, "a wrong guess 123", environ=ATTACKER)
    assert post_login(client, user.email, STAFF_PASSWORD, environ=ATTACKER).status_code == 429
    # The signed-in session goes on; the owner still signs in from another address.
    assert office.get("/auth/account").status_code == 200
    home = app.test_client()
    home.environ_base.update(HOME)
    assert post_login(home, user.email, STAFF_PASSWORD, environ=HOME).status_code == 302
    assert home.get("/auth/account").status_code == 200


def test_finding_05_delays_grow_after_three_free_tries(client, make_user, clock):
    user = make_user("viewer", "sl-ttpvhcc", totp=False)
    english = {"Accept-Language": "en"}
    statuses = [post_login(client, user.email, "a wrong guess 123").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 401]
    blocked = post_login(client, user.email, STAFF_PASSWORD, **english)  # even the right password waits
    assert blocked.status_code == 429 and "Wait 2 seconds" in blocked.get_data(as_text=True)
    assert int(blocked.headers["Retry-After"]) >= 2
    clock.advance(2)
    assert post_login(client, user.email, "a wrong guess 123").status_code == 401
    again = post_login(client, user.email, STAFF_PASSWORD, **english)
    assert again.status_code == 429 and "Wait 4 seconds" in again.get_data(as_text=True)
    clock.advance(4)
    assert post_login(client, user.email, STAFF_PASSWORD).status_code == 302


def test_finding_05_the_delay_stops_at_fifteen_minutes(db, make_user, clock):
    from webapp import users

    user = make_user("viewer", "sl-ttpvhcc", totp=False)
    waits = []
    for _ in range(20):
        result = users.check_password(user.email, "a wrong guess 123", "198.51.100.7")
        assert not result.ok
        waits.append(result.retry_after)
        clock.advance(result.retry_after or 0)
    db.session.commit()
    assert waits[:3] == [0, 0, 0]
    assert waits[3:9] == [2, 4, 8, 16, 32, 64]
    assert max(waits) == 15 * 60


#: Values that differ on every request whoever asks: the CSP nonce and the request id.
_PER_REQUEST = re.compile(r"nonce-[A-Za-z0-9_\-]+|nonce=\"[^\"]+\"")


def _comparable(response, typed_email: str) -> tuple:
    """Status, body and headers but cookies, with the e-mail the visitor typed (echoed in the
    form) and the per-request random values blanked."""
    body = _PER_REQUEST.sub("nonce", response.get_data(as_text=True).replace(typed_email, "EMAIL"))
    headers = sorted(
        (name, _PER_REQUEST.sub("nonce", value))
        for name, value in response.headers.items()
        if name.lower() not in {"set-cookie", "x-request-id"}
    )
    return response.status_code, body, headers


def test_finding_05_known_and_unknown_emails_get_identical_answers(app, client, make_user, clock, monkeypatch):
    """Status, body and headers (cookies aside) are the same, also once throttled."""
    from webapp import users

    monkeypatch.setattr(time, "time", lambda: 1_900_000_000.0)  # rate-limit headers and CSRF tokens
    real = make_user("viewer", "sl-ttpvhcc", totp=False)
    unknown_email = "n" * (len(real.email) - len("@sonla.gov.vn")) + "@sonla.gov.vn"  # same length
    hashes = []
    original = users.check_password_hash
    monkeypatch.setattr(
        users, "check_password_hash", lambda stored, given: hashes.append(stored) or original(stored, given)
    )
    page = client.get("/auth/login")
    token = csrf_from(page)

    def attempt(email: str, address: str):
        return client.post(
            "/auth/login",
            data={"csrf_token": token, "email": email, "password": "a wrong guess 123"},
            headers={"Accept-Language": "en"},
            environ_overrides={"REMOTE_ADDR": address},
        )

    for round_ in range(6):
        hashes.clear()
        known = attempt(real.email, "192.0.2.10")
        known_hashes = len(hashes)
        hashes.clear()
        unknown = attempt(unknown_email, "192.0.2.20")
        assert _comparable(known, real.email) == _comparable(unknown, unknown_email), f"attempt {round_ + 1}"
        assert known_hashes == len(hashes) == 1, "one password hash check either way (same timing)"
    assert known.status_code == 429  # the comparison covered throttled answers too
    assert "The e-mail address or the password is not right." not in known.get_data(as_text=True)


def test_finding_05_failures_are_audited_and_reset_password_clears_throttles(runner, client, make_user, clock):
    from webapp.extensions import db
    from webapp.models import AuditEvent, LoginThrottle

    user = make_user("agency_manager", "sl-ttpvhcc", totp=False)
    for _ in range(5):
        post_login(client, user.email, "a wrong guess 123", environ=ATTACKER)
    post_login(client, "nobody@sonla.gov.vn", "a wrong guess 123", environ=ATTACKER)
    actions = list(db.session.scalars(select(AuditEvent.action)))
    assert actions.count("user.login_failed") == 5  # 4 for the account, 1 unknown; the 5th is refused
    assert "user.login_refused" in actions
    assert db.session.scalar(select(LoginThrottle).where(LoginThrottle.failures > 0)) is not None
    result = runner.invoke(args=["users", "reset-password", "--email", user.email])
    assert result.exit_code == 0, result.output
    password = re.search(r"One-time password: (\S+)", result.output).group(1)
    assert post_login(client, user.email, password, environ=ATTACKER).status_code == 302


def test_finding_05_wrong_codes_and_current_passwords_do_not_end_the_session(client, make_user, sign_in, clock):
    user = make_user("agency_manager", "sl-ttpvhcc", totp=False)
    sign_in(user)
    for attempt in range(6):
        page = client.get("/auth/password")
        answer = client.post(
            "/auth/password",
            data={
                "csrf_token": csrf_from(page),
                "current": f"guess {attempt} wrong",
                "new": "x" * 20,
                "confirm": "x" * 20,
            },
        )
        assert answer.status_code in (400, 429)
    assert answer.status_code == 429
    assert client.get("/auth/account").status_code == 200


# --- finding 6: rate limits shared by every gunicorn worker -----------------------------------


def _redis_url(db_number: int) -> str:
    base = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    return re.sub(r"/\d+$", f"/{db_number}", base)


@pytest.fixture()
def redis_db14():
    """Redis DB 14 with a key prefix of this test's own; only those keys are removed afterwards."""
    try:
        import redis
    except ImportError:  # pragma: no cover
        pytest.fail("the redis package is missing (requirements.txt)")
    url = _redis_url(14)
    connection = redis.Redis.from_url(url, socket_timeout=2)
    try:
        connection.ping()
    except redis.RedisError as error:
        if IN_CI:
            pytest.fail(f"Redis does not answer at {url} ({error}): .ci/run must start it")
        pytest.skip(f"Redis does not answer at {url}")
    prefix = f"sonla-test-{uuid.uuid4().hex[:12]}"
    yield url, prefix
    for key in connection.scan_iter(match=f"{prefix}*"):
        connection.delete(key)
    connection.close()


@pytest.fixture(scope="module")
def migrated_sqlite(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('gunicorn-db') / 'g.sqlite3'}"
    app = make_app(url)
    migrate_database(app)
    from webapp.extensions import db

    with app.app_context():
        db.engine.dispose()
    return url


def test_finding_06_three_gunicorn_workers_share_one_sign_in_limit(tmp_path, migrated_sqlite, redis_db14):
    url, prefix = redis_db14
    with gunicorn(
        migrated_sqlite,
        tmp_path,
        workers=3,  # and every one of them up before the first request
        GUNICORN_THREADS="1",
        GUNICORN_ACCESS_LOG=str(tmp_path / "access.log"),
        # The worker's pid in every access line, to see that requests reached several workers.
        GUNICORN_CMD_ARGS="--access-logformat '%(p)s %(s)s %(r)s'",
        RATELIMIT_STORAGE_URI=url,
        RATELIMIT_KEY_PREFIX=prefix,
        SECRET_KEY=uuid.uuid4().hex * 2,
    ) as server:
        base = server.base
        statuses: list[int] = []
        lock = threading.Lock()

        def hammer(number: int, count: int) -> None:
            """One browser: its own cookies and CSRF token, a new connection for every request."""
            jar = http.cookiejar.CookieJar()
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
            with opener.open(base + "/auth/login", timeout=10) as page:  # GETs are not limited
                token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.read().decode()).group(1)
            for attempt in range(count):
                # A different unknown e-mail each time: only the address limit can refuse.
                body = urllib.parse.urlencode(
                    {"csrf_token": token, "email": f"x{number}-{attempt}@sonla.gov.vn", "password": "whatever"}
                ).encode()
                try:
                    with opener.open(base + "/auth/login", data=body, timeout=10) as answer:
                        status = answer.status
                except urllib.error.HTTPError as error:
                    status = error.code
                with lock:
                    statuses.append(status)

        threads = [threading.Thread(target=hammer, args=(number, 3)) for number in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    lines = [line.split() for line in (tmp_path / "access.log").read_text().splitlines() if "/auth/login" in line]
    workers = {line[0] for line in lines}
    assert len(workers) >= 2, f"the requests all reached one worker: {lines}"
    assert len(statuses) == 30
    assert statuses.count(401) == 10 and statuses.count(429) == 20, (
        f"the limit is 10/minute for the address, across workers: {sorted(statuses)}"
    )


def test_finding_06_production_refuses_several_workers_with_memory_limits(tmp_path, migrated_sqlite):
    log = tmp_path / "gunicorn.log"
    environment = {
        **os.environ,
        "APP_ENV": "production",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_BIND": f"127.0.0.1:{free_port()}",
        "RATELIMIT_STORAGE_URI": "memory://",
        "DATABASE_URL": migrated_sqlite,
        "SECRET_KEY": uuid.uuid4().hex * 2,
    }
    with log.open("w") as output:
        # Refused before any worker starts: gunicorn exits by itself (a TimeoutExpired fails the test).
        started = subprocess.run(  # noqa: S603 (the test's own server)
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=REPO,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=60,
            check=False,
        )
    assert started.returncode != 0
    assert "RATELIMIT_STORAGE_URI" in log.read_text()


# --- finding 7: sign-out ends the session on the server ---------------------------------------


def test_finding_07_a_cookie_replayed_after_sign_out_is_refused(app, client, make_user, sign_in):
    user = make_user("admin")
    sign_in(user)
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    page = client.get("/auth/logout")
    assert client.post("/auth/logout", data={"csrf_token": csrf_from(page)}).status_code == 302
    replay = app.test_client()
    replay.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
    assert replay.get("/auth/account").status_code == 302
    assert replay.get("/admin/").status_code == 302


def test_finding_07_sign_out_everywhere_ends_every_stored_session(app, client, make_user, sign_in):
    from webapp.extensions import db
    from webapp.models import StaffSession

    user = make_user("agency_manager", "sl-ttpvhcc", totp=False)
    sign_in(user)
    other = sign_in(user, app.test_client())
    cookie = other.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    page = client.get("/auth/account")
    client.post("/auth/logout-everywhere", data={"csrf_token": csrf_from(page)})
    rows = list(db.session.scalars(select(StaffSession).where(StaffSession.user_id == user.id)))
    assert len(rows) == 2 and all(row.ended_at is not None for row in rows)
    replay = app.test_client()
    replay.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
    assert replay.get("/auth/account").status_code == 302


def test_finding_07_first_time_two_factor_setup_needs_the_password(client, make_user):
    import pyotp

    from webapp.extensions import db

    admin = make_user("admin", totp=False)
    assert post_login(client, admin.email).headers["Location"].endswith("/auth/two-factor")
    page = client.get("/auth/two-factor")
    html = page.get_data(as_text=True)
    assert 'autocomplete="current-password"' in html
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', html).group(1).replace(" ", "")
    refused = client.post("/auth/two-factor", data={"csrf_token": csrf_from(page), "code": pyotp.TOTP(secret).now()})
    assert refused.status_code == 400
    db.session.refresh(admin)
    assert admin.totp_secret is None


# --- finding 12: next= with control characters --------------------------------------------------


@pytest.mark.parametrize(
    "target", ["/%0d%0aSet-Cookie:%20x=1", "/admin%0a", "/%09/evil.example", "/%7f", "%0d%0a/admin", "/%e2%80%a8x"]
)
def test_finding_12_next_with_control_characters_falls_back_to_the_landing_page(client, make_user, target):
    user = make_user("viewer", "sl-ttpvhcc", totp=False)
    answer = post_login(client, user.email, next_url=target)
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert "\r" not in location and "\n" not in location and "evil.example" not in location
    assert location.endswith("/agency/") or "/agency" in location or location.endswith("/auth/account")


def test_finding_12_a_nul_in_next_is_a_clear_400(client, make_user):
    user = make_user("viewer", "sl-ttpvhcc", totp=False)
    assert post_login(client, user.email, next_url="/%00").status_code == 400


def test_finding_12_next_with_control_characters_after_the_code(client, make_user):
    admin = make_user("admin")
    answer = post_login(client, admin.email, next_url="/admin/%0d%0aX:%20y")
    assert answer.status_code == 302
    page = client.get("/auth/code")
    done = client.post("/auth/code", data={"csrf_token": csrf_from(page), "code": next_totp_code(admin)})
    assert done.status_code == 302 and "\n" not in done.headers["Location"]
