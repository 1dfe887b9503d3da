"""question audio

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 13:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    # Recorded audio of an instrument version's texts, per language: uploaded, then reviewed by
    # a second person; at most one approved clip per target and language (a partial unique index).
    op.create_table('question_audio',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instrument_id', sa.Integer(), nullable=False),
    sa.Column('target', sa.String(length=120), nullable=False),
    sa.Column('language', sa.String(length=12), nullable=False),
    sa.Column('content_type', sa.String(length=20), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('spoken_text', sa.String(length=2000), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'approved', 'rejected', 'replaced')", name=op.f('ck_question_audio_status')),
    sa.CheckConstraint("content_type IN ('audio/ogg', 'audio/mpeg')", name=op.f('ck_question_audio_content_type')),
    sa.CheckConstraint('size > 0 AND size <= 30720', name=op.f('ck_question_audio_size')),
    sa.CheckConstraint('reviewed_by_id IS NULL OR reviewed_by_id <> uploaded_by_id', name=op.f('ck_question_audio_four_eyes')),
    sa.ForeignKeyConstraint(['instrument_id'], ['instruments.id'], name=op.f('fk_question_audio_instrument_id_instruments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_question_audio_uploaded_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_question_audio_reviewed_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_question_audio'))
    )
    with op.batch_alter_table('question_audio', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_question_audio_instrument_id'), ['instrument_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_question_audio_sha256'), ['sha256'], unique=False)
        batch_op.create_index('uq_question_audio_approved', ['instrument_id', 'target', 'language'], unique=True,
                              sqlite_where=sa.text("status = 'approved'"), postgresql_where=sa.text("status = 'approved'"))


def downgrade():
    with op.batch_alter_table('question_audio', schema=None) as batch_op:
        batch_op.drop_index('uq_question_audio_approved')
        batch_op.drop_index(batch_op.f('ix_question_audio_sha256'))
        batch_op.drop_index(batch_op.f('ix_question_audio_instrument_id'))
    op.drop_table('question_audio')
