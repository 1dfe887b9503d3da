"""Addresses of the public site as printed on paper, in reports and on tablets."""

from __future__ import annotations

from flask import current_app


def public_url(path: str) -> str:
    """``path`` on the public site (``PUBLIC_BASE_URL``), for QR codes, kiosk links and reports."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + path
