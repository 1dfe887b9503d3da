"""Instrument and indicator definitions: shipped files, rejections, answers, scoring."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
import yaml

from surveys.definitions import (
    INDICATORS_PATH,
    INSTRUMENTS_DIR,
    AnswerError,
    DefinitionError,
    Indicator,
    LocalizedText,
    Target,
    all_items_satisfied,
    apply_rule,
    aspect_item_counts,
    aspect_satisfied,
    coerce_answers,
    content_hash,
    instrument_from_snapshot,
    is_satisfied,
    item_level_counts,
    latest_instruments,
    load_indicators,
    load_instrument,
    load_instruments,
    rated_items,
    snapshot,
    targets_for,
    validate_answers,
)

SHIPPED = sorted(INSTRUMENTS_DIR.glob("*.yaml"))
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
#: The short instruments: one rating (and chips, or a follow-up by SMS), nothing about the person.
QUICK_CODES = {"counter-quick", "sms-quick"}
#: The long questionnaires: consent-gated demographics, a comment, a privacy notice.
LONG_CODES = ("admin-procedure", "health-outpatient", "health-inpatient", "education-parent")
SHIPPED_CODES = {*QUICK_CODES, *LONG_CODES}


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def instruments():
    return latest_instruments()


@pytest.fixture(scope="module")
def admin(instruments):
    return instruments["admin-procedure"]


@pytest.fixture(scope="module")
def quick():
    """The three-face counter rating (version 1): the ``counter_quick`` rule's own instrument."""
    return load_instruments()[("counter-quick", 1)]


@pytest.fixture(scope="module")
def outpatient(instruments):
    return instruments["health-outpatient"]


