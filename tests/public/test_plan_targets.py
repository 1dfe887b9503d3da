"""Targets as data: the Resolution 76/NQ-CP milestones in the API, both plans on /plan, exact quotes."""

from __future__ import annotations

import jsonschema
import pytest

from tests.pages import check_page

LANGUAGES = ("vi", "en")

#: Resolution 76/NQ-CP milestones, by indicator: (year, value, comparison).
RESOLUTION_76 = {
    "sat-procedures": [(2025, 0.90, "ge"), (2030, 0.95, "ge")],
    "sat-agencies": [(2025, 0.90, "gt"), (2030, 0.95, "gt")],
    "sat-health": [(2025, 0.85, "gt"), (2030, 0.90, "gt")],
    "sat-education": [(2025, 0.85, "gt"), (2030, 0.90, "gt")],
    "sat-land-construction-investment": [(2025, 0.85, "ge"), (2030, 0.90, "ge")],
}

#: Texts of Decision 210/QĐ-UBND quoted exactly on /plan (the Vietnamese page).
DECISION_210_QUOTES = (
    "50% số đơn vị dịch vụ công được khảo sát đánh giá mức độ hài lòng của người dân",
    "trên 60% số cơ quan hành chính nhà nước các cấp sử dụng phần mềm văn phòng điện tử trong hoạt động của cơ quan,"
    " đơn vị",
    "Sự hài lòng của cá nhân đối với dịch vụ do đơn vị sự nghiệp công cung cấp trên các lĩnh vực giáo dục, y tế đạt"
    " mức trên 80% vào năm 2020; sự hài lòng của người dân và doanh nghiệp đối với sự phục vụ của các cơ quan hành"
    " chính nhà nước đạt mức trên 80% vào năm 2020.",
    "Mức độ hài lòng của nhân dân và doanh nghiệp về thủ tục hành chính đạt mức trên 80% vào năm 2020.",
)


def words(tag_or_text) -> str:
    text = tag_or_text if isinstance(tag_or_text, str) else tag_or_text.get_text()
    return " ".join(text.split())


@pytest.fixture()
def loaded(client, registry):
    return client


def api_indicators(client) -> dict[str, dict]:
    return {i["code"]: i for i in client.get("/api/v1/indicators").json["indicators"]}


def test_api_lists_the_resolution_76_milestones_with_values_and_sources(loaded):
    indicators = api_indicators(loaded)
    for code, milestones in RESOLUTION_76.items():
        assert milestones, code
        targets = {t["year"]: t for t in indicators[code]["targets"]}
        for year, value, comparison in milestones:
            target = targets[year]
            assert (target["value"], target["comparison"]) == (pytest.approx(value), comparison), (code, year)
            assert "76/NQ-CP" in target["source"]["vi"] and "76/NQ-CP" in target["source"]["en"], (code, year)
            assert (target["source_vi"], target["source_en"]) == (target["source"]["vi"], target["source"]["en"])
    land = indicators["sat-land-construction-investment"]
    assert (land["kind"], land["sector"], land["method"]) == ("satisfaction", "admin", "sipas")
    assert land["subset_of"] == {"indicator": "sat-procedures", "services": ["land", "construction", "investment"]}
    assert land["targets"]
    assert all("partly confirmed" in t["source"]["en"] for t in land["targets"])
    assert all("xác nhận một phần" in t["source"]["vi"] for t in land["targets"])


def test_api_cites_decision_210_by_its_sections(loaded):
    indicators = api_indicators(loaded)
    assert {code: indicators[code]["plan_section"] for code in indicators if indicators[code]["plan_section"]} == {
        "sat-procedures": "II.2.3",
        "sat-agencies": "II.2.5",
        "sat-health": "II.2.5",
        "sat-education": "II.2.5",
        "coverage-psu": "II.1.3",
    }
    first = {code: indicators[code]["targets"][0] for code in ("sat-procedures", "sat-health", "coverage-psu")}
    assert (
        "mục II.2.3" in first["sat-procedures"]["source"]["vi"] and "II.2.3" in first["sat-procedures"]["source"]["en"]
    )
    assert "mục II.2.5" in first["sat-health"]["source"]["vi"]
    assert "mục II.1.3" in first["coverage-psu"]["source"]["vi"]
    assert len(first) == 3
    for target in first.values():
        assert "Chủ tịch Ủy ban nhân dân tỉnh Sơn La" in target["source"]["vi"]
        assert "Chairman of the Sơn La Provincial People's Committee" in target["source"]["en"]
    assert (
        "50% số đơn vị dịch vụ công được khảo sát đánh giá mức độ hài lòng của người dân"
        in (first["coverage-psu"]["source"]["vi"])
    )
    assert {i["method"] for i in indicators.values()} <= {"sipas", "moh", "moe", "province"}
    assert indicators["sat-health"]["method"] == "moh" and indicators["sat-education"]["method"] == "moe"


