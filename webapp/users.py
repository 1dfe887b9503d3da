"""Staff accounts: creation, passwords, sign-in throttling, server-side sessions, TOTP.

Used by the sign-in pages, the admin area and the ``users`` commands, so that every path
applies the same rules. Passwords are hashed with scrypt (werkzeug); one-time passwords are
shown once and must be changed at the first sign-in.

Wrong passwords (and codes) are throttled per (e-mail, client address), never by locking
the account: the first :data:`FREE_TRIES` failures cost nothing, then each failure makes the
next try from that address for that e-mail wait :data:`FIRST_DELAY`, doubling up to
:data:`MAX_DELAY`. Other addresses and signed-in sessions are not affected, and unknown
e-mails are throttled exactly like real ones (same answers, one password hash either way).

Each signed-in browser has a :class:`~webapp.models.StaffSession` row (only the SHA-256 of
the random id in its cookie is stored): signing out ends that row, so a copied cookie stops
working; "sign out everywhere", a password change or reset end every row of the account
(and bump ``session_version``, which the admin area's role changes also use).
"""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.audit import record_event
from webapp.extensions import db
from webapp.models import ROLES, LoginThrottle, StaffSession, Unit, User, utcnow

#: Failures per (e-mail, address) that cost nothing (typos, a forgotten Caps Lock).
FREE_TRIES = 3
#: The wait after the first failure past the free tries; it doubles with each further failure.
FIRST_DELAY = timedelta(seconds=2)
#: The longest wait: an attacker gets about four guesses an hour per address and e-mail.
MAX_DELAY = timedelta(minutes=15)
#: A throttle with no failure for this long is forgotten (and its row removed).
FORGET_AFTER = timedelta(hours=24)

MIN_PASSWORD_LENGTH = 12
PASSWORD_METHOD = "scrypt"  # noqa: S105 (the hashing method, not a password)  # nosec B105
#: A hash checked when the e-mail is unknown, so both answers take the same time.
_DUMMY_HASH = generate_password_hash(secrets.token_urlsafe(16), method=PASSWORD_METHOD)
TOTP_ISSUER = "Sơn La Satisfaction Index"


class AccountError(ValueError):
    """A request about an account that cannot be done; ``str()`` is a message for the operator."""


@dataclass(frozen=True)
class NewPassword:
    user: User
    password: str


def now() -> datetime:
    """The clock of throttles and sessions (tests replace it to fix the time)."""
    return utcnow()


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


def one_time_password() -> str:
    """A random password of 16 URL-safe characters, to be changed at the first sign-in."""
    return secrets.token_urlsafe(12)


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=PASSWORD_METHOD)


