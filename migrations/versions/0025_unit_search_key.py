"""unit search key

Units gain ``search_key`` (both names without accents and the code, which the unit search
matches in SQL) and ``name_key`` (the Vietnamese name without accents, the order of results),
filled here for the units already stored. The fold is written out below, as
``webapp.registry.search.fold`` is at this revision (migrations never import the application,
whose rule may change later; tests/webapp/test_unit_search.py checks that both agree).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 17:00:00

"""
import unicodedata

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def _fold(text):
    """Lower case without accents, ``đ`` as ``d``, spaces collapsed: "Chiềng Đen" → "chieng den"."""
    decomposed = unicodedata.normalize('NFD', (text or '').replace('đ', 'd').replace('Đ', 'D'))
    return ' '.join(''.join(c for c in decomposed if unicodedata.category(c) != 'Mn').casefold().split())


def upgrade():
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_key', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('name_key', sa.Text(), nullable=True))
    _fill_keys()
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.alter_column('search_key', existing_type=sa.Text(), nullable=False)
        batch_op.alter_column('name_key', existing_type=sa.Text(), nullable=False)
        batch_op.create_index(batch_op.f('ix_units_name_key'), ['name_key'], unique=False)


def _fill_keys():
    """Fold the names of the units already stored (one statement for them all)."""
    bind = op.get_bind()
    units = sa.table('units', sa.column('id'), sa.column('code'), sa.column('name_vi'), sa.column('name_en'),
                     sa.column('search_key'), sa.column('name_key'))
    keys = [
        {'row_id': row.id, 'search': f'{_fold(row.name_vi)} {_fold(row.name_en)} {row.code}',
         'name': _fold(row.name_vi)}
        for row in bind.execute(sa.select(units.c.id, units.c.code, units.c.name_vi, units.c.name_en))
    ]
    if keys:
        bind.execute(
            units.update().where(units.c.id == sa.bindparam('row_id'))
            .values(search_key=sa.bindparam('search'), name_key=sa.bindparam('name')),
            keys,
        )


def downgrade():
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_units_name_key'))
        batch_op.drop_column('name_key')
        batch_op.drop_column('search_key')
