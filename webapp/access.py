"""Who may use which blueprint: every blueprint declares its access rule.

``tests/webapp/test_route_access.py`` walks every registered route and fails on one whose
blueprint declares no rule, so a new page cannot be exposed by accident. The agency and
admin areas attach their checks with ``before_request`` when they declare themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from flask import Blueprint, abort, current_app, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Unit
from webapp.models.accounts import ROLES

#: Anyone may read; nothing personal is shown.
PUBLIC = "public"
#: Anyone may submit a rating; protected by CSRF, rate limits and validation, not by sign-in.
RESPONDENT = "respondent"
#: A registered kiosk, identified by its device key.
DEVICE = "device"
#: Anyone, but only with a valid single-use receipt token.
TOKEN_HOLDER = "token_holder"  # noqa: S105 (a rule name, not a secret)  # nosec B105
#: Signed-in staff whose role is in the blueprint's ``allowed_roles``; objects checked against their unit scope.
STAFF = "staff"
#: The sign-in pages themselves: open to anyone, protected by CSRF, throttling and lockout.
SIGN_IN = "sign_in"
#: A token-protected operations endpoint (``/metrics``): off unless enabled, bearer token when set.
OPERATOR = "operator"
#: A machine client (the one-stop system), identified by its bearer token and limited to its unit subtree.
INTEGRATION_CLIENT = "integration_client"
RULES = (PUBLIC, RESPONDENT, DEVICE, TOKEN_HOLDER, STAFF, SIGN_IN, OPERATOR, INTEGRATION_CLIENT)

#: Every staff role that sees results (the agency area), most powerful first. Interviewers see none:
#: they have the interview area alone (webapp/interview).
ALL_ROLES = tuple(role for role in ROLES if role != "interviewer")
#: Roles that may change things in the agency area (viewers only read).
EDITOR_ROLES = ("admin", "agency_manager")


def declare_access(blueprint: Blueprint, rule: str) -> Blueprint:
    """Record ``rule`` on ``blueprint`` (and refuse an unknown rule)."""
    if rule not in RULES:
        raise ValueError(f"unknown access rule {rule!r}; use one of {RULES}")
    blueprint.access_rule = rule  # type: ignore[attr-defined]
    return blueprint


def no_store(response):
    """An ``after_request`` hook for areas that show unpublished figures, personal data or one-time
    secrets: no cache (browser or proxy) may keep the answer."""
    response.headers["Cache-Control"] = "no-store"
    return response


def declare_staff_area(blueprint: Blueprint, roles: Iterable[str]) -> Blueprint:
    """Make every route of ``blueprint`` require a signed-in user with one of ``roles``.

    Anonymous visitors are sent to the sign-in page (JSON clients get 401); a signed-in user
    of another role gets 403; a user who must still change a one-time password, or an
    administrator without a second factor, is sent to finish that first.
    """
    allowed = tuple(roles)
    unknown = set(allowed) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    declare_access(blueprint, STAFF)
    blueprint.allowed_roles = allowed  # type: ignore[attr-defined]

    @blueprint.before_request
    def _require_role() -> Any:
        return check_staff_access(allowed)

    return blueprint


def check_staff_access(roles: Iterable[str]) -> Any:
    """``None`` when the current user may go on, else the response that stops them."""
    if not current_user.is_authenticated:
        if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
            abort(401)
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if current_user.user.must_change_password:
        return redirect(url_for("auth.change_password"))
    if needs_second_factor_setup(current_user.user):
        return redirect(url_for("auth.totp_setup"))
    if current_user.role not in tuple(roles):
        abort(403)
    return None


def needs_second_factor_setup(user) -> bool:
    """Administrators must have a TOTP second factor (unless the deployment turns the rule off)."""

    return user.role == "admin" and not user.totp_secret and current_app.config.get("ADMIN_TOTP_REQUIRED", True)


def editor_required(view: Callable) -> Callable:
    """Refuse (403) a view to viewers: only administrators and agency managers change things."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated or current_user.role not in EDITOR_ROLES:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def _account(user=None):
    """The :class:`~webapp.models.User` row of ``user`` (a row or a signed-in user; default: current)."""
    who = user if user is not None else current_user
    return getattr(who, "user", who)


def scope_root(user=None):
    """The unit whose subtree ``user`` may see, or ``None`` for an administrator (everything)."""
    account = _account(user)
    return None if account.role == "admin" else account.unit


def unit_in_scope(unit, user=None) -> bool:
    """Whether ``unit`` lies in the subtree the user may see."""
    root = scope_root(user)
    return root is None or unit.path.startswith(root.path)


def scoped_units_query(user=None):
    """A ``select(Unit)`` limited to the user's subtree (every unit for an administrator)."""

    query = select(Unit)
    root = scope_root(user)
    if root is not None:
        query = query.where(Unit.path.startswith(root.path, autoescape=True))
    return query


def unit_or_404(code: str):
    """The unit ``code`` if it exists and is in the current user's scope, else 404.

    Out-of-scope objects answer 404 like missing ones, so that changing an id in a URL tells
    an agency nothing about another agency's data.
    """

    unit = db.session.scalar(select(Unit).where(Unit.code == code))
    if unit is None or not unit_in_scope(unit):
        abort(404)
    return unit


def require_in_scope(unit) -> None:
    """404 unless ``unit`` (the owner of an object reached by id) is in the current user's scope."""
    if unit is None or not unit_in_scope(unit):
        abort(404)
