"""drivers, comment themes and action plans

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 08:44:07.648061

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('published_drivers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('snapshot_id', sa.Integer(), nullable=False),
    sa.Column('indicator', sa.String(length=60), nullable=False),
    sa.Column('domain_type', sa.String(length=20), nullable=False),
    sa.Column('domain', sa.String(length=40), nullable=False),
    sa.Column('aspect', sa.String(length=60), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('performance', sa.Float(), nullable=False),
    sa.Column('coefficient', sa.Float(), nullable=True),
    sa.Column('se', sa.Float(), nullable=True),
    sa.Column('ci_low', sa.Float(), nullable=True),
    sa.Column('ci_high', sa.Float(), nullable=True),
    sa.Column('rank', sa.Integer(), nullable=True),
    sa.Column('extra', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.CheckConstraint("domain_type IN ('province', 'sector', 'district', 'commune', 'unit', 'service', 'channel', 'respondent_type')", name=op.f('ck_published_drivers_domain_type')),
    sa.CheckConstraint('n > 0', name=op.f('ck_published_drivers_n_positive')),
    sa.ForeignKeyConstraint(['snapshot_id'], ['published_snapshots.id'], name=op.f('fk_published_drivers_snapshot_id_published_snapshots'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_published_drivers')),
    sa.UniqueConstraint('snapshot_id', 'indicator', 'domain_type', 'domain', 'aspect', name=op.f('uq_published_drivers_snapshot_id_indicator_domain_type_domain_aspect'))
    )
    with op.batch_alter_table('published_drivers', schema=None) as batch_op:
        batch_op.create_index('ix_published_drivers_lookup', ['indicator', 'domain_type', 'domain'], unique=False)
        batch_op.create_index(batch_op.f('ix_published_drivers_snapshot_id'), ['snapshot_id'], unique=False)

    op.create_table('action_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('indicator', sa.String(length=60), nullable=True),
    sa.Column('aspect', sa.String(length=60), nullable=True),
    sa.Column('theme', sa.String(length=30), nullable=True),
    sa.Column('baseline_period', sa.String(length=7), nullable=False),
    sa.Column('said', sa.Text(), nullable=False),
    sa.Column('action', sa.Text(), nullable=False),
    sa.Column('responsible', sa.String(length=200), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('done_on', sa.Date(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('planned', 'in_progress', 'done', 'dropped')", name=op.f('ck_action_plans_status')),
    sa.CheckConstraint('aspect IS NOT NULL OR theme IS NOT NULL', name=op.f('ck_action_plans_has_subject')),
    sa.CheckConstraint('length(trim(action)) > 0', name=op.f('ck_action_plans_action_given')),
    sa.CheckConstraint('length(trim(responsible)) > 0', name=op.f('ck_action_plans_responsible_given')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_action_plans_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_action_plans_unit_id_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_action_plans'))
    )
    with op.batch_alter_table('action_plans', schema=None) as batch_op:
        batch_op.create_index('ix_action_plans_unit', ['unit_id', 'status'], unique=False)

    op.create_table('action_updates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('planned', 'in_progress', 'done', 'dropped')", name=op.f('ck_action_updates_status')),
    sa.CheckConstraint('length(trim(note)) > 0', name=op.f('ck_action_updates_note_given')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_action_updates_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['plan_id'], ['action_plans.id'], name=op.f('fk_action_updates_plan_id_action_plans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_action_updates'))
    )
    with op.batch_alter_table('action_updates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_action_updates_plan_id'), ['plan_id'], unique=False)

    op.create_table('comment_themes',
    sa.Column('response_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('theme', sa.String(length=30), nullable=False),
    sa.Column('negative', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('rules_version', sa.String(length=20), nullable=True),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('assigned_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("source IN ('rule', 'moderator')", name=op.f('ck_comment_themes_source')),
    sa.ForeignKeyConstraint(['assigned_by_id'], ['users.id'], name=op.f('fk_comment_themes_assigned_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], name=op.f('fk_comment_themes_response_id_responses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('response_id', 'theme', name=op.f('pk_comment_themes'))
    )
    with op.batch_alter_table('comment_themes', schema=None) as batch_op:
        batch_op.create_index('ix_comment_themes_theme', ['theme'], unique=False)



def downgrade():
    with op.batch_alter_table('comment_themes', schema=None) as batch_op:
        batch_op.drop_index('ix_comment_themes_theme')

    op.drop_table('comment_themes')
    with op.batch_alter_table('action_updates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_action_updates_plan_id'))

    op.drop_table('action_updates')
    with op.batch_alter_table('action_plans', schema=None) as batch_op:
        batch_op.drop_index('ix_action_plans_unit')

    op.drop_table('action_plans')
    with op.batch_alter_table('published_drivers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_published_drivers_snapshot_id'))
        batch_op.drop_index('ix_published_drivers_lookup')

    op.drop_table('published_drivers')
