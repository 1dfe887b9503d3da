"""The strings of this package's templates, for ``make extract-messages``.

``babel.cfg`` extracts ``webapp/templates/**.html`` but not ``webapp/audio/templates``: listing the
strings here puts them in the catalogues, where the templates' ``_()`` finds them at run time.
``tests/webapp/test_audio.py`` checks that this list and the templates agree. Drop this module once
``babel.cfg`` has ``[jinja2: webapp/*/templates/**.html]``.
"""

from __future__ import annotations


def N_(text: str) -> str:  # noqa: N802 (the marker babel looks for)
    return text


def ngettext(singular: str, plural: str) -> tuple[str, str]:
    return singular, plural


STRINGS = (
    N_("Recorded questions"),
    N_("Kiosks and the online survey show a large “Nghe” (listen) button next to every question and answer that has an approved recording in the respondent's language. Record each clip in mono, at most 30 KB (see the recording guide in docs/audio.md). A second administrator approves every clip before it is played."),
    N_("Recorded texts per questionnaire version and language"),
    N_("Questionnaire"),
    N_("Version"),
    N_("State"),
    N_("Active"),
    N_("Not in use"),
    N_("%(done)s of %(total)s"),
    N_("Recordings of %(code)s, version %(version)s"),
    N_("All questionnaires"),
    N_("Upload a recording"),
    N_("Question or answer"),
    N_("Language spoken"),
    N_("Recording"),
    N_("Ogg Opus (.opus) or MP3, mono, at most %(max)s KB and 30 seconds."),
    N_("Upload for review"),
    N_("Coverage"),
    N_("Texts of this version and their approved recording per language"),
    N_("Text"),
    N_("Recording of %(text)s in %(language)s"),
    N_("Missing"),
    N_("Recordings to review"),
    N_("Listen to each clip with the text beside it. Approve it only if it reads the text exactly, clearly and without noise. Nobody reviews their own clip."),
    N_("%(size)s KB, %(seconds)s s, uploaded by %(who)s on %(time)s"),
    N_("You uploaded this clip, so another administrator must review it."),
    N_("Approve"),
    N_("Why is it rejected?"),
    N_("Reject"),
    N_("No recording waits for review."),
)
PLURALS = (
    ngettext("%(num)s clip waits for review", "%(num)s clips wait for review"),
    ngettext("%(num)s waits for review", "%(num)s wait for review"),
)
