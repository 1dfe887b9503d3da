"""The online survey, page by page, through the Flask test client.

Every page fetched goes through ``check_page``. Assertions rest on structure, status codes,
ids and the database, or on English text with ``?lang=en``, never on Vietnamese wording.
CSRF stays on (as in production): each POST sends the token read from the page.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from surveys import definitions
from surveys.survey_flow import SESSION_KEY
from tests.pages import check_page
from webapp.extensions import limiter
from webapp.models import Response, ResponseScore, Unit, utcnow
from webapp.periods import Period

#: Phường Tô Hiệu, a ward of the tree in force since 1 July 2025.
UNIT = "n03646"
SERVICE = "civil-status"
INSTRUMENT = "admin-procedure"
ADMIN = definitions.latest_instruments()[INSTRUMENT]


# --- helpers -----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def fresh_rate_limits(app):
    """Every test starts with empty rate-limit counters (they are kept per address)."""
    with app.app_context():
        limiter.reset()


def survey_url(page: int = 1, instrument: str = INSTRUMENT, service: str = SERVICE, unit: str = UNIT) -> str:
    suffix = f"/{page}" if page > 1 else ""
    return f"/survey/{unit}/{instrument}{suffix}?service={service}"


def path_of(response) -> str:
    location = urlsplit(response.headers["Location"])
    return location.path + (f"?{location.query}" if location.query else "")


def post_form(client, soup, answers: dict, *, csrf: bool = True):
    """Send the page's survey form with ``answers`` (and its CSRF token unless told not to)."""
    form = soup.find("form", method="post")
    data = {"website": "", **answers}
    if csrf:
        data["csrf_token"] = form.find("input", {"name": "csrf_token"})["value"]
    return client.post(form["action"], data=data)


def section_answers(code: str, value: int = 4, overall: int = 5) -> dict[str, str]:
    """Every scale item of a section answered ``value``, its overall item ``overall``."""
    section = next(s for s in ADMIN.sections if s.code == code)
    return {
        item.code: str(overall if item.aspect_overall else value) for item in section.items if item.type == "scale5"
    }


#: What one respondent answers on each page of admin-procedure, consent page last.
PAGES = [
    {"respondent_type": "citizen", "trips": "1"},
    section_answers("access"),
    section_answers("procedure"),
    section_answers("civil_servant", value=3, overall=4),
    section_answers("result", value=5, overall=5),
    {**section_answers("feedback", value=0, overall=0), "feedback_ways": "2"},
    {"overall": "5", "comment": ""},
    {"consent_demographics": "no"},
]


def expected_answers(asked=None) -> dict:
    """The answers of ``PAGES`` as stored, limited to the items ``asked`` (matrix sampling)."""
    merged: dict = {}
    for page in PAGES:
        merged.update(definitions.coerce_answers(ADMIN, page))
    return {code: value for code, value in merged.items() if asked is None or code in asked}


def asked_on(soup, answers: dict) -> dict:
    """``answers`` limited to the questions the page shows (the detail questions are sampled)."""
    return {code: value for code, value in answers.items() if soup.find(attrs={"name": code})}


def answer_pages(client, pages, start: str | None = None):
    """Answer ``pages`` in order from ``start`` (the questions each page asks); returns the last response."""
    url = start or survey_url()
    response = None
    assert pages, "no page to answer"
    for number, answers in enumerate(pages, start=1):
        soup = check_page(client.get(url))
        response = post_form(client, soup, asked_on(soup, answers))
        assert response.status_code == 302, f"page {number} was refused: {response.get_data(as_text=True)[:2000]}"
        url = path_of(response)
    return response


def stored_count(db) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Response))


# --- the list of services ----------------------------------------------------------------


