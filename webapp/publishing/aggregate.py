"""The one place where SQL aggregates responses for estimation (DESIGN.md §3, §6).

The database does the heavy work: it groups a period's valid responses by the finest key the
estimates need — quarter, unit, service, respondent type, channel, mode and language — and counts them and
their satisfied answers. Every weighting cell and every domain is a function of that key,
so Python only ever sees a few thousand rows, whatever the number of responses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import case, func, select

from webapp.extensions import db
from webapp.models import Response, ResponseScore, TransactionCount


class ScoreGroup(NamedTuple):
    """Responses sharing a key, for one metric: how many, and how many satisfied."""

    quarter: str
    unit_id: int
    service_id: int
    respondent_type: str
    channel: str
    metric: str
    n: int
    satisfied: int
    #: How the respondent answered (``self``, ``read_aloud``, ``assisted``, ``sms``) and in which language:
    #: last, with defaults, so that groups built by hand (microdata, transaction cells) need not name them.
    mode: str = "self"
    language: str = "vi"


#: The finest key of the estimates, mode and language last (the groups carry them last).
_KEY = (
    Response.period,
    Response.unit_id,
    Response.service_id,
    Response.respondent_type,
    Response.channel,
    Response.mode,
    Response.language,
)


def fetch_score_groups(quarters: Sequence[str], metrics: Sequence[str]) -> list[ScoreGroup]:
    """``GROUP BY`` quarter, unit, service, respondent type, channel, mode, language and metric (valid responses only)."""
    query = (
        select(*_KEY, ResponseScore.metric, func.count(), func.sum(ResponseScore.satisfied))
        .join(ResponseScore, ResponseScore.response_id == Response.id)
        .where(Response.period.in_(list(quarters)), Response.status == "valid", ResponseScore.metric.in_(list(metrics)))
        .group_by(*_KEY, ResponseScore.metric)
    )
    return [ScoreGroup(*row[:5], row[7], row[8], int(row[9] or 0), *row[5:7]) for row in db.session.execute(query)]


def fetch_all_items_groups(quarters: Sequence[str], instrument_ids: Sequence[int]) -> list[ScoreGroup]:
    """The Ministry of Health "hài lòng toàn diện": respondents who rated items and were satisfied with all."""
    all_satisfied = case((Response.items_satisfied == Response.items_rated, 1), else_=0)
    query = (
        select(*_KEY, func.count(), func.sum(all_satisfied))
        .where(
            Response.period.in_(list(quarters)),
            Response.status == "valid",
            Response.items_rated > 0,
            Response.instrument_id.in_(list(instrument_ids)),
        )
        .group_by(*_KEY)
    )
    return [ScoreGroup(*row[:5], "all-items", row[7], int(row[8] or 0), *row[5:7]) for row in db.session.execute(query)]


def fetch_response_groups(quarters: Sequence[str], instrument_ids: Sequence[int]) -> list[ScoreGroup]:
    """Every valid response of the instruments, per key (``satisfied`` unused): the respondents a
    criterion measured by matrix sampling was drawn from, asked it or not."""
    query = (
        select(*_KEY, func.count())
        .where(
            Response.period.in_(list(quarters)),
            Response.status == "valid",
            Response.instrument_id.in_(list(instrument_ids)),
        )
        .group_by(*_KEY)
    )
    return [ScoreGroup(*row[:5], "responses", row[7], 0, *row[5:7]) for row in db.session.execute(query)]


class ItemGroup(NamedTuple):
    """Rated and satisfied item answers of responses sharing a key (MoH item-level rate)."""

    quarter: str
    unit_id: int
    service_id: int
    respondent_type: str
    channel: str
    n: int
    sx: float
    sy: float
    sxx: float
    sxy: float
    syy: float
    mode: str = "self"
    language: str = "vi"


def _item_group(row) -> ItemGroup:
    """An :class:`ItemGroup` from a row of ``*_KEY, count, Σx, Σy, Σx², Σxy, Σy²``."""
    return ItemGroup(*row[:5], row[7], *(float(v) for v in row[8:]), *row[5:7])


#: What a ratio of answers is over: ``share`` counts satisfied answers, ``mean`` the answers' points above 1
#: out of 4 (so the mean score is 1 + 4 × the ratio).
RATIO_STATISTICS = ("share", "mean")


def fetch_item_groups(
    quarters: Sequence[str], instrument_ids: Sequence[int], statistic: str = "share"
) -> list[ItemGroup]:
    """Per key: responses, Σx, Σy and their squares and product (ratio variance) over the rated items.

    ``share``: x = rated items, y = satisfied ones (the MoH "tỷ lệ hài lòng chung"). ``mean``:
    x = 4 × rated items, y = Σ(answer − 1), so y/x = (mean score − 1)/4 lies in [0, 1]; a response
    whose sum of answers was never stored (below its rated count) is left out.
    """
    rated = Response.items_rated
    if statistic == "share":
        x, y, stored = rated, Response.items_satisfied, True
    elif statistic == "mean":
        x, y, stored = 4 * rated, Response.items_score_sum - rated, Response.items_score_sum >= rated
    else:
        raise ValueError(f"statistic must be one of {', '.join(RATIO_STATISTICS)}")
    query = (
        select(*_KEY, func.count(), func.sum(x), func.sum(y), func.sum(x * x), func.sum(x * y), func.sum(y * y))
        .where(
            Response.period.in_(list(quarters)),
            Response.status == "valid",
            rated > 0,
            stored,
            Response.instrument_id.in_(list(instrument_ids)),
        )
        .group_by(*_KEY)
    )
    return [_item_group(row) for row in db.session.execute(query)]


def per_response_aspects(quarters: Sequence[str], instrument_ids: Sequence[int], metrics: Sequence[str]):
    """A subquery: per valid response, x = its rated answers to the aspects' overall questions (the
    ``aspect:<code>`` score rows of ``metrics``) and y = the satisfied ones."""
    return (
        select(
            ResponseScore.response_id.label("response_id"),
            func.count().label("x"),
            func.sum(ResponseScore.satisfied).label("y"),
        )
        .join(Response, Response.id == ResponseScore.response_id)
        .where(
            Response.period.in_(list(quarters)),
            Response.status == "valid",
            Response.instrument_id.in_(list(instrument_ids)),
            ResponseScore.metric.in_(list(metrics)),
        )
        .group_by(ResponseScore.response_id)
        .subquery()
    )


def fetch_aspect_groups(
    quarters: Sequence[str], instrument_ids: Sequence[int], metrics: Sequence[str]
) -> list[ItemGroup]:
    """Like :func:`fetch_item_groups` over the answers to the aspects' overall questions (SIPAS-style index)."""
    per = per_response_aspects(quarters, instrument_ids, metrics)
    x, y = per.c.x, per.c.y
    query = (
        select(*_KEY, func.count(), func.sum(x), func.sum(y), func.sum(x * x), func.sum(x * y), func.sum(y * y))
        .join(per, per.c.response_id == Response.id)
        .group_by(*_KEY)
    )
    return [_item_group(row) for row in db.session.execute(query)]


