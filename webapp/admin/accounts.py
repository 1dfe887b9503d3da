"""The rules the admin area applies to accounts, on top of :mod:`webapp.users`.

An administrator cannot disable or demote themselves, and the last active administrator can
be neither disabled nor demoted: somebody must always be able to manage the site.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from webapp.audit import record_event
from webapp.extensions import db
from webapp.models import Unit, User


class AccountRefused(ValueError):
    """A change the rules forbid; ``message`` is for the administrator, in their language."""

    def __init__(self, message) -> None:
        super().__init__(str(message))
        self.message = message


def active_admins() -> int:
    return (
        db.session.scalar(select(func.count()).select_from(User).where(User.role == "admin", User.active.is_(True)))
        or 0
    )


def _guard_admin_loss(actor: User, user: User, *, own_message) -> None:
    if user.id == actor.id:
        raise AccountRefused(own_message)
    if user.role == "admin" and user.active and active_admins() <= 1:
        raise AccountRefused(_l("This is the last active administrator: make another administrator first."))


def change_role(actor: User, user: User, role: str, unit: Unit | None) -> bool:
    """Give ``user`` a new role and unit; ``True`` when something changed (audited)."""
    unit = None if role == "admin" else unit
    if role != "admin" and unit is None:
        raise AccountRefused(
            _l(
                "Agency managers, viewers and interviewers need a unit: they work only with that unit and the units under it."
            )
        )
    if role == user.role and unit == user.unit:
        return False
    if user.role == "admin" and role != "admin":
        _guard_admin_loss(actor, user, own_message=_l("You cannot take the administrator role away from yourself."))
    before = {"role": user.role, "unit": user.unit.code if user.unit else None}
    user.role, user.unit = role, unit
    user.session_version += 1  # the new rights apply from the next sign-in, everywhere
    record_event(
        "user.role_change",
        object_type="user",
        object_id=user.id,
        before=before,
        after={"role": role, "unit": unit.code if unit else None},
    )
    return True


def set_active(actor: User, user: User, active: bool) -> bool:
    """Enable or disable ``user``; ``True`` when the state changed (audited)."""
    if user.active == active:
        return False
    if not active:
        _guard_admin_loss(actor, user, own_message=_l("You cannot disable your own account."))
        user.session_version += 1
    user.active = active
    record_event(
        "user.enable" if active else "user.disable",
        object_type="user",
        object_id=user.id,
        before={"active": not active},
        after={"active": active},
    )
    return True


def remove_second_factor(user: User) -> bool:
    """Forget the account's TOTP secret (a lost phone): it is set up again at the next sign-in."""
    if not user.totp_secret:
        return False
    user.totp_secret = None
    user.totp_last_step = None
    user.session_version += 1
    record_event(
        "user.second_factor_removed",
        object_type="user",
        object_id=user.id,
        before={"two_factor": True},
        after={"two_factor": False},
    )
    return True
