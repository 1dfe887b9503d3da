"""Signed-in staff: how a session is turned back into a user.

A session signs someone in only while its server-side row (:class:`~webapp.models.StaffSession`,
found by the SHA-256 of the ``sid`` kept in the cookie) has not ended: a cookie replayed after
"Sign out" is refused, whatever its signature. ``session_version`` is checked as well.
"""

from __future__ import annotations

from flask import current_app, session
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin

from webapp.extensions import db, login_manager
from webapp.models import User
from webapp.users import session_is_live

#: The key of the random session id in the (signed) session cookie.
SESSION_ID_KEY = "sid"


class SignedInUser(UserMixin):
    """The Flask-Login view of a :class:`~webapp.models.User` row."""

    def __init__(self, user: User):
        self.user = user
        self.id = user.id
        self.email = user.email
        self.role = user.role

    def get_id(self) -> str:
        return f"{self.user.id}:{self.user.session_version}"


@login_manager.user_loader
def load_user(identifier: str) -> SignedInUser | None:
    """The user of a session, unless the account was disabled or signed out everywhere since."""
    user_id, _, version = identifier.partition(":")
    if not (user_id.isascii() and user_id.isdigit() and version.isascii() and version.isdigit()):
        return None
    user = db.session.get(User, int(user_id))
    if (
        user is None
        or not user.active
        or user.session_version != int(version)
        or not session_is_live(user, session.get(SESSION_ID_KEY), current_app.permanent_session_lifetime)
    ):
        session.clear()
        return None
    return SignedInUser(user)


#: Role names for people (the codes are in :data:`webapp.models.ROLES`).
ROLE_NAMES = {
    "admin": _l("Administrator (Department of Home Affairs)"),
    "agency_manager": _l("Agency manager"),
    "viewer": _l("Viewer (read only)"),
    "interviewer": _l("Interviewer (assisted interviews, sees no results)"),
}


def role_name(role: str) -> str:
    return str(ROLE_NAMES.get(role, role))


def staff_endpoints() -> set[str]:
    """The endpoints registered on this app (the staff menu shows only areas that exist)."""
    return set(current_app.view_functions)


def init_app(app) -> None:
    # The staff areas redirect anonymous visitors themselves (webapp.access.check_staff_access).
    login_manager.login_view = "auth.login"
    app.jinja_env.globals.update(role_name=role_name, staff_endpoints=staff_endpoints)
