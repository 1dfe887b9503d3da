"""national portal ratings

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 05:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    # Runs of `import portal-ratings`: the file read and what it added.
    op.create_table('portal_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('rows_added', sa.Integer(), nullable=False),
    sa.Column('rows_already', sa.Integer(), nullable=False),
    sa.CheckConstraint('rows_added >= 0 AND rows_already >= 0', name=op.f('ck_portal_imports_counts_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_imports'))
    )
    with op.batch_alter_table('portal_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_imports_file_sha256'), ['file_sha256'], unique=False)

    # One rated dossier of the national portal: a keyed hash of its number, never the number.
    op.create_table('portal_ratings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('dossier_digest', sa.String(length=64), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=True),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('level', sa.SmallInteger(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('level IN (1, 2, 3)', name=op.f('ck_portal_ratings_level')),
    sa.CheckConstraint("period LIKE '____-Q_'", name=op.f('ck_portal_ratings_period_is_quarter')),
    sa.ForeignKeyConstraint(['batch_id'], ['portal_imports.id'], name=op.f('fk_portal_ratings_batch_id_portal_imports'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_portal_ratings_service_id_services'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_portal_ratings_unit_id_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_ratings')),
    sa.UniqueConstraint('dossier_digest', name=op.f('uq_portal_ratings_dossier_digest'))
    )
    with op.batch_alter_table('portal_ratings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_ratings_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_portal_ratings_period'), ['period'], unique=False)
        batch_op.create_index(batch_op.f('ix_portal_ratings_unit_id'), ['unit_id'], unique=False)


def downgrade():
    with op.batch_alter_table('portal_ratings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_ratings_unit_id'))
        batch_op.drop_index(batch_op.f('ix_portal_ratings_period'))
        batch_op.drop_index(batch_op.f('ix_portal_ratings_batch_id'))
    op.drop_table('portal_ratings')
    with op.batch_alter_table('portal_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_imports_file_sha256'))
    op.drop_table('portal_imports')