def test_unit_page_lists_its_services_as_links_to_their_survey(client, db, registry):
    soup = check_page(client.get(f"/survey/{UNIT}?lang=en"), lang="en")
    unit = db.session.scalar(select(Unit).where(Unit.code == UNIT))
    assert unit.name_en in soup.h1.get_text()
    links = {a["href"] for a in soup.select("ul.link-list a")}
    expected = {f"/survey/{UNIT}/{service.instrument_code}?service={service.code}" for service in unit.services}
    assert links == expected
    names = [a.get_text(strip=True) for a in soup.select("ul.link-list a")]
    assert "Civil status (birth, marriage, death registration)" in names
    assert soup.find("a", href="/r"), "people without a scanner can type the receipt's code"


def test_unit_page_is_vietnamese_by_default(client, registry):
    check_page(client.get(f"/survey/{UNIT}"), lang="vi")


def test_unit_without_services_says_so(client, registry):
    soup = check_page(client.get("/survey/sl?lang=en"), lang="en")
    assert not soup.select("ul.link-list a")
    assert "no service of this office to rate online" in soup.get_text()


@pytest.mark.parametrize(
    "path",
    [
        "/survey/no-such-unit",
        "/survey/d116",  # Sơn La city: a district-level unit, abolished on 1 July 2025
        f"/survey/no-such-unit/{INSTRUMENT}?service={SERVICE}",
        f"/survey/d116/{INSTRUMENT}?service=land",
        f"/survey/{UNIT}/{INSTRUMENT}?service=no-such-service",
        f"/survey/{UNIT}/{INSTRUMENT}?service=outpatient",  # not a service of this ward
        f"/survey/{UNIT}/health-outpatient?service={SERVICE}",  # not this service's survey
        f"/survey/{UNIT}/{INSTRUMENT}/99?service={SERVICE}",
        f"/survey/no-such-unit/{INSTRUMENT}/thanks",
    ],
)
def test_unknown_or_closed_units_and_surveys_are_404(client, registry, path):
    check_page(client.get(path), status=404)


def test_survey_without_a_service_goes_back_to_the_list(client, registry):
    response = client.get(f"/survey/{UNIT}/{INSTRUMENT}")
    assert response.status_code == 302
    assert path_of(response) == f"/survey/{UNIT}"


# --- pages -------------------------------------------------------------------------------


def test_first_page_has_intro_privacy_progress_and_labelled_questions(client, registry):
    soup = check_page(client.get(survey_url() + "&lang=en"), lang="en")
    text = soup.get_text(" ")
    assert ADMIN.intro.en.split(".")[0] in text
    assert soup.find(id="privacy-heading")
    assert "Part 1 of 8" in soup.find(id="progress-text").get_text()
    progress = soup.find("progress")
    assert progress["value"] == "1" and progress["max"] == "8"
    assert progress["aria-labelledby"] == "progress-text"
    legends = [" ".join(f.legend.get_text().split()) for f in soup.find_all("fieldset")]
    assert legends[0] == ADMIN.item("respondent_type").text.en
    assert legends[1].startswith(ADMIN.item("trips").text.en) and "(optional)" in legends[1]
    assert soup.find("form", method="post").find("input", {"name": "csrf_token"})
    honeypot = soup.find("input", {"name": "website"})
    assert honeypot["tabindex"] == "-1" and honeypot.find_parent(attrs={"aria-hidden": "true"})
    assert soup.find("label", {"for": "website"}).get_text(strip=True) == "Leave this empty"
    # Scripts only from files (the listen buttons' progressive enhancement), never inline (CSP).
    scripts = soup.find_all("script")
    assert scripts and all(script.get("src") and not script.string for script in scripts), "no inline script (CSP)"
    assert not soup.find(style=True) and not soup.find("style"), "no inline style (CSP)"


