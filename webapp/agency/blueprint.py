"""The agency area's blueprint: every route needs a signed-in staff user (any role).

Objects are checked against the user's unit scope in each view (``unit_or_404``,
``require_in_scope``): another agency's unit, comment, device or token answers 404.
"""

from __future__ import annotations

from flask import Blueprint

from webapp.access import ALL_ROLES, declare_staff_area

agency = declare_staff_area(Blueprint("agency", __name__, url_prefix="/agency"), ALL_ROLES)


@agency.after_request
def _no_store(response):
    """Agency pages show unpublished data and one-time secrets: never keep them in a cache."""
    response.headers["Cache-Control"] = "no-store"
    return response
