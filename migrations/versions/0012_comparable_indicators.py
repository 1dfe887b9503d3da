"""comparable indicators: answer ratios per response

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 00:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


KINDS_BEFORE = "kind IN ('satisfaction', 'coverage')"
KINDS_AFTER = "kind IN ('satisfaction', 'share', 'index', 'coverage')"
STATUSES_BEFORE = "status IN ('met', 'below', 'inconclusive', 'insufficient')"
STATUSES_AFTER = "status IN ('met', 'below', 'inconclusive', 'insufficient', 'no_target')"


def upgrade():
    # Indicators of kind share (yes/no and choice facts) and index (SIPAS-style index, item-level rates).
    with op.batch_alter_table('indicators', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_indicators_kind'), type_='check')
        batch_op.create_check_constraint('kind', KINDS_AFTER)
    # The Ministry of Health mean score needs the sum of each response's rated item answers.
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('items_score_sum', sa.SmallInteger(), server_default='0', nullable=False))
    _fill_score_sums()
    # A figure without a target (an index, a mean score, a share of facts) is published as `no_target`.
    with op.batch_alter_table('published_estimates', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_published_estimates_status'), type_='check')
        batch_op.create_check_constraint('status', STATUSES_AFTER)


def _rated_codes(snapshot) -> set[str]:
    """The items of the item-level rates in an instrument snapshot: five-point items of the aspect
    sections, not their overall items (``surveys.definitions.rated_items``, read from the stored JSON)."""
    return {
        item['code']
        for section in (snapshot or {}).get('sections', [])
        if section.get('aspect')
        for item in section.get('items', [])
        if item.get('type') == 'scale5' and not item.get('aspect_overall')
    }


def _fill_score_sums():
    """Sum the rated answers (1–5) of the responses already stored that rated some items."""
    bind = op.get_bind()
    instruments = sa.table('instruments', sa.column('id'), sa.column('snapshot', sa.JSON))
    responses = sa.table('responses', sa.column('id'), sa.column('instrument_id'), sa.column('answers', sa.JSON),
                         sa.column('items_rated'), sa.column('items_score_sum'))
    rated = {row.id: _rated_codes(row.snapshot) for row in bind.execute(sa.select(instruments.c.id, instruments.c.snapshot))}
    rows = bind.execute(sa.select(responses.c.id, responses.c.instrument_id, responses.c.answers)
                        .where(responses.c.items_rated > 0)).all()
    for row in rows:
        answers = row.answers or {}
        total = sum(value for code in rated.get(row.instrument_id, ())
                    if isinstance(value := answers.get(code), int) and 1 <= value <= 5)
        bind.execute(responses.update().where(responses.c.id == row.id).values(items_score_sum=total))


def downgrade():
    published = sa.table('published_estimates', sa.column('status'))
    # The old schema knows no `no_target`: such rows read "not yet clear" there (no target to judge by).
    op.get_bind().execute(published.update().where(published.c.status == 'no_target').values(status='inconclusive'))
    with op.batch_alter_table('published_estimates', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_published_estimates_status'), type_='check')
        batch_op.create_check_constraint('status', STATUSES_BEFORE)
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_column('items_score_sum')
    with op.batch_alter_table('indicators', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_indicators_kind'), type_='check')
        batch_op.create_check_constraint('kind', KINDS_BEFORE)
