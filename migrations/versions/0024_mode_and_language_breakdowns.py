"""mode and language breakdowns

Published estimates and drivers may now be by ``mode`` (self, read aloud, assisted, SMS) and by
``language``: both tables' ``domain_type`` check constraints gain the two domain types.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 13:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

BEFORE = ('province', 'sector', 'district', 'commune', 'unit', 'service', 'channel', 'respondent_type')
AFTER = (*BEFORE, 'mode', 'language')
TABLES = ('published_estimates', 'published_drivers')


def _one_of(values):
    return f"domain_type IN ({', '.join(repr(v) for v in values)})"


def _set_domain_types(values):
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'ck_{table}_domain_type'), type_='check')
            batch_op.create_check_constraint('domain_type', _one_of(values))


def upgrade():
    _set_domain_types(AFTER)


def downgrade():
    # Rows by mode or language cannot exist in the old schema: they are dropped (they are
    # recomputed by publishing the period again after upgrading).
    for table in TABLES:
        rows = sa.table(table, sa.column('domain_type', sa.String))
        op.get_bind().execute(rows.delete().where(rows.c.domain_type.in_(('mode', 'language'))))
    _set_domain_types(BEFORE)
