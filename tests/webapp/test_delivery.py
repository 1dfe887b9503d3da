"""Survey links queued and delivered: request_delivery → ``deliver`` job → local SMTP sink / fake gateway.

Real parts only: an aiosmtpd SMTP server and an http.server gateway on 127.0.0.1, the project's job
queue (inline in tests: a job runs right after the enqueuing transaction commits; retries when
``jobs.drain`` is called with a later ``now``).
"""

from __future__ import annotations

import gzip
import logging
from datetime import timedelta

import pytest
from sqlalchemy import JSON, String, Text, select

from surveys.tokens import display_token, issue_token
from tests.conftest import csrf_from
from tests.fakes import fake_gateway, smtp_sink
from tests.pages import check_page
from webapp import jobs
from webapp.delivery import request_delivery, status_counts
from webapp.delivery.contacts import contact_digest, optout_token
from webapp.extensions import db as database
from webapp.extensions import limiter
from webapp.models import ReceiptToken, Service, Unit, utcnow
from webapp.models.delivery import Delivery, DeliveryOptout
from webapp.models.jobs import Job

PHONE = "0912 345 678"
PHONE_DIGITS = "912345678"
EMAIL = "Nguyen.Van.A@example.vn"
UNIT = "n03646"
SERVICE = "civil-status"


@pytest.fixture()
def providers(app):
    """An SMTP sink and a fake gateway, wired into the app's settings for the test."""
    with smtp_sink() as sink, fake_gateway(hang_seconds=1.5) as gateway:
        settings = {
            "SMTP_URL": sink.url,
            "MAIL_FROM": "Chỉ số hài lòng Sơn La <khaosat@sonla.gov.vn>",
            "SMS_GATEWAY_URL": gateway.url + "/sms",
            "SMS_GATEWAY_TOKEN": "gw-secret",
            "ZALO_ZNS_URL": gateway.url + "/zalo/message/template",
            "ZALO_ACCESS_TOKEN": "oa-secret",
            "ZALO_TEMPLATE_ID": "424242",
            "DELIVERY_HTTP_TIMEOUT": 0.4,
        }
        saved = {name: app.config.get(name) for name in settings}
        app.config.update(settings)
        try:
            yield sink, gateway
        finally:
            app.config.update(saved)


@pytest.fixture()
def make_receipt(db, registry):
    """``make_receipt(case, unit=UNIT, service=SERVICE) -> (token, row, survey_url, code)``."""

    def make(case: str = "HS-0001", unit: str = UNIT, service: str = SERVICE):
        unit_row = db.session.scalar(select(Unit).where(Unit.code == unit))
        service_row = db.session.scalar(select(Service).where(Service.code == service))
        token, row = issue_token(unit_row, service_row, case)
        db.session.commit()
        return token, row, f"http://sonla-index.test.invalid/r/{token}", display_token(token)

    return make


def deliver(row, url, code, channels, contact=None):
    rows = request_delivery(
        row, survey_url=url, code=code, contact=contact or {"phone": PHONE, "email": EMAIL}, channels=channels
    )
    database.session.commit()  # inline jobs run now
    database.session.expire_all()
    return rows


def statuses(db) -> dict[str, tuple[str, str | None]]:
    db.session.expire_all()
    return {d.channel: (d.status, d.reason) for d in db.session.scalars(select(Delivery))}


def later(minutes: int = 30):
    return utcnow() + timedelta(minutes=minutes)


# --- the whole flow ------------------------------------------------------------------------


