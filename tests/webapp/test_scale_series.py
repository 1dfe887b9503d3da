"""The break in the counter series: three-face and five-face ratings are never pooled.

Version 1 of ``counter-quick`` had three faces (no neutral level), version 2 has five. Ratings
keep the scale they were given on: five-point answers feed ``sat-agencies``, three-face ones
``sat-agencies-3face`` only — in the stored scores, in the published estimates, and in the
migration that re-keyed the scores stored before the change.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, select, text

from tests.conftest import REPO, add_dossier_counts, complete_online_answers, make_app
from webapp.models import PublishedEstimate, PublishedSnapshot

OLD_QUARTER_START = datetime(2026, 2, 2, 2, 0, tzinfo=UTC)  # 09:00 in Sơn La, 2026-Q1
NEW_QUARTER_START = datetime(2026, 8, 3, 2, 0, tzinfo=UTC)  # 2026-Q3
PUBLISHED_AT = datetime(2027, 1, 15, 3, 0, tzinfo=UTC)
THREE_FACE_RATINGS = [3, 2, 2, 1, 3, 2] * 5  # 30 on version 1
FIVE_FACE_RATINGS = [5, 4, 3, 2, 1, 4] * 5  # 30 on version 2
PROCEDURE_ANSWERS = 30


def _submit(submission, moment):
    from surveys.submission import submit_response

    stored = submit_response(submission, now=moment)
    assert stored.created and not stored.flagged
    return moment + timedelta(minutes=5)


def _kiosk(device, version: int, ratings: list[int], moment: datetime) -> datetime:
    from surveys.submission import Submission

    for rating in ratings:
        moment = _submit(
            Submission(
                client_id=uuid.uuid4(),
                instrument_code="counter-quick",
                instrument_version=version,
                unit_code="sl-ttpvhcc",
                service_code="land",
                channel="kiosk",
                answers={"overall": rating},
                device=device,
            ),
            moment,
        )
    return moment


def _procedures(count: int, moment: datetime) -> datetime:
    from surveys.submission import Submission

    for index in range(count):
        code, answers = complete_online_answers("land", rating=3 + index % 2)
        moment = _submit(
            Submission(
                client_id=uuid.uuid4(),
                instrument_code=code,
                unit_code="sl-ttpvhcc",
                service_code="land",
                channel="online",
                answers=answers,
            ),
            moment,
        )
    return moment


def _published_n(db, period: str, metric: str) -> int | None:
    snapshot = db.session.scalar(select(PublishedSnapshot).where(PublishedSnapshot.period == period))
    return db.session.scalar(
        select(PublishedEstimate.n).where(
            PublishedEstimate.snapshot_id == snapshot.id,
            PublishedEstimate.metric == metric,
            PublishedEstimate.domain_type == "province",
        )
    )


def test_both_eras_are_published_without_pooling_the_scales(db, registry, make_device):
    """A quarter of three-face ratings and procedure answers, a later one of five-face ratings."""
    from webapp.publishing.publish import publish_period

    device, _ = make_device()
    moment = _kiosk(device, 1, THREE_FACE_RATINGS, OLD_QUARTER_START)
    _procedures(PROCEDURE_ANSWERS, moment)
    _kiosk(device, 2, FIVE_FACE_RATINGS, NEW_QUARTER_START)
    add_dossier_counts("sl-ttpvhcc", "land", {"2026-Q1": 2000, "2026-Q3": 2000})
    for period in ("2026-Q1", "2026-Q3", "2026"):
        publish_period(period, now=PUBLISHED_AT)

    # The old quarter: sat-agencies counts only the five-point answers (the procedure
    # questionnaire's overall item); the three-face series has exactly the version 1 ratings.
    assert _published_n(db, "2026-Q1", "sat-agencies") == PROCEDURE_ANSWERS
    assert _published_n(db, "2026-Q1", "sat-agencies-3face") == len(THREE_FACE_RATINGS)
    # The new quarter: the five faces count in sat-agencies; the three-face series has nothing.
    assert _published_n(db, "2026-Q3", "sat-agencies") == len(FIVE_FACE_RATINGS)
    assert _published_n(db, "2026-Q3", "sat-agencies-3face") is None
    # The year spans the break: still no pooling across scales.
    assert _published_n(db, "2026", "sat-agencies") == PROCEDURE_ANSWERS + len(FIVE_FACE_RATINGS)
    assert _published_n(db, "2026", "sat-agencies-3face") == len(THREE_FACE_RATINGS)


# --- migration 0009: the scores stored before the change move to their own series ---------------


def _plant_before_0009(connection) -> dict[str, int]:
    """Two counter quick versions (three and five faces, as their snapshots say) and one response each."""
    from surveys import definitions

    connection.execute(
        text(
            "INSERT INTO units (id, code, name_vi, name_en, kind, sector, path, valid_from, illustrative) "
            "VALUES (1, 'sl', 'Sơn La', 'Son La', 'province', 'admin', '/1/', '2004-01-01', 0)"
        )
    )
    connection.execute(
        text(
            "INSERT INTO services (id, code, name_vi, name_en, sector, kind, instrument_code) "
            "VALUES (1, 'land', 'Đất đai', 'Land', 'admin', 'procedure_group', 'admin-procedure')"
        )
    )
    ids = {}
    for number, (code, version) in enumerate(
        (("counter-quick", 1), ("counter-quick", 2), ("admin-procedure", 1)), start=1
    ):
        instrument = definitions.load_instrument(REPO / "surveys" / "instruments" / f"{code}.v{version}.yaml")
        connection.execute(
            text(
                "INSERT INTO instruments (id, code, version, content_hash, snapshot, sector, active, loaded_at) "
                "VALUES (:id, :code, :version, :hash, :snapshot, 'admin', 1, '2026-01-01 00:00:00')"
            ),
            {
                "id": number,
                "code": code,
                "version": version,
                "hash": definitions.content_hash(instrument),
                "snapshot": json.dumps(definitions.snapshot(instrument)),
            },
        )
        connection.execute(
            text(
                "INSERT INTO responses (id, client_id, instrument_id, unit_id, service_id, channel, respondent_type, "
                "period, answered_at, received_at, answers, reasons, kiosk_rating, items_rated, items_satisfied, "
                "consent_demographics, status, quality_flags, late) VALUES (:id, :client, :id, 1, 1, 'kiosk', "
                "'citizen', '2026-Q1', '2026-02-02 02:00:00', '2026-02-02 02:00:00', '{}', '[]', :rating, 0, 0, 0, "
                "'valid', '[]', 0)"
            ),
            {"id": number, "client": uuid.uuid4().hex, "rating": 2 if code == "counter-quick" else None},
        )
        connection.execute(
            text("INSERT INTO response_scores (response_id, metric, satisfied) VALUES (:id, 'sat-agencies', 1)"),
            {"id": number},
        )
        ids[f"{code}.v{version}"] = number
    return ids


def _metrics(connection) -> dict[int, str]:
    return dict(connection.execute(text("SELECT response_id, metric FROM response_scores")).all())


def test_migration_moves_three_face_scores_to_their_own_series_and_back(tmp_path):
    from flask_migrate import downgrade, upgrade

    url = f"sqlite:///{tmp_path / 'series.sqlite3'}"
    app = make_app(url)
    migrations = str(REPO / "migrations")
    with app.app_context():
        upgrade(directory=migrations, revision="0008")
        engine = create_engine(url)
        with engine.begin() as connection:
            ids = _plant_before_0009(connection)
        upgrade(directory=migrations, revision="0009")
        with engine.begin() as connection:
            assert _metrics(connection) == {
                ids["counter-quick.v1"]: "sat-agencies-3face",
                ids["counter-quick.v2"]: "sat-agencies",
                ids["admin-procedure.v1"]: "sat-agencies",
            }
            # Five faces fit the widened check; six do not.
            connection.execute(
                text("UPDATE responses SET kiosk_rating = 5 WHERE id = :id"), {"id": ids["counter-quick.v2"]}
            )
        with pytest.raises(Exception, match="CHECK constraint failed"), engine.begin() as connection:
            connection.execute(
                text("UPDATE responses SET kiosk_rating = 6 WHERE id = :id"), {"id": ids["counter-quick.v2"]}
            )
        downgrade(directory=migrations, revision="0008")
        with engine.begin() as connection:
            assert _metrics(connection) == dict.fromkeys(ids.values(), "sat-agencies")
            ratings = dict(connection.execute(text("SELECT id, kiosk_rating FROM responses")).all())
            # The old check allows 1–3 only: a five-face rating keeps its answer, not the column.
            assert ratings == {
                ids["counter-quick.v1"]: 2,
                ids["counter-quick.v2"]: None,
                ids["admin-procedure.v1"]: None,
            }
        engine.dispose()
