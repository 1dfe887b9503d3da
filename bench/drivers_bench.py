"""Time key drivers at publishing on a demo database (bench/README.md, "Key drivers at publishing").

Usage, from the repository root: ``python bench/drivers_bench.py DATABASE_URL RESPONSES``. An empty
database is migrated and seeded with ``RESPONSES`` demo responses from 2024-Q1; then 2026-Q2 is
published once and, in three rounds: 2026-Q3 published with and without drivers, and
``store_drivers`` alone.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


def main(url: str, responses: int) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from sqlalchemy import delete, func, select

    from tests.conftest import make_app, migrate_database

    app = make_app(url)
    migrate_database(app)
    with app.app_context():
        from webapp.extensions import db
        from webapp.models import PublishedDriver, PublishedEstimate, PublishedSnapshot, Response
        from webapp.periods import Period
        from webapp.publishing import publish as pub
        from webapp.publishing.compute import compute_period, period_inputs
        from webapp.publishing.drivers import store_drivers

        if not db.session.scalar(select(func.count()).select_from(Response)):
            from webapp.demo.seed import seed_demo
            from webapp.registry.loader import DATA_DIR
            from webapp.registry.service import load_everything

            start = time.time()
            load_everything(DATA_DIR)
            seed_demo(responses=responses, seed=2012, now=NOW, first_quarter=Period(2024, "Q", 1))
            db.session.commit()
            print("seeded", time.time() - start)
            pub.publish_period("2026-Q2", now=NOW)
        print(
            "2026-Q3 responses",
            db.session.scalar(select(func.count()).select_from(Response).where(Response.period == "2026-Q3")),
        )

        def drop():
            ids = db.session.scalars(select(PublishedSnapshot.id).where(PublishedSnapshot.period == "2026-Q3")).all()
            db.session.execute(delete(PublishedDriver).where(PublishedDriver.snapshot_id.in_(ids)))
            db.session.execute(delete(PublishedEstimate).where(PublishedEstimate.snapshot_id.in_(ids)))
            db.session.execute(delete(PublishedSnapshot).where(PublishedSnapshot.id.in_(ids)))
            db.session.commit()

        real = pub.store_drivers
        for round_ in range(3):
            drop()
            start = time.perf_counter()
            pub.publish_period("2026-Q3", now=NOW)
            with_drivers = time.perf_counter() - start
            drop()
            pub.store_drivers = lambda *args, **kwargs: 0
            start = time.perf_counter()
            pub.publish_period("2026-Q3", now=NOW)
            without = time.perf_counter() - start
            pub.store_drivers = real
            inputs = period_inputs()
            computed = compute_period(Period.parse("2026-Q3"), {}, inputs)
            snapshot = db.session.scalar(select(PublishedSnapshot.id).where(PublishedSnapshot.period == "2026-Q3"))
            start = time.perf_counter()
            rows = store_drivers(snapshot, computed, inputs)
            alone = time.perf_counter() - start
            db.session.rollback()
            print(
                f"round {round_}: publish with drivers {with_drivers:.2f} s, without {without:.2f} s, "
                f"store_drivers alone {alone:.2f} s ({rows} rows)"
            )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