def test_one_email_one_sms_one_zalo_message_each_with_the_link(db, providers, make_receipt):
    sink, gateway = providers
    token, row, url, code = make_receipt()
    created = deliver(row, url, code, ["email", "sms", "zalo"])
    assert [d.channel for d in created] == ["email", "sms", "zalo"]
    assert statuses(db) == {"email": ("sent", None), "sms": ("sent", None), "zalo": ("sent", None)}

    (mail,) = sink.messages
    assert sink.recipients == [EMAIL]
    body = mail.get_body(("plain",)).get_content()
    assert url in body and code in body and "/optout/" in body
    assert str(mail["List-Unsubscribe"]).strip().startswith("<http://sonla-index.test.invalid/optout/")
    assert "UBND" in mail["Subject"] or "xã" in mail["Subject"] or mail["Subject"]
    email_row = db.session.scalar(select(Delivery).where(Delivery.channel == "email"))
    assert mail["Message-ID"] == f"<delivery-{email_row.id}@sonla.gov.vn>" == email_row.provider_ref

    (sms,) = gateway.calls_to("/sms")
    assert sms.body["to"] == "84" + PHONE_DIGITS
    assert url in sms.body["text"] and "/optout/" in sms.body["text"] and len(sms.body["text"]) <= 160
    assert sms.headers["authorization"] == "Bearer gw-secret"
    (zalo,) = gateway.calls_to("/zalo/message/template")
    assert zalo.body["phone"] == "84" + PHONE_DIGITS and zalo.body["template_id"] == "424242"
    assert zalo.body["template_data"]["link"] == url and zalo.body["template_data"]["code"] == code
    assert zalo.body["tracking_id"].startswith("delivery-")
    deliveries = db.session.scalars(select(Delivery)).all()
    assert len(deliveries) == 3, "one email, one SMS, one Zalo message"
    for delivery in deliveries:
        assert delivery.attempts == 1 and delivery.sent_at is not None and delivery.provider_ref


def test_only_the_channels_asked_for_are_sent(db, providers, make_receipt):
    sink, gateway = providers
    _, row, url, code = make_receipt()
    deliver(row, url, code, ["sms"])
    assert sink.messages == [] and len(gateway.calls) == 1


def test_a_channel_without_its_contact_fails_with_no_contact(db, providers, make_receipt):
    sink, _ = providers
    _, row, url, code = make_receipt()
    deliver(row, url, code, ["email", "sms"], contact={"phone": PHONE})
    assert statuses(db) == {"email": ("failed", "no_contact"), "sms": ("sent", None)}
    assert sink.messages == []


def test_an_unconfigured_channel_is_failed_not_configured(app, db, make_receipt):
    _, row, url, code = make_receipt()
    saved = app.config.get("SMS_GATEWAY_URL")
    app.config["SMS_GATEWAY_URL"] = ""
    try:
        deliver(row, url, code, ["sms"])
    finally:
        app.config["SMS_GATEWAY_URL"] = saved
    assert statuses(db) == {"sms": ("failed", "not_configured")}
    assert db.session.scalars(select(Job)).all() == []  # nothing queued


def test_a_channel_unconfigured_by_the_time_the_job_runs_is_failed_not_configured(app, db, providers, make_receipt):
    _, gateway = providers
    gateway.then("503")
    _, row, url, code = make_receipt()
    deliver(row, url, code, ["zalo"])
    app.config["ZALO_ACCESS_TOKEN"] = ""
    jobs.drain(now=later())
    assert statuses(db) == {"zalo": ("failed", "not_configured")}
    assert len(gateway.calls) == 1


def test_an_unknown_channel_is_refused_before_anything_is_stored(db, providers, make_receipt):
    _, row, url, code = make_receipt()
    with pytest.raises(ValueError):
        request_delivery(row, survey_url=url, code=code, contact={"phone": PHONE}, channels=["fax"])
    db.session.rollback()
    assert db.session.scalars(select(Delivery)).all() == []


# --- retries ---------------------------------------------------------------------------------


