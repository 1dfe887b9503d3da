"""The shared ``rate`` factory (tests/conftest.py) stores what its keywords say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

SEPTEMBER = datetime(2026, 9, 10, 2, 0, tzinfo=UTC)


def stored(db, ids):
    from webapp.models import Response

    rows = db.session.scalars(select(Response).where(Response.id.in_(ids)).order_by(Response.id)).all()
    assert len(rows) == len(ids) > 0
    return rows


def test_a_split_of_online_ratings_is_stored_once_each_and_dated_by_the_server(db, rate):
    ids = rate("sl-ca", "residence", satisfied=2, count=5, start=SEPTEMBER, mode="read_aloud", language="en")
    rows = stored(db, ids)
    assert [r.answers["overall"] for r in rows] == [5, 5, 1, 1, 1]
    assert {(r.unit.code, r.service.code, r.channel, r.mode, r.language) for r in rows} == {
        ("sl-ca", "residence", "online", "read_aloud", "en")
    }
    received = SEPTEMBER + timedelta(minutes=7 * 4 + 1)
    assert {r.answered_at for r in rows} == {received}, "online: dated when received"


def test_kiosk_ratings_keep_their_answer_times_and_comments_are_stored_unmasked(db, rate, make_device):
    device, _ = make_device("sl-ttpvhcc")
    ids = rate(
        overall=4, count=3, device=device, start=SEPTEMBER, every=timedelta(minutes=9), comment="Chị Lan, 0912345678"
    )
    rows = stored(db, ids)
    assert [r.channel for r in rows] == ["kiosk"] * 3 and [r.answers["overall"] for r in rows] == [4, 4, 4]
    assert [r.answered_at for r in rows] == [SEPTEMBER + timedelta(minutes=9 * i) for i in range(3)]
    assert [r.comment for r in rows] == ["Chị Lan, 0912345678"] * 3


def test_by_default_one_rating_was_answered_minutes_ago(db, rate):
    before = datetime.now(UTC)
    (only,) = stored(db, rate())
    assert (only.unit.code, only.service.code, only.answers["overall"]) == ("sl-ttpvhcc", "land", 5)
    assert before - timedelta(minutes=5) <= only.answered_at <= datetime.now(UTC)


def test_a_split_larger_than_the_count_is_refused(rate):
    with pytest.raises(ValueError, match="satisfied"):
        rate(satisfied=3, count=2)
