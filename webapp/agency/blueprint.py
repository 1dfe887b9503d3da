"""The agency area's blueprint: every route needs a signed-in staff user (any role).

Objects are checked against the user's unit scope in each view (``unit_or_404``,
``require_in_scope``): another agency's unit, comment, device or token answers 404.
"""

from __future__ import annotations

from flask import Blueprint

from webapp.access import ALL_ROLES, declare_staff_area, no_store

agency = declare_staff_area(Blueprint("agency", __name__, url_prefix="/agency"), ALL_ROLES)
# Agency pages show unpublished data and one-time secrets.
agency.after_request(no_store)
