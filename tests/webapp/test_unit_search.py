"""One accent-insensitive unit search, in SQL (issue #18): ``webapp.registry.search``.

Every unit row keeps a folded search key (both names without accents, and the code), written
whatever the path a unit takes into the table or through an edit; the public search, the admin
registry filter and the agency and interview pickers all filter on it in SQL.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from datetime import date

import pytest
from sqlalchemy import insert, select

from tests.conftest import csrf_from, loaded_rows, sql_statements
from tests.pages import check_page
from webapp.models import Unit
from webapp.models.registry import unit_name_key, unit_search_key
from webapp.registry.search import search_units, unit_search_clause
from webapp.textfold import fold

#: After the 2025 reorganisation: the old communes have ended, the new ones exist.
TODAY = date(2026, 12, 7)
#: Xã Mường Chiên (a commune of the 2025 tree) and the units of its subtree.
OURS = "n03688"
OURS_SUBTREE = {"n03688", "ttpv-n03688", "tyt-n03688"}


def codes(units) -> list[str]:
    return [unit.code for unit in units]


def add_units(db, how_many: int, stem: str = "Xã Thêm") -> None:
    """``how_many`` communes under the province, in one multi-row ``insert()`` (no ORM events)."""
    province = db.session.scalar(select(Unit).where(Unit.code == "sl"))
    db.session.execute(
        insert(Unit),
        [
            {
                "code": f"x{number:05d}",
                "name_vi": f"{stem} {number}",
                "name_en": f"Added {number} commune",
                "kind": "commune",
                "sector": "admin",
                "parent_id": province.id,
                "path": f"{province.path}x{number:05d}/",
                "valid_from": date(2025, 7, 1),
                "illustrative": True,
            }
            for number in range(how_many)
        ],
    )
    db.session.commit()


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Chiềng Đen", "chieng den"),
        ("ĐIỆN BIÊN", "dien bien"),
        ("  Xã Chiềng  ĐEN ", "xa chieng den"),
        ("Sơn La province", "son la province"),
        ("Trường THPT Tô Hiệu", "truong thpt to hieu"),
        ("c03661", "c03661"),
        ("", ""),
    ],
)
def test_fold_ignores_accents_case_d_bar_and_extra_spaces(text, folded):
    assert fold(text) == folded


def test_the_keys_hold_both_names_folded_and_the_code():
    assert unit_search_key("Xã Chiềng Đen", "Chiềng Đen commune", "c03661") == "xa chieng den chieng den commune c03661"
    assert unit_name_key("  Xã  Chiềng Đen") == "xa chieng den"


def test_every_unit_the_registry_loader_inserts_has_its_keys(db, registry):
    db.session.expire_all()
    units = db.session.scalars(select(Unit)).all()
    assert len(units) > 400
    for unit in units:
        assert unit.search_key == unit_search_key(unit.name_vi, unit.name_en, unit.code), unit.code
        assert unit.name_key == fold(unit.name_vi), unit.code


@pytest.mark.parametrize(
    "query",
    ["chieng den", "  CHIỀNG   ĐEN ", "Chiềng Đen", "den chieng", "chieng den commune", "c03661", "C03661"],
)
def test_search_by_either_name_or_the_code_ignoring_accents_case_order_and_spaces(db, registry, query):
    assert "c03661" in codes(search_units(query, today=TODAY))


def test_every_word_must_match_and_like_wildcards_are_plain_characters(db, registry):
    assert search_units("chieng den zzzz", today=TODAY) == []
    assert search_units("c036_1", today=TODAY) == []
    assert search_units("c03%", today=TODAY) == []
    assert search_units("   ", today=TODAY) == []


def test_units_valid_today_come_first_then_by_folded_name_and_the_limit_is_kept(db, registry):
    found = search_units("to hieu", today=TODAY)
    assert codes(found).index("n03646") < codes(found).index("c03649")
    every = search_units("xa", today=TODAY, limit=1000)
    assert len(every) > 100
    assert every == sorted(every, key=lambda u: (not u.valid_on(TODAY), fold(u.name_vi)))
    assert search_units("xa", today=TODAY, limit=7) == every[:7]


def test_a_unit_renamed_by_an_administrator_is_found_by_its_new_name_only(admin_client, db):
    page = admin_client.get("/admin/units/n03694/edit")
    answer = admin_client.post(
        "/admin/units/n03694/edit",
        data={
            "csrf_token": csrf_from(page),
            "name_vi": "Xã Nậm Thử Nghiệm",
            "name_en": "Nam Thu Nghiem commune",
            "valid_from": "2025-07-01",
            "valid_to": "",
        },
    )
    assert answer.status_code == 302
    db.session.expire_all()
    assert codes(search_units("nam thu nghiem", today=TODAY)) == ["n03694"]
    assert "n03694" not in codes(search_units("muong gion", today=TODAY))
    assert "c03694" in codes(search_units("muong gion", today=TODAY))


def test_a_unit_renamed_in_the_registry_files_is_found_by_its_new_name_only(db, registry):
    from webapp.registry.loader import DATA_DIR, load_registry, read_registry

    data = read_registry(DATA_DIR)
    data.units = [
        dataclasses.replace(row, name_vi="Xã Nậm Mới", name_en="Nam Moi commune") if row.code == "n03694" else row
        for row in data.units
    ]
    load_registry(db.session, data)
    db.session.commit()
    assert codes(search_units("nam moi", today=TODAY)) == ["n03694"]
    assert "n03694" not in codes(search_units("muong gion", today=TODAY))


def test_units_inserted_in_bulk_bypassing_the_orm_are_searchable(db, registry):
    add_units(db, 3, stem="Xã Khuổi Pửng")
    assert codes(search_units("khuoi pung", today=TODAY)) == ["x00000", "x00001", "x00002"]
    assert codes(search_units("added 1 commune", today=TODAY)) == ["x00001"]


def test_a_unit_added_through_the_orm_and_edited_keeps_its_key(db, registry):
    province = db.session.scalar(select(Unit).where(Unit.code == "sl"))
    unit = Unit(
        code="x-orm",
        name_vi="Xã Ở Đây",
        name_en="Here commune",
        kind="commune",
        sector="admin",
        parent=province,
        path=f"{province.path}x-orm/",
        valid_from=date(2025, 7, 1),
    )
    db.session.add(unit)
    db.session.commit()
    assert codes(search_units("o day", today=TODAY)) == ["x-orm"]
    unit.name_vi = "Xã Nơi Khác"
    db.session.commit()
    assert search_units("o day", today=TODAY) == []
    assert codes(search_units("noi khac here", today=TODAY)) == ["x-orm"]


def test_one_statement_per_search_however_many_units(db, registry):
    with sql_statements(db.engine) as few:
        small = search_units("xa", today=TODAY, limit=1000)
    add_units(db, 300)
    with sql_statements(db.engine) as many:
        large = search_units("xa", today=TODAY, limit=1000)
    assert len(few) == len(many) == 1
    assert len(large) == len(small) + 300
    db.session.expunge_all()
    with loaded_rows(Unit, "code") as units:
        assert len(search_units("chieng", today=TODAY, limit=1000)) == len(units) > 0


@pytest.mark.parametrize(
    ("role", "unit_code", "path"),
    [
        (None, None, "/units?q=chieng"),
        ("admin", None, "/admin/units?q=chieng"),
        ("admin", None, "/admin/units?q=chieng&kind=ward&on=2025-06-30&change=replaced"),
        ("admin", None, "/agency/?q=chieng"),
        ("interviewer", "sl", "/interview/?q=chieng"),
    ],
)
def test_search_pages_read_only_what_they_show_however_many_units(
    app, db, registry, client, make_user, sign_in, role, unit_code, path
):
    """The same statements, and no unit read that the page does not list, with 300 more units."""
    if role:
        sign_in(make_user(role, unit_code, totp=role != "interviewer"))

    def visit() -> tuple[int, list[str]]:
        client.get(path)  # the first answer may fill caches
        with sql_statements(db.engine) as statements, loaded_rows(Unit, "code") as units:
            check_page(client.get(path))
        return len(statements), sorted(units)

    before = visit()
    assert before[1], "the page lists some units"
    add_units(db, 300)
    assert visit() == before


def test_a_scoped_search_never_leaves_the_scope(db, registry, make_user):
    from webapp.access import scoped_units_query

    manager = make_user("agency_manager", OURS)
    inside = search_units("muong", base=scoped_units_query(manager), today=TODAY)
    assert set(codes(inside)) == OURS_SUBTREE
    assert search_units("muong gion", base=scoped_units_query(manager), today=TODAY) == []
    everywhere = search_units("muong", base=scoped_units_query(make_user("admin")), today=TODAY, limit=1000)
    assert set(codes(everywhere)) > OURS_SUBTREE | {"n03694"}


def test_the_clause_combines_with_other_filters(db, registry):
    statement = select(Unit.code).where(unit_search_clause("chieng"), Unit.kind == "ward").order_by(Unit.code)
    found = db.session.scalars(statement).all()
    assert found and "c03646" in found
    assert all(db.session.scalar(select(Unit).where(Unit.code == code)).kind == "ward" for code in found)


def test_the_migration_fills_the_keys_of_existing_units_and_its_downgrade_drops_them(tmp_path):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect, text

    from tests.conftest import REPO, make_app
    from webapp.extensions import db

    app = make_app(f"sqlite:///{tmp_path / 'search-key.sqlite3'}")
    migrations = str(REPO / "migrations")
    with app.app_context():
        upgrade(directory=migrations, revision="0024")
        names = [("c03661", "Xã Chiềng Đen", "Chiềng Đen commune"), ("x1", "  ĐIỆN BIÊN  Phủ", "Điện Biên Phủ")]
        with db.engine.begin() as connection:
            for code, name_vi, name_en in names:
                # The second unit sits under the first: a foreign key to units, as in every real
                # registry (a migration that copies and drops the table fails on it in SQLite).
                connection.execute(
                    text(
                        "INSERT INTO units (code, name_vi, name_en, kind, sector, parent_id, path, valid_from, "
                        "illustrative) VALUES (:code, :vi, :en, 'commune', 'admin', "
                        "(SELECT id FROM units WHERE code = 'c03661'), '/' || :code || '/', '2008-01-01', 0)"
                    ),
                    {"code": code, "vi": name_vi, "en": name_en},
                )
            # Rows that point at a unit: a counter (ON DELETE RESTRICT) and an offered service (CASCADE).
            connection.execute(
                text(
                    "INSERT INTO services (code, name_vi, name_en, sector, kind, instrument_code) "
                    "VALUES ('land', 'Đất đai', 'Land', 'admin', 'procedure_group', 'counter-quick')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO unit_services (unit_id, service_id) SELECT units.id, services.id FROM units, services"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO counters (unit_id, name, active, created_at) "
                    "SELECT id, 'Quầy 1', 1, '2026-01-01 00:00:00' FROM units"
                )
            )
        db.engine.dispose()
        # As an operator upgrades: `flask db upgrade` in its own process.
        upgraded = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "webapp", "db", "upgrade", "0025"],
            cwd=REPO,
            env={
                **os.environ,
                "DATABASE_URL": f"sqlite:///{tmp_path / 'search-key.sqlite3'}",
                "APP_ENV": "development",
            },
            capture_output=True,
            text=True,
        )
        assert upgraded.returncode == 0, upgraded.stderr[-2000:]
        with db.engine.connect() as connection:
            rows = connection.execute(text("SELECT search_key, name_key FROM units ORDER BY code")).all()
            kept = [connection.scalar(text(f"SELECT count(*) FROM {table}")) for table in ("unit_services", "counters")]
        assert kept == [2, 2], "the migration must not delete or refuse rows that point at units"
        assert [tuple(row) for row in rows] == [
            (unit_search_key(name_vi, name_en, code), fold(name_vi)) for code, name_vi, name_en in names
        ]
        assert rows[0][0] == "xa chieng den chieng den commune c03661"
        downgrade(directory=migrations, revision="0024")
        columns = {column["name"] for column in inspect(db.engine).get_columns("units")}
        assert "search_key" not in columns and "name_key" not in columns
        upgrade(directory=migrations, revision="0025")
        with db.engine.connect() as connection:
            again = connection.execute(text("SELECT search_key, name_key FROM units ORDER BY code")).all()
        assert again == rows
        db.engine.dispose()


@pytest.mark.parametrize("query", ["", "tram y te", "phuong"])
def test_the_interview_picker_lists_the_units_with_a_survey_to_answer_by_name(
    app, db, registry, client, make_user, sign_in, query
):
    """As the rule in Python (``fetch_services_to_rate``) would list them, at most 50."""
    from surveys.survey_flow import fetch_services_to_rate
    from webapp.interview.views import PICKER_LIMIT
    from webapp.periods import vietnam_today

    sign_in(make_user("interviewer", "sl", totp=False))
    soup = check_page(client.get(f"/interview/?lang=en&q={query}"), lang="en")
    listed = [a["href"].removeprefix("/interview/") for a in soup.select("ul.link-list a")]
    today = vietnam_today()
    with app.test_request_context("/?lang=en"):
        expected = [
            unit.code
            for unit in sorted(db.session.scalars(select(Unit)), key=lambda u: (fold(u.name_vi), u.code))
            if unit.code != "sl"
            and unit.valid_on(today)
            and all(word in unit.search_key for word in fold(query).split())
            and fetch_services_to_rate(unit)
        ]
    assert listed and listed == expected[:PICKER_LIMIT]


def test_no_code_writes_unit_names_past_the_events_that_fold_them():
    """An ``update(Unit)`` statement or an ORM bulk write of units would leave the keys stale:
    rename units through the ORM (``unit.name_vi = …``), which folds them again."""
    import re
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    bypass = re.compile(r"update\(\s*Unit\b|Unit\.__table__\.update|bulk_(update|insert)_mappings\(\s*Unit\b")
    sources = [path for folder in ("webapp", "public", "surveys") for path in (repo / folder).rglob("*.py")]
    assert len(sources) > 100
    found = [
        f"{path.relative_to(repo)}:{number}"
        for path in sources
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if bypass.search(line)
    ]
    assert not found, found
