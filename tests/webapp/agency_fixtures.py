"""Data for the agency-area tests: communes, ratings with comments, published periods."""

from __future__ import annotations

from datetime import datetime

from tests.conftest import store_ratings

#: Two communes of the 2025 tree: a manager of one must never see the other.
OURS = "n03688"
THEIRS = "n03694"


def rate(
    unit_code: str,
    *,
    overall: int = 2,
    service: str = "land",
    channel: str = "online",
    answered_at: datetime | None = None,
    comment: str | None = None,
    device=None,
) -> int:
    """One rating of ``unit_code`` (by default online, 2: not satisfied) through :func:`tests.conftest.store_ratings`; its id.

    ``comment`` is stored *without* masking, as an old row might hold it: the agency pages must
    mask it again before showing it.
    """
    (response_id,) = store_ratings(
        unit_code, service, overall=overall, channel=channel, start=answered_at, comment=comment, device=device
    )
    return response_id
