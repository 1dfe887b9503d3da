"""The online survey records how and in which language the respondent answered (issue #17):
``read_aloud`` once they used a listen button (the form's ``read_aloud`` field), else ``self``."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.pages import check_page
from webapp.extensions import limiter
from webapp.models import Response

URL = "/survey/n03646/counter-quick?service=civil-status"


@pytest.fixture(autouse=True)
def fresh_rate_limits(app):
    with app.app_context():
        limiter.reset()


def send(client, extra: dict, lang: str = "vi"):
    soup = check_page(client.get(f"{URL}&lang={lang}"), lang=lang)
    form = soup.find("form", class_="survey-form")
    data = {"csrf_token": form.find("input", {"name": "csrf_token"})["value"], "website": "", "overall": "4", **extra}
    answer = client.post(form["action"], data=data)
    assert answer.status_code == 302 and "/thanks" in answer.headers["Location"]
    return db_response()


def db_response():
    from webapp.extensions import db

    db.session.expire_all()
    return db.session.scalars(select(Response).order_by(Response.id.desc())).first()


@pytest.mark.parametrize(
    ("extra", "mode"), [({}, "self"), ({"read_aloud": "1"}, "read_aloud"), ({"read_aloud": "yes please"}, "self")]
)
def test_mode_follows_the_listen_buttons(client, registry, extra, mode):
    stored = send(client, extra)
    assert (stored.mode, stored.channel, stored.language) == (mode, "online", "vi")


def test_language_is_the_one_the_questions_were_shown_in(client, registry):
    assert send(client, {}, lang="en").language == "en"


def test_a_respondent_cannot_claim_an_assisted_interview(client, registry):
    stored = send(client, {"mode": "assisted", "read_aloud": "1"})
    assert stored.mode == "read_aloud"
