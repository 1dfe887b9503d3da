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


def upgrade():
    # Indicators of kind share (yes/no and choice facts) and index (SIPAS-style index, item-level rates).
    with op.batch_alter_table('indicators', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_indicators_kind'), type_='check')
        batch_op.create_check_constraint('kind', KINDS_AFTER)


def downgrade():
    with op.batch_alter_table('indicators', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_indicators_kind'), type_='check')
        batch_op.create_check_constraint('kind', KINDS_BEFORE)
