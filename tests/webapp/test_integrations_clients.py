"""Integration clients: the ``integrations`` commands, the admin page, and the whole flow end to end.

End to end: a client made with the command posts a dossier, the ``survey_url`` opens the receipt
survey, the survey completes once and refuses a second completion, and the same dossier number
answers the same link.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from tests.conftest import csrf_from
from tests.pages import check_page
from tests.surveys.test_online import PAGES, answer_pages, path_of
from webapp.extensions import limiter
from webapp.integrations import service
from webapp.models import AuditEvent, IntegrationClient, ReceiptToken, Response

UNIT = "n03646"
SERVICE = "civil-status"


@pytest.fixture(autouse=True)
def fresh_rate_limits(app):
    with app.app_context():
        limiter.reset()


def create_with_cli(runner, name="Hệ thống một cửa tỉnh", unit=UNIT) -> tuple[str, str]:
    result = runner.invoke(args=["integrations", "create", "--name", name, "--unit", unit])
    assert result.exit_code == 0, result.output
    client_id = re.search(r"Client id: (ic_\w+)", result.output).group(1)
    token = re.search(r"Token: +(\S+)", result.output).group(1)
    return client_id, token


# --- commands ------------------------------------------------------------------------------------


def test_create_prints_the_token_once_and_stores_only_its_hash(runner, db, registry):
    client_id, token = create_with_cli(runner)
    stored = db.session.scalars(select(IntegrationClient)).one()
    assert stored.client_id == client_id and stored.unit.code == UNIT and stored.name == "Hệ thống một cửa tỉnh"
    assert stored.token_hash == service.hash_token(token) and token not in stored.token_hash
    assert service.authenticate(token).id == stored.id
    listed = runner.invoke(args=["integrations", "list"])
    assert client_id in listed.output and UNIT in listed.output and token not in listed.output
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "integration.client_create")).one()
    assert event.object_id == client_id and event.after["unit"] == UNIT and token not in str(event.after)


def test_two_clients_get_different_ids_and_tokens(runner, db, registry):
    first, second = create_with_cli(runner), create_with_cli(runner)
    assert first[0] != second[0] and first[1] != second[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "X", "--unit", "nowhere"], "unknown unit"),
        (["--name", "   ", "--unit", UNIT], "name"),
        (["--name", "x" * 201, "--unit", UNIT], "200"),
    ],
)
def test_create_refuses_a_bad_unit_or_name(runner, db, registry, args, message):
    result = runner.invoke(args=["integrations", "create", *args])
    assert result.exit_code == 1 and message in result.output
    assert db.session.scalars(select(IntegrationClient)).all() == []


def test_revoke_stops_the_token_and_is_listed(client, runner, db, registry):
    client_id, token = create_with_cli(runner)
    result = runner.invoke(args=["integrations", "revoke", client_id])
    assert result.exit_code == 0 and "revoked" in result.output
    assert service.authenticate(token) is None
    assert "already revoked" in runner.invoke(args=["integrations", "revoke", client_id]).output
    assert runner.invoke(args=["integrations", "revoke", "ic_nobody"]).exit_code == 1
    listed = runner.invoke(args=["integrations", "list"]).output.splitlines()[1].split("\t")
    assert listed[0] == client_id and listed[-1] != "-"
    response = client.post("/api/v1/dossiers", json={}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "integration.client_revoke")).one()


# --- admin page ---------------------------------------------------------------------------------


def test_admin_creates_a_client_sees_the_token_once_and_revokes_it(client, db, make_user, sign_in):
    sign_in(make_user("admin"))
    page = client.get("/admin/integrations?lang=en")
    check_page(page, lang="en")
    answer = client.post(
        "/admin/integrations?lang=en",
        data={"csrf_token": csrf_from(page), "name": "Hệ thống một cửa tỉnh", "unit": "sl"},
    )
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    token = re.search(r'<code class="secret">([^<]+)</code>', answer.get_data(as_text=True)).group(1)
    stored = db.session.scalars(select(IntegrationClient)).one()
    assert service.authenticate(token).id == stored.id and stored.unit.code == "sl"
    listing = client.get("/admin/integrations?lang=en").get_data(as_text=True)
    assert stored.client_id in listing and token not in listing

    page = client.get("/admin/integrations")
    revoked = client.post(f"/admin/integrations/{stored.client_id}/revoke", data={"csrf_token": csrf_from(page)})
    assert revoked.status_code == 302
    db.session.expire_all()
    assert service.authenticate(token) is None
    assert "Revoked" in client.get("/admin/integrations?lang=en").get_data(as_text=True)


def test_admin_form_refuses_a_missing_name_or_unit_and_needs_csrf(client, db, make_user, sign_in):
    sign_in(make_user("admin"))
    page = client.get("/admin/integrations")
    assert (
        client.post("/admin/integrations", data={"csrf_token": csrf_from(page), "name": "", "unit": "sl"}).status_code
        == 400
    )
    assert (
        client.post("/admin/integrations", data={"csrf_token": csrf_from(page), "name": "A", "unit": "zz"}).status_code
        == 400
    )
    assert client.post("/admin/integrations", data={"name": "A", "unit": "sl"}).status_code == 400
    assert db.session.scalars(select(IntegrationClient)).all() == []


def test_agency_managers_cannot_reach_the_page(client, db, make_user, sign_in):
    sign_in(make_user("agency_manager", "sl-ttpvhcc"))
    assert client.get("/admin/integrations").status_code == 403


# --- end to end ----------------------------------------------------------------------------------


def test_a_posted_dossier_link_opens_the_survey_which_completes_once(app, client, runner, db, registry):
    _, token = create_with_cli(runner)
    document = {
        "dossier_number": "000.00.12.H52-261207-0042",
        "unit": UNIT,
        "service": SERVICE,
        "returned_at": (date.today() - timedelta(days=2)).isoformat(),
        "respondent_type": "citizen",
    }
    created = client.post("/api/v1/dossiers", json=document, headers={"Authorization": f"Bearer {token}"})
    assert created.status_code == 201, created.json
    link = urlsplit(created.json["survey_url"])
    assert link.path.startswith("/r/")

    last = answer_pages(client, PAGES, start=path_of(client.get(link.path)))
    assert "/thanks" in path_of(last)
    stored = db.session.scalars(select(Response)).one()
    assert stored.channel == "qr" and stored.unit.code == UNIT and stored.service.code == SERVICE
    row = db.session.scalars(select(ReceiptToken)).one()
    assert row.response_id == stored.id

    other = app.test_client()
    assert other.get(link.path).status_code == 409, "the link's survey completes only once"
    assert client.get(f"/r/{created.json['code']}").status_code == 409, "the typed code is the same link"

    again = client.post("/api/v1/dossiers", json=document, headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 200 and again.json == created.json
    db.session.rollback()
    assert len(db.session.scalars(select(Response)).all()) == 1
