"""plan targets and values entered by the Department of Home Affairs

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 00:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


#: A value of a plan target entered by hand needs a source (webapp.models.feedback.SOURCE_GIVEN).
SOURCE_GIVEN = "length(trim(source)) > 0"


def upgrade():
    # Values entered before this revision with a blank source cannot be kept as evidence: they say
    # where they come from in their note, or nowhere; mark them so the constraint can hold.
    op.execute(
        sa.text(
            "UPDATE plan_progress_values SET source = '(no source given before revision 0011)' "
            "WHERE length(trim(source)) = 0"
        )
    )
    with op.batch_alter_table('plan_progress_values', schema=None) as batch_op:
        batch_op.create_check_constraint('source_given', SOURCE_GIVEN)


def downgrade():
    with op.batch_alter_table('plan_progress_values', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_plan_progress_values_source_given'), type_='check')
