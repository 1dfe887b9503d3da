"""``/admin/languages``: how much of each language pack is reviewed, and what still shows in Vietnamese."""

from __future__ import annotations

from flask import Blueprint, render_template

from webapp.access import declare_staff_area

languages_admin = declare_staff_area(
    Blueprint("languages_admin", __name__, url_prefix="/admin/languages", template_folder="templates"), ["admin"]
)


@languages_admin.get("/")
def index():
    from surveys import languages as registry
    from webapp.languages import packs

    instruments = packs.active_instruments()
    reports = [packs.coverage(language.code, instruments) for language in registry.packs()]
    return render_template("languages/coverage.html", reports=reports)
