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
    """``metrics``: ``(metric, 0 or 1)`` for each satisfaction and share indicator, aspect and sampled
    criterion the answers count for."""

    metrics: tuple[tuple[str, int], ...]
    items_satisfied: int
    items_rated: int
    #: Sum of the rated items' answers (1–5): with ``items_rated``, the Ministry of Health mean score.
    items_score_sum: int = 0


def score_answers(instrument: definitions.Instrument, answers: Mapping[str, Any]) -> Scores:
    """Score validated ``answers``: indicators, aspects (``aspect:<code>``), the criteria measured by
    matrix sampling (``item:<code>``) and item counts."""
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
    for item in definitions.criterion_items(instrument):
        # A criterion not drawn for this respondent, or answered "no opinion", counts nowhere.
        verdict = definitions.apply_rule("top_two_box", answers.get(item.code))
        if verdict is not None:
            metrics.append((f"item:{item.code}", int(verdict)))
    items_satisfied, items_rated = definitions.item_level_counts(instrument, answers)
    return Scores(tuple(metrics), items_satisfied, items_rated, _rated_sum(instrument, answers))


def _rated_sum(instrument: definitions.Instrument, answers: Mapping[str, Any]) -> int:
    """Σ of the answers 1–5 to the items :func:`definitions.item_level_counts` counts as rated."""
    return sum(
        int(answers[item.code])
        for item in definitions.rated_items(instrument)
        if definitions.apply_rule("top_two_box", answers.get(item.code)) is not None
    )