def fetch_transaction_counts(quarters: Sequence[str]) -> list[tuple[str, int, int, str, int]]:
    """``(quarter, unit_id, service_id, respondent_type, count)`` for the quarters."""
    query = select(
        TransactionCount.period,
        TransactionCount.unit_id,
        TransactionCount.service_id,
        TransactionCount.respondent_type,
        TransactionCount.count,
    ).where(TransactionCount.period.in_(list(quarters)))
    return [tuple(row) for row in db.session.execute(query)]


def fetch_unit_counts(quarters: Sequence[str], unit_ids: Sequence[int]) -> list[tuple[str, int, int, str, int]]:
    """Like :func:`fetch_transaction_counts`, for a few units only: the imputation of a unit's
    missing quarter from its other quarters reads just those units' rows."""
    query = select(
        TransactionCount.period,
        TransactionCount.unit_id,
        TransactionCount.service_id,
        TransactionCount.respondent_type,
        TransactionCount.count,
    ).where(TransactionCount.period.in_(list(quarters)), TransactionCount.unit_id.in_(list(unit_ids)))
    return [tuple(row) for row in db.session.execute(query)]


def fetch_flagged_counts(quarters: Sequence[str]) -> dict[int, tuple[int, int]]:
    """Per unit: (all responses, flagged responses) in the quarters."""
    flagged = func.sum(case((Response.status == "flagged", 1), else_=0))
    query = (
        select(Response.unit_id, func.count(), flagged)
        .where(Response.period.in_(list(quarters)))
        .group_by(Response.unit_id)
    )
    return {unit_id: (total, int(flagged_count or 0)) for unit_id, total, flagged_count in db.session.execute(query)}