def write_yaml(directory: Path, data: dict, name: str | None = None) -> Path:
    """Write an instrument dict as YAML under its canonical (or the given) file name."""
    name = name or f"{data['code']}.v{data['version']}.yaml"
    path = directory / name
    path.write_text(yaml.dump(data, Dumper=DUMPER, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def admin_data(admin) -> dict:
    """A fresh, mutable, YAML-shaped copy of the admin-procedure instrument."""
    return copy.deepcopy(snapshot(admin))


def find_item(data: dict, code: str) -> tuple[int, int, dict]:
    for s_index, section in enumerate(data["sections"]):
        for i_index, item in enumerate(section["items"]):
            if item["code"] == code:
                return s_index, i_index, item
    raise KeyError(code)


def full_admin_answers(admin, value: int = 5) -> dict:
    answers = {item.code: value for item in admin.items if item.type == "scale5"}
    answers["respondent_type"] = "citizen"
    return answers


# --------------------------------------------------------------------------------------
# Shipped files
# --------------------------------------------------------------------------------------


def test_all_five_instruments_are_shipped():
    assert {path.name.split(".v")[0] for path in SHIPPED} == SHIPPED_CODES


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_instrument_loads(path):
    instrument = load_instrument(path)
    assert path.name == f"{instrument.code}.v{instrument.version}.yaml"
    assert instrument.title.vi and instrument.title.en
    assert instrument.indicators, "every instrument feeds at least one indicator"
    for link in instrument.indicators:
        assert instrument.item(link.item).required
    assert len(content_hash(instrument)) == 64
    json.dumps(snapshot(instrument))  # JSON-serialisable
    assert instrument.item("overall").is_rating


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_snapshot_round_trips(path):
    instrument = load_instrument(path)
    rebuilt = instrument_from_snapshot(json.loads(json.dumps(snapshot(instrument))))
    assert rebuilt == instrument
    assert content_hash(rebuilt) == content_hash(instrument)


def test_long_instruments_have_consent_gated_demographics_and_comment(instruments):
    for code in LONG_CODES:
        instrument = instruments[code]
        assert instrument.privacy_notice is not None
        consent = instrument.item("consent_demographics")
        assert consent.default == "no" and not consent.required
        demographic = {item.code for item in instrument.demographic_items}
        assert demographic == {"gender", "age_band", "ethnicity", "residence"}
        assert instrument.item("residence").source == "residence_units"
        assert instrument.item("comment").type == "text"
        assert instrument.item("comment").help is not None
        assert len(instrument.aspects) == 5


def test_counter_quick_structure(quick):
    overall = quick.item("overall")
    assert overall.type == "scale3"
    assert overall.option_values == (3, 2, 1) and len(overall.options) == 3
    assert all(option.pictogram for option in overall.options)
    chips = {"on_time", "clear_guidance", "staff_attitude", "single_trip", "fees_as_published", "no_improper_requests"}
    assert set(quick.item("went_well").option_values) == chips
    assert set(quick.item("went_badly").option_values) == chips
    assert "kiosk" in quick.channels
    assert not quick.demographic_items
    assert quick.items and all(item.type != "text" for item in quick.items)


def test_admin_procedure_follows_sipas(admin):
    assert admin.items[0].code == "respondent_type"
    assert [s.code for s in admin.aspects] == ["access", "procedure", "civil_servant", "result", "feedback"]
    assert [s.title.vi for s in admin.aspects] == [
        "1. Tiếp cận dịch vụ hành chính công",
        "2. Thủ tục hành chính",
        "3. Công chức trực tiếp giải quyết công việc",
        "4. Kết quả cung ứng dịch vụ hành chính công",
        "5. Tiếp nhận, giải quyết góp ý, phản ánh, kiến nghị",
    ]
    for aspect in admin.aspects:
        assert aspect.overall_item is not None
        assert aspect.overall_item.code == f"{aspect.code}_overall"
        rated = [i for i in aspect.items if i.type == "scale5" and not i.aspect_overall]
        assert 3 <= len(rated) <= 6
    # The SIPAS criteria missing from version 1, and one idea per item.
    assert {
        "procedure_posted_accurately",
        "procedure_processing_time",
        "servant_guidance_clear",
        "servant_by_the_rules",
        "servant_no_trouble",
    } <= {item.code for item in admin.items}
    assert not admin.has_item("servant_integrity") and not admin.has_item("result_late_apology")
    assert all("niêm yết" not in item.text.vi or "(niêm yết)" in item.text.vi for item in admin.items)
    assert "Kết quả đúng quy định" not in " ".join(item.text.vi for item in admin.items)
    assert {link.indicator: link.item for link in admin.indicators} == {
        "sat-agencies": "overall",
        "sat-procedures": "procedure_overall",
    }


def test_health_instruments_follow_moh_sections(instruments):
    for code in ("health-outpatient", "health-inpatient"):
        instrument = instruments[code]
        assert [s.code for s in instrument.aspects] == ["access", "transparency", "facilities", "staff", "results"]
        assert instrument.aspects[1].title.vi == "B. Sự minh bạch thông tin và thủ tục khám bệnh, điều trị"
        # Money or gifts asked for is a fact (yes/no), not a satisfaction rating.
        assert instrument.item("d_gift_request").type == "yes_no"
        for aspect in instrument.aspects:
            assert aspect.items, aspect.code
            letter = aspect.items[0].code[0]
            assert all(item.code[0] == letter for item in aspect.items)
        assert len(instrument.item("come_back").options) == 5


def test_shipped_indicators_load_and_join_the_instruments():
    indicators = load_indicators()
    assert {
        "sat-procedures",
        "sat-agencies",
        "sat-health",
        "sat-education",
        "coverage-psu",
        "sat-agencies-3face",
        "sat-land-construction-investment",
        "sipas-index",
        "health-item-level",
        "health-mean-score",
        "health-come-back",
    } <= set(indicators)
    agencies = indicators["sat-agencies"]
    # Five-point answers only: the three-face counter ratings keep their own series.
    assert ("counter-quick", "overall", "counter_quick") not in {
        (link.instrument, link.item, link.rule) for link in agencies.instruments
    }
    assert ("admin-procedure", "overall", "top_two_box") in {
        (link.instrument, link.item, link.rule) for link in agencies.instruments
    }
    assert {(link.instrument, link.version, link.rule) for link in indicators["sat-agencies-3face"].instruments} == {
        ("counter-quick", 1, "counter_quick")
    }
    assert all(indicator.method in ("sipas", "moh", "moe", "province") for indicator in indicators.values())
    assert {link.instrument for link in indicators["sat-health"].instruments} == {
        "health-outpatient",
        "health-inpatient",
    }
    for code in ("sat-procedures", "sat-agencies", "sat-health", "sat-education"):
        indicator = indicators[code]
        assert indicator.kind == "satisfaction"
        assert indicator.min_n == 30 and indicator.min_n_show == 10
        first = indicator.targets[0]
        assert (first.year, first.value, first.comparison) == (2020, 0.80, "gt")
        assert [t.year for t in indicator.targets] == [2020, 2025, 2030]
    coverage = indicators["coverage-psu"]
    assert coverage.kind == "coverage" and coverage.sector is None
    assert coverage.coverage.min_valid_responses == 30
    assert set(coverage.coverage.unit_sectors) == {"health", "education"}
    assert (coverage.targets[0].year, coverage.targets[0].value) == (2015, 0.50)
    assert coverage.instruments == ()


def test_latest_instruments_picks_the_highest_version(tmp_path, admin):
    shutil.copy(admin.source_path, tmp_path)
    newer = admin_data(admin)
    newer["version"] = admin.version + 1
    newer["title"]["en"] = "Next version"
    write_yaml(tmp_path, newer)
    assert set(load_instruments(tmp_path)) == {
        ("admin-procedure", admin.version),
        ("admin-procedure", admin.version + 1),
    }
    latest = latest_instruments(tmp_path)["admin-procedure"]
    assert latest.version == admin.version + 1 and latest.title.en == "Next version"


# --------------------------------------------------------------------------------------
# Content hash
# --------------------------------------------------------------------------------------


def test_hash_is_stable_under_reformatting(tmp_path, admin):
    data = snapshot(admin)
    original = content_hash(admin)
    styles = {
        "flow": dict(default_flow_style=True, width=10_000),
        "sorted": dict(sort_keys=True),
        "narrow": dict(width=20, indent=4),
    }
    for label, style in styles.items():
        directory = tmp_path / label
        directory.mkdir()
        text = "# a comment\n" + yaml.dump(data, Dumper=DUMPER, allow_unicode=True, **style)
        path = directory / admin.source_path.name
        path.write_text(text, encoding="utf-8")
        assert content_hash(load_instrument(path)) == original, label


def test_hash_ignores_defaults_written_out(tmp_path, quick):
    # The shipped file leaves `required` implicit on the chips; writing it changes nothing.
    data = snapshot(quick)
    for item in data["sections"][0]["items"]:
        item.pop("aspect_overall")
        item.pop("demographic")
    path = write_yaml(tmp_path, data)
    assert content_hash(load_instrument(path)) == content_hash(quick)


def test_hash_changes_with_wording(tmp_path, admin):
    data = admin_data(admin)
    data["sections"][1]["items"][0]["text"]["vi"] += "!"
    path = write_yaml(tmp_path, data)
    assert content_hash(load_instrument(path)) != content_hash(admin)


# --------------------------------------------------------------------------------------
# Rejections: each names the file, the path inside it and the reason
# --------------------------------------------------------------------------------------


def rejected(path: Path) -> DefinitionError:
    with pytest.raises(DefinitionError) as caught:
        load_instrument(path)
    error = caught.value
    assert error.file == str(path)
    assert str(path) in str(error) and error.path in str(error)
    return error


def test_missing_vi_text_is_rejected(tmp_path, admin):
    data = admin_data(admin)
    del data["sections"][2]["items"][0]["text"]["vi"]
    error = rejected(write_yaml(tmp_path, data))
    assert error.path == "sections[2].items[0].text.vi"
    assert "missing" in error.reason
    assert error.line is not None


def test_empty_en_text_is_rejected(tmp_path, admin):
    data = admin_data(admin)
    data["title"]["en"] = "   "
    error = rejected(write_yaml(tmp_path, data))
    assert error.path == "title.en"
    assert "empty" in error.reason


def test_duplicate_item_code_is_rejected(tmp_path, admin):
    data = admin_data(admin)
    data["sections"][3]["items"][1]["code"] = data["sections"][3]["items"][0]["code"]
    error = rejected(write_yaml(tmp_path, data))
    assert error.path == "sections[3].items[1].code"
    assert "duplicate" in error.reason


def test_duplicate_option_value_is_rejected(tmp_path, admin):
    data = admin_data(admin)
    s_index, i_index, item = find_item(data, "gender")
    item["options"][1]["value"] = item["options"][0]["value"]
    error = rejected(write_yaml(tmp_path, data))
    assert error.path == f"sections[{s_index}].items[{i_index}].options[1].value"


def test_unknown_indicator_item_is_rejected(tmp_path, admin):
    data = admin_data(admin)
    data["indicators"][1]["item"] = "no_such_item"
    error = rejected(write_yaml(tmp_path, data))
    assert error.path == "indicators[1].item"
    assert "no_such_item" in error.reason


def test_rule_must_fit_the_item_type(tmp_path, admin):
    data = admin_data(admin)
    data["indicators"][0]["rule"] = "counter_quick"
    error = rejected(write_yaml(tmp_path, data))
    assert error.path == "indicators[0].rule"


@pytest.mark.parametrize(
    "code",
    ["phone", "phone_number", "email", "full_name", "cccd", "cmnd", "id_number", "home_address", "so_dien_thoai"],
)
def test_personal_data_item_codes_are_rejected(tmp_path, admin, code):
    data = admin_data(admin)
    data["sections"][0]["items"].append(
        {
            "code": code,
            "type": "choice",
            "text": {"vi": "Câu hỏi", "en": "Question"},
            "options": [{"value": "a", "label": {"vi": "A", "en": "A"}}],
        }
    )
    error = rejected(write_yaml(tmp_path, data))
    assert error.path == "sections[0].items[2].code"
    assert "personal data" in error.reason


@pytest.mark.parametrize(
    ("language", "question"),
    [
        ("vi", "Số điện thoại của Ông/Bà là gì?"),
        ("vi", "Họ và tên người trả lời"),
        ("vi", "Số CCCD"),
        ("en", "Your e-mail"),
        ("en", "Home address"),
    ],
)
def test_personal_data_questions_are_rejected(tmp_path, admin, language, question):
    data = admin_data(admin)
    data["sections"][0]["items"][1]["text"][language] = question
    error = rejected(write_yaml(tmp_path, data))
    assert error.path == f"sections[0].items[1].text.{language}"


def test_wrong_type_is_rejected(tmp_path, admin):
    data = admin_data(admin)
    data["version"] = "one"
    error = rejected(write_yaml(tmp_path, data, name="admin-procedure.v1.yaml"))
    assert error.path == "version"
    assert "integer" in error.reason


def test_unknown_item_type_is_rejected(tmp_path, admin):
    data = admin_data(admin)
    data["sections"][1]["items"][2]["type"] = "slider"
    error = rejected(write_yaml(tmp_path, data))
    assert error.path == "sections[1].items[2].type"
    assert "slider" in error.reason


def test_unknown_field_is_rejected(tmp_path, admin):
    data = admin_data(admin)
    data["sections"][1]["items"][0]["colour"] = "red"
    error = rejected(write_yaml(tmp_path, data))
    assert error.path == "sections[1].items[0].colour"
    assert "unknown field" in error.reason


@pytest.mark.parametrize(
    ("name", "wrong"),
    [("admin-procedure.v9.yaml", "version"), ("admin.v2.yaml", "code"), ("admin-procedure.yaml", "code")],
)
def test_file_name_mismatch_is_rejected(tmp_path, admin, name, wrong):
    error = rejected(write_yaml(tmp_path, admin_data(admin), name=name))
    assert error.path == wrong
    assert f"admin-procedure.v{admin.version}.yaml" in error.reason


def test_duplicate_yaml_key_is_rejected(tmp_path):
    path = tmp_path / "x.v1.yaml"
    path.write_text("code: x\nversion: 1\ncode: y\n", encoding="utf-8")
    error = rejected(path)
    assert error.path == "code" and error.line == 3


def test_invalid_yaml_is_rejected(tmp_path):
    path = tmp_path / "x.v1.yaml"
    path.write_text("code: [x\n", encoding="utf-8")
    assert "YAML" in rejected(path).reason


def test_demographics_need_consent_before_them(tmp_path, admin):
    data = admin_data(admin)
    s_index, i_index, _ = find_item(data, "consent_demographics")
    del data["sections"][s_index]["items"][i_index]
    error = rejected(write_yaml(tmp_path, data))
    assert error.path == f"sections[{s_index}].items[{i_index}].demographic"
    assert "consent_demographics" in error.reason


def test_consent_must_default_to_no(tmp_path, admin):
    data = admin_data(admin)
    s_index, i_index, item = find_item(data, "consent_demographics")
    item["default"] = "yes"
    error = rejected(write_yaml(tmp_path, data))
    assert error.path == f"sections[{s_index}].items[{i_index}].default"


def test_demographics_need_a_privacy_notice(tmp_path, admin):
    data = admin_data(admin)
    del data["privacy_notice"]
    assert rejected(write_yaml(tmp_path, data)).path == "privacy_notice"


def test_kiosk_instruments_take_no_free_text(tmp_path, quick):
    data = copy.deepcopy(snapshot(quick))
    data["sections"][0]["items"].append(
        {
            "code": "comment",
            "type": "text",
            "max_length": 200,
            "text": {"vi": "Góp ý", "en": "Comment"},
            "help": {"vi": "Không ghi thông tin cá nhân", "en": "No personal details"},
        }
    )
    error = rejected(write_yaml(tmp_path, data))
    assert error.path == "sections[0].items[3].type"
    assert "kiosk" in error.reason


def test_scale_options_must_be_the_standard_values(tmp_path, quick):
    data = copy.deepcopy(snapshot(quick))
    data["sections"][0]["items"][0]["options"][2]["value"] = 0
    error = rejected(write_yaml(tmp_path, data))
    assert error.path == "sections[0].items[0].options"


def test_text_items_need_max_length(tmp_path, admin):
    data = admin_data(admin)
    s_index, i_index, item = find_item(data, "comment")
    del item["max_length"]
    assert rejected(write_yaml(tmp_path, data)).path == f"sections[{s_index}].items[{i_index}].max_length"


def test_aspect_overall_only_in_aspects(tmp_path, admin):
    data = admin_data(admin)
    s_index, i_index, item = find_item(data, "overall")
    item["aspect_overall"] = True
    error = rejected(write_yaml(tmp_path, data))
    assert error.path == f"sections[{s_index}].items[{i_index}].aspect_overall"


# --------------------------------------------------------------------------------------
# Indicators file and the join with the instruments
# --------------------------------------------------------------------------------------


def indicators_data() -> dict:
    return yaml.safe_load(INDICATORS_PATH.read_text(encoding="utf-8"))


def write_indicators(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "indicators.yaml"
    path.write_text(yaml.dump(data, Dumper=DUMPER, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def rejected_indicators(path: Path, instruments=None) -> DefinitionError:
    with pytest.raises(DefinitionError) as caught:
        load_indicators(path, instruments)
    return caught.value


def test_targets_must_be_sorted_by_year(tmp_path, instruments):
    data = indicators_data()
    targets = data["indicators"][1]["targets"]
    targets[0], targets[1] = targets[1], targets[0]
    path = write_indicators(tmp_path, data)
    error = rejected_indicators(path, instruments)
    assert error.file == str(path)
    assert error.path == "indicators[1].targets[1].year"


def test_target_values_must_be_shares(tmp_path, instruments):
    data = indicators_data()
    data["indicators"][0]["targets"][0]["value"] = 80
    error = rejected_indicators(write_indicators(tmp_path, data), instruments)
    assert error.path == "indicators[0].targets[0].value"


def test_missing_en_name_is_rejected(tmp_path, instruments):
    data = indicators_data()
    del data["indicators"][2]["name"]["en"]
    error = rejected_indicators(write_indicators(tmp_path, data), instruments)
    assert error.path == "indicators[2].name.en"


def test_instrument_naming_an_unknown_indicator_is_rejected(tmp_path, admin, instruments):
    data = admin_data(admin)
    data["indicators"][0]["indicator"] = "sat-nothing"
    path = write_yaml(tmp_path, data)
    others = [i for code, i in instruments.items() if code != "admin-procedure"]
    error = rejected_indicators(INDICATORS_PATH, [load_instrument(path), *others])
    assert error.file == str(path)
    assert error.path == "indicators[0].indicator"
    assert "sat-nothing" in error.reason


def test_instrument_feeding_another_sectors_indicator_is_rejected(tmp_path, admin, instruments):
    data = admin_data(admin)
    data["indicators"][0]["indicator"] = "sat-health"
    path = write_yaml(tmp_path, data)
    error = rejected_indicators(INDICATORS_PATH, [load_instrument(path), *instruments.values()])
    assert error.path == "indicators[0].indicator" and "sector" in error.reason


def test_satisfaction_indicator_fed_by_no_instrument_is_rejected(instruments):
    without_education = [i for code, i in instruments.items() if code != "education-parent"]
    error = rejected_indicators(INDICATORS_PATH, without_education)
    assert error.file == str(INDICATORS_PATH)
    assert error.path == "indicators[3].code"
    assert "sat-education" in error.reason


# --------------------------------------------------------------------------------------
# Answers
# --------------------------------------------------------------------------------------


def codes(errors: list[AnswerError]) -> list[tuple[str, str]]:
    return [(error.item, error.code) for error in errors]


def test_complete_answers_are_accepted(admin):
    answers = full_admin_answers(admin)
    answers.update(trips="1", comment="Cán bộ rất nhiệt tình.")
    assert validate_answers(admin, answers) == []


def test_no_opinion_is_accepted_on_required_ratings(admin):
    answers = full_admin_answers(admin, value=0)
    assert validate_answers(admin, answers) == []


def test_missing_required_items_are_reported(admin):
    answers = full_admin_answers(admin)
    del answers["overall"]
    del answers["respondent_type"]
    assert codes(validate_answers(admin, answers)) == [
        ("respondent_type", "required"),
        ("overall", "required"),
    ]


def test_optional_items_may_be_left_out(admin):
    assert not admin.item("comment").required
    assert not admin.item("trips").required
    assert validate_answers(admin, full_admin_answers(admin)) == []


def test_unknown_items_are_rejected(admin):
    answers = full_admin_answers(admin) | {"phone": "0912345678"}
    assert codes(validate_answers(admin, answers)) == [("phone", "unknown_item")]


@pytest.mark.parametrize(
    ("item", "value", "code"),
    [
        ("overall", 6, "invalid_choice"),
        ("overall", -1, "invalid_choice"),
        ("overall", "5", "invalid_type"),
        ("overall", True, "invalid_type"),
        ("respondent_type", "tourist", "invalid_choice"),
        ("respondent_type", 1, "invalid_type"),
        ("trips", "9", "invalid_choice"),
    ],
)
def test_values_outside_the_options_are_rejected(admin, item, value, code):
    answers = full_admin_answers(admin) | {item: value}
    assert codes(validate_answers(admin, answers)) == [(item, code)]


def test_long_comment_is_rejected(admin):
    answers = full_admin_answers(admin) | {"comment": "x" * 1001}
    errors = validate_answers(admin, answers)
    assert errors == [AnswerError("comment", "too_long", {"max_length": 1000})]


def test_demographics_without_consent_are_rejected(admin):
    answers = full_admin_answers(admin) | {"gender": "female", "ethnicity": "thai"}
    assert codes(validate_answers(admin, answers)) == [
        ("gender", "consent_required"),
        ("ethnicity", "consent_required"),
    ]
    answers["consent_demographics"] = "no"
    assert codes(validate_answers(admin, answers)) == [
        ("gender", "consent_required"),
        ("ethnicity", "consent_required"),
    ]


def test_demographics_with_consent_are_accepted(admin):
    answers = full_admin_answers(admin) | {
        "consent_demographics": "yes",
        "gender": "female",
        "age_band": "25_34",
        "ethnicity": "hmong",
        "residence": "xa-muong-la",
    }
    assert validate_answers(admin, answers) == []
    sources = {"residence_units": ["xa-muong-la", "phuong-to-hieu"]}
    assert validate_answers(admin, answers, sources=sources) == []
    answers["residence"] = "somewhere-else"
    assert codes(validate_answers(admin, answers, sources=sources)) == [("residence", "invalid_choice")]


def test_consent_alone_is_fine(admin):
    for consent in ("yes", "no"):
        answers = full_admin_answers(admin) | {"consent_demographics": consent}
        assert validate_answers(admin, answers) == []
    answers = full_admin_answers(admin) | {"consent_demographics": "maybe"}
    assert codes(validate_answers(admin, answers)) == [("consent_demographics", "invalid_choice")]


def test_counter_quick_answers(quick):
    assert validate_answers(quick, {"overall": 3}) == []
    assert validate_answers(quick, {"overall": 1, "went_badly": ["on_time", "single_trip"]}) == []
    assert codes(validate_answers(quick, {})) == [("overall", "required")]
    assert codes(validate_answers(quick, {"overall": 0})) == [("overall", "invalid_choice")]
    assert codes(validate_answers(quick, {"overall": 4})) == [("overall", "invalid_choice")]
    assert codes(validate_answers(quick, {"overall": 2, "went_well": ["bribe"]})) == [("went_well", "invalid_choice")]
    assert codes(validate_answers(quick, {"overall": 2, "went_well": ["on_time", "on_time"]})) == [
        ("went_well", "duplicate_choice")
    ]
    assert codes(validate_answers(quick, {"overall": 2, "went_well": "on_time"})) == [("went_well", "invalid_type")]


def test_coerce_answers_turns_form_strings_into_values(quick, admin):
    assert coerce_answers(quick, {"overall": "3", "went_well": "on_time"}) == {
        "overall": 3,
        "went_well": ["on_time"],
    }
    assert coerce_answers(quick, {"overall": ["2"], "went_badly": ["fees_as_published", ""]}) == {
        "overall": 2,
        "went_badly": ["fees_as_published"],
    }
    raw = {"overall": " 4 ", "comment": "  ", "trips": "", "respondent_type": "business", "extra": "kept"}
    assert coerce_answers(admin, raw) == {"overall": 4, "respondent_type": "business", "extra": "kept"}
    assert coerce_answers(admin, {"overall": "four"}) == {"overall": "four"}


# --------------------------------------------------------------------------------------
# Satisfied rules and secondary metrics
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(5, True), (4, True), (3, False), (2, False), (1, False), (0, None), (None, None)],
)
def test_top_two_box(admin, value, expected):
    answers = {} if value is None else {"overall": value, "procedure_overall": value}
    assert is_satisfied(admin, "sat-agencies", answers) is expected
    assert is_satisfied(admin, "sat-procedures", answers) is expected


@pytest.mark.parametrize(("value", "expected"), [(3, True), (2, True), (1, False), (None, None)])
def test_counter_quick_rule(quick, value, expected):
    answers = {} if value is None else {"overall": value}
    assert is_satisfied(quick, "sat-agencies", answers) is expected


def test_rules_refuse_values_they_do_not_know(quick, admin):
    with pytest.raises(ValueError):
        is_satisfied(quick, "sat-agencies", {"overall": 0})
    with pytest.raises(ValueError):
        is_satisfied(admin, "sat-agencies", {"overall": 7})
    with pytest.raises(ValueError):
        is_satisfied(admin, "sat-agencies", {"overall": "5"})
    with pytest.raises(ValueError):
        apply_rule("top_three_box", 4)


def test_is_satisfied_for_an_indicator_the_instrument_does_not_feed(quick):
    with pytest.raises(KeyError):
        is_satisfied(quick, "sat-health", {"overall": 3})


def test_rated_items_exclude_overall_items(admin, outpatient):
    admin_rated = {item.code for item in rated_items(admin)}
    assert "overall" not in admin_rated and "access_overall" not in admin_rated
    assert "procedure_posted_accurately" in admin_rated and len(admin_rated) == 23
    outpatient_rated = rated_items(outpatient)
    assert [item.code for item in outpatient_rated][:3] == ["a1", "a2", "a3"]
    assert len(outpatient_rated) > 3 and all(item.type == "scale5" for item in outpatient_rated)


def test_aspect_satisfied_uses_the_aspect_overall_item(admin):
    answers = full_admin_answers(admin, value=2) | {"access_overall": 5, "procedure_overall": 3, "result_overall": 0}
    del answers["feedback_overall"]
    assert aspect_satisfied(admin, answers) == {
        "access": True,
        "procedure": False,
        "civil_servant": False,
        "result": None,
        "feedback": None,
    }


def test_aspect_satisfied_without_overall_item_uses_the_mean(outpatient):
    answers = {
        "a1": 5,
        "a2": 3,
        "a3": 0,  # mean of 5 and 3 = 4 -> satisfied
        "b1": 4,
        "b2": 3,
        "b3": 3,  # mean 3.33 -> not
        "c1": 0,
        "c2": 0,  # nothing rated -> None
        "d1": 4,
    }
    result = aspect_satisfied(outpatient, answers)
    assert result == {"access": True, "transparency": False, "facilities": None, "staff": True, "results": None}


def test_item_level_counts_and_all_items_satisfied(outpatient):
    answers = {"a1": 5, "a2": 4, "a3": 0, "b1": 3, "overall": 5}
    assert item_level_counts(outpatient, answers) == (2, 3)
    assert all_items_satisfied(outpatient, answers) is False
    answers["b1"] = 4
    assert all_items_satisfied(outpatient, answers) is True
    assert aspect_item_counts(outpatient, answers)["access"] == (2, 2)
    assert aspect_item_counts(outpatient, answers)["staff"] == (0, 0)
    assert item_level_counts(outpatient, {"a1": 0, "overall": 5}) == (0, 0)
    assert all_items_satisfied(outpatient, {"a1": 0, "overall": 5}) is None


# --------------------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------------------


def make_indicator(*targets: Target) -> Indicator:
    text = LocalizedText("x", "x")
    return Indicator("sat-x", text, text, "satisfaction", None, "2.5", targets, 30, 10)


def target(year: int, value: float, comparison: str = "gt") -> Target:
    return Target(year, value, comparison, LocalizedText("nguồn", "source"))


def test_targets_for_picks_the_milestone_in_force():
    indicator = make_indicator(target(2020, 0.80), target(2025, 0.90, "ge"), target(2030, 0.95, "ge"))
    assert targets_for(indicator, 2012).year == 2020  # before the first: the first
    assert targets_for(indicator, 2020).year == 2020
    assert targets_for(indicator, 2024).year == 2020
    assert targets_for(indicator, 2025).year == 2025
    assert targets_for(indicator, 2029).value == 0.90
    assert targets_for(indicator, 2030).year == 2030
    assert targets_for(indicator, 2045).year == 2030
    assert targets_for(make_indicator(), 2025) is None


def test_targets_for_on_the_shipped_indicators():
    indicators = load_indicators()
    assert targets_for(indicators["sat-health"], 2026).value == 0.85
    assert targets_for(indicators["sat-procedures"], 2031).value == 0.95
    assert targets_for(indicators["coverage-psu"], 2026).value == 0.50


def test_target_comparison():
    assert not target(2020, 0.80, "gt").reached_by(0.80)
    assert target(2020, 0.80, "gt").reached_by(0.8001)
    assert target(2025, 0.90, "ge").reached_by(0.90)
    assert not target(2025, 0.90, "ge").reached_by(0.8999)


# --- #14: scales never pool, shares of factual answers, five faces without "no opinion" ---------------------


def _indicators_file(tmp_path, extra: str = "") -> Path:
    text = (Path(__file__).resolve().parents[2] / "surveys" / "indicators.yaml").read_text(encoding="utf-8")
    path = tmp_path / "indicators.yaml"
    path.write_text(text + extra, encoding="utf-8")
    return path


def test_a_three_face_link_without_a_three_face_series_is_refused(tmp_path):
    text = _indicators_file(tmp_path).read_text(encoding="utf-8")
    start = text.index("  - code: sat-agencies-3face")
    end = text.index("  - code: sat-land-construction-investment")
    path = tmp_path / "indicators.yaml"
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    with pytest.raises(DefinitionError, match="never pooled"):
        load_indicators(path)


def test_three_face_answers_score_in_their_own_series_and_five_point_answers_in_the_indicator():
    from surveys.scoring import score_answers

    quick = load_instruments()[("counter-quick", 1)]
    assert score_answers(quick, {"overall": 2}).metrics == (("sat-agencies-3face", 1),)
    admin = load_instruments()[("admin-procedure", 1)]
    metrics = dict(score_answers(admin, {"respondent_type": "citizen", "overall": 4, "procedure_overall": 3}).metrics)
    assert metrics["sat-agencies"] == 1 and metrics["sat-procedures"] == 0 and "sat-agencies-3face" not in metrics


def test_share_indicators_count_the_listed_answers_and_skip_unanswered():
    from surveys.scoring import score_answers

    outpatient = load_instruments()[("health-outpatient", 1)]
    assert ("health-come-back", 1) in score_answers(outpatient, {"overall": 4, "come_back": "definitely_yes"}).metrics
    assert ("health-come-back", 0) in score_answers(outpatient, {"overall": 4, "come_back": "not_sure"}).metrics
    metrics = score_answers(outpatient, {"overall": 4}).metrics
    assert metrics and all(m != "health-come-back" for m, _ in metrics)


def test_a_share_indicator_whose_item_no_instrument_asks_is_refused(tmp_path):
    path = _indicators_file(
        tmp_path,
        """
  - code: asked-nothing
    method: province
    name: {vi: Không có, en: Nothing}
    description: {vi: Không có, en: Nothing}
    kind: share
    share: {item: no_such_item, values: ["yes"]}
    sector: admin
    plan_section: null
    min_n: 30
    min_n_show: 10
    targets: []
""",
    )
    with pytest.raises(DefinitionError, match="no instrument of the sector asks"):
        load_indicators(path)


def test_a_five_point_item_may_leave_out_no_opinion_and_then_refuses_zero(tmp_path):
    path = tmp_path / "faces.v1.yaml"
    path.write_text(
        """
code: faces
version: 1
title: {vi: Mặt, en: Faces}
intro: {vi: Chọn, en: Choose}
sector: admin
channels: [kiosk]
respondent_types: [citizen]
sections:
  - code: rating
    title: {vi: Đánh giá, en: Rating}
    items:
      - code: overall
        type: scale5
        text: {vi: Hài lòng không?, en: Satisfied?}
        options:
          - {value: 1, label: {vi: Rất không hài lòng, en: Very dissatisfied}}
          - {value: 2, label: {vi: Không hài lòng, en: Dissatisfied}}
          - {value: 3, label: {vi: Bình thường, en: Neutral}}
          - {value: 4, label: {vi: Hài lòng, en: Satisfied}}
          - {value: 5, label: {vi: Rất hài lòng, en: Very satisfied}}
indicators:
  - {indicator: sat-agencies, item: overall, rule: top_two_box}
""",
        encoding="utf-8",
    )
    instrument = load_instrument(path)
    assert [e.code for e in validate_answers(instrument, {"overall": 0})] == ["invalid_choice"]
    assert [e.code for e in validate_answers(instrument, {"overall": 6})] == ["invalid_choice"]
    assert validate_answers(instrument, {"overall": 5}) == []


# --------------------------------------------------------------------------------------
# Revised instruments (issue #14): facts as yes/no shares, ethnic groups, privacy notice
# --------------------------------------------------------------------------------------

SON_LA_ETHNIC_GROUPS = [
    ("thai", "Thái"),
    ("hmong", "Mông (H'Mông)"),
    ("kinh", "Kinh"),
    ("muong", "Mường"),
    ("dao", "Dao"),
    ("xinh_mun", "Xinh Mun"),
    ("kho_mu", "Khơ Mú"),
    ("khang", "Kháng"),
    ("la_ha", "La Ha"),
    ("lao", "Lào"),
    ("other", "Dân tộc khác"),
    ("prefer_not_to_say", "Không muốn trả lời"),
]


def test_the_latest_long_instruments_list_the_ethnic_groups_of_son_la(instruments):
    from webapp.models.collection import ETHNICITY_GROUPS

    for code in LONG_CODES:
        ethnicity = instruments[code].item("ethnicity")
        assert [(o.value, o.label.vi) for o in ethnicity.options] == SON_LA_ETHNIC_GROUPS, code
        # The raking groups keep their values: every group but "other" is an option.
        assert set(ETHNICITY_GROUPS) - {"other"} <= set(ethnicity.option_values)


def test_the_privacy_notice_names_the_controller_the_decree_and_withdrawal(instruments):
    for code in LONG_CODES:
        notice = instruments[code].privacy_notice
        assert "Sở Nội vụ tỉnh Sơn La" in notice.vi and "Sở Nội vụ tỉnh Sơn La" in notice.en
        assert "13/2023/NĐ-CP" in notice.vi and "13/2023/NĐ-CP" in notice.en
        assert "dân tộc" in notice.vi and "sensitive" in notice.en
        assert "rút lại" in notice.vi and "withdraw" in notice.en and "deletion" in notice.en
        assert ("sức khỏe" in notice.vi) == code.startswith("health-"), code


def test_money_asked_beyond_the_fees_is_a_yes_no_fact_and_feeds_a_share(instruments):
    from surveys.scoring import score_answers

    indicators = load_indicators()
    for code, item, indicator in [
        ("admin-procedure", "improper_fees", "improper-fees"),
        ("health-outpatient", "d_gift_request", "health-gift-requests"),
        ("health-inpatient", "d_gift_request", "health-gift-requests"),
        ("education-parent", "env_extra_charges", "education-extra-charges"),
    ]:
        instrument = instruments[code]
        assert instrument.item(item).type == "yes_no" and not instrument.item(item).required
        assert indicators[indicator].kind == "share" and indicators[indicator].targets == ()
        assert indicators[indicator].share.item == item and indicators[indicator].share.values == ("yes",)
        assert (indicator, 1) in score_answers(instrument, {"overall": 4, item: "yes"}).metrics
        assert (indicator, 0) in score_answers(instrument, {"overall": 4, item: "no"}).metrics
        metrics = score_answers(instrument, {"overall": 4}).metrics
        assert metrics and all(metric != indicator for metric, _ in metrics)
    assert not instruments["education-parent"].has_item("env_no_improper_fees")
    assert instruments["education-parent"].aspects[-1].title.vi == "5. Sự phát triển và tiến bộ của người học"


def test_the_late_result_question_applies_to_everyone(admin):
    late = admin.item("result_late_notice")
    assert late.type == "choice" and "not_late" in late.option_values and "no_result_yet" in late.option_values
