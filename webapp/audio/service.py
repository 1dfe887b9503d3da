"""The rules of recorded questions, shared by the admin pages, the CLI and the survey pages.

* :func:`check_clip` reads an upload's bytes (never its name): an Ogg Opus or MP3 stream, mono,
  at most :data:`MAX_BYTES`, lasting :data:`MIN_MS` to :data:`MAX_MS`.
* :func:`upload` stores a checked clip as ``pending`` for one target of one instrument version;
  :func:`approve` and :func:`reject` are the review (never by the uploader); approving retires
  the target's previous approved clip. Every step is audited.
* :func:`targets` lists what can be read aloud in a version; :func:`coverage` says which of
  them have an approved clip per language; :func:`carry_over` copies approved clips to a new
  version for the texts that did not change.
* :func:`clip_urls` is what the kiosk and the survey pages use: ``{target: url}``.

A refused action raises :class:`~webapp.services.ServiceError` and writes nothing.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from flask import url_for
from sqlalchemy import select

from surveys import definitions, languages
from surveys.stored import definition_of
from webapp.audit import record_event
from webapp.extensions import db
from webapp.models import Instrument, User, utcnow
from webapp.models.audio import AUDIO_TYPES, QuestionAudio
from webapp.services import ServiceError, actor_name

#: Largest clip accepted (30 KB: about 10 s of speech at 24 kbit/s Opus or 7 s at 32 kbit/s MP3).
MAX_BYTES = 30 * 1024
#: Shortest and longest sensible reading of one question or answer, in milliseconds.
MIN_MS, MAX_MS = 300, 30_000
MAX_REASON = 500


@dataclass(frozen=True)
class CheckedClip:
    content_type: str
    duration_ms: int
    sha256: str


@dataclass(frozen=True)
class Target:
    """One text of an instrument version that can be read aloud."""

    key: str
    #: What the admin page calls it (the question's code, or code = value for an option).
    label: str
    text: definitions.LocalizedText


def _refuse(code: str, **params) -> ServiceError:
    return ServiceError(code, **params)


def check_clip(data: bytes) -> CheckedClip:
    """The clip's type, duration and hash, if ``data`` is a short mono Ogg Opus or MP3 stream."""
    # start-up: only an upload needs mutagen (tens of ms to import), not every web worker
    from mutagen import MutagenError
    from mutagen.mp3 import MP3
    from mutagen.oggopus import OggOpus

    if not data:
        raise _refuse("audio_empty")
    if len(data) > MAX_BYTES:
        raise _refuse("audio_too_large", size=len(data) // 1024 + 1, max=MAX_BYTES // 1024)
    if data[:4] == b"OggS" and b"OpusHead" in data[:64]:
        parser, content_type = OggOpus, "audio/ogg"
    elif data[:3] == b"ID3" or (data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        parser, content_type = MP3, "audio/mpeg"
    else:
        raise _refuse("audio_format")
    try:
        info = parser(io.BytesIO(data)).info
    except (MutagenError, ValueError, EOFError, IndexError, KeyError) as error:
        raise _refuse("audio_format") from error
    if info.channels != 1:
        raise _refuse("audio_not_mono", channels=info.channels)
    duration_ms = round((info.length or 0) * 1000)
    if not MIN_MS <= duration_ms <= MAX_MS:
        raise _refuse("audio_duration", seconds=round(duration_ms / 1000, 1), max=MAX_MS // 1000)
    return CheckedClip(content_type, duration_ms, hashlib.sha256(data).hexdigest())


def targets(instrument: definitions.Instrument) -> list[Target]:
    """Every text of ``instrument`` that can be read aloud, in the order it is shown."""
    found = [Target("title", "title", instrument.title), Target("intro", "intro", instrument.intro)]
    for item in instrument.items:
        found.append(Target(f"item:{item.code}", item.code, item.text))
        found += [
            Target(f"option:{item.code}:{option.value}", f"{item.code} = {option.value}", option.label)
            for option in item.options
        ]
    return found


def _target(instrument: Instrument, key: str) -> Target:
    for target in targets(definition_of(instrument)):
        if target.key == key:
            return target
    raise _refuse("audio_target", target=key[:120])


def upload(instrument: Instrument, target_key: str, language: str, data: bytes, *, actor: User | None) -> QuestionAudio:
    """Store a checked clip as ``pending`` (no commit); refused if the target, language or bytes are wrong."""
    target = _target(instrument, target_key)
    if not languages.is_known(language):
        raise _refuse("audio_language", language=language[:12])
    checked = check_clip(data)
    clip = QuestionAudio(
        instrument=instrument,
        target=target.key,
        language=language,
        content_type=checked.content_type,
        size=len(data),
        sha256=checked.sha256,
        duration_ms=checked.duration_ms,
        content=data,
        spoken_text=target.text.get(language)[:2000],
        status="pending",
        uploaded_by=actor,
    )
    db.session.add(clip)
    db.session.flush()
    record_event(
        "audio.upload", actor=actor_name(actor), object_type="question_audio", object_id=clip.id, after=_summary(clip)
    )
    return clip


def _summary(clip: QuestionAudio) -> dict:
    return {
        "instrument": f"{clip.instrument.code} v{clip.instrument.version}",
        "target": clip.target,
        "language": clip.language,
        "sha256": clip.sha256,
        "size": clip.size,
        "status": clip.status,
    }


def _review(clip: QuestionAudio, actor: User | None) -> None:
    if clip.status != "pending":
        raise _refuse("audio_reviewed")
    if actor is not None and clip.uploaded_by_id == actor.id:
        raise _refuse("audio_own_clip")


def approve(clip: QuestionAudio, *, actor: User | None) -> QuestionAudio | None:
    """Approve a pending clip (not one's own); the target's approved clip before it is ``replaced`` (returned)."""
    _review(clip, actor)
    before = _summary(clip)
    previous = db.session.scalar(
        select(QuestionAudio).where(
            QuestionAudio.instrument_id == clip.instrument_id,
            QuestionAudio.target == clip.target,
            QuestionAudio.language == clip.language,
            QuestionAudio.status == "approved",
        )
    )
    if previous is not None:
        previous.status = "replaced"
        db.session.flush()  # before the new one takes the single approved place
    clip.status, clip.reviewed_by, clip.reviewed_at = "approved", actor, utcnow()
    db.session.flush()
    record_event(
        "audio.approve",
        actor=actor_name(actor),
        object_type="question_audio",
        object_id=clip.id,
        before=before,
        after={**_summary(clip), "replaces": previous.id if previous else None},
    )
    return previous


def reject(clip: QuestionAudio, reason: str, *, actor: User | None) -> None:
    """Reject a pending clip (not one's own) with a reason the uploader reads."""
    reason = (reason or "").strip()
    if not reason:
        raise _refuse("audio_reason")
    if len(reason) > MAX_REASON:
        raise _refuse("audio_reason_long", max=MAX_REASON)
    _review(clip, actor)
    before = _summary(clip)
    clip.status, clip.reviewed_by, clip.reviewed_at, clip.reason = "rejected", actor, utcnow(), reason
    db.session.flush()
    record_event(
        "audio.reject",
        actor=actor_name(actor),
        object_type="question_audio",
        object_id=clip.id,
        before=before,
        after=_summary(clip),
        detail=reason,
    )


def approved_clips(instrument: Instrument, language: str | None = None) -> list[QuestionAudio]:
    query = select(QuestionAudio).where(
        QuestionAudio.instrument_id == instrument.id, QuestionAudio.status == "approved"
    )
    if language is not None:
        query = query.where(QuestionAudio.language == language)
    return list(db.session.scalars(query))


@dataclass(frozen=True)
class CoverageRow:
    target: Target
    #: language → the approved clip (or None), and whether a clip waits for review.
    approved: dict[str, QuestionAudio | None]
    pending: dict[str, int]


def coverage(instrument: Instrument) -> list[CoverageRow]:
    """Per target of the version and per language: its approved clip (if any) and clips waiting for review."""
    clips = list(
        db.session.scalars(
            select(QuestionAudio).where(
                QuestionAudio.instrument_id == instrument.id,
                QuestionAudio.status.in_(("approved", "pending")),
            )
        )
    )
    rows = []
    for target in targets(definition_of(instrument)):
        approved = {code: None for code in languages.codes()}
        pending = dict.fromkeys(languages.codes(), 0)
        for clip in clips:
            if clip.target == target.key and clip.language in approved:
                if clip.status == "approved":
                    approved[clip.language] = clip
                else:
                    pending[clip.language] += 1
        rows.append(CoverageRow(target, approved, pending))
    return rows


def carry_over(old: Instrument, new: Instrument, *, actor: User | None) -> int:
    """Copy ``old``'s approved clips to ``new`` where the target exists and its text is unchanged.

    Targets of ``new`` that already have an approved clip keep it. Returns how many were copied.
    """
    texts = {target.key: target.text for target in targets(definition_of(new))}
    taken = {(clip.target, clip.language) for clip in approved_clips(new)}
    copied = 0
    for clip in approved_clips(old):
        text = texts.get(clip.target)
        if text is None or (clip.target, clip.language) in taken or text.get(clip.language) != clip.spoken_text:
            continue
        db.session.add(
            QuestionAudio(
                instrument=new,
                target=clip.target,
                language=clip.language,
                content_type=clip.content_type,
                size=clip.size,
                sha256=clip.sha256,
                duration_ms=clip.duration_ms,
                content=clip.content,
                spoken_text=clip.spoken_text,
                status="approved",
                uploaded_by_id=clip.uploaded_by_id,
                uploaded_at=clip.uploaded_at,
                reviewed_by_id=clip.reviewed_by_id,
                reviewed_at=clip.reviewed_at,
            )
        )
        copied += 1
    if copied:
        db.session.flush()
        record_event(
            "audio.carry_over",
            actor=actor_name(actor),
            object_type="instrument",
            object_id=new.id,
            after={"from": f"{old.code} v{old.version}", "to": f"{new.code} v{new.version}", "clips": copied},
        )
    return copied


def clip_url(clip: QuestionAudio) -> str:
    return url_for("audio_files.clip", sha256=clip.sha256, ext=AUDIO_TYPES[clip.content_type])


def instrument_row(instrument) -> Instrument | None:
    """The ``instruments`` row of a row or a :class:`~surveys.definitions.Instrument` definition."""
    if isinstance(instrument, Instrument):
        return instrument
    return db.session.scalar(
        select(Instrument).where(Instrument.code == instrument.code, Instrument.version == instrument.version)
    )


def clip_urls(instrument, language: str) -> dict[str, str]:
    """``{target: url}`` of the approved clips of an instrument version (row or definition) in ``language``."""
    row = instrument_row(instrument)
    if row is None:
        return {}
    query = select(QuestionAudio.target, QuestionAudio.sha256, QuestionAudio.content_type).where(
        QuestionAudio.instrument_id == row.id,
        QuestionAudio.language == language,
        QuestionAudio.status == "approved",
    )
    return {
        target: url_for("audio_files.clip", sha256=sha, ext=AUDIO_TYPES[kind])
        for target, sha, kind in db.session.execute(query)
    }


def active_clip_urls(code: str) -> list[str]:
    """Every approved clip of the active version of instrument ``code``, in every language (for offline kiosks)."""
    row = db.session.scalar(select(Instrument).where(Instrument.code == code, Instrument.active.is_(True)))
    if row is None:
        return []
    return sorted({clip_url(clip) for clip in approved_clips(row)})
