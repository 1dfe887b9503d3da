"""Language packs (issue #17): Thái, Mông and any other language, beside Vietnamese and English.

The registry is ``surveys/languages.yaml`` (:mod:`surveys.languages`); the packs' files and the
rules on them are in :mod:`webapp.languages.packs`; the interface's fallback to Vietnamese in
:mod:`webapp.languages.catalogs`. ``flask --app webapp languages add|export|import|coverage``
and the admin page ``/admin/languages`` use them (docs/languages.md).
"""

from __future__ import annotations

from flask import Flask

from surveys import definitions
from webapp.extensions import babel
from webapp.languages import catalogs, cli, packs, views


def init_app(app: Flask) -> None:
    """Register this part's blueprints and commands."""

    # Flask-Babel's default domain, replaced once for the process (the Babel object is shared).
    if not isinstance(babel.__dict__.get("domain_instance"), catalogs.PackDomain):
        babel.__dict__["domain_instance"] = catalogs.PackDomain()
    definitions.set_pack_lookup(packs.lookup)
    app.jinja_env.globals["language_choices"] = packs.language_choices
    app.cli.add_command(cli.languages_cli)
    app.register_blueprint(views.languages_admin)
