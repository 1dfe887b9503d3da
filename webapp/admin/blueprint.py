"""The admin area's blueprint: every route needs a signed-in administrator (``declare_staff_area``).

Every change made through it is written to the audit trail, in the same transaction as the change.
"""

from __future__ import annotations

from flask import Blueprint

from webapp.access import declare_staff_area

admin = declare_staff_area(Blueprint("admin", __name__, url_prefix="/admin"), ["admin"])


@admin.after_request
def _no_store(response):
    """Admin pages show unpublished figures, personal data and one-time secrets: never keep them in a cache."""
    response.headers["Cache-Control"] = "no-store"
    return response
