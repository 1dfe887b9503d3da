"""Staff accounts: creation, passwords, lockout and the TOTP second factor.

Used by the sign-in pages, the admin area and the ``users`` commands, so that every path
applies the same rules. Passwords are hashed with scrypt (werkzeug); one-time passwords are
shown once and must be changed at the first sign-in.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.audit import record_event
from webapp.extensions import db
from webapp.models import ROLES, Unit, User, utcnow

#: Failed sign-ins in a row before an account is locked, and for how long.
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
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
    user.session_version += 1
    record_event("user.password_reset", object_type="user", object_id=user.id, after={"email": user.email})
    return NewPassword(user, password)


def set_password(user: User, password: str) -> None:
    """Store the user's own new password (checked by the caller) and end their other sessions."""
    user.password_hash = hash_password(password)
    user.must_change_password = False
    user.session_version += 1
    record_event("user.password_change", object_type="user", object_id=user.id)


def sign_out_everywhere(user: User) -> None:
    user.session_version += 1
    record_event("user.sign_out_everywhere", object_type="user", object_id=user.id)


def is_locked(user: User, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return user.locked_until is not None and user.locked_until > now


@dataclass(frozen=True)
class PasswordCheck:
    """The outcome of checking an e-mail and password."""

    user: User | None
    ok: bool
    locked_until: datetime | None = None


def check_password(email: str, password: str) -> PasswordCheck:
    """Check credentials, counting failures and locking the account after too many.

    Unknown e-mails and wrong passwords give the same answer (and take the same time). A
    locked account is refused even with the right password until the lock expires.
    """
    user = find_user(email)
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password)
        record_event("user.login_failed", actor=normalise_email(email)[:254], detail="unknown or disabled account")
        return PasswordCheck(None, False)
    now = utcnow()
    if is_locked(user, now):
        check_password_hash(_DUMMY_HASH, password)
        record_event("user.login_refused", object_type="user", object_id=user.id, actor=user.email, detail="locked")
        return PasswordCheck(user, False, user.locked_until)
    if not check_password_hash(user.password_hash, password):
        locked_until = count_failure(user, now)
        record_event("user.login_failed", object_type="user", object_id=user.id, actor=user.email)
        return PasswordCheck(user, False, locked_until)
    return PasswordCheck(user, True)


def count_failure(user: User, now: datetime | None = None) -> datetime | None:
    """Count a wrong password or code; at the limit lock the account, end its sessions and
    return until when it is locked (``None`` while under the limit)."""
    user.failed_logins += 1
    if user.failed_logins < MAX_FAILED_LOGINS:
        return None
    user.locked_until = (now or utcnow()) + LOCKOUT
    user.failed_logins = 0
    user.session_version += 1
    record_event("user.locked", object_type="user", object_id=user.id, actor=user.email)
    return user.locked_until


def record_sign_in(user: User) -> None:
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = utcnow()
    record_event("user.login", object_type="user", object_id=user.id, actor=user.email)


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
