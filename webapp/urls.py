"""Addresses: the public site's as printed on paper, in reports and on tablets; safe redirect targets."""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

from flask import current_app


def public_url(path: str) -> str:
    """``path`` on the public site (``PUBLIC_BASE_URL``), for QR codes, kiosk links and reports."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + path


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else ``None`` (the default page).

    Never another host (no open redirect) and no control character: CR/LF would break the
    ``Location`` header, and browsers drop tabs and newlines, so ``/\t/evil`` means ``//evil``.
    """
    if not isinstance(target, str) or not target or len(target) > 2000:
        return None
    if any(unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"} for ch in target):
        return None
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None