def test_scale_questions_read_from_very_satisfied_down_with_no_opinion_last(client, registry):
    answer_pages(client, PAGES[:1])
    soup = check_page(client.get(survey_url(2) + "&lang=en"), lang="en")
    first = soup.find("fieldset")
    values = [i["value"] for i in first.find_all("input", type="radio")]
    assert values == ["5", "4", "3", "2", "1", "0"]
    labels = [first.find("label", {"for": i["id"]}).get_text(strip=True) for i in first.find_all("input", type="radio")]
    assert labels[0] == "Very satisfied" and labels[-1] == "Not used / no opinion"
    assert first.find(class_="choices__divider"), "no opinion is set apart from the scale"
    assert "Part 2 of 8" in soup.get_text()
    assert soup.find("a", class_="back-link")["href"] == survey_url(1)


def test_pages_cannot_be_skipped(client, registry):
    check_page(client.get(survey_url()))
    response = client.get(survey_url(5))
    assert response.status_code == 302 and path_of(response) == survey_url(1)


# --- completing the survey ---------------------------------------------------------------


def test_completing_admin_procedure_page_by_page_stores_one_response(client, db, registry):
    last = answer_pages(client, PAGES)
    assert path_of(last) == f"/survey/{UNIT}/{INSTRUMENT}/thanks?service={SERVICE}"
    soup = check_page(client.get(path_of(last) + "&lang=en"), lang="en")
    assert soup.find("a", href=f"/units/{UNIT}")
    assert soup.find("a", href="/")
    assert "margin of error" in soup.get_text()

    responses = db.session.scalars(select(Response)).all()
    assert len(responses) == 1
    stored = responses[0]
    assert stored.channel == "online"
    assert stored.unit.code == UNIT and stored.service.code == SERVICE
    assert stored.instrument.code == INSTRUMENT and stored.instrument.active
    assert stored.period == Period.quarter_of(utcnow()).label
    assert stored.respondent_type == "citizen"
    assert stored.asked_items is not None and stored.answers == expected_answers(stored.asked_items)
    assert stored.duration_seconds is not None and 0 <= stored.duration_seconds < 600
    assert stored.consent_demographics is False and stored.gender is None
    assert stored.comment is None
    scores = dict(
        db.session.execute(
            select(ResponseScore.metric, ResponseScore.satisfied).where(ResponseScore.response_id == stored.id)
        ).all()
    )
    assert scores["sat-agencies"] == 1  # overall 5
    assert scores["sat-procedures"] == 1  # procedure_overall 5
    assert scores["aspect:civil_servant"] == 1  # its overall item 4
    assert "aspect:feedback" not in scores  # "no opinion" counts for neither side
    # The survey in the session is over: only the marker that it was sent is left.
    with client.session_transaction() as flask_session:
        progress = next(iter(flask_session[SESSION_KEY].values()))
        assert progress["done"] is True and "answers" not in progress


def test_last_page_sent_twice_stores_one_response(client, db, registry):
    answer_pages(client, PAGES[:-1])
    soup = check_page(client.get(survey_url(8)))
    form = soup.find("form", method="post")
    data = {"csrf_token": form.find("input", {"name": "csrf_token"})["value"], "website": "", **PAGES[-1]}
    # Both requests leave with the same cookie, as when someone taps "Send" twice.
    with client.session_transaction() as flask_session:
        before = dict(flask_session)
    first = client.post(form["action"], data=data)
    with client.session_transaction() as flask_session:
        flask_session.clear()
        flask_session.update(before)
    second = client.post(form["action"], data=data)
    assert first.status_code == second.status_code == 302
    assert path_of(first) == path_of(second)
    # And once more with the session as it is after the first was stored (the Back button).
    third = client.post(form["action"], data=data)
    assert third.status_code == 302 and path_of(third) == path_of(first)
    assert stored_count(db) == 1


def test_a_new_visit_after_sending_starts_a_new_response(client, db, registry):
    answer_pages(client, PAGES)
    answer_pages(client, PAGES)
    assert stored_count(db) == 2
    client_ids = db.session.scalars(select(Response.client_id)).all()
    assert len(set(client_ids)) == 2


