"""Transparency pages about the programme: the plan's targets, the methodology, open data downloads."""

from __future__ import annotations

from flask import Blueprint

from webapp.access import PUBLIC, declare_access

public_info = declare_access(Blueprint("public_info", __name__, template_folder="templates"), PUBLIC)
