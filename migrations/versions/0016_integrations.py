"""integration clients and dossiers

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 05:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    # Machine clients (the provincial one-stop system): only the SHA-256 of the bearer token is kept.
    op.create_table('integration_clients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_integration_clients_unit_id_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_clients')),
    sa.UniqueConstraint('client_id', name=op.f('uq_integration_clients_client_id')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_integration_clients_token_hash'))
    )
    # Dossiers reported by a client: the survey link (receipt token) each was given. No dossier
    # number (the token's case digest is an HMAC of it) and no contact are stored.
    op.create_table('dossiers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('receipt_token_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('returned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('respondent_type', sa.String(length=20), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("respondent_type IS NULL OR respondent_type IN ('citizen', 'business')",
                       name=op.f('ck_dossiers_respondent_type_known')),
    sa.ForeignKeyConstraint(['client_id'], ['integration_clients.id'], name=op.f('fk_dossiers_client_id_integration_clients'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['receipt_token_id'], ['receipt_tokens.id'], name=op.f('fk_dossiers_receipt_token_id_receipt_tokens'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_dossiers_service_id_services'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_dossiers_unit_id_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dossiers')),
    sa.UniqueConstraint('receipt_token_id', name=op.f('uq_dossiers_receipt_token_id'))
    )
    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dossiers_client_id'), ['client_id'], unique=False)
        batch_op.create_index('ix_dossiers_unit_id_service_id_created_at', ['unit_id', 'service_id', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.drop_index('ix_dossiers_unit_id_service_id_created_at')
        batch_op.drop_index(batch_op.f('ix_dossiers_client_id'))
    op.drop_table('dossiers')
    op.drop_table('integration_clients')
