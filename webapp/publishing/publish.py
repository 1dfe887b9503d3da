"""Publishing: freeze a period's estimates in an immutable snapshot; revise only with a reason."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from public import readers
from webapp.audit import record_event
from webapp.extensions import db
from webapp.models import PublishedEstimate, PublishedSnapshot, Response, utcnow
from webapp.periods import VIETNAM, Period
from webapp.publishing.aggregate import PeriodInputs
from webapp.publishing.compute import METHODOLOGY_VERSION, compute_period, period_inputs
from webapp.publishing.drivers import store_drivers

_log = logging.getLogger(__name__)


class PublishError(ValueError):
    """The period cannot be published (not ended, no reason for a revision…)."""


@dataclass(frozen=True)
class Published:
    snapshot_id: int
    period: str
    revision: int
    estimates: int

    def __str__(self) -> str:
        return f"Published {self.period} (revision {self.revision}): {self.estimates} estimates."


#: The latest revision published for a period (the read model's rule, under its publishing name).
current_snapshot = readers.find_snapshot


def _previous_values(period: Period) -> dict[tuple, tuple]:
    """The previous period's published (estimate, se, ci_low, ci_high) per row: changes are judged
    from the two published intervals (Newcombe's MOVER), so the previous interval is what counts."""
    snapshot = current_snapshot(period.previous().label)
    if snapshot is None:
        return {}
    rows = db.session.execute(
        select(
            PublishedEstimate.metric,
            PublishedEstimate.domain_type,
            PublishedEstimate.domain,
            PublishedEstimate.estimate,
            PublishedEstimate.se,
            PublishedEstimate.ci_low,
            PublishedEstimate.ci_high,
        ).where(PublishedEstimate.snapshot_id == snapshot.id, PublishedEstimate.estimate.is_not(None))
    )
    return {(m, t, d): (e, s, lo, hi) for m, t, d, e, s, lo, hi in rows}


def late_ratings_added(period: Period, since: datetime | None) -> dict:
    """What a new snapshot of ``period`` adds that arrived late or was reinstated.

    ``late``: counted ratings received after their quarter (or a period containing it) was
    published, per channel — since ``since`` (the previous revision) when there is one.
    ``reinstated``: flagged ratings an administrator reinstated since then. These are the only
    ways a published figure moves, and each revision says how much of it came from where.
    """
    quarters = [q.label for q in period.quarters]
    late = select(Response.channel, func.count()).where(
        Response.period.in_(quarters), Response.status == "valid", Response.late.is_(True)
    )
    reinstated = (
        select(func.count())
        .select_from(Response)
        .where(Response.period.in_(quarters), Response.status == "valid", Response.reinstated_at.is_not(None))
    )
    if since is not None:
        late = late.where(Response.received_at > since)
        reinstated = reinstated.where(Response.reinstated_at > since)
    by_channel = {channel: count for channel, count in db.session.execute(late.group_by(Response.channel))}
    return {
        "late": dict(sorted(by_channel.items())),
        "late_total": sum(by_channel.values()),
        "reinstated": db.session.scalar(reinstated) or 0,
    }


def _refuse_disclosive(period: Period, computed) -> None:
    """Nothing hidden may be recoverable: the last audit of disclosure control
    (:func:`webapp.publishing.disclosure.control`, the release beside the frozen tables of its year)
    must have found nothing."""
    findings = computed.summary["disclosure"]["findings"]
    if findings:
        shown = "; ".join(findings[:20])
        more = f" (and {len(findings) - 20} more)" if len(findings) > 20 else ""
        raise PublishError(f"{period} was not published: the disclosure audit recovers hidden values: {shown}{more}")


def has_valid_responses(period: Period) -> bool:
    """Whether any counted (valid) response falls in ``period`` — the one rule for "nothing to publish"."""
    quarters = [q.label for q in period.quarters]
    return (
        db.session.scalar(select(Response.id).where(Response.period.in_(quarters), Response.status == "valid").limit(1))
        is not None
    )


def publish_period(
    label: str,
    reason: str | None = None,
    actor: str = "cli",
    now: datetime | None = None,
    inputs: PeriodInputs | None = None,
    progress=None,
) -> Published:
    """Compute and store a snapshot of ``label``; a second publication needs a ``reason``.

    ``inputs`` lets a caller publishing several periods reuse the quarters' SQL sums.
    ``progress(step, steps, what)``, when given, is told each step (a background job shows it).
    """
    report = progress or (lambda step, steps, what: None)
    try:
        period = Period.parse(label)
    except ValueError as error:
        raise PublishError(str(error)) from None
    now = now or utcnow()
    if period.end >= now.astimezone(VIETNAM).date():
        raise PublishError(f"{period} has not ended yet; its figures are still provisional")
    existing = current_snapshot(period.label)
    reason = (reason or "").strip() or None
    if existing is not None and not reason:
        raise PublishError(
            f"{period} was already published (revision {existing.revision}); give the reason for a new revision"
        )
    # Only a period without any valid response has nothing to publish; one whose every figure
    # disclosure control withholds is still published (it shows nothing).
    if not has_valid_responses(period):
        raise PublishError(f"{period} has no responses to publish")
    report(1, 3, "publish.compute")
    inputs = inputs or period_inputs()
    computed = compute_period(period, _previous_values(period), inputs)
    report(2, 3, "publish.store")
    _refuse_disclosive(period, computed)
    revision = (existing.revision + 1) if existing else 1
    summary = {**computed.summary, "added": late_ratings_added(period, existing.published_at if existing else None)}
    try:
        snapshot = PublishedSnapshot(
            period=period.label,
            revision=revision,
            published_at=now,
            published_by=actor,
            reason=reason,
            methodology_version=METHODOLOGY_VERSION,
            instrument_versions=computed.instrument_versions,
            input_hashes=computed.input_hashes,
            summary=summary,
        )
        db.session.add(snapshot)
        db.session.flush()
        columns = readers.STORED_ESTIMATE_COLUMNS
        rows = [{"snapshot_id": snapshot.id, **{name: getattr(r, name) for name in columns}} for r in computed.records]
        if rows:
            db.session.execute(PublishedEstimate.__table__.insert(), rows)
        store_drivers(snapshot.id, computed, inputs)
        record_event(
            "period.publish",
            actor=actor,
            object_type="published_snapshot",
            object_id=snapshot.id,
            after={
                "period": period.label,
                "revision": revision,
                "estimates": len(computed.records),
                "added": summary["added"],
            },
            detail=reason,
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return Published(snapshot.id, period.label, revision, len(computed.records))


def ended_periods(first: Period, now: datetime | None = None) -> list[Period]:
    """Every quarter, half-year and year from ``first``'s year that has ended, oldest first."""
    today = (now or utcnow()).astimezone(VIETNAM).date()
    periods = []
    for year in range(first.year, today.year + 1):
        for period in (
            [Period(year, "Q", q) for q in range(1, 5)]
            + [Period(year, "H", h) for h in (1, 2)]
            + [Period(year, "Y", 1)]
        ):
            if period.end < today:
                periods.append(period)
    return sorted(periods, key=Period.chronological)


def published_count() -> int:
    return db.session.scalar(select(func.count()).select_from(PublishedSnapshot))


@dataclass
class PublishRun:
    """What ``publish --all-ended`` did: published, skipped (no responses) and failed periods."""

    published: list[Published]
    skipped: list[tuple[str, str]]
    failed: list[tuple[str, str]]


def publish_ended_periods(now: datetime | None = None, progress=None) -> PublishRun:
    """Publish, oldest first, every ended period since 2012 that has data and no snapshot yet.

    A period without valid responses is skipped with a note; a period that fails is rolled
    back, logged and listed, and the run goes on: one bad quarter never holds back the rest.
    """
    inputs = period_inputs()
    run = PublishRun([], [], [])
    periods = [p for p in ended_periods(Period(2012, "Y", 1), now) if current_snapshot(p.label) is None]
    for period in periods:
        if not has_valid_responses(period):
            run.skipped.append((period.label, "no valid responses"))
        else:
            try:
                run.published.append(publish_period(period.label, now=now, inputs=inputs))
            except Exception as error:  # noqa: BLE001 — listed and logged; the other periods still publish
                db.session.rollback()
                _log.exception("publishing %s failed", period.label)
                run.failed.append((period.label, str(error) or type(error).__name__))
        if progress is not None:
            progress(period)
    return run
