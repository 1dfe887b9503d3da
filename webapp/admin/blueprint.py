"""The admin area's blueprint: every route needs a signed-in administrator (``declare_staff_area``).

Every change made through it is written to the audit trail, in the same transaction as the change.
"""

from __future__ import annotations

from flask import Blueprint

from webapp.access import declare_staff_area, no_store

admin = declare_staff_area(Blueprint("admin", __name__, url_prefix="/admin"), ["admin"])
# Admin pages show unpublished figures, personal data and one-time secrets.
admin.after_request(no_store)
