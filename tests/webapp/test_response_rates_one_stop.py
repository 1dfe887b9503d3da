"""Links issued through the one-stop integration (the ``dossiers`` table) are counted apart."""

from __future__ import annotations

from datetime import timedelta

from tests.webapp.agency_fixtures import OURS
from tests.webapp.test_response_rates import at, by_unit, plant, quarter  # noqa: F401 (the fixture)


def test_one_stop_column_counts_the_dossiers_rows(db, unit_by_code, quarter):  # noqa: F811
    from sqlalchemy import select

    from webapp.models.integrations import Dossier, IntegrationClient
    from webapp.portal.response_rates import period_response_rates, subtree_ids

    ours, _theirs, _centre, land, ReceiptToken = plant(db, unit_by_code, quarter)
    client = IntegrationClient(client_id="ic_test", name="Hệ thống một cửa tỉnh", token_hash="0" * 64, unit=ours)
    db.session.add(client)
    tokens = db.session.scalars(
        select(ReceiptToken).where(ReceiptToken.unit_id == ours.id).order_by(ReceiptToken.issued_at)
    ).all()
    # Three links of the quarter and the one of the quarter before came through the one-stop system.
    chosen = [t for t in tokens if t.issued_at >= at(quarter.start)][:3] + [tokens[0]]
    for token in chosen:
        db.session.add(
            Dossier(
                receipt_token=token,
                client=client,
                unit_id=ours.id,
                service_id=land.id,
                returned_at=token.issued_at - timedelta(minutes=5),
            )
        )
    db.session.commit()
    rows = by_unit(period_response_rates(subtree_ids(ours), quarter))
    assert rows[(OURS, "land")].one_stop == 3
    assert rows[(OURS, "land")].issued == 11
    assert rows[("ttpv-n03688", "land")].one_stop == 0
