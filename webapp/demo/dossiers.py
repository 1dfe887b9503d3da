"""Demo dossiers of the one-stop system, reported through the real API (issue #15).

``flask demo seed`` calls :func:`seed_dossiers` after the responses: it makes an integration
client for the whole province and posts a few thousand returned dossiers of the last 30 days to
``POST /api/v1/dossiers/batch`` with the client's bearer token (the Flask test client, so the
same validation, idempotency and audit apply as for the real system). Units and services are drawn
in proportion to the dossier counts of the latest imported quarter of the administrative sector.
No contact is given, so nothing is sent. The client's token is not kept: make a real client with
``flask --app webapp integrations create`` or on ``/admin/integrations``.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from webapp.extensions import db, limiter
from webapp.integrations import service
from webapp.models import IntegrationClient, Service, TransactionCount, Unit
from webapp.periods import VIETNAM, vietnam_today

#: Dossiers at the default demo size (120,000 responses); smaller demos get proportionally fewer.
DEFAULT_DOSSIERS = 3_000
RESPONSES_PER_DOSSIER = 40
BATCH = 500
DAYS_BACK = 30
CLIENT_NAME = "Hệ thống một cửa tỉnh (demo)"


def dossiers_for(responses: int) -> int:
    return min(DEFAULT_DOSSIERS, responses // RESPONSES_PER_DOSSIER)


def _cells() -> list[tuple[str, str, int]]:
    """``(unit code, service code, weight)`` of the administrative sector's latest imported quarter, offered today."""
    latest = db.session.scalar(
        select(func.max(TransactionCount.period))
        .join(Unit, TransactionCount.unit_id == Unit.id)
        .where(Unit.sector == "admin")
    )
    if latest is None:
        return []
    rows = db.session.execute(
        select(Unit, Service, func.sum(TransactionCount.count))
        .join(Unit, TransactionCount.unit_id == Unit.id)
        .join(Service, TransactionCount.service_id == Service.id)
        .where(TransactionCount.period == latest, Unit.sector == "admin")
        .group_by(Unit.id, Service.id)
        .order_by(Unit.code, Service.code)
    ).all()
    today = vietnam_today()
    return [
        (unit.code, svc.code, int(total))
        for unit, svc, total in rows
        if total and unit.valid_on(today) and svc in unit.services_on(today)
    ]


def seed_dossiers(count: int = DEFAULT_DOSSIERS, seed: int = 2012, now: datetime | None = None) -> str:
    """Post ``count`` demo dossiers through the API; a one-line summary."""
    if count <= 0:
        return "Demo dossiers: none."
    if db.session.scalar(select(func.count()).select_from(IntegrationClient)):
        return "Demo dossiers: an integration client already exists; none added."
    cells = _cells()
    province = db.session.scalar(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.code))
    if not cells or province is None:
        return "Demo dossiers: no dossier counts imported; none added."
    new = service.create_client(CLIENT_NAME, province)
    db.session.commit()
    now = (now or datetime.now(UTC)).astimezone(UTC)
    rand = random.Random(seed)  # noqa: S311 (reproducible demo data, not secrets)  # nosec B311
    weights = [weight for _, _, weight in cells]
    http = current_app.test_client()
    statuses: dict[int, int] = {}
    was_enabled = limiter.enabled
    limiter.enabled = False  # the demo posts thousands at once; the per-client limit is for real systems
    try:
        for start in range(0, count, BATCH):
            documents = []
            for number in range(start, min(start + BATCH, count)):
                unit_code, service_code, _ = rand.choices(cells, weights)[0]
                returned = now - timedelta(minutes=rand.randrange(30, DAYS_BACK * 24 * 60))
                documents.append(
                    {
                        "dossier_number": f"DEMO.{unit_code}-{returned.astimezone(VIETNAM):%y%m%d}-{number:05}",
                        "unit": unit_code,
                        "service": service_code,
                        "returned_at": returned.isoformat(),
                        "respondent_type": "business" if rand.random() < 0.1 else "citizen",
                    }
                )
            answer = http.post(
                "/api/v1/dossiers/batch", json={"dossiers": documents}, headers={"Authorization": f"Bearer {new.token}"}
            )
            if answer.status_code != 200:
                raise RuntimeError(f"demo dossiers refused: {answer.status_code} {answer.get_data(as_text=True)[:300]}")
            for result in answer.get_json()["results"]:
                statuses[result["status"]] = statuses.get(result["status"], 0) + 1
    finally:
        limiter.enabled = was_enabled
    return (
        f"Demo dossiers: {statuses.get(201, 0)} survey links issued through POST /api/v1/dossiers/batch "
        f"by client {new.client.client_id} ({sum(statuses.values()) - statuses.get(201, 0)} refused or repeated)."
    )
