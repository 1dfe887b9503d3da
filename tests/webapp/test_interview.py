"""Assisted interviews (issue #17): an interviewer fills the survey with a respondent; the response is
marked assisted, who assisted is only in the audit log, and the area keeps to the account's subtree."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from tests.conftest import csrf_from, valid_csrf_token
from tests.pages import check_page
from tests.webapp.test_admin_pages import post
from webapp.extensions import limiter
from webapp.models import AuditEvent, Response, User

#: Phường Tô Hiệu: the interviewer's account belongs to the ward; its service centre is in its subtree.
WARD = "n03646"
CENTRE = "ttpv-n03646"
SERVICE = "civil-status"
QUICK = f"/interview/{CENTRE}/counter-quick?service={SERVICE}"


@pytest.fixture(autouse=True)
def fresh_rate_limits(app):
    with app.app_context():
        limiter.reset()


@pytest.fixture()
def interviewer(make_user):
    return make_user("interviewer", WARD, email="interviewer@sonla.gov.vn", totp=False)


@pytest.fixture()
def signed_in(client, interviewer, sign_in):
    return sign_in(interviewer)


@pytest.fixture()
def admin_http(make_user, sign_in, app):
    return sign_in(make_user("admin"), app.test_client())


def path_of(answer) -> str:
    location = urlsplit(answer.headers["Location"])
    return location.path + (f"?{location.query}" if location.query else "")


def send_page(http, url: str, answers: dict, *, lang: str = "en"):
    soup = check_page(http.get(url + ("&" if "?" in url else "?") + f"lang={lang}"), lang=lang)
    form = soup.find("form", class_="survey-form")
    data = {"csrf_token": form.find("input", {"name": "csrf_token"})["value"], "website": "", **answers}
    return http.post(form["action"], data=data)


def count(db, model=Response) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def test_an_interviewer_lands_on_the_interview_area(app, interviewer, sign_in):
    http = app.test_client()
    page = http.get("/auth/login")
    answer = http.post(
        "/auth/login",
        data={"csrf_token": csrf_from(page), "email": interviewer.email, "password": "correct horse battery staple"},
    )
    assert answer.status_code == 302 and path_of(answer) == "/interview/"


def test_an_interviewer_completes_a_survey_and_it_is_marked_assisted(signed_in, db, interviewer):
    soup = check_page(signed_in.get("/interview/?lang=en"), lang="en")
    assert soup.find("a", href=f"/interview/{CENTRE}")
    soup = check_page(signed_in.get(f"/interview/{CENTRE}?lang=en"), lang="en")
    assert soup.find("a", href=f"/interview/{CENTRE}/admin-procedure?service={SERVICE}")
    page = check_page(signed_in.get(QUICK + "&lang=en"), lang="en")
    assert page.find(id="interview-banner") is not None
    answer = send_page(signed_in, QUICK, {"overall": "4", "went_well": ["on_time"]}, lang="vi")
    assert answer.status_code == 302 and path_of(answer).startswith(f"/interview/{CENTRE}/counter-quick/thanks")
    stored = db.session.scalars(select(Response)).one()
    assert (stored.mode, stored.channel, stored.language) == ("assisted", "online", "vi")
    assert stored.unit.code == CENTRE and stored.source_digest is None
    # Who assisted is never on the response: no column of it points at an account or holds the e-mail.
    assert not [fk for fk in Response.__table__.foreign_keys if fk.column.table.name == "users"]
    assert interviewer.email not in repr({c.name: getattr(stored, c.name) for c in Response.__table__.columns})
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "response.assisted")).all()
    assert event.user_id == interviewer.id and event.object_id == str(stored.id)
    # The respondent's answers have left the session; "Next respondent" starts a new response.
    with signed_in.session_transaction() as session:
        [progress] = session["interview_progress"].values()
        assert "answers" not in progress
    thanks = check_page(signed_in.get(path_of(answer) + "&lang=en"), lang="en")
    [form] = [f for f in thanks.find_all("form", method="post") if "Next respondent" in f.get_text()]
    again = signed_in.post(form["action"], data={"csrf_token": form.find("input", {"name": "csrf_token"})["value"]})
    assert again.status_code == 302 and path_of(again) == QUICK
    assert send_page(signed_in, QUICK, {"overall": "2"}).status_code == 302
    assert count(db) == 2 and len(set(db.session.scalars(select(Response.client_id)))) == 2
    assert {r.mode for r in db.session.scalars(select(Response))} == {"assisted"}


def test_the_respondents_language_is_recorded(signed_in, db):
    answer = send_page(signed_in, QUICK, {"overall": "5"}, lang="en")
    assert answer.status_code == 302 and "/thanks" in path_of(answer)
    # The questions were read in English on the last page.
    assert db.session.scalars(select(Response)).one().language == "en"


@pytest.mark.parametrize(
    "path",
    [
        "/interview/sl-ttpvhcc",
        "/interview/sl-ttpvhcc/counter-quick?service=land",
        # The ward itself is the account's own office: agencies do not rate themselves.
        f"/interview/{WARD}",
        f"/interview/{WARD}/counter-quick?service={SERVICE}",
    ],
)
def test_outside_the_subtree_or_its_own_office_is_refused(app, signed_in, db, path):
    assert signed_in.get(path).status_code == 403
    if "?" in path:
        token = valid_csrf_token(app, signed_in)
        assert signed_in.post(path, data={"csrf_token": token, "overall": "5"}).status_code == 403
    assert count(db) == 0
    soup = check_page(signed_in.get("/interview/?lang=en"), lang="en")
    hrefs = {a["href"] for a in soup.select("ul.link-list a")}
    assert (
        f"/interview/{CENTRE}" in hrefs and f"/interview/{WARD}" not in hrefs and "/interview/sl-ttpvhcc" not in hrefs
    )


def test_the_unit_list_can_be_searched(signed_in):
    soup = check_page(signed_in.get("/interview/?lang=en&q=tram y te"), lang="en")
    names = [a.get_text() for a in soup.select("ul.link-list a")]
    assert names and all("Health Station" in name for name in names)
    soup = check_page(signed_in.get("/interview/?lang=en&q=nothing-like-this"), lang="en")
    assert not soup.select("ul.link-list a") and "No office" in soup.get_text()


def test_no_token_no_answer(signed_in, db):
    answer = signed_in.post(QUICK, data={"overall": "5", "website": ""})
    assert answer.status_code == 400
    assert count(db) == 0


@pytest.mark.parametrize("role", ["viewer", "agency_manager", "admin"])
def test_other_roles_cannot_use_the_area(app, make_user, sign_in, db, role):
    user = make_user(role, None if role == "admin" else WARD)
    http = sign_in(user, app.test_client())
    assert http.get("/interview/").status_code == 403
    assert http.get(QUICK).status_code == 403


@pytest.mark.parametrize("path", ["/agency/", f"/agency/units/{CENTRE}", "/admin/", "/admin/users"])
def test_an_interviewer_sees_no_results(signed_in, path):
    assert signed_in.get(path).status_code == 403


def test_interviews_are_rate_limited_per_account(app, signed_in, db):
    token = valid_csrf_token(app, signed_in)
    answers = [signed_in.post(QUICK, data={"csrf_token": token, "website": ""}).status_code for _ in range(31)]
    assert answers[:30] == [422] * 30 and answers[30] == 429


def test_an_administrator_creates_an_interviewer_account(app, admin_http, db):
    answer = post(
        admin_http, "/admin/users/new?lang=en", {"email": "volunteer@sonla.gov.vn", "role": "interviewer", "unit": WARD}
    )
    check_page(answer, lang="en")
    user = db.session.scalar(select(User).where(User.email == "volunteer@sonla.gov.vn"))
    assert user.role == "interviewer" and user.unit.code == WARD
    page = check_page(admin_http.get("/admin/users/new?lang=en"), lang="en")
    assert page.find("input", {"name": "role", "value": "interviewer"}) is not None
    assert "Interviewer" in page.get_text()
    missing_unit = post(
        admin_http, "/admin/users/new?lang=en", {"email": "v2@sonla.gov.vn", "role": "interviewer", "unit": ""}
    )
    assert missing_unit.status_code == 400
    assert db.session.scalar(select(User).where(User.email == "v2@sonla.gov.vn")) is None
