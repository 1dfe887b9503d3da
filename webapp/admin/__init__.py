"""The administration area of the Department of Home Affairs: ``/admin/...``.

Registry, instruments and targets, plan progress, users, imports, publishing and the audit
log. Only administrators may enter (``declare_staff_area``); every change is written to the
audit trail with its before and after values, in the same transaction as the change.
"""

from __future__ import annotations

# The views attach their routes to ``admin`` (webapp.admin.blueprint) when imported.
from webapp.admin import (  # noqa: F401
    audit_views,
    dropoff_views,
    imports_views,
    instruments_views,
    integrations_views,
    integrity_views,
    jobs_views,
    microdata_views,
    overview,
    plan_views,
    publishing_views,
    registry_views,
    users_views,
)
from webapp.admin.blueprint import admin

__all__ = ["admin"]
