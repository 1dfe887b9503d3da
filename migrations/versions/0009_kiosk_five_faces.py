"""kiosk five faces and the three-face series kept apart

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 00:40:00

The counter quick rating moves from three faces (version 1: 3 very satisfied, 2 satisfied,
1 not satisfied) to five labelled faces (version 2: 1 … 5, satisfied = 4 or 5), so
``responses.kiosk_rating`` may now hold 1–5. Answers on different scales are never pooled:
the stored scores of ratings given on a three-face version move from ``sat-agencies`` to its
own series ``sat-agencies-3face``. Which versions had three faces is read from each stored
instrument snapshot (the type of its ``overall`` item), not from a version number.

Downgrade puts the scores back under ``sat-agencies`` and, since the old constraint allows
only 1–3, clears ``kiosk_rating`` of ratings given on a five-face version (their answers keep
the value).
"""
import json
from contextlib import contextmanager

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


INSTRUMENT = 'counter-quick'
OLD_METRIC = 'sat-agencies'
SERIES_METRIC = 'sat-agencies-3face'


def _overall_type(snapshot):
    """The item type of the snapshot's ``overall`` item (None when it has none)."""
    if isinstance(snapshot, str):
        snapshot = json.loads(snapshot)
    for section in (snapshot or {}).get('sections', []):
        for item in section.get('items', []):
            if item.get('code') == 'overall':
                return item.get('type')
    return None


def _versions_by_scale(connection):
    """``{item type: [instrument ids]}`` of the stored counter quick rating versions."""
    rows = connection.execute(
        sa.text('SELECT id, snapshot FROM instruments WHERE code = :code'), {'code': INSTRUMENT}
    ).all()
    found = {}
    for instrument_id, snapshot in rows:
        found.setdefault(_overall_type(snapshot), []).append(instrument_id)
    return found


def _move_scores(connection, instrument_ids, from_metric, to_metric):
    if not instrument_ids:
        return
    statement = sa.text(
        'UPDATE response_scores SET metric = :to_metric WHERE metric = :from_metric AND response_id IN '
        '(SELECT id FROM responses WHERE instrument_id IN :ids)'
    ).bindparams(sa.bindparam('ids', expanding=True))
    connection.execute(statement, {'to_metric': to_metric, 'from_metric': from_metric, 'ids': list(instrument_ids)})


@contextmanager
def _sqlite_foreign_keys_off(connection):
    """SQLite rebuilds ``responses`` to change a check: with foreign keys on, dropping the old table
    would delete its scores and comment reviews (ON DELETE CASCADE) or fail on a used receipt code.
    The pragma only takes effect outside a transaction, so it is set when none is open yet."""
    driver = connection.connection.driver_connection if connection.dialect.name == 'sqlite' else None
    switch = driver is not None and not driver.in_transaction and connection.exec_driver_sql('PRAGMA foreign_keys').scalar()
    if switch:
        connection.exec_driver_sql('PRAGMA foreign_keys=OFF')
    try:
        yield
    finally:
        if switch:
            connection.exec_driver_sql('PRAGMA foreign_keys=ON')


def _set_kiosk_rating_check(highest):
    with _sqlite_foreign_keys_off(op.get_bind()), op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_responses_kiosk_rating'), type_='check')
        batch_op.create_check_constraint('kiosk_rating', f'kiosk_rating IS NULL OR kiosk_rating BETWEEN 1 AND {highest}')


def upgrade():
    _set_kiosk_rating_check(5)
    connection = op.get_bind()
    _move_scores(connection, _versions_by_scale(connection).get('scale3', []), OLD_METRIC, SERIES_METRIC)


def downgrade():
    connection = op.get_bind()
    versions = _versions_by_scale(connection)
    _move_scores(connection, versions.get('scale3', []), SERIES_METRIC, OLD_METRIC)
    five_faces = [i for scale, ids in versions.items() if scale != 'scale3' for i in ids]
    if five_faces:
        connection.execute(
            sa.text('UPDATE responses SET kiosk_rating = NULL WHERE instrument_id IN :ids').bindparams(
                sa.bindparam('ids', expanding=True)
            ),
            {'ids': five_faces},
        )
    _set_kiosk_rating_check(3)
