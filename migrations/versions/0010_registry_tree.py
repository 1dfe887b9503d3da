"""registry tree, validity and successors of service groups

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 00:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


KINDS_BEFORE = (
    "kind IN ('province', 'department', 'agency', 'district', 'commune', 'ward', 'township', 'hospital', "
    "'health_centre', 'school')"
)
KINDS_AFTER = (
    "kind IN ('province', 'department', 'agency', 'district', 'commune', 'ward', 'township', 'hospital', "
    "'health_centre', 'health_station', 'school', 'service_centre')"
)


def upgrade():
    # Commune health stations and commune public administration service centres.
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_units_kind'), type_='check')
        batch_op.create_check_constraint('kind', KINDS_AFTER)
    # Service groups end when their field moves to another department, with the group that takes over.
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.add_column(sa.Column('valid_from', sa.Date(), server_default='2008-01-01', nullable=False))
        batch_op.add_column(sa.Column('valid_to', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('successor_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('national_field_code', sa.String(length=20), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_services_successor_id_services'), 'services', ['successor_id'], ['id'], ondelete='SET NULL'
        )
        batch_op.create_check_constraint('validity', 'valid_to IS NULL OR valid_to >= valid_from')
        batch_op.create_check_constraint('not_own_successor', 'successor_id IS NULL OR successor_id <> id')


def downgrade():
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_services_not_own_successor'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_services_validity'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_services_successor_id_services'), type_='foreignkey')
        batch_op.drop_column('national_field_code')
        batch_op.drop_column('successor_id')
        batch_op.drop_column('valid_to')
        batch_op.drop_column('valid_from')
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_units_kind'), type_='check')
        batch_op.create_check_constraint('kind', KINDS_BEFORE)
