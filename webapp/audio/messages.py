"""What a refused clip upload or review means, in the current language, and its HTTP status."""

from __future__ import annotations

from flask_babel import gettext as _

from webapp.services import ServiceError

#: Bad input answers 400; reviewing one's own clip 403; reviewing a clip twice 409.
STATUS = {"audio_own_clip": 403, "audio_reviewed": 409}


def status_of(error: ServiceError) -> int:
    return STATUS.get(error.code, 400)


def describe(error: ServiceError) -> str:
    p = error.params
    messages = {
        "audio_empty": lambda: _("Choose an audio file to upload."),
        "audio_too_large": lambda: _(
            "The file is %(size)s KB; a clip may be at most %(max)s KB. Record it again in mono at 16–24 kbit/s"
            " (Opus) or 32 kbit/s (MP3), or read the text faster.",
            size=p["size"],
            max=p["max"],
        ),
        "audio_format": lambda: _(
            "This file is not an Ogg Opus or MP3 recording. Export the recording as .opus or .mp3."
        ),
        "audio_not_mono": lambda: _(
            "The recording has %(count)s channels; upload it in mono (one channel).", count=p["channels"]
        ),
        "audio_duration": lambda: _(
            "The recording lasts %(seconds)s seconds; a clip must last between 0.3 and %(max)s seconds.",
            seconds=p["seconds"],
            max=p["max"],
        ),
        "audio_target": lambda: _("Choose a question or answer of this questionnaire version."),
        "audio_language": lambda: _("Choose the language the clip is spoken in."),
        "audio_reviewed": lambda: _("This clip was already reviewed."),
        "audio_own_clip": lambda: _("You uploaded this clip, so another administrator must review it."),
        "audio_reason": lambda: _("Say why the clip is rejected, so that it can be recorded again."),
        "audio_reason_long": lambda: _("Write the reason in %(count)s characters or fewer.", count=p["max"]),
    }
    message = messages.get(error.code)
    return message() if message else _("This action is not allowed.")
