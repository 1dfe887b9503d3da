"""Instrument definitions rebuilt from their stored snapshots, once per content hash.

Rebuilding validates the snapshot against the JSON Schema, which takes a noticeable
fraction of a second; the content hash identifies the content, so a cache keyed by it can
never serve a stale definition.
"""

from __future__ import annotations

from threading import Lock

from surveys import definitions

_cache: dict[str, definitions.Instrument] = {}
_lock = Lock()


def definition_of(row) -> definitions.Instrument:
    """The :class:`~surveys.definitions.Instrument` of an ``instruments`` table row."""
    found = _cache.get(row.content_hash)
    if found is None:
        found = definitions.instrument_from_snapshot(row.snapshot, f"{row.code}.v{row.version}")
        with _lock:
            _cache[row.content_hash] = found
    return found
