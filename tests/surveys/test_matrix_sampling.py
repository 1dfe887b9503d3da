"""Matrix sampling: a required core for everyone, a random, recorded subset of the detail criteria."""

from __future__ import annotations

import copy
import random
from collections import Counter

import pytest
import yaml

from surveys.definitions import (
    DefinitionError,
    draw_asked_items,
    latest_instruments,
    load_instrument,
    load_instruments,
    sampled_items,
    snapshot,
    validate_answers,
)

DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@pytest.fixture(scope="module")
def admin():
    return latest_instruments()["admin-procedure"]


def core_codes(instrument) -> set[str]:
    """Everything not subject to sampling: the overall items, the aspects' overall items, the facts."""
    sampled = {item.code for section in instrument.sections for item in sampled_items(section)}
    return {item.code for item in instrument.items} - sampled


def answers_for(instrument, asked, value: int = 4) -> dict:
    answers = {item.code: value for item in instrument.items if item.type == "scale5" and item.code in asked}
    answers["respondent_type"] = "citizen"
    return answers


def test_the_v2_admin_survey_samples_two_detail_items_per_aspect(admin):
    assert admin.version == 2
    assert len(admin.aspects) == 5
    for aspect in admin.aspects:
        assert aspect.sample == 2
        assert aspect.overall_item is not None and aspect.overall_item.required
        assert len(sampled_items(aspect)) > 2


def test_draw_keeps_the_core_and_k_detail_items_per_sampled_section(admin):
    asked = draw_asked_items(admin, random.Random(7))
    assert asked is not None
    assert core_codes(admin) <= asked
    assert len(admin.aspects) == 5
    for aspect in admin.aspects:
        drawn = [item.code for item in sampled_items(aspect) if item.code in asked]
        assert len(drawn) == aspect.sample
    assert {"overall", "procedure_overall", "improper_fees", "comment", "ethnicity"} <= asked


def test_every_detail_item_gets_drawn_about_equally_often(admin):
    rng = random.Random(2026)
    counts = Counter(code for _ in range(3000) for code in draw_asked_items(admin, rng))
    assert len(admin.aspects) == 5
    for aspect in admin.aspects:
        items = sampled_items(aspect)
        assert items and len(items) > aspect.sample, aspect.code
        expected = 3000 * aspect.sample / len(items)
        for item in items:
            assert abs(counts[item.code] - expected) < 0.15 * expected, item.code


def test_instruments_without_sampling_ask_everything():
    instruments = latest_instruments()
    for code in ("health-outpatient", "health-inpatient", "education-parent", "counter-quick"):
        assert draw_asked_items(instruments[code], random.Random(1)) is None
    assert draw_asked_items(load_instruments()[("admin-procedure", 1)], random.Random(1)) is None


def test_items_not_drawn_are_not_required_and_their_answers_are_refused(admin):
    asked = draw_asked_items(admin, random.Random(3))
    answers = answers_for(admin, asked)
    assert validate_answers(admin, answers, asked=asked) == []
    left_out = next(item.code for item in sampled_items(admin.aspects[0]) if item.code not in asked)
    errors = validate_answers(admin, answers | {left_out: 5}, asked=asked)
    assert [(error.item, error.code) for error in errors] == [(left_out, "not_asked")]
    # A drawn item is required like any other rating.
    drawn = next(item.code for item in sampled_items(admin.aspects[0]) if item.code in asked)
    errors = validate_answers(admin, {k: v for k, v in answers.items() if k != drawn}, asked=asked)
    assert [(error.item, error.code) for error in errors] == [(drawn, "required")]


def test_without_an_asked_set_everything_is_asked(admin):
    answers = answers_for(admin, {item.code for item in admin.items})
    assert validate_answers(admin, answers) == []
    del answers["access_find"]
    assert [(e.item, e.code) for e in validate_answers(admin, answers)] == [("access_find", "required")]


def test_sample_round_trips_through_the_snapshot(admin):
    data = snapshot(admin)
    assert [section.get("sample") for section in data["sections"] if section["aspect"]] == [2] * 5
    v1 = snapshot(load_instruments()[("admin-procedure", 1)])
    assert v1["sections"] and all("sample" not in section for section in v1["sections"]), "v1's hash must not change"


def _write(tmp_path, data) -> str:
    path = tmp_path / f"{data['code']}.v{data['version']}.yaml"
    path.write_text(yaml.dump(data, Dumper=DUMPER, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d["sections"][0].update(sample=1), "only aspect sections"),
        (lambda d: d["sections"][1].update(sample=5), "fewer than"),
        (lambda d: d["sections"][1]["items"][-1].pop("aspect_overall"), "aspect_overall"),
    ],
    ids=["not-an-aspect", "sample-too-large", "no-core-item"],
)
def test_bad_samples_are_refused(tmp_path, admin, change, reason):
    data = copy.deepcopy(snapshot(admin))
    change(data)
    with pytest.raises(DefinitionError, match=reason):
        load_instrument(_write(tmp_path, data))


