"""language and mode of responses, the sms channel, the interviewer role

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 12:50:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

CHANNELS_BEFORE = "channel IN ('kiosk', 'online', 'qr', 'paper')"
CHANNELS_AFTER = "channel IN ('kiosk', 'online', 'qr', 'paper', 'sms')"
ROLES_BEFORE = "role IN ('admin', 'agency_manager', 'viewer')"
ROLES_AFTER = "role IN ('admin', 'agency_manager', 'viewer', 'interviewer')"
MODES = "mode IN ('self', 'read_aloud', 'assisted', 'sms')"


def upgrade():
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mode', sa.String(length=10), server_default='self', nullable=False))
        batch_op.add_column(sa.Column('language', sa.String(length=12), server_default='vi', nullable=False))
        batch_op.create_check_constraint('mode', MODES)
        batch_op.drop_constraint(batch_op.f('ck_responses_channel'), type_='check')
        batch_op.create_check_constraint('channel', CHANNELS_AFTER)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_users_role'), type_='check')
        batch_op.create_check_constraint('role', ROLES_AFTER)


def downgrade():
    users = sa.table('users', sa.column('role', sa.String), sa.column('active', sa.Boolean))
    # An interviewer account cannot exist in the old schema: it becomes an inactive viewer.
    op.get_bind().execute(users.update().where(users.c.role == 'interviewer').values(role='viewer', active=False))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_users_role'), type_='check')
        batch_op.create_check_constraint('role', ROLES_BEFORE)
    responses = sa.table('responses', sa.column('channel', sa.String))
    # Text-message answers have no channel in the old schema: refuse rather than lose them.
    if op.get_bind().execute(sa.select(sa.func.count()).select_from(responses).where(responses.c.channel == 'sms')).scalar():
        raise RuntimeError('responses by text message exist; export them before downgrading below 0021')
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_responses_channel'), type_='check')
        batch_op.create_check_constraint('channel', CHANNELS_BEFORE)
        batch_op.drop_constraint(batch_op.f('ck_responses_mode'), type_='check')
        batch_op.drop_column('language')
        batch_op.drop_column('mode')
