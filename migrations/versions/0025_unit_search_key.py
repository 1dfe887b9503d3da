"""unit search key

Units gain ``search_key`` (both names without accents and the code, which the unit search
matches in SQL) and ``name_key`` (the Vietnamese name without accents, the order of results),
filled here for the units already stored. The fold is written out below, as
``webapp.textfold.fold`` is at this revision (migrations never import the application,
whose rule may change later; tests/webapp/test_unit_search.py checks that both agree).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 17:00:00

"""

import unicodedata

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def _fold(text):
    """Lower case without accents, ``đ`` as ``d``, spaces collapsed: "Chiềng Đen" → "chieng den"."""
    decomposed = unicodedata.normalize("NFD", (text or "").replace("đ", "d").replace("Đ", "D"))
    return " ".join("".join(c for c in decomposed if unicodedata.category(c) != "Mn").casefold().split())


def upgrade():
    # Plain ADD COLUMN (NOT NULL with an empty default until filled) and CREATE INDEX: a batch
    # operation would copy and drop ``units`` on SQLite, which the foreign keys of every table
    # pointing at a unit refuse once there are rows.
    op.add_column("units", sa.Column("search_key", sa.Text(), server_default="", nullable=False))
    op.add_column("units", sa.Column("name_key", sa.Text(), server_default="", nullable=False))
    _fill_keys()
    op.create_index(op.f("ix_units_name_key"), "units", ["name_key"], unique=False)


def _fill_keys():
    """Fold the names of the units already stored (one statement for them all)."""
    bind = op.get_bind()
    units = sa.table(
        "units",
        sa.column("id"),
        sa.column("code"),
        sa.column("name_vi"),
        sa.column("name_en"),
        sa.column("search_key"),
        sa.column("name_key"),
    )
    keys = [
        {
            "row_id": row.id,
            "search": f"{_fold(row.name_vi)} {_fold(row.name_en)} {row.code}",
            "name": _fold(row.name_vi),
        }
        for row in bind.execute(sa.select(units.c.id, units.c.code, units.c.name_vi, units.c.name_en))
    ]
    if keys:
        bind.execute(
            units.update()
            .where(units.c.id == sa.bindparam("row_id"))
            .values(search_key=sa.bindparam("search"), name_key=sa.bindparam("name")),
            keys,
        )


def downgrade():
    op.drop_index(op.f("ix_units_name_key"), table_name="units")
    # ALTER TABLE … DROP COLUMN (SQLite 3.35 and later, PostgreSQL): no copy of the table.
    op.execute("ALTER TABLE units DROP COLUMN name_key")
    op.execute("ALTER TABLE units DROP COLUMN search_key")