def test_a_sampled_item_cannot_feed_an_indicator(tmp_path, admin):
    data = copy.deepcopy(snapshot(admin))
    data["indicators"][1]["item"] = "procedure_simple"
    with pytest.raises(DefinitionError, match="sampled"):
        load_instrument(_write(tmp_path, data))


# --- the online survey ---------------------------------------------------------------------


def _asked_in_session(client) -> frozenset[str]:
    from surveys.survey_flow import SESSION_KEY

    with client.session_transaction() as flask_session:
        progress = next(iter(flask_session[SESSION_KEY].values()))
    admin = latest_instruments()["admin-procedure"]
    return frozenset(item.code for item in admin.items if item.code not in progress["skipped"])


def test_online_survey_asks_the_core_and_the_drawn_items_and_stores_them(client, db, registry):
    from sqlalchemy import select

    from tests.pages import check_page
    from tests.surveys.test_online import PAGES, answer_pages, survey_url
    from webapp.models import Response

    admin = latest_instruments()["admin-procedure"]
    soup = check_page(client.get(survey_url() + "&lang=en"), lang="en")
    asked = _asked_in_session(client)
    answer_pages(client, PAGES[:1])
    soup = check_page(client.get(survey_url(2) + "&lang=en"), lang="en")
    names = {i["name"] for i in soup.select("form input[type=radio]")}
    access = admin.sections[1]
    assert "access_overall" in names
    assert names - {"access_overall"} == {item.code for item in sampled_items(access) if item.code in asked}
    assert len(names) == 1 + access.sample
    assert soup.find(id="sampled-note"), "the page says why only some questions are asked"

    answer_pages(client, PAGES[1:], start=survey_url(2))
    stored = db.session.scalars(select(Response)).one()
    assert frozenset(stored.asked_items) == asked and stored.asked_items == sorted(asked)
    assert core_codes(admin) <= set(stored.asked_items)
    rated = [code for code, value in stored.answers.items() if admin.item(code).type == "scale5"]
    assert len(rated) == 1 + 5 * 3, "overall, and per aspect its overall item and two detail items"


def test_an_answer_to_a_question_not_asked_is_refused_with_a_clear_message(client, db, registry):
    from tests.pages import check_page
    from tests.surveys.test_online import PAGES, answer_pages, asked_on, post_form, stored_count, survey_url

    answer_pages(client, PAGES[:1])
    asked = _asked_in_session(client)
    admin = latest_instruments()["admin-procedure"]
    left_out = next(item.code for item in sampled_items(admin.sections[1]) if item.code not in asked)
    soup = check_page(client.get(survey_url(2) + "&lang=en"), lang="en")
    assert not soup.find(attrs={"name": left_out}), "a question not drawn is not shown"
    soup = check_page(post_form(client, soup, {**asked_on(soup, PAGES[1]), left_out: "5"}), status=422, lang="en")
    summary = soup.find(class_="error-summary").get_text(" ")
    assert admin.item(left_out).text.en in summary
    assert "This question was not among those chosen for you" in summary
    assert client.get(survey_url(3)).status_code == 302, "the page was not saved"
    assert stored_count(db) == 0


def test_every_session_draws_its_own_questions(client, app, registry):
    from tests.surveys.test_online import survey_url

    draws = set()
    for _ in range(12):
        fresh = app.test_client()
        fresh.get(survey_url())
        draws.add(_asked_in_session(fresh))
    assert len(draws) > 1


def test_paper_asks_everything_and_stores_no_asked_set(app, db, registry):
    import uuid

    from surveys.submission import Submission, submit_response
    from tests.conftest import complete_online_answers
    from webapp.models import Response

    code, answers = complete_online_answers("civil-status")
    stored = submit_response(
        Submission(
            client_id=uuid.uuid4(),
            instrument_code=code,
            unit_code="n03646",
            service_code="civil-status",
            channel="paper",
            answers=answers,
        )
    )
    assert db.session.get(Response, stored.response_id).asked_items is None


def test_a_submission_refuses_an_answer_outside_its_asked_set(app, db, registry):
    import uuid

    from surveys.submission import Submission, SubmissionRejected, submit_response
    from webapp.models import Response

    admin = latest_instruments()["admin-procedure"]
    asked = draw_asked_items(admin, random.Random(11))
    left_out = next(item.code for item in sampled_items(admin.aspects[2]) if item.code not in asked)

    def submission(answers):
        return Submission(
            client_id=uuid.uuid4(),
            instrument_code="admin-procedure",
            unit_code="n03646",
            service_code="civil-status",
            channel="online",
            answers=answers,
            asked_items=asked,
        )

    with pytest.raises(SubmissionRejected) as refused:
        submit_response(submission(answers_for(admin, asked) | {left_out: 4}))
    assert [(e.field, e.code) for e in refused.value.errors] == [(f"answers.{left_out}", "not_asked")]
    stored = submit_response(submission(answers_for(admin, asked)))
    assert db.session.get(Response, stored.response_id).asked_items == sorted(asked)


