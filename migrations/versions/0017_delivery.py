"""survey link deliveries, opt-outs and caps

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 05:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    # One row per message asked for (channel, status, attempts); never the phone number or e-mail.
    op.create_table('deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('receipt_token_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=True),
    sa.Column('provider_ref', sa.String(length=120), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("(status = 'sent') = (sent_at IS NOT NULL)", name=op.f('ck_deliveries_sent_with_time')),
    sa.CheckConstraint("channel IN ('email', 'sms', 'zalo')", name=op.f('ck_deliveries_channel')),
    sa.CheckConstraint("status IN ('queued', 'sent', 'failed', 'opted_out', 'capped')", name=op.f('ck_deliveries_status')),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_deliveries_attempts_not_negative')),
    sa.ForeignKeyConstraint(['receipt_token_id'], ['receipt_tokens.id'], name=op.f('fk_deliveries_receipt_token_id_receipt_tokens'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_deliveries_service_id_services'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_deliveries_unit_id_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries'))
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_receipt_token_id', ['receipt_token_id'], unique=False)
        batch_op.create_index('ix_deliveries_unit_created', ['unit_id', 'created_at'], unique=False)

    # Opt-outs: a keyed hash of the normalised contact only.
    op.create_table('delivery_optouts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_digest', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_optouts')),
    sa.UniqueConstraint('contact_digest', name=op.f('uq_delivery_optouts_contact_digest'))
    )

    # Per-unit, per-channel, per-day (Việt Nam) counters for the daily cap.
    op.create_table('delivery_daily_counts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('messages', sa.Integer(), nullable=False),
    sa.CheckConstraint("channel IN ('email', 'sms', 'zalo')", name=op.f('ck_delivery_daily_counts_channel')),
    sa.CheckConstraint('messages >= 0', name=op.f('ck_delivery_daily_counts_messages_not_negative')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_delivery_daily_counts_unit_id_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_daily_counts')),
    sa.UniqueConstraint('unit_id', 'channel', 'day', name=op.f('uq_delivery_daily_counts_unit_id_channel_day'))
    )


def downgrade():
    op.drop_table('delivery_daily_counts')
    op.drop_table('delivery_optouts')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_unit_created')
        batch_op.drop_index('ix_deliveries_receipt_token_id')
    op.drop_table('deliveries')