def test_api_indicators_are_exactly_what_the_openapi_schema_describes(loaded):
    document = loaded.get("/api/v1/openapi.json").json
    schemas = document["components"]["schemas"]
    body_schema = document["paths"]["/indicators"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    resolver_schema = {**body_schema, "components": document["components"]}
    body = loaded.get("/api/v1/indicators").json
    jsonschema.validate(body, resolver_schema)
    indicator_schema = schemas["Indicator"]
    assert indicator_schema["additionalProperties"] is False
    assert schemas["IndicatorTarget"]["additionalProperties"] is False
    assert body["indicators"]
    for indicator in body["indicators"]:
        assert set(indicator) == set(indicator_schema["properties"]) == set(indicator_schema["required"])
    targets = [target for indicator in body["indicators"] for target in indicator["targets"]]
    assert targets, "no indicator has a target"
    for target in targets:
        assert set(target) == set(schemas["IndicatorTarget"]["required"])


@pytest.mark.parametrize("lang", LANGUAGES)
def test_plan_page_shows_both_plans(loaded, lang):
    soup = check_page(loaded.get(f"/plan?lang={lang}"), lang=lang)
    old, new = soup.find(id="plan-2011-2020"), soup.find(id="plan-2021-2030")
    assert old and new, "one section per plan"
    old_text, new_text = words(old.find_parent("section")), words(new.find_parent("section"))
    assert "210/QĐ-UBND" in old_text and "30c/NQ-CP" in old_text and "76/NQ-CP" in new_text
    for section in ("II-1-1", "II-1-3", "II-1-6", "II-2-1", "II-2-3", "II-2-5", "II-2-7"):
        assert soup.find(id=f"section-{section}"), section
    # Every Decision 210 quote is shown in Vietnamese, marked as such, whatever the page language.
    quotes = " ".join(words(q) for q in old.find_parent("section").select('blockquote[lang="vi"]'))
    for quote in DECISION_210_QUOTES:
        assert quote in quotes, quote
    links = {a["href"] for a in new.find_parent("section").find_all("a")}
    for code in RESOLUTION_76:
        assert f"/indicators/{code}" in links, code
    if lang == "en":
        assert "signed by the Chairman of the Sơn La Provincial People's Committee" in old_text
        assert "at least 90% by 2025" in new_text and "at least 95% by 2030" in new_text
        assert "above 85% by 2025" in new_text and "above 90% by 2030" in new_text
        assert "at least 85% by 2025" in new_text and "partly confirmed" in new_text
        assert "number was not found" in new_text
        assert "No published figure yet." in new_text
        assert "Under section IV.1 of the plan" in words(soup)
    else:
        assert "Chủ tịch Ủy ban nhân dân tỉnh Sơn La" in old_text
        assert "trên 95%" in new_text and "mới được xác nhận một phần" in new_text


def test_plan_data_quotes_are_exact_parts_of_the_quoted_paragraphs():
    from public.downloads import plan_targets

    plans = {plan["id"]: plan for plan in plan_targets()["plans"]}
    assert list(plans) == ["2011-2020", "2021-2030"]
    old = plans["2011-2020"]
    assert old["document"]["number"] == "210/QĐ-UBND" and old["document"]["date"] == "2012-02-09"
    assert old["document"]["issuer"]["vi"] == "Chủ tịch Ủy ban nhân dân tỉnh Sơn La"
    sections = set()
    assert len(old["targets"]) == 19
    for target in old["targets"]:
        sections.add(target["section"])
        assert target["section"].startswith("II."), target["id"]
        if "value" in target:
            assert " ".join(target["text"]["vi"].split()) in " ".join(target["quote"].split()), target["id"]
    assert sections == {f"II.1.{n}" for n in range(1, 8)} | {f"II.2.{n}" for n in range(1, 8)}
    assert old["reporting"]["section"] == "IV.1"
    ids = [t["id"] for plan in plans.values() for t in plan["targets"]]
    assert len(ids) == len(set(ids)), "target ids are unique across plans (entered values refer to them)"
    new = plans["2021-2030"]
    assert new["document"]["number"] == "76/NQ-CP" and new["years"] == [2025, 2030]
    assert {code for t in new["targets"] for code in t["indicators"]} == set(RESOLUTION_76)
