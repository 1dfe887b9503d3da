"""instrument revisions, matrix sampling and drop-off

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 00:40:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    # Matrix sampling: the items each respondent was asked (null: everything).
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'asked_items', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))

    # Anonymous drop-off counters of the online survey: sessions reaching each page, per day.
    op.create_table('dropoff_counts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instrument_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('page', sa.SmallInteger(), nullable=False),
    sa.Column('section', sa.String(length=40), nullable=True),
    sa.Column('sessions', sa.Integer(), nullable=False),
    sa.CheckConstraint('page >= 0', name=op.f('ck_dropoff_counts_page_not_negative')),
    sa.CheckConstraint('sessions >= 0', name=op.f('ck_dropoff_counts_sessions_not_negative')),
    sa.ForeignKeyConstraint(['instrument_id'], ['instruments.id'], name=op.f('fk_dropoff_counts_instrument_id_instruments'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dropoff_counts')),
    sa.UniqueConstraint('instrument_id', 'day', 'page', name=op.f('uq_dropoff_counts_instrument_id_day_page'))
    )


def downgrade():
    op.drop_table('dropoff_counts')
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_column('asked_items')