def test_a_503_is_retried_with_back_off_and_the_message_sent_once(db, providers, make_receipt):
    _, gateway = providers
    gateway.then("503")
    _, row, url, code = make_receipt()
    deliver(row, url, code, ["sms"])
    assert statuses(db) == {"sms": ("queued", "server_error")}
    job = db.session.scalars(select(Job).where(Job.kind == "deliver")).one()
    assert job.state == "retrying" and job.next_attempt_at > utcnow()
    assert jobs.drain() == 0  # not due yet
    jobs.drain(now=later())
    assert statuses(db) == {"sms": ("sent", None)}
    assert len(gateway.calls) == 2
    assert gateway.calls[0].body == gateway.calls[1].body  # the same reference: a deduplicating gateway sees one
    jobs.drain(now=later(120))
    assert len(gateway.calls) == 2
    assert db.session.scalar(select(Delivery)).attempts == 2


def test_a_timeout_is_retried(db, providers, make_receipt):
    _, gateway = providers
    gateway.then("timeout")
    _, row, url, code = make_receipt()
    deliver(row, url, code, ["zalo"])
    assert statuses(db) == {"zalo": ("queued", "timeout")}
    jobs.drain(now=later())
    assert statuses(db) == {"zalo": ("sent", None)}


def test_a_429_waits_for_its_retry_after(db, providers, make_receipt):
    _, gateway = providers
    gateway.then(("429", 900))
    _, row, url, code = make_receipt()
    before = utcnow()
    deliver(row, url, code, ["sms"])
    job = db.session.scalars(select(Job).where(Job.kind == "deliver")).one()
    assert job.next_attempt_at >= before + timedelta(seconds=900)
    jobs.drain(now=later(5))  # back-off alone would be due by now; Retry-After is not
    assert len(gateway.calls) == 1
    jobs.drain(now=later(20))
    assert statuses(db) == {"sms": ("sent", None)} and len(gateway.calls) == 2


def test_a_4xx_fails_at_once_and_is_never_retried(db, providers, make_receipt):
    _, gateway = providers
    gateway.then("400")
    _, row, url, code = make_receipt()
    deliver(row, url, code, ["sms"])
    assert statuses(db) == {"sms": ("failed", "rejected")}
    jobs.drain(now=later(600))
    assert len(gateway.calls) == 1
    assert db.session.scalars(select(Job)).one().state == "failed"


def test_after_the_last_retry_the_delivery_is_failed(db, providers, make_receipt):
    from webapp.delivery.worker import MAX_RETRIES

    _, gateway = providers
    gateway.then(*["503"] * (MAX_RETRIES + 1))
    _, row, url, code = make_receipt()
    deliver(row, url, code, ["sms"])
    for step in range(MAX_RETRIES):
        jobs.drain(now=later(60 * 24 * (step + 1)))
    assert statuses(db) == {"sms": ("failed", "server_error")}
    assert len(gateway.calls) == MAX_RETRIES + 1
    assert db.session.scalars(select(Job)).one().state == "failed"


# --- never twice -------------------------------------------------------------------------------


def test_a_worker_killed_after_the_commit_does_not_send_again(db, providers, make_receipt):
    """The broker re-delivers the message of a job whose worker died before acknowledging it."""
    from webapp.jobs.core import execute, seal

    _, gateway = providers
    _, row, url, code = make_receipt()
    deliver(row, url, code, ["sms"])
    assert len(gateway.calls) == 1
    job = db.session.scalars(select(Job)).one()
    job.state = "running"  # as the dead worker left it
    job.finished_at = None
    db.session.commit()
    sealed = seal({"to": PHONE, "survey_url": url, "code": code})
    outcome = execute(job.id, sealed, redelivered=True)
    assert outcome is not None and outcome.state == "done"
    assert len(gateway.calls) == 1
    assert statuses(db) == {"sms": ("sent", None)}


def test_request_delivery_twice_for_the_same_row_is_one_job_per_delivery(db, providers, make_receipt):
    _, gateway = providers
    _, row, url, code = make_receipt()
    deliver(row, url, code, ["sms"])
    delivery = db.session.scalar(select(Delivery))
    jobs.enqueue(
        "deliver",
        {"delivery_id": delivery.id},
        key=f"deliver:{delivery.id}",
        sealed={"to": PHONE, "survey_url": url, "code": code},
    )
    db.session.commit()
    jobs.drain(now=later())
    assert len(gateway.calls) == 1