def test_quick_rating_can_be_given_for_an_administrative_service(client, db, registry):
    url = survey_url(instrument="counter-quick")
    soup = check_page(client.get(url + "&lang=en"), lang="en")
    assert "Part 1 of 1" in soup.get_text()
    assert len(soup.find_all("input", {"name": "went_well", "type": "checkbox"})) == 6
    response = post_form(client, soup, {"overall": "3", "went_well": ["on_time", "staff_attitude"]})
    assert response.status_code == 302 and path_of(response).startswith(f"/survey/{UNIT}/counter-quick/thanks")
    stored = db.session.scalars(select(Response)).one()
    assert stored.answers == {"overall": 3, "went_well": ["on_time", "staff_attitude"]}
    assert stored.kiosk_rating == 3 and stored.channel == "online"


# --- validation --------------------------------------------------------------------------


def test_missing_required_answer_is_explained_and_nothing_is_stored(client, db, registry):
    soup = check_page(client.get(survey_url() + "&lang=en"))
    response = post_form(client, soup, {"trips": "2"})
    soup = check_page(response, status=422, lang="en")
    summary = soup.find(class_="error-summary")
    assert summary["role"] == "alert"
    heading = summary.find(id="error-summary-title")
    assert heading["tabindex"] == "-1" and heading.has_attr("autofocus")
    links = [a["href"] for a in summary.find_all("a")]
    assert links == ["#field-respondent_type"]
    target = soup.find(id="field-respondent_type")
    assert target.name == "input" and target["name"] == "respondent_type"
    fieldset = target.find_parent("fieldset")
    assert "field-respondent_type-error" in fieldset["aria-describedby"].split()
    assert "Choose one answer." in soup.find(id="field-respondent_type-error").get_text()
    # What was answered on the page is shown again.
    assert soup.find("input", {"name": "trips", "value": "2"}).has_attr("checked")
    assert stored_count(db) == 0
    # And the next page is still out of reach.
    assert client.get(survey_url(2)).status_code == 302


def test_every_missing_scale_answer_is_listed(client, db, registry):
    answer_pages(client, PAGES[:1])
    soup = check_page(client.get(survey_url(2) + "&lang=en"))
    partial = asked_on(soup, PAGES[1])
    first, kept = sorted(code for code in partial if code != "access_overall")
    del partial[first], partial["access_overall"]
    soup = check_page(post_form(client, soup, partial), status=422, lang="en")
    links = [a["href"] for a in soup.select(".error-summary a")]
    assert sorted(links) == sorted([f"#field-{first}", "#field-access_overall"])
    for href in links:
        assert soup.find(id=href[1:]), f"{href} points at nothing"
    assert soup.find("input", {"name": kept, "value": "4"}).has_attr("checked")


def test_invalid_values_are_refused(client, db, registry):
    soup = check_page(client.get(survey_url()))
    soup = check_page(post_form(client, soup, {"respondent_type": "robot"}), status=422)
    assert [a["href"] for a in soup.select(".error-summary a")] == ["#field-respondent_type"]
    answer_pages(client, PAGES[:6])
    soup = check_page(client.get(survey_url(7) + "&lang=en"))
    soup = check_page(post_form(client, soup, {"overall": "5", "comment": "x" * 1001}), status=422)
    assert [a["href"] for a in soup.select(".error-summary a")] == ["#field-comment"]
    assert soup.find("textarea", {"name": "comment"})["maxlength"] == "1000"
    assert stored_count(db) == 0


