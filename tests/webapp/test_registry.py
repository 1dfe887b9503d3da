"""The registry of Sơn La: data files, loader, command and public API."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from webapp.models import AuditEvent, Indicator, Instrument, Service, Unit, UnitSuccession
from webapp.registry.loader import DATA_DIR, RegistryError, read_registry


@pytest.fixture(scope="module")
def data():
    return read_registry(DATA_DIR)


def test_shipped_registry_has_the_province_tree(data):
    kinds = Counter(u.kind for u in data.units)
    assert kinds["province"] == 1
    districts = [u for u in data.units if u.kind == "district"]
    assert len(districts) == 12
    assert all(u.valid_to == date(2025, 6, 30) for u in districts)
    van_ho = next(u for u in districts if "Vân Hồ" in u.name_vi)
    assert van_ho.valid_from.year == 2013


def test_seventy_five_communes_and_wards_from_july_2025(data):
    new = [u for u in data.units if u.valid_from == date(2025, 7, 1) and u.kind in ("commune", "ward")]
    assert Counter(u.kind for u in new) == {"commune": 67, "ward": 8}
    assert all(u.parent_code == "sl" for u in new)


def test_two_hundred_commune_level_units_on_30_june_2025(data):
    day = date(2025, 6, 30)
    old = [
        u
        for u in data.units
        if u.kind in ("commune", "ward", "township")
        and u.valid_from <= day
        and (u.valid_to is None or u.valid_to >= day)
    ]
    assert len(old) == 200


def test_every_old_commune_maps_to_a_new_one_and_back(data):
    day = date(2025, 6, 30)
    old = {u.code for u in data.units if u.kind in ("commune", "ward", "township") and u.valid_to == day}
    new = {u.code for u in data.units if u.valid_from == date(2025, 7, 1) and u.kind in ("commune", "ward")}
    mapped_old = {o for o, _, _ in data.successions}
    mapped_new = {n for _, n, _ in data.successions}
    assert old <= mapped_old
    assert new <= mapped_new


def test_service_groups_cover_the_three_sectors(data):
    codes = {s.code for s in data.services}
    assert {
        "land",
        "construction",
        "business-registration",
        "civil-status",
        "certification",
        "labour-social",
        "outpatient",
        "inpatient",
    } <= codes
    assert {s.sector for s in data.services} == {"admin", "health", "education"}


def test_every_file_names_its_source():
    import yaml

    manifest = yaml.safe_load((DATA_DIR / "manifest.yaml").read_text(encoding="utf-8"))
    assert manifest["files"]
    for entry in manifest["files"]:
        assert entry.get("source"), entry["file"]


def test_load_creates_everything_and_loading_twice_changes_nothing(runner, db):
    first = runner.invoke(args=["registry", "load"])
    assert first.exit_code == 0, first.output
    assert "389 units" in first.output or "units" in first.output
    counts = {
        model: db.session.scalar(select(func.count()).select_from(model))
        for model in (Unit, Service, UnitSuccession, Instrument, Indicator, AuditEvent)
    }
    from surveys import definitions

    assert counts[Unit] > 300
    assert counts[Instrument] == len(definitions.load_instruments())
    assert counts[Indicator] == len(definitions.load_indicators())
    second = runner.invoke(args=["registry", "load"])
    assert second.exit_code == 0
    assert "nothing changed" in second.output
    again = {model: db.session.scalar(select(func.count()).select_from(model)) for model in counts}
    assert again == counts  # not even a second audit event


def test_units_get_paths_for_subtree_queries(runner, db):
    runner.invoke(args=["registry", "load"])
    commune = db.session.scalars(select(Unit).where(Unit.kind == "commune", Unit.valid_to.is_not(None))).first()
    assert commune.path == f"/sl/{commune.parent.code}/{commune.code}/"


def _broken_copy(tmp_path: Path, file: str, transform) -> Path:
    target = tmp_path / "registry"
    shutil.copytree(DATA_DIR, target)
    path = target / file
    path.write_text(transform(path.read_text(encoding="utf-8")), encoding="utf-8")
    return target


@pytest.mark.parametrize(
    ("file", "transform", "message"),
    [
        ("units.csv", lambda t: t.replace(",province,admin,", ",planet,admin,", 1), "units.csv, line 2: kind 'planet'"),
        ("units.csv", lambda t: t + "x1,Xã X,X commune,commune,admin,nowhere,,,,1\n", "parent_code 'nowhere'"),
        (
            "units.csv",
            lambda t: t + "x2,Xã X,X commune,commune,admin,sl,2020-13-01,,,1\n",
            "valid_from '2020-13-01' is not a date",
        ),
        (
            "services.csv",
            lambda t: t + "land,Đất,Land,admin,procedure_group,admin-procedure\n",
            "code 'land' appears twice",
        ),
        ("offerings.csv", lambda t: t + "kind:commune,teleportation\n", "service_code 'teleportation'"),
        ("mapping_2025.csv", lambda t: t + "c99999,n99999,\n", "old_code 'c99999'"),
    ],
)
def test_a_bad_file_stops_with_file_and_line_and_writes_nothing(runner, db, tmp_path, file, transform, message):
    directory = _broken_copy(tmp_path, file, transform)
    result = runner.invoke(args=["registry", "load", "--dir", str(directory)])
    assert result.exit_code != 0
    assert message in result.output
    assert db.session.scalar(select(func.count()).select_from(Unit)) == 0


def test_error_names_the_line(tmp_path):
    directory = _broken_copy(
        tmp_path, "units.csv", lambda t: t.replace("\n", "\nbad code!,A,B,commune,admin,sl,,,,0\n", 1)
    )
    with pytest.raises(RegistryError, match=r"units.csv, line 2: code 'bad code!'"):
        read_registry(directory)


def test_api_lists_units_with_validity(client, runner):
    runner.invoke(args=["registry", "load"])
    document = client.get("/api/v1/units").json
    assert document["count"] == len(document["units"]) > 300
    province = next(u for u in document["units"] if u["code"] == "sl")
    assert province["parent"] is None and province["kind"] == "province"
    now = client.get("/api/v1/units?valid_on=2026-01-01&kind=commune").json["units"]
    before = client.get("/api/v1/units?valid_on=2025-01-01&kind=commune").json["units"]
    assert len(now) == 67
    assert len(before) > 150
    assert all(u["valid_to"] is None for u in now)


def test_api_unit_detail_has_services_and_successors(client, runner, db):
    runner.invoke(args=["registry", "load"])
    link = db.session.scalars(select(UnitSuccession)).first()
    old = client.get(f"/api/v1/units/{link.old_unit.code}").json
    assert link.new_unit.code in old["successors"]
    assert old["services"], "a commune offers services"
    assert {"code", "name_vi", "name_en", "instrument"} <= set(old["services"][0])
    new = client.get(f"/api/v1/units/{link.new_unit.code}").json
    assert link.old_unit.code in new["predecessors"]


@pytest.mark.parametrize("query", ["kind=planet", "valid_on=yesterday"])
def test_api_rejects_bad_filters_with_a_named_field(client, query):
    response = client.get(f"/api/v1/units?{query}&lang=en")
    assert response.status_code == 400
    assert response.json["error"]["field"] == query.split("=")[0]


def test_api_error_messages_follow_the_language(client):
    vi = client.get("/api/v1/units?kind=planet&lang=vi").json["error"]["message"]
    en = client.get("/api/v1/units?kind=planet&lang=en").json["error"]["message"]
    assert vi != en and en.startswith("Unknown kind")
