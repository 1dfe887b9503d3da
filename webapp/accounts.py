"""Signed-in staff: how a session is turned back into a user."""

from __future__ import annotations

from flask import session
from flask_login import UserMixin

from webapp.extensions import db, login_manager
from webapp.models import User


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
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        session.clear()
        return None
    return SignedInUser(user)


def init_app(app) -> None:
    login_manager.login_view = None  # the sign-in pages come with the agency area
