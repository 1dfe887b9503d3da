"""sms conversations

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 13:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    # One citizen's SMS questionnaire: a keyed hash of the phone number, never the number itself.
    op.create_table('sms_conversations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phone_digest', sa.String(length=64), nullable=False),
    sa.Column('scope', sa.String(length=40), nullable=False),
    sa.Column('origin', sa.String(length=10), nullable=False),
    sa.Column('receipt_token_id', sa.Integer(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('instrument_code', sa.String(length=40), nullable=False),
    sa.Column('instrument_version', sa.Integer(), nullable=False),
    sa.Column('respondent_type', sa.String(length=20), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('question', sa.Integer(), nullable=False),
    sa.Column('retries', sa.Integer(), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('response_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('repeat_noticed', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('purge_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(origin = 'dossier') = (receipt_token_id IS NOT NULL)", name=op.f('ck_sms_conversations_dossier_with_token')),
    sa.CheckConstraint("origin IN ('dossier', 'poster')", name=op.f('ck_sms_conversations_origin')),
    sa.CheckConstraint("state IN ('asking', 'answered', 'stopped', 'ended')", name=op.f('ck_sms_conversations_state')),
    sa.CheckConstraint('question >= 0 AND retries >= 0', name=op.f('ck_sms_conversations_counters_not_negative')),
    sa.ForeignKeyConstraint(['receipt_token_id'], ['receipt_tokens.id'], name=op.f('fk_sms_conversations_receipt_token_id_receipt_tokens'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], name=op.f('fk_sms_conversations_response_id_responses'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_sms_conversations_service_id_services'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_sms_conversations_unit_id_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_conversations')),
    sa.UniqueConstraint('client_id', name=op.f('uq_sms_conversations_client_id')),
    sa.UniqueConstraint('phone_digest', 'scope', name=op.f('uq_sms_conversations_phone_digest_scope'))
    )
    with op.batch_alter_table('sms_conversations', schema=None) as batch_op:
        batch_op.create_index('ix_sms_conversations_phone_state', ['phone_digest', 'state'], unique=False)
        batch_op.create_index('ix_sms_conversations_purge_at', ['purge_at'], unique=False)

    # Gateway message ids already handled: a webhook delivered again is a no-op.
    op.create_table('sms_inbound_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('gateway_message_id', sa.String(length=100), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_inbound_messages')),
    sa.UniqueConstraint('gateway_message_id', name=op.f('uq_sms_inbound_messages_gateway_message_id'))
    )
    with op.batch_alter_table('sms_inbound_messages', schema=None) as batch_op:
        batch_op.create_index('ix_sms_inbound_messages_received_at', ['received_at'], unique=False)


def downgrade():
    with op.batch_alter_table('sms_inbound_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_sms_inbound_messages_received_at')
    op.drop_table('sms_inbound_messages')
    with op.batch_alter_table('sms_conversations', schema=None) as batch_op:
        batch_op.drop_index('ix_sms_conversations_purge_at')
        batch_op.drop_index('ix_sms_conversations_phone_state')
    op.drop_table('sms_conversations')
