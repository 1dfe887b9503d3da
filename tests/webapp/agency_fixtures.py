"""Data for the agency-area tests: communes, ratings with comments, published periods."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

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
    """Store a counter-quick rating through the real submission path; return the response id.

    ``comment`` is written to the stored row afterwards *without* masking, as an old row
    might hold it: the agency pages must mask it again before showing it.
    """
    from surveys.submission import Submission, submit_response
    from webapp.extensions import db
    from webapp.models import Response

    moment = answered_at or datetime.now(UTC) - timedelta(minutes=5)
    stored = submit_response(
        Submission(
            client_id=uuid.uuid4(),
            instrument_code="counter-quick",
            unit_code=unit_code,
            service_code=service,
            channel=channel,
            answers={"overall": overall},
            answered_at=moment,
            device=device,
        ),
        now=moment + timedelta(minutes=1),
    )
    if comment is not None:
        db.session.execute(update(Response).where(Response.id == stored.response_id).values(comment=comment))
    db.session.commit()
    return stored.response_id