# --- daily caps ------------------------------------------------------------------------------


def test_the_daily_cap_per_unit_and_channel(app, db, providers, make_receipt):
    _, gateway = providers
    app.config["DELIVERY_DAILY_CAP"] = 2
    try:
        for number in range(3):
            _, row, url, code = make_receipt(f"HS-{number}")
            deliver(row, url, code, ["sms", "email"])
        _, other, url, code = make_receipt("HS-9", unit="sl-ttpvhcc", service="land")
        deliver(other, url, code, ["sms"])
    finally:
        app.config["DELIVERY_DAILY_CAP"] = 2000
    db.session.expire_all()
    by_status = {}
    for delivery in db.session.scalars(select(Delivery).order_by(Delivery.id)):
        by_status.setdefault((delivery.unit_id, delivery.channel), []).append(delivery.status)
    unit_id = db.session.scalar(select(Unit.id).where(Unit.code == UNIT))
    assert by_status[(unit_id, "sms")] == ["sent", "sent", "capped"]
    assert by_status[(unit_id, "email")] == ["sent", "sent", "capped"]
    other_id = db.session.scalar(select(Unit.id).where(Unit.code == "sl-ttpvhcc"))
    assert by_status[(other_id, "sms")] == ["sent"]
    assert len(gateway.calls_to("/sms")) == 3
    capped = db.session.scalars(select(Delivery).where(Delivery.status == "capped")).all()
    assert {d.reason for d in capped} == {"daily_cap"}
    assert db.session.scalars(select(Job)).all().__len__() == 5  # nothing queued for capped rows


# --- opt-out ---------------------------------------------------------------------------------


def test_opt_out_link_records_only_a_keyed_hash_and_stops_later_messages(app, client, db, providers, make_receipt):
    sink, gateway = providers
    _, row, url, code = make_receipt()
    deliver(row, url, code, ["sms"])
    text = gateway.calls[0].body["text"]
    link = text[text.index("/optout/") :].split()[0]
    limiter.reset()

    page = client.get(link)
    soup = check_page(page)
    assert soup.find("form", method="post") is not None
    check_page(client.get(link + "?lang=en"), lang="en")
    assert client.post(link, data={}).status_code == 400  # no CSRF token: refused
    assert db.session.scalars(select(DeliveryOptout)).all() == []
    done = client.post(link, data={"csrf_token": csrf_from(page)})
    check_page(done)
    (optout,) = db.session.scalars(select(DeliveryOptout)).all()
    assert PHONE_DIGITS not in optout.contact_digest
    with app.test_request_context():
        assert optout.contact_digest == contact_digest("sms", "+84 912-345-678")  # any way of writing it

    # The same phone by SMS or Zalo: opted out, nothing sent; the e-mail address still gets its link.
    _, second, url2, code2 = make_receipt("HS-0002")
    deliver(second, url2, code2, ["sms", "zalo", "email"])
    db.session.expire_all()
    new = {
        d.channel: d.status for d in db.session.scalars(select(Delivery).where(Delivery.receipt_token_id == second.id))
    }
    assert new == {"sms": "opted_out", "zalo": "opted_out", "email": "sent"}
    assert len(gateway.calls) == 1 and len(sink.messages) == 1
    again = check_page(client.get(link))  # already opted out: says so, no form needed
    assert again.find("form", method="post") is None


def test_a_forged_or_mangled_opt_out_link_is_refused(app, client, db):
    with app.test_request_context():
        good = optout_token("email", EMAIL)
    forged = good[:-1] + ("0" if good[-1] != "0" else "1")
    assert client.get(f"/optout/{forged}").status_code == 404
    assert client.get("/optout/short").status_code == 404
    assert client.get(f"/optout/{good}").status_code == 200


