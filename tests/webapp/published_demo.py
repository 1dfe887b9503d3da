"""Demo data with two published quarters: the start of the tests of files built from published results."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import delete, select

from webapp.models import Response

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
PERIOD, PREVIOUS = "2026-Q3", "2026-Q2"


def seed_and_publish(*, responses: int, seed: int, first_quarter: str, periods: list[str]) -> None:
    """Load the registry, seed ``responses`` demo responses from ``first_quarter`` to ``NOW`` and
    publish ``periods`` in order (quarters before their half-year and year, as ``publish --all-ended``).

    Call it in an application context.
    """
    from tests.registry_rows import load_registry
    from webapp.demo.seed import seed_demo
    from webapp.extensions import db
    from webapp.periods import Period
    from webapp.publishing.compute import period_inputs
    from webapp.publishing.publish import publish_period

    load_registry(db)
    seed_demo(responses=responses, seed=seed, now=NOW, first_quarter=Period.parse(first_quarter))
    inputs = period_inputs()
    for label in periods:
        publish_period(label, now=NOW, inputs=inputs)


@contextmanager
def published_app(app, **seeding) -> Iterator:
    """``app`` with :func:`seed_and_publish` (``seeding``) done and committed; its tables emptied afterwards.

    For module fixtures: ``with published_app(app, responses=…, …) as published: yield published``.
    """
    from tests.conftest import empty_all_tables
    from webapp.extensions import db

    with app.app_context():
        seed_and_publish(**seeding)
        db.session.commit()
        db.session.remove()
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            empty_all_tables(db)


def publish_demo_quarters(*, responses: int, seed: int) -> list[Response]:
    """Seed ``responses`` demo responses from 2026-Q2 on, publish ``PREVIOUS`` and ``PERIOD``, then
    remove every comment review (the demo seed moderates some); ``PERIOD``'s commented responses, by id.

    Call it in an application context; the caller adds its reviews and commits.
    """
    from webapp.extensions import db
    from webapp.models.feedback import CommentReview

    seed_and_publish(responses=responses, seed=seed, first_quarter=PREVIOUS, periods=[PREVIOUS, PERIOD])
    db.session.execute(delete(CommentReview))
    return list(
        db.session.scalars(
            select(Response).where(Response.period == PERIOD, Response.comment.is_not(None)).order_by(Response.id)
        )
    )