def password_problem(password: str, email: str) -> str | None:
    """Why a new password is refused (in English, for ``_()`` at the caller), or ``None``."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return "too_short"
    if normalise_email(email).split("@")[0] in password.lower() or len(set(password)) < 6:
        return "too_simple"
    return None


def create_user(email: str, role: str, unit: Unit | None) -> NewPassword:
    """Add an account with a one-time password (returned, never stored in clear)."""
    email = normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise AccountError(f"not an e-mail address: {email!r}")
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    if role != "admin" and unit is None:
        raise AccountError(f"role {role!r} needs a unit (--unit CODE): it sees only that unit and its subtree")
    if find_user(email) is not None:
        raise AccountError(f"an account for {email} already exists")
    password = one_time_password()
    user = User(
        email=email,
        password_hash=hash_password(password),
        role=role,
        unit=unit if role != "admin" else None,
        must_change_password=True,
    )
    db.session.add(user)
    db.session.flush()
    record_event(
        "user.create",
        object_type="user",
        object_id=user.id,
        after={"email": email, "role": role, "unit": unit.code if unit and role != "admin" else None},
    )
    return NewPassword(user, password)


def reset_password(user: User) -> NewPassword:
    """Give ``user`` a new one-time password, unlock the account and end all its sessions."""
    password = one_time_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.failed_logins = 0
    user.locked_until = None
    end_all_sessions(user)
    clear_throttles(user.email)  # the "unlock": every address may try again at once
    record_event("user.password_reset", object_type="user", object_id=user.id, after={"email": user.email})
    return NewPassword(user, password)


def set_password(user: User, password: str) -> None:
    """Store the user's own new password (checked by the caller) and end all their sessions.

    The caller starts a new session for the browser that made the change.
    """
    user.password_hash = hash_password(password)
    user.must_change_password = False
    end_all_sessions(user)
    record_event("user.password_change", object_type="user", object_id=user.id)


def sign_out_everywhere(user: User) -> None:
    end_all_sessions(user)
    record_event("user.sign_out_everywhere", object_type="user", object_id=user.id)


def is_locked(user: User, at: datetime | None = None) -> bool:
    """Whether an old-style account lock is still running (no longer set: accounts are never
    locked by failures, only (e-mail, address) pairs are throttled); kept for the admin area."""
    at = at or now()
    return user.locked_until is not None and user.locked_until > at


# --- throttling wrong passwords and codes per (e-mail, address) ------------------------------


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _email_part(email: str) -> str:
    return _digest(normalise_email(email)[:254])[:32]


def throttle_key(email: str, address: str | None) -> str:
    """The row key of (e-mail, address): neither is stored in clear.

    Half a SHA-256 of the e-mail, then half a SHA-256 of e-mail and address: the first half
    lets a password reset clear every address's throttle for that e-mail.
    """
    normalised = normalise_email(email)[:254]
    return _email_part(normalised) + _digest(f"{normalised}\n{address or '-'}")[:32]


def delay_after(failures: int) -> timedelta:
    """The wait imposed after ``failures`` failures in a row."""
    if failures <= FREE_TRIES:
        return timedelta(0)
    doublings = min(failures - FREE_TRIES - 1, 20)
    return min(FIRST_DELAY * (2**doublings), MAX_DELAY)


def _seconds(delta: timedelta) -> int:
    return max(0, math.ceil(delta.total_seconds()))


def throttle_wait(email: str, address: str | None, at: datetime | None = None) -> int:
    """Seconds before (e-mail, address) may try again; 0 when it may try now."""
    row = db.session.get(LoginThrottle, throttle_key(email, address))
    if row is None or row.blocked_until is None:
        return 0
    return _seconds(row.blocked_until - (at or now()))


def count_failure(email: str, address: str | None, at: datetime | None = None) -> int:
    """Count a wrong password or code for (e-mail, address); the seconds to wait before the next try.

    Never locks the account and never ends a session: only this pair waits.
    """
    at = at or now()
    key = throttle_key(email, address)
    row = db.session.get(LoginThrottle, key)
    if row is None:
        row = LoginThrottle(key_hash=key, failures=0, last_failure_at=at)
        try:
            with db.session.begin_nested():
                db.session.add(row)
        except IntegrityError:  # a concurrent failure created it first
            row = db.session.get(LoginThrottle, key, populate_existing=True)
    if row.last_failure_at is not None and at - row.last_failure_at > FORGET_AFTER:
        row.failures = 0
    row.failures += 1
    row.last_failure_at = at
    wait = delay_after(row.failures)
    row.blocked_until = at + wait if wait else None
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.last_failure_at < at - FORGET_AFTER))
    return _seconds(wait)


def clear_throttles(email: str, address: str | None = None) -> None:
    """Forget the failures of (e-mail, address), or of every address when ``address`` is None."""
    if address is not None:
        db.session.execute(delete(LoginThrottle).where(LoginThrottle.key_hash == throttle_key(email, address)))
        return
    prefix = _email_part(email)
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.key_hash.startswith(prefix, autoescape=True)))


@dataclass(frozen=True)
class PasswordCheck:
    """The outcome of checking an e-mail and password.

    ``retry_after``: when ``throttled``, the seconds still to wait (nothing was checked);
    after a failure, the wait that failure imposed (0 during the free tries).
    """

    user: User | None
    ok: bool
    retry_after: int = 0
    throttled: bool = False


def check_password(email: str, password: str, address: str | None) -> PasswordCheck:
    """Check credentials from ``address``, throttling that (e-mail, address) pair on failures.

    Unknown or disabled e-mails and wrong passwords give the same answer and cost one
    password hash check either way, throttled or not, so neither the answer nor its timing
    tells which accounts exist. Failures are audited.
    """
    at = now()
    user = find_user(email)
    if user is not None and not user.active:
        user = None  # a disabled account answers as an unknown e-mail does
    actor = normalise_email(email)[:254]
    wait = throttle_wait(email, address, at)
    if wait:
        check_password_hash(_DUMMY_HASH, password)
        record_event(
            "user.login_refused",
            object_type="user" if user is not None else None,
            object_id=user.id if user is not None else None,
            actor=actor,
            detail=f"throttled for {wait} s",
        )
        return PasswordCheck(None, False, wait, throttled=True)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        record_event("user.login_failed", actor=actor, detail="unknown or disabled account")
        return PasswordCheck(None, False, count_failure(email, address, at))
    if not check_password_hash(user.password_hash, password):
        record_event("user.login_failed", object_type="user", object_id=user.id, actor=user.email)
        return PasswordCheck(user, False, count_failure(email, address, at))
    clear_throttles(email, address)
    return PasswordCheck(user, True)


def check_current_password(user: User, password: str, address: str | None) -> PasswordCheck:
    """A signed-in user confirming their password (to change it, or the second factor).

    Throttled like sign-in for (e-mail, address); a failure never ends the session.
    """
    at = now()
    wait = throttle_wait(user.email, address, at)
    if wait:
        check_password_hash(_DUMMY_HASH, password)
        return PasswordCheck(user, False, wait, throttled=True)
    if not check_password_hash(user.password_hash, password):
        record_event("user.password_check_failed", object_type="user", object_id=user.id)
        return PasswordCheck(user, False, count_failure(user.email, address, at))
    return PasswordCheck(user, True)


def record_sign_in(user: User) -> None:
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = utcnow()
    record_event("user.login", object_type="user", object_id=user.id, actor=user.email)


# --- server-side sessions --------------------------------------------------------------------


def start_session(user: User) -> str:
    """Record a new signed-in session for ``user``; the random id for the session cookie."""
    at = now()
    token = secrets.token_urlsafe(32)
    db.session.execute(
        delete(StaffSession).where(StaffSession.user_id == user.id, StaffSession.created_at < at - timedelta(days=30))
    )
    db.session.add(StaffSession(token_hash=_digest(token), user_id=user.id, created_at=at, last_seen_at=at))
    return token


def session_is_live(user: User, token: object, lifetime: timedelta) -> bool:
    """Whether the session ``token`` of ``user`` was started and has not ended or expired."""
    if not isinstance(token, str) or not token or len(token) > 100:
        return False
    row = db.session.scalar(select(StaffSession).where(StaffSession.token_hash == _digest(token)))
    return row is not None and row.user_id == user.id and row.ended_at is None and row.created_at + lifetime > now()


def end_session(token: object) -> None:
    """End one session (sign-out): its cookie, even copied, no longer signs anyone in."""
    if isinstance(token, str) and token:
        db.session.execute(
            update(StaffSession)
            .where(StaffSession.token_hash == _digest(token), StaffSession.ended_at.is_(None))
            .values(ended_at=now())
        )


def end_all_sessions(user: User) -> None:
    """End every session of ``user`` (sign out everywhere, password change or reset)."""
    user.session_version += 1
    db.session.execute(
        update(StaffSession)
        .where(StaffSession.user_id == user.id, StaffSession.ended_at.is_(None))
        .values(ended_at=now())
    )


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)


def verify_totp(user: User, code: str, secret: str | None = None, at: float | None = None) -> bool:
    """Check a 6-digit code (±30 s of clock drift); a code already used is refused (no replay)."""
    # The replay guard belongs to the secret in use; a new secret (being set up) starts afresh.
    guarded = secret is None or secret == user.totp_secret
    secret = secret or user.totp_secret
    code = "".join(ch for ch in code if ch in "0123456789")
    if not secret or len(code) != 6:
        return False
    totp = pyotp.TOTP(secret)
    now = time.time() if at is None else at
    for drift in (0, -1, 1):
        step = int(now // totp.interval) + drift
        if secrets.compare_digest(totp.at(step * totp.interval), code):
            if guarded and user.totp_last_step is not None and step <= user.totp_last_step:
                return False
            user.totp_last_step = step
            return True
    return False
