"""The agency area (``/agency``): a unit's own figures, its comments, kiosks and receipt QR codes, reports.

Agencies see their published figures with intervals beside provisional live figures for the
current quarter, moderate and answer citizens' comments, register counter tablets and print
receipt QR codes and posters, and download their periodic reports. Every view checks the
signed-in user's scope (:mod:`webapp.access`).
"""

from __future__ import annotations

from webapp.agency import action_views, comment_views, device_views, report_views, views  # noqa: F401  (registers the routes)
from webapp.agency.blueprint import agency

__all__ = ["agency"]
