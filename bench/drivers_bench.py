"""Time key drivers at publishing on a demo database (bench/README.md, "Key drivers at publishing").

Usage, from the repository root: ``python bench/drivers_bench.py DATABASE_URL RESPONSES``. An empty
database is migrated and seeded with ``RESPONSES`` demo responses from 2024-Q1; then 2026-Q2 is
published once and, three rounds: 2026-Q3 published with and without drivers, and
``store_drivers`` alone.
"""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.conftest import make_app, migrate_database  # noqa: E402
url = sys.argv[1]; responses = int(sys.argv[2])
app = make_app(url)
migrate_database(app)
from datetime import UTC, datetime
NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
with app.app_context():
    from sqlalchemy import select, func, delete
    from webapp.extensions import db
    from webapp.models import Response, PublishedSnapshot, PublishedDriver
    from webapp.periods import Period
    from webapp.publishing import publish as pub
    from webapp.publishing.compute import compute_period, period_inputs
    from webapp.publishing.drivers import store_drivers
    if not db.session.scalar(select(func.count()).select_from(Response)):
        from webapp.demo.seed import seed_demo
        from webapp.registry.loader import DATA_DIR
        from webapp.registry.service import load_everything
        t = time.time(); load_everything(DATA_DIR)
        seed_demo(responses=responses, seed=2012, now=NOW, first_quarter=Period(2024, "Q", 1)); db.session.commit()
        print("seeded", time.time() - t)
        pub.publish_period("2026-Q2", now=NOW)
    q3 = db.session.scalar(select(func.count()).select_from(Response).where(Response.period == "2026-Q3"))
    print("2026-Q3 responses", q3)
    from webapp.models import PublishedEstimate

    def drop():
        ids = db.session.scalars(select(PublishedSnapshot.id).where(PublishedSnapshot.period == "2026-Q3")).all()
        db.session.execute(delete(PublishedDriver).where(PublishedDriver.snapshot_id.in_(ids)))
        db.session.execute(delete(PublishedEstimate).where(PublishedEstimate.snapshot_id.in_(ids)))
        db.session.execute(delete(PublishedSnapshot).where(PublishedSnapshot.id.in_(ids)))
        kept = select(PublishedSnapshot.id)
        db.session.execute(delete(PublishedEstimate).where(PublishedEstimate.snapshot_id.not_in(kept)))
        db.session.execute(delete(PublishedDriver).where(PublishedDriver.snapshot_id.not_in(kept)))
        db.session.commit()
    real = pub.store_drivers
    for round_ in range(3):
        drop()
        t = time.perf_counter(); pub.publish_period("2026-Q3", now=NOW); with_drivers = time.perf_counter() - t
        drop()
        pub.store_drivers = lambda *a, **k: 0
        t = time.perf_counter(); pub.publish_period("2026-Q3", now=NOW); without = time.perf_counter() - t
        pub.store_drivers = real
        inputs = period_inputs()
        computed = compute_period(Period.parse("2026-Q3"), {}, inputs)
        snap = db.session.scalar(select(PublishedSnapshot.id).where(PublishedSnapshot.period == "2026-Q3"))
        t = time.perf_counter(); rows = store_drivers(snap, computed, inputs); alone = time.perf_counter() - t
        db.session.rollback()
        print(f"round {round_}: publish with drivers {with_drivers:.2f} s, without {without:.2f} s, store_drivers alone {alone:.2f} s ({rows} rows)")