def test_back_link_keeps_the_answers(client, registry):
    answer_pages(client, [{"respondent_type": "business", "trips": "4_or_more"}, PAGES[1]])
    soup = check_page(client.get(survey_url(3)))
    back = soup.find("a", class_="back-link")["href"]
    assert back == survey_url(2)
    soup = check_page(client.get(back))
    asked = asked_on(soup, PAGES[1])
    assert asked
    for code, value in asked.items():
        assert soup.find("input", {"name": code, "value": value}).has_attr("checked"), code
    soup = check_page(client.get(soup.find("a", class_="back-link")["href"]))
    assert soup.find("input", {"name": "respondent_type", "value": "business"}).has_attr("checked")
    assert soup.find("input", {"name": "trips", "value": "4_or_more"}).has_attr("checked")
    assert not soup.find("input", {"name": "respondent_type", "value": "citizen"}).has_attr("checked")
    # Changing an earlier answer keeps the later ones.
    post_form(client, soup, {"respondent_type": "citizen", "trips": "1"})
    soup = check_page(client.get(survey_url(2)))
    assert soup.find("input", {"name": "access_overall", "value": "5"}).has_attr("checked")


# --- consent gating ----------------------------------------------------------------------


def test_demographics_are_asked_only_after_consent(client, db, registry):
    answer_pages(client, PAGES[:-1])
    soup = check_page(client.get(survey_url(8) + "&lang=en"), lang="en")
    names = {i["name"] for i in soup.select("form input[type=radio]")}
    assert names == {"consent_demographics"}, "only the consent question is on this page"
    assert soup.find("input", {"name": "consent_demographics", "value": "no"}).has_attr("checked"), "no is the default"
    assert soup.find(id="privacy-heading")
    assert "Part 8 of 8" in soup.get_text()
    response = post_form(client, soup, {"consent_demographics": "yes"})
    assert path_of(response) == survey_url(9)
    soup = check_page(client.get(survey_url(9) + "&lang=en"), lang="en")
    assert "Part 9 of 9" in soup.get_text()
    assert {i["name"] for i in soup.select("form input[type=radio]")} == {"gender", "age_band", "ethnicity"}
    residence = soup.find("select", {"name": "residence"})
    assert soup.find("label", {"for": residence["id"]})
    codes = {o["value"] for o in residence.find_all("option") if o["value"]}
    today_units = db.session.scalars(
        select(Unit.code).where(Unit.kind.in_(("commune", "ward")), Unit.valid_to.is_(None))
    ).all()
    assert codes == set(today_units) and UNIT in codes
    assert "d116" not in codes
    response = post_form(
        client, soup, {"gender": "female", "age_band": "35_44", "ethnicity": "muong", "residence": UNIT}
    )
    assert response.status_code == 302 and "/thanks" in path_of(response)
    stored = db.session.scalars(select(Response)).one()
    assert stored.consent_demographics is True
    assert (stored.gender, stored.age_band, stored.ethnicity_group, stored.residence_area) == (
        "female",
        "35_44",
        "other",
        "urban",
    )
    assert stored.residence_unit_id == db.session.scalar(select(Unit.id).where(Unit.code == UNIT))


def test_without_consent_no_demographics_are_asked_or_stored(client, db, registry):
    answer_pages(client, PAGES[:-1])
    assert client.get(survey_url(9)).status_code == 404, "no page of personal questions without consent"
    soup = check_page(client.get(survey_url(8)))
    # Even when sent anyway, personal answers are not part of the consent page: ignored.
    response = post_form(client, soup, {"consent_demographics": "no", "gender": "male", "residence": UNIT})
    assert "/thanks" in path_of(response)
    stored = db.session.scalars(select(Response)).one()
    assert stored.consent_demographics is False
    assert stored.gender is None and stored.residence_unit_id is None
    assert not set(stored.answers) & {"gender", "age_band", "ethnicity", "residence"}


