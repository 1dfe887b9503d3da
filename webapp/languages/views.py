"""``/admin/languages``: how much of each language pack is reviewed, and what still shows in Vietnamese."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l

from surveys import languages as registry
from webapp.access import declare_staff_area
from webapp.languages import packs

#: The registry's statuses (surveys/languages.py STATUSES) as the page says them.
STATUS_LABELS = {
    "empty": _l("empty: nothing translated yet"),
    "not reviewed": _l("translated, not reviewed"),
    "reviewed samples": _l("reviewed samples only"),
    "reviewed": _l("reviewed"),
}

languages_admin = declare_staff_area(Blueprint("languages_admin", __name__, url_prefix="/admin/languages"), ["admin"])


@languages_admin.get("/")
def index():

    instruments = packs.active_instruments()
    reports = [packs.coverage(language.code, instruments) for language in registry.packs()]
    return render_template("languages/coverage.html", reports=reports, status_labels=STATUS_LABELS)