def fetch_instrument_versions(quarters: Sequence[str]) -> list[tuple[int, int]]:
    """``(instrument id, responses)`` answered in the quarters."""
    query = (
        select(Response.instrument_id, func.count())
        .where(Response.period.in_(list(quarters)))
        .group_by(Response.instrument_id)
    )
    return [tuple(row) for row in db.session.execute(query)]


class PeriodInputs:
    """The SQL sums of a period, fetched quarter by quarter and kept for reuse.

    A half-year or a year is the union of its quarters, and every key includes the quarter,
    so publishing many periods in a row (``publish --all-ended``) reads each quarter once.
    """

    def __init__(self, metrics: Sequence[str]):
        self.metrics = list(metrics)
        self._cache: dict[tuple, object] = {}

    def _per_quarter(self, name: str, quarter: str, load):
        key = (name, quarter)
        if key not in self._cache:
            self._cache[key] = load()
        return self._cache[key]

    def score_groups(self, quarters: Sequence[str]) -> list[ScoreGroup]:
        return [
            g
            for q in quarters
            for g in self._per_quarter("scores", q, lambda q=q: fetch_score_groups([q], self.metrics))
        ]

    def all_items_groups(self, quarters: Sequence[str], instrument_ids: Sequence[int]) -> list[ScoreGroup]:
        ids = tuple(sorted(instrument_ids))
        return [
            g
            for q in quarters
            for g in self._per_quarter(f"all-items{ids}", q, lambda q=q: fetch_all_items_groups([q], ids))
        ]

    def response_groups(self, quarters: Sequence[str], instrument_ids: Sequence[int]) -> list[ScoreGroup]:
        ids = tuple(sorted(instrument_ids))
        return [
            g
            for q in quarters
            for g in self._per_quarter(f"responses{ids}", q, lambda q=q: fetch_response_groups([q], ids))
        ]

    def item_groups(
        self, quarters: Sequence[str], instrument_ids: Sequence[int], statistic: str = "share"
    ) -> list[ItemGroup]:
        ids = tuple(sorted(instrument_ids))
        return [
            g
            for q in quarters
            for g in self._per_quarter(f"items{ids}{statistic}", q, lambda q=q: fetch_item_groups([q], ids, statistic))
        ]

    def aspect_groups(
        self, quarters: Sequence[str], instrument_ids: Sequence[int], metrics: Sequence[str]
    ) -> list[ItemGroup]:
        ids, names = tuple(sorted(instrument_ids)), tuple(sorted(metrics))
        return [
            g
            for q in quarters
            for g in self._per_quarter(f"aspects{ids}{names}", q, lambda q=q: fetch_aspect_groups([q], ids, names))
        ]

    def transaction_counts(self, quarters: Sequence[str]) -> list[tuple]:
        return [c for q in quarters for c in self._per_quarter("counts", q, lambda q=q: fetch_transaction_counts([q]))]

    def flagged_counts(self, quarters: Sequence[str]) -> dict[int, tuple[int, int]]:
        merged: dict[int, list[int]] = {}
        for q in quarters:
            for unit_id, (total, flagged) in self._per_quarter(
                "flagged", q, lambda q=q: fetch_flagged_counts([q])
            ).items():
                entry = merged.setdefault(unit_id, [0, 0])
                entry[0] += total
                entry[1] += flagged
        return {unit_id: (total, flagged) for unit_id, (total, flagged) in merged.items()}

    def instrument_versions(self, quarters: Sequence[str]) -> list[tuple[int, int]]:
        return [
            v for q in quarters for v in self._per_quarter("instruments", q, lambda q=q: fetch_instrument_versions([q]))
        ]
