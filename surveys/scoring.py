"""What a stored response counts towards: derived once, when the response is stored.

The rules themselves live in :mod:`surveys.definitions`; this module turns one answer set
into the rows of ``response_scores`` and the item counts kept on the response, so every
channel (online, kiosk, QR, paper, demo) scores answers the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from surveys import definitions


@dataclass(frozen=True)
class Scores:
    """``metrics``: ``(metric, 0 or 1)`` for each satisfaction and share indicator and aspect the answers count for."""

    metrics: tuple[tuple[str, int], ...]
    items_satisfied: int
    items_rated: int


def score_answers(instrument: definitions.Instrument, answers: Mapping[str, Any]) -> Scores:
    """Score validated ``answers``: indicators, aspects (``aspect:<code>``) and item counts."""
    metrics: list[tuple[str, int]] = []
    for link in instrument.indicators:
        verdict = definitions.apply_rule(link.rule, answers.get(link.item))
        if verdict is not None:
            # The series of the answer's scale: three-face answers never count with five-point ones.
            metrics.append((definitions.scored_indicator(link), int(verdict)))
    metrics += definitions.share_answers(instrument, answers)
    for aspect, verdict in definitions.aspect_satisfied(instrument, answers).items():
        if verdict is not None:
            metrics.append((f"aspect:{aspect}", int(verdict)))
    items_satisfied, items_rated = definitions.item_level_counts(instrument, answers)
    return Scores(tuple(metrics), items_satisfied, items_rated)