# --- criterion rates: one score row per criterion rated, none for those not asked -----------------


def test_each_rated_criterion_gets_its_own_score_row(admin):
    from surveys.definitions import criterion_items
    from surveys.scoring import score_answers

    asked = draw_asked_items(admin, random.Random(5))
    answers = answers_for(admin, asked)
    drawn = [item.code for item in criterion_items(admin) if item.code in asked]
    answers[drawn[0]], answers[drawn[1]], answers[drawn[2]] = 5, 3, 0  # satisfied, not satisfied, no opinion
    rows = {metric: value for metric, value in score_answers(admin, answers).metrics if metric.startswith("item:")}
    # Rated criteria only: not the ones not drawn, nor "no opinion".
    assert set(rows) == {f"item:{code}" for code in drawn if code != drawn[2]}
    assert rows[f"item:{drawn[0]}"] == 1 and rows[f"item:{drawn[1]}"] == 0
    # The aspects' overall questions are asked of everyone and are not criteria.
    assert rows and not any(metric.removeprefix("item:").endswith("_overall") for metric in rows)


def test_unsampled_instruments_have_no_criteria():
    from surveys.definitions import criterion_items

    unsampled = {
        key: instrument
        for key, instrument in load_instruments().items()
        if not any(section.sample for section in instrument.sections)
    }
    assert ("admin-procedure", 1) in unsampled
    for key, instrument in unsampled.items():
        assert criterion_items(instrument) == (), key


def test_migration_0014_scores_the_criteria_of_responses_stored_before(tmp_path, admin):
    """Responses stored on a sampled instrument before 0014 get their ``item:`` rows; downgrade removes them."""
    import json
    import uuid

    from flask_migrate import downgrade, upgrade
    from sqlalchemy import create_engine, text

    from surveys import definitions
    from tests.conftest import REPO, make_app

    url = f"sqlite:///{tmp_path / 'criteria.sqlite3'}"
    migrations = str(REPO / "migrations")
    app = make_app(url)
    asked = draw_asked_items(admin, random.Random(9))
    drawn = [item.code for item in definitions.criterion_items(admin) if item.code in asked]
    answers = answers_for(admin, asked) | {drawn[0]: 2, drawn[1]: 0}
    with app.app_context():
        upgrade(directory=migrations, revision="0013")
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO units (id, code, name_vi, name_en, kind, sector, path, valid_from, illustrative) "
                    "VALUES (1, 'sl', 'Sơn La', 'Son La', 'province', 'admin', '/1/', '2004-01-01', 0)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO services (id, code, name_vi, name_en, sector, kind, instrument_code) "
                    "VALUES (1, 'land', 'Đất đai', 'Land', 'admin', 'procedure_group', 'admin-procedure')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO instruments (id, code, version, content_hash, snapshot, sector, active, loaded_at) "
                    "VALUES (1, 'admin-procedure', 2, :hash, :snapshot, 'admin', 1, '2026-01-01 00:00:00')"
                ),
                {"hash": definitions.content_hash(admin), "snapshot": json.dumps(definitions.snapshot(admin))},
            )
            connection.execute(
                text(
                    "INSERT INTO responses (id, client_id, instrument_id, unit_id, service_id, channel, "
                    "respondent_type, period, answered_at, received_at, answers, reasons, items_rated, "
                    "items_satisfied, consent_demographics, status, quality_flags, late) VALUES (1, :client, 1, 1, "
                    "1, 'online', 'citizen', '2026-Q3', '2026-08-02 02:00:00', '2026-08-02 02:00:00', :answers, "
                    "'[]', 0, 0, 0, 'valid', '[]', 0)"
                ),
                {"client": uuid.uuid4().hex, "answers": json.dumps(answers)},
            )
        upgrade(directory=migrations, revision="0014")
        with engine.begin() as connection:
            rows = dict(
                connection.execute(
                    text("SELECT metric, satisfied FROM response_scores WHERE metric LIKE 'item:%'")
                ).all()
            )
        assert rows == {f"item:{code}": int(code != drawn[0]) for code in drawn if code != drawn[1]}
        downgrade(directory=migrations, revision="0013")
        with engine.begin() as connection:
            assert connection.execute(text("SELECT count(*) FROM response_scores")).scalar() == 0
        engine.dispose()
