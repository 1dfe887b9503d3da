"""The admin area: who may enter, and every page rendered in both languages."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import csrf_from, valid_csrf_token
from tests.pages import check_page
from webapp.models import Indicator, IndicatorTarget, Instrument, PublishedSnapshot, User, utcnow


def post(client, path: str, data: dict | None = None, **kwargs):
    """POST ``data`` to ``path`` with the session's CSRF token (taken from the overview page)."""
    token = csrf_from(client.get("/admin/"))
    return client.post(path, data={"csrf_token": token, **(data or {})}, **kwargs)


def audit_rows(db, action: str):
    from webapp.models import AuditEvent

    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all()


def sample_paths(db, make_device, admin_user: User) -> list[str]:
    """One URL of every GET page of the area, with real codes and ids."""
    device, _ = make_device()
    target = db.session.scalar(select(IndicatorTarget))
    db.session.add(
        PublishedSnapshot(
            period="2025-Q1",
            revision=1,
            published_at=utcnow(),
            published_by="cli",
            methodology_version="1",
            instrument_versions={},
            input_hashes={},
            summary={},
        )
    )
    db.session.add(
        PublishedSnapshot(
            period="2025-Q1",
            revision=2,
            published_at=utcnow(),
            published_by="cli",
            reason="fix",
            methodology_version="1",
            instrument_versions={},
            input_hashes={},
            summary={},
        )
    )
    db.session.commit()
    indicator = db.session.scalar(select(Indicator).order_by(Indicator.id))
    return [
        "/admin/",
        "/admin/units",
        "/admin/units?q=chieng&kind=commune&on=2025-07-01&change=successor",
        "/admin/units?change=replaced",
        "/admin/units/sl-ttpvhcc",
        "/admin/units/sl-ttpvhcc/edit",
        f"/admin/counters/{device.counter_id}/edit",
        "/admin/services",
        "/admin/services/land/edit",
        "/admin/devices",
        "/admin/devices?state=active&unit=sl-ttpvhcc",
        "/admin/instruments",
        "/admin/indicators",
        f"/admin/indicators/{indicator.code}",
        f"/admin/targets/{target.id}/edit",
        "/admin/plan",
        "/admin/plan/legal-documents",
        "/admin/users",
        "/admin/users?role=admin&state=active",
        "/admin/users/new",
        f"/admin/users/{admin_user.id}",
        "/admin/imports",
        "/admin/publishing",
        "/admin/publishing/2025-Q1",
        "/admin/publishing/2025-Q1/diff?old=1&new=2",
        "/admin/audit",
        "/admin/audit?action=user.login&since=2020-01-01&until=2100-01-01",
    ]


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_admin_page_renders_in_both_languages(admin_client, db, make_device, lang):
    for path in sample_paths(db, make_device, admin_client.admin):
        separator = "&" if "?" in path else "?"
        answer = admin_client.get(f"{path}{separator}lang={lang}")
        check_page(answer, lang=lang)
    # the audit log page lists the admin's own sign-in
    assert "user.login" in admin_client.get("/admin/audit").get_data(as_text=True)


def test_admin_pages_are_never_stored_in_a_cache(admin_client, db, make_device):
    """Admin pages show unpublished figures, drafts and personal data: ``no-store``, like the agency area."""
    paths = [*sample_paths(db, make_device, admin_client.admin), "/admin/audit/export.csv"]
    for path in paths:
        answer = admin_client.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["Cache-Control"] == "no-store", path
    # a refusal or an unknown object is not kept either
    assert admin_client.get("/admin/units/nope").headers["Cache-Control"] == "no-store"


def test_overview_counts_and_links(admin_client):
    html = check_page(admin_client.get("/admin/?lang=en")).get_text(" ")
    assert "Responses this quarter" in html and "Comments waiting for review" in html
    assert "Nothing published yet" in html


@pytest.mark.parametrize("role", ["agency_manager", "viewer"])
def test_other_roles_get_403_everywhere(app, client, make_user, sign_in, db, role):
    sign_in(make_user(role, "sl-ttpvhcc", totp=False))
    # A valid token, so that a refusal comes from the role and not from CSRF protection.
    token = valid_csrf_token(app, client)
    for path in (
        "/admin/",
        "/admin/units",
        "/admin/users",
        "/admin/audit",
        "/admin/audit/export.csv",
        "/admin/imports",
    ):
        assert client.get(path).status_code == 403, path
    for path in (
        "/admin/users/new",
        "/admin/devices/1/revoke",
        "/admin/publishing/2025-Q1",
        "/admin/imports/transactions",
    ):
        assert client.post(path, data={"csrf_token": token}).status_code == 403, path
    assert client.post("/admin/instruments/1/activate", data={"csrf_token": token}).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    for path in ("/admin/", "/admin/units/sl", "/admin/audit/export.csv"):
        answer = client.get(path)
        assert answer.status_code == 302 and "/auth/login?next=" in answer.headers["Location"], path
    assert client.post("/admin/users/new").status_code in {302, 400}


def test_admin_without_second_factor_must_set_it_up_first(client, make_user, sign_in):
    sign_in(make_user("admin", totp=False))
    answer = client.get("/admin/")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/auth/two-factor")


def test_unknown_objects_answer_404(admin_client):
    for path in (
        "/admin/units/nope",
        "/admin/services/nope/edit",
        "/admin/indicators/nope",
        "/admin/targets/999/edit",
        "/admin/plan/coverage-psu",
        "/admin/plan/nope",
        "/admin/users/999",
        "/admin/counters/999/edit",
        "/admin/publishing/2025-Q9",
        "/admin/publishing/2025-Q1/diff?old=1&new=2",
    ):
        assert admin_client.get(path).status_code == 404, path


def test_instruments_page_shows_hash_and_response_counts(admin_client, db):
    html = admin_client.get("/admin/instruments?lang=en").get_data(as_text=True)
    instrument = db.session.scalar(select(Instrument).order_by(Instrument.id))
    assert instrument.content_hash[:16] in html and instrument.code in html