def test_an_opt_out_after_queueing_is_respected_when_the_job_runs(db, providers, make_receipt):
    _, gateway = providers
    gateway.then("503")
    _, row, url, code = make_receipt()
    deliver(row, url, code, ["sms"])
    database.session.add(DeliveryOptout(contact_digest=contact_digest("sms", PHONE)))
    database.session.commit()
    jobs.drain(now=later())
    assert statuses(db) == {"sms": ("opted_out", "opted_out")}
    assert len(gateway.calls) == 1


def test_the_opt_out_page_declares_its_access_rule(app):
    from webapp.access import TOKEN_HOLDER

    assert app.blueprints["delivery_optout"].access_rule == TOKEN_HOLDER


# --- counts ----------------------------------------------------------------------------------


def test_status_counts_per_unit_and_service_with_answered(client, db, providers, make_receipt):
    from tests.surveys.test_online import PAGES, answer_pages, path_of

    _, gateway = providers
    tokens = []
    for number in range(3):
        token, row, url, code = make_receipt(f"HS-{number}")
        tokens.append(token)
        gateway.then("ok" if number < 2 else "400")
        deliver(row, url, code, ["sms"])
    limiter.reset()
    answer_pages(client, PAGES, start=path_of(client.get(f"/r/{tokens[0]}")))
    unit_id = db.session.scalar(select(Unit.id).where(Unit.code == UNIT))
    service_id = db.session.scalar(select(Service.id).where(Service.code == SERVICE))
    counts = status_counts()
    assert counts == {
        (unit_id, service_id): {"queued": 0, "sent": 2, "failed": 1, "opted_out": 0, "capped": 0, "answered": 1}
    }
    assert status_counts(unit_ids=[unit_id + 100000]) == {}
    from webapp.periods import vietnam_today

    today = vietnam_today()
    assert status_counts(start=today, end=today) == counts
    assert status_counts(start=today + timedelta(days=1)) == {}
    assert status_counts(end=today - timedelta(days=1)) == {}


# --- privacy ---------------------------------------------------------------------------------


def every_text_value(db) -> list[str]:
    """Every text and JSON value of every table, as text."""
    values = []
    with db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, (String, Text, JSON)) or "JSON" in repr(c.type)]
            if not columns:
                continue
            for row in connection.execute(select(*columns)):
                values.extend(str(value) for value in row if value is not None)
    return values


def test_the_contact_is_nowhere_but_at_the_providers(app, db, providers, make_receipt, caplog, tmp_path):
    from webapp.ops.backup import write_backup

    sink, gateway = providers
    caplog.set_level(logging.DEBUG)
    _, row, url, code = make_receipt()
    gateway.then("503")
    deliver(row, url, code, ["email", "sms", "zalo"])
    jobs.drain(now=later())
    assert statuses(db) == {"email": ("sent", None), "sms": ("sent", None), "zalo": ("sent", None)}

    # Where it must be: at the providers.
    assert sink.recipients == [EMAIL]
    assert any(call.body["to"].endswith(PHONE_DIGITS) for call in gateway.calls_to("/sms"))
    assert any(call.body["phone"].endswith(PHONE_DIGITS) for call in gateway.calls_to("/zalo/message/template"))

    secrets = [PHONE_DIGITS, EMAIL.lower(), "nguyen.van.a", "example.vn", row.token_hash and url.rsplit("/", 1)[1]]
    texts = "\n".join(every_text_value(db)).lower()
    # The SMTP sink (aiosmtpd logs as "mail.log") is the provider's side: it may see the address.
    ours = [record for record in caplog.records if not record.name.startswith("mail.")]
    assert any(record.name.startswith("webapp") for record in ours)
    logged = "\n".join(record.getMessage() + str(record.args) for record in ours).lower()
    archive = tmp_path / "backup.jsonl.gz"
    write_backup(db.engine, archive)
    with gzip.open(archive, "rt", encoding="utf-8") as handle:
        backup = handle.read().lower()
    assert "deliveries" in backup
    for secret in secrets:
        assert secret.lower() not in texts, f"{secret} stored in the database"
        assert secret.lower() not in logged, f"{secret} written to a log"
        assert secret.lower() not in backup, f"{secret} in the backup"


