"""score rows of the criteria measured by matrix sampling

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 04:40:00

Each criterion of a sampled section (a ``scale5`` item that is not the aspect's overall
question) now gets a ``response_scores`` row ``item:<code>`` when it was rated (1–5, not
"no opinion"), satisfied = 4 or 5, so its rate over the respondents asked it can be published.
This fills those rows for the responses stored before; it reads the instrument snapshots the
responses were answered on, not today's code, so it means the same thing whenever it runs.
"""
import json

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

BATCH = 5000


def _criteria(snapshot) -> list[str]:
    if isinstance(snapshot, str):
        snapshot = json.loads(snapshot)
    return [item['code']
            for section in snapshot.get('sections', []) if section.get('sample')
            for item in section.get('items', [])
            if item.get('type') == 'scale5' and not item.get('aspect_overall')]


def upgrade():
    connection = op.get_bind()
    instruments = connection.execute(sa.text('SELECT id, snapshot FROM instruments')).all()
    scores = sa.table('response_scores', sa.column('response_id', sa.Integer), sa.column('metric', sa.String),
                      sa.column('satisfied', sa.SmallInteger))
    for instrument_id, snapshot in instruments:
        criteria = _criteria(snapshot)
        if not criteria:
            continue
        last = 0
        while True:
            rows = connection.execute(sa.text(
                'SELECT id, answers FROM responses WHERE instrument_id = :i AND id > :last ORDER BY id LIMIT :n'),
                {'i': instrument_id, 'last': last, 'n': BATCH}).all()
            if not rows:
                break
            last = rows[-1][0]
            ids = [row[0] for row in rows]
            done = {(r, m) for r, m in connection.execute(
                sa.select(scores.c.response_id, scores.c.metric).where(
                    scores.c.response_id.in_(ids), scores.c.metric.like('item:%')))}
            new = []
            for response_id, answers in rows:
                if isinstance(answers, str):
                    answers = json.loads(answers)
                for code in criteria:
                    value = (answers or {}).get(code)
                    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 5 \
                            and (response_id, f'item:{code}') not in done:
                        new.append({'response_id': response_id, 'metric': f'item:{code}', 'satisfied': int(value >= 4)})
            if new:
                op.bulk_insert(scores, new)


def downgrade():
    op.execute("DELETE FROM response_scores WHERE metric LIKE 'item:%'")
