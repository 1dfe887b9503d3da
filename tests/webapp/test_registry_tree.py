"""The real unit tree: health and education units under their department or commune, the
missing units (health stations, the industrial zones board, commune service centres), and
service groups with validity dates and successors."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.pages import check_page
from webapp.models import Service
from webapp.registry.loader import DATA_DIR, RegistryError, read_registry

REORGANISED = date(2025, 7, 1)
MERGED = date(2025, 3, 1)
#: The groups of the departments merged on 2025-03-01 and the group that takes over each.
ENDED_GROUPS = {
    "labour-social": "home-affairs",
    "transport": "construction",
    "environment": "agriculture-environment",
    "information": "science-technology",
}


@pytest.fixture(scope="module")
def data():
    return read_registry(DATA_DIR)


def _units(data):
    return {u.code: u for u in data.units}


def _copy(tmp_path: Path, changes: dict) -> Path:
    """A copy of the shipped data with ``{file: function(text) -> text}`` applied."""
    target = tmp_path / "registry"
    shutil.copytree(DATA_DIR, target)
    for file, transform in changes.items():
        path = target / file
        path.write_text(transform(path.read_text(encoding="utf-8")), encoding="utf-8")
    return target


# --- the tree ----------------------------------------------------------------------------------


def test_hospitals_and_health_centres_sit_under_the_department_of_health(data):
    units = _units(data)
    health = [u for u in data.units if u.kind in ("hospital", "health_centre")]
    assert len(health) >= 19
    assert all(u.parent_code == "sl-syt" for u in health)
    assert units["sl-syt"].name_vi == "Sở Y tế"


def test_upper_secondary_schools_and_centres_sit_under_the_department_of_education(data):
    provincial = [u for u in data.units if u.code.startswith(("thpt-", "gdtx-"))]
    assert len(provincial) == 32
    assert all(u.parent_code == "sl-sgddt" for u in provincial)


def test_preschools_primary_and_lower_secondary_schools_sit_under_a_commune_of_2025(data):
    units = _units(data)
    local = [u for u in data.units if u.code.startswith(("mn-", "th-", "thcs-"))]
    assert len(local) == 12
    for school in local:
        parent = units[school.parent_code]
        assert parent.kind in ("commune", "ward") and parent.valid_from == REORGANISED, school.code
        # The school keeps its own history: it existed before its commune of 2025.
        assert school.valid_from < parent.valid_from
    assert units["thcs-chieng-le"].parent_code == "n03646"  # Chiềng Lề ward became part of Tô Hiệu


def test_no_hospital_school_or_health_centre_hangs_from_the_province(data):
    assert not [u.code for u in data.units if u.sector in ("health", "education") and u.parent_code == "sl"]


def test_commune_health_stations_are_illustrative_and_offer_outpatient_care(data):
    units = _units(data)
    stations = [u for u in data.units if u.kind == "health_station"]
    assert len(stations) >= 10
    for station in stations:
        parent = units[station.parent_code]
        assert station.sector == "health" and station.illustrative
        assert "(minh họa)" in station.name_vi and "(illustrative)" in station.name_en
        assert parent.kind in ("commune", "ward") and station.valid_from >= parent.valid_from == REORGANISED
        assert (station.code, "outpatient") in data.offerings


def test_industrial_zones_board_offers_investment_construction_and_land(data):
    board = _units(data)["sl-bqlkcn"]
    assert (board.kind, board.sector, board.parent_code) == ("agency", "admin", "sl")
    assert "khu công nghiệp" in board.name_vi
    assert {s for u, s in data.offerings if u == board.code} == {"investment", "construction", "land"}


def test_every_commune_of_2025_has_a_public_administration_service_centre(data):
    units = _units(data)
    communes = [u for u in data.units if u.kind in ("commune", "ward") and u.valid_from == REORGANISED]
    centres = [u for u in data.units if u.kind == "service_centre"]
    assert len(centres) == 75, "67 communes and 8 wards"
    assert sorted(u.parent_code for u in centres) == sorted(u.code for u in communes)
    for centre in centres:
        commune = units[centre.parent_code]
        assert centre.valid_from == REORGANISED and centre.valid_to is None and centre.sector == "admin"
        assert centre.name_vi.startswith("Trung tâm Phục vụ hành chính công")
        assert commune.name_vi.split(" ", 1)[1] in centre.name_vi
        offered_by_centre = {s for u, s in data.offerings if u == centre.code}
        offered_by_commune = {s for u, s in data.offerings if u == commune.code}
        assert offered_by_centre and offered_by_centre == offered_by_commune


def test_every_unit_lies_within_its_parent_or_its_parents_predecessors(data):
    units = _units(data)
    predecessors: dict[str, list[str]] = {}
    for old, new, _ in data.successions:
        predecessors.setdefault(new, []).append(old)

    def earliest(code: str) -> date:
        return min([units[code].valid_from, *(earliest(old) for old in predecessors.get(code, []))])

    assert data.units
    for unit in data.units:
        if unit.parent_code:
            assert unit.valid_from >= earliest(unit.parent_code), unit.code


# --- services --------------------------------------------------------------------------------


def test_groups_of_the_merged_departments_end_on_28_february_2025_with_a_successor(data):
    services = {s.code: s for s in data.services}
    for code, successor in ENDED_GROUPS.items():
        assert services[code].valid_to == date(2025, 2, 28), code
        assert services[code].successor == successor
        assert services[successor].valid_from <= MERGED and services[successor].valid_to is None
    new_group = services["agriculture-environment"]
    assert new_group.name_vi == "Nông nghiệp và môi trường" and new_group.valid_from == MERGED
    assert services["agriculture"].successor == "agriculture-environment"


def test_national_field_codes_are_left_empty_unless_known(data):
    assert data.services
    assert all(s.national_field_code is None or s.national_field_code.strip() for s in data.services)


def test_every_offering_overlaps_the_validity_of_both_unit_and_service(data):
    units = _units(data)
    services = {s.code: s for s in data.services}
    assert data.offerings
    for unit_code, service_code in data.offerings:
        unit, service = units[unit_code], services[service_code]
        assert unit.valid_from <= (service.valid_to or date.max), (unit_code, service_code)
        assert service.valid_from <= (unit.valid_to or date.max), (unit_code, service_code)


def test_kind_rules_reach_only_the_units_valid_while_the_service_is(data):
    assert ("c03646", "labour-social") in data.offerings
    assert ("n03646", "labour-social") not in data.offerings
    assert ("n03646", "agriculture-environment") in data.offerings


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"offerings.csv": lambda t: t + "unit:n03646,transport\n"},
            "unit 'n03646' (from 2025-07-01) cannot offer 'transport' (2008-01-01 to 2025-02-28)",
        ),
        (
            {"services.csv": lambda t: t.replace(",2025-02-28,construction,", ",2025-02-28,teleportation,", 1)},
            "successor 'teleportation' is not in services.csv",
        ),
        (
            {"services.csv": lambda t: t.replace(",2025-02-28,construction,", ",,construction,", 1)},
            "a service with a successor needs a valid_to",
        ),
        (
            {"services.csv": lambda t: t.replace(",2025-02-28,construction,", ",2025-02-28,information,", 1)},
            "successor 'information' must exist on 2025-03-01, the day after 'transport' ends",
        ),
        (
            {"units.csv": lambda t: t + "x3,Trường X,X School,school,education,n03646,2001-01-01,,,1\n"},
            "validity lies outside that of its parent 'n03646' and its predecessors",
        ),
    ],
)
def test_inconsistent_validity_is_refused_with_a_clear_error(tmp_path, changes, message):
    with pytest.raises(RegistryError) as error:
        read_registry(_copy(tmp_path, changes))
    assert message in str(error.value)


def test_loaded_services_keep_validity_successor_and_field_code(db, registry):
    transport = db.session.scalar(select(Service).where(Service.code == "transport"))
    assert transport.valid_to == date(2025, 2, 28) and transport.successor.code == "construction"
    assert not transport.valid_on(MERGED) and transport.valid_on(date(2025, 2, 28))
    land = db.session.scalar(select(Service).where(Service.code == "land"))
    assert land.valid_to is None and land.successor is None and land.valid_on(date(2030, 1, 1))


# --- what people see -----------------------------------------------------------------------


def test_api_names_the_department_of_health_as_a_hospitals_parent(client, registry):
    hospital = client.get("/api/v1/units/bv-dk-tinh-sonla").json
    assert hospital["parent"] == "sl-syt"
    department = client.get("/api/v1/units/sl-syt").json
    assert {"bv-dk-tinh-sonla", "ttyt-phu-yen"} <= set(department["children"])


def test_admin_unit_page_says_administrative_unit_code(client, db, make_user, sign_in):
    http = sign_in(make_user("admin"))
    english = check_page(http.get("/admin/units/n03646?lang=en")).get_text(" ")
    assert "Administrative unit code" in english and "Statistics Office" not in english


# --- an ended group is no longer offered -----------------------------------------------------


def test_an_ended_group_gets_no_receipt_codes_today_from_the_web_or_the_cli(app, db, registry, make_user, sign_in):
    from webapp.models import Unit
    from webapp.services import ServiceError
    from webapp.services.receipts import issue_receipts

    centre = db.session.scalar(select(Unit).where(Unit.code == "sl-ttpvhcc"))
    transport = db.session.scalar(select(Service).where(Service.code == "transport"))
    assert transport in centre.services  # offered until 2025-02-28 …
    assert transport not in centre.services_on(date.today())  # … but not today
    with pytest.raises(ServiceError) as refused:
        issue_receipts(centre, transport, ["HS-1"], actor=None)
    assert refused.value.code == "service_not_offered"

    result = app.test_cli_runner().invoke(
        args=["tokens", "issue", "--unit", "sl-ttpvhcc", "--service", "transport", "--case", "HS-2"]
    )
    assert result.exit_code != 0 and "does not offer service transport today" in result.output

    http = sign_in(make_user("admin"))
    page = check_page(http.get("/agency/units/sl-ttpvhcc/devices?lang=en"))
    offered = {option["value"] for option in page.select("select[name=service] option")}
    assert "construction" in offered and not offered & set(ENDED_GROUPS)
