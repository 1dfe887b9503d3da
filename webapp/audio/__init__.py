"""Questions read aloud (issue #17): recorded clips of every question and answer, per language.

Staff upload short mono Opus or MP3 clips at ``/admin/audio`` for one instrument version; a
second administrator approves them (:mod:`webapp.audio.service`). Approved clips are public at
``/audio/<sha256>.<ext>``; the kiosk and the online survey show a large "Nghe" (listen) button
where a clip exists, through the template global ``audio_clips(instrument, language)``.
``flask --app webapp audio carry-over CODE`` copies the approved clips of the previous version
of an instrument to its active version for the texts that did not change. See docs/audio.md.
"""

from __future__ import annotations

from flask import Flask

from webapp.audio.cli import audio_cli
from webapp.audio.service import clip_urls
from webapp.audio.views import audio_admin, audio_files


def audio_clips(instrument, language: str) -> dict[str, str]:
    """``{target: url}`` of the approved clips of ``instrument`` (a row or a definition) in ``language``."""

    return clip_urls(instrument, language)


def listen_script_url() -> str:
    """The versioned address of ``listen.js`` (the kiosk's script, shared with the online survey)."""
    from surveys.kiosk import asset_url  # cycle: surveys.kiosk imports audio_clips from this module

    return asset_url("kiosk/listen.js")


def init_app(app: Flask) -> None:
    """Register this part's blueprints and commands."""

    app.register_blueprint(audio_admin)
    app.register_blueprint(audio_files)
    app.add_template_global(audio_clips, "audio_clips")
    app.add_template_global(listen_script_url, "listen_script_url")
    app.cli.add_command(audio_cli)
