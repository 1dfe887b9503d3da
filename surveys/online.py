"""The online survey: ``/survey/<unit_code>`` → ``/survey/<unit_code>/<instrument_code>``, and ``/r/<token>``."""

from __future__ import annotations

from flask import Blueprint

from webapp.access import RESPONDENT, declare_access

survey = declare_access(Blueprint("survey", __name__, template_folder="templates"), RESPONDENT)
