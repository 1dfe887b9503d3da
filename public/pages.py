"""Transparency pages read from published snapshots: indicators and units."""

from __future__ import annotations

from flask import Blueprint

from webapp.access import PUBLIC, declare_access

public_pages = declare_access(Blueprint("public_pages", __name__, template_folder="templates"), PUBLIC)
