"""The admin area in Chromium: sign in with the second factor, every page passes axe in vi and en."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest

from tests.browser.axe import assert_no_axe_violations, assert_pages_accessible
from tests.browser.conftest import ensure_admin, sign_in_with_totp

EMAIL = "browser-admin@sonla.gov.vn"


@pytest.fixture(scope="module")
def admin_pages(live_app) -> tuple[str, list[str]]:
    """An admin account (its TOTP secret) and one URL of every admin page, with a period published twice."""
    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.models import Counter, Device, Indicator, IndicatorTarget, PublishedSnapshot, User
    from webapp.periods import Period
    from webapp.publishing.compute import period_inputs
    from webapp.publishing.publish import PublishError, ended_periods, publish_period

    with live_app.app_context():
        secret = ensure_admin(EMAIL)
        latest = db.session.scalar(select(PublishedSnapshot).order_by(PublishedSnapshot.id.desc()))
        if latest is None:
            today = datetime.now(UTC)
            inputs = period_inputs()
            for period in reversed(ended_periods(Period(today.year - 1, "Y", 1), today)):
                with contextlib.suppress(PublishError):
                    publish_period(period.label, inputs=inputs)
                    break
            latest = db.session.scalar(select(PublishedSnapshot).order_by(PublishedSnapshot.id.desc()))
        if latest.revision == 1:
            publish_period(latest.period, reason="Biểu mẫu giấy nộp muộn đã được nhập.")
        device = db.session.scalar(select(Device).join(Counter))
        indicator = db.session.scalar(select(Indicator).order_by(Indicator.id))
        target = db.session.scalar(select(IndicatorTarget))
        paths = [
            "/admin/",
            "/admin/units",
            "/admin/units?q=chieng&on=2025-06-30",
            f"/admin/units/{device.counter.unit.code}",
            "/admin/units/n03646",
            f"/admin/units/{device.counter.unit.code}/edit",
            f"/admin/counters/{device.counter_id}/edit",
            "/admin/services",
            "/admin/services/land/edit",
            "/admin/devices",
            "/admin/instruments",
            "/admin/indicators",
            f"/admin/indicators/{indicator.code}",
            f"/admin/targets/{target.id}/edit",
            "/admin/plan",
            "/admin/plan/legal-documents",
            "/admin/users",
            "/admin/users/new",
            f"/admin/users/{db.session.scalar(select(User.id).where(User.email == EMAIL))}",
            "/admin/imports",
            "/admin/publishing",
            f"/admin/publishing/{latest.period}",
            f"/admin/publishing/{latest.period}/diff?old=1&new=2",
            "/admin/microdata",
            "/admin/audit",
        ]
        db.session.remove()
    return secret, paths


def sign_in(page, secret: str) -> None:
    sign_in_with_totp(page, EMAIL, secret)


def test_every_admin_page_has_no_axe_violations_in_both_languages(page, admin_pages):
    secret, paths = admin_pages
    sign_in(page, secret)
    assert_pages_accessible(page, paths)


def test_a_refused_import_report_has_no_axe_violations(page, admin_pages, tmp_path):
    secret, _ = admin_pages
    sign_in(page, secret)
    page.goto("/admin/imports?lang=en")
    bad = tmp_path / "counts.csv"
    bad.write_text("period,unit,service,count\n2026-Q9,nowhere,land,x\n", encoding="utf-8")
    page.set_input_files("#field-transactions-file", str(bad))
    page.get_by_role("button", name="Import transaction counts").click()
    assert page.locator("table.import-report tbody tr").count() == 3
    assert_no_axe_violations(page, "refused import report, en")