def test_delivery_rows_hold_no_personal_column():
    names = {column.name for column in Delivery.__table__.columns}
    assert names == {
        "id",
        "receipt_token_id",
        "unit_id",
        "service_id",
        "channel",
        "status",
        "attempts",
        "reason",
        "provider_ref",
        "created_at",
        "sent_at",
    }
    assert {column.name for column in DeliveryOptout.__table__.columns} == {"id", "contact_digest", "created_at"}
    assert ReceiptToken is not None


# --- through the one-stop API ------------------------------------------------------------------


def test_a_dossier_posted_by_the_one_stop_system_gets_one_email_and_one_sms(client, db, providers, registry):
    """POST /api/v1/dossiers with ``deliver``: the link the API answers is the link the citizen receives."""
    from datetime import UTC, datetime

    from webapp.integrations import service

    sink, gateway = providers
    unit = db.session.scalar(select(Unit).where(Unit.code == UNIT))
    issuer = service.create_client("Hệ thống một cửa tỉnh", unit)
    db.session.commit()
    document = {
        "dossier_number": "000.00.12.H52-261207-0042",
        "unit": UNIT,
        "service": SERVICE,
        "returned_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "contact": {"phone": PHONE, "email": EMAIL},
        "deliver": ["email", "sms"],
    }
    headers = {"Authorization": f"Bearer {issuer.token}"}
    answer = client.post("/api/v1/dossiers", json=document, headers=headers)
    assert answer.status_code == 201, answer.json
    survey_url, code = answer.json["survey_url"], answer.json["code"]

    (mail,) = sink.messages
    assert survey_url in mail.get_body(("plain",)).get_content() and code in mail.get_body(("plain",)).get_content()
    (sms,) = gateway.calls_to("/sms")
    assert survey_url in sms.body["text"]
    # The same dossier again: the same link, nothing sent twice.
    again = client.post("/api/v1/dossiers", json=document, headers=headers)
    assert again.status_code == 200 and again.json["survey_url"] == survey_url
    assert len(sink.messages) == 1 and len(gateway.calls) == 1
    assert statuses(db) == {"email": ("sent", None), "sms": ("sent", None)}
    # The link works.
    assert client.get(survey_url.removeprefix("http://sonla-index.test.invalid")).status_code in (200, 302)


def test_opt_out_tokens_are_masked_in_the_request_logs():
    from webapp.ops.logs import mask_secrets

    masked = mask_secrets('GET /optout/0123456789abcdefghjk HTTP/1.1" 200 https://x.vn/optout/0123456789abcdefghjk')
    assert "0123456789abcdefghjk" not in masked and "/optout/" in masked


def test_the_cap_counts_per_vietnam_day(db, registry):
    from datetime import UTC, date, datetime

    from webapp.delivery import _take_cap_slot, vietnam_day

    assert vietnam_day(datetime(2026, 1, 1, 16, 59, tzinfo=UTC)) == date(2026, 1, 1)
    assert vietnam_day(datetime(2026, 1, 1, 17, 0, tzinfo=UTC)) == date(2026, 1, 2)  # 00:00 in Việt Nam
    unit_id = db.session.scalar(select(Unit.id).where(Unit.code == UNIT))
    monday, tuesday = date(2026, 1, 5), date(2026, 1, 6)
    assert _take_cap_slot(unit_id, "sms", monday, 1) is True
    assert _take_cap_slot(unit_id, "sms", monday, 1) is False
    assert _take_cap_slot(unit_id, "zalo", monday, 1) is True
    assert _take_cap_slot(unit_id, "sms", tuesday, 1) is True
    assert _take_cap_slot(unit_id, "sms", tuesday, 0) is False
    db.session.commit()