def test_withdrawing_consent_drops_the_personal_answers(client, db, registry):
    answer_pages(client, PAGES[:-1] + [{"consent_demographics": "yes"}])
    soup = check_page(client.get(survey_url(9)))
    # Answer the personal questions without sending them yet: go back and say no instead.
    with client.session_transaction() as flask_session:
        progress = next(iter(flask_session[SESSION_KEY].values()))
        assert progress["answers"]["consent_demographics"] == "yes"
    soup = check_page(client.get(survey_url(8)))
    assert soup.find("input", {"name": "consent_demographics", "value": "yes"}).has_attr("checked")
    response = post_form(client, soup, {"consent_demographics": "no"})
    assert "/thanks" in path_of(response)
    stored = db.session.scalars(select(Response)).one()
    assert stored.consent_demographics is False and stored.answers["consent_demographics"] == "no"


def test_residence_must_be_a_commune_or_ward_of_today(client, db, registry):
    answer_pages(client, PAGES[:-1] + [{"consent_demographics": "yes"}])
    soup = check_page(client.get(survey_url(9) + "&lang=en"))
    soup = check_page(post_form(client, soup, {"residence": "d116"}), status=422, lang="en")
    assert [a["href"] for a in soup.select(".error-summary a")] == ["#field-residence"]
    assert stored_count(db) == 0


# --- abuse -------------------------------------------------------------------------------


def test_filled_honeypot_stores_nothing_but_looks_like_success(client, db, registry):
    answer_pages(client, PAGES[:-1])
    soup = check_page(client.get(survey_url(8)))
    response = post_form(client, soup, {**PAGES[-1], "website": "http://spam.example"})
    assert response.status_code == 302 and "/thanks" in path_of(response)
    check_page(client.get(path_of(response)))
    assert stored_count(db) == 0
    # The answers are forgotten: the survey starts again from the first page.
    assert path_of(client.get(survey_url(8))) == survey_url(1)


def test_post_without_csrf_token_is_refused_and_stores_nothing(client, db, registry):
    answer_pages(client, PAGES[:-1])
    soup = check_page(client.get(survey_url(8)))
    response = post_form(client, soup, PAGES[-1], csrf=False)
    check_page(response, status=400)
    assert stored_count(db) == 0
    response = client.post(survey_url(8), data={"consent_demographics": "no", "csrf_token": "forged"})
    assert response.status_code == 400
    assert stored_count(db) == 0


def test_posts_are_rate_limited_per_address(client, registry):
    soup = check_page(client.get(survey_url()))
    statuses = [post_form(client, soup, {}).status_code for _ in range(31)]
    assert statuses[:30] == [422] * 30  # refused answers, shown again with the problems
    check_page(post_form(client, soup, {}), status=429)


# --- comments and the size of the session ------------------------------------------------


def test_comment_is_kept_across_pages_and_stored_masked(client, db, registry):
    comment = "Cán bộ hướng dẫn tận tình, nhưng phải chờ lâu. Gọi tôi: 0912 345 678."
    answer_pages(client, PAGES[:6] + [{"overall": "4", "comment": comment}, {"consent_demographics": "yes"}])
    soup = check_page(client.get(survey_url(7)))
    assert soup.find("textarea", {"name": "comment"}).get_text() == comment, "kept when going back"
    soup = check_page(client.get(survey_url(9)))
    post_form(client, soup, {})
    stored = db.session.scalars(select(Response)).one()
    assert stored.comment.startswith("Cán bộ hướng dẫn tận tình")
    assert "0912 345 678" not in stored.comment and "0912 345 678" not in str(stored.answers)


def test_session_cookie_stays_small_with_a_long_vietnamese_comment(client, registry):
    """The answers live in the session cookie; browsers drop cookies over 4 KB."""
    long_comment = (
        "Thủ tục được niêm yết đầy đủ, cán bộ lịch sự, nhưng tôi phải đi lại ba lần vì thiếu giấy tờ. " * 12
    )[:1000]
    response = answer_pages(client, PAGES[:6] + [{"overall": "4", "comment": long_comment}])
    cookie = next(
        value for name, value in response.headers.items() if name == "Set-Cookie" and value.startswith("session=")
    )
    assert len(cookie) < 4000, len(cookie)
