"""Two-way SMS survey: a fake gateway signs and posts replies to ``POST /sms/inbound`` and records what the
app sends (through the real SMS adapter, to an HTTP server on 127.0.0.1). Runs on SQLite and PostgreSQL.

Assertions rest on the messages the citizen receives, the responses stored (channel and mode ``sms``,
their own indicator) and what the database keeps (never the phone number).
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import String, Text, func, select

from surveys.definitions import load_indicators, scored_indicator
from tests.sms_fakes import SECRET, sms_gateway
from webapp.extensions import db as database
from webapp.integrations import service as integrations
from webapp.models import ReceiptToken, Response, Unit
from webapp.models.delivery import Delivery, DeliveryOptout
from webapp.models.sms import SmsConversation, SmsInboundMessage
from webapp.sms import parser
from webapp.sms.service import purge

UNIT = "n03646"
SERVICE = "civil-status"
PHONE = "0912 345 678"  # as the one-stop system sends it
FROM = "84912345678"  # as the gateway reports the sender
LABELS = ("Rat khong hai long", "Khong hai long", "Binh thuong", "Hai long", "Rat hai long")


@pytest.fixture()
def gateway(app, client, registry):
    with sms_gateway(app, client) as fake:
        yield fake


@pytest.fixture()
def one_stop(db, registry):
    unit = db.session.scalar(select(Unit).where(Unit.code == UNIT))
    new = integrations.create_client("Hệ thống một cửa tỉnh", unit)
    db.session.commit()
    return new.token


def report_dossier(http, token, number, deliver=("sms_survey",), phone=PHONE):
    document = {
        "dossier_number": number,
        "unit": UNIT,
        "service": SERVICE,
        "returned_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "contact": {"phone": phone},
        "deliver": list(deliver),
    }
    return http.post("/api/v1/dossiers", json=document, headers={"Authorization": f"Bearer {token}"})


def responses():
    database.session.rollback()
    return list(database.session.scalars(select(Response).order_by(Response.id)))


def count(model) -> int:
    database.session.rollback()
    return database.session.scalar(select(func.count()).select_from(model))


# --- the "done when" ----------------------------------------------------------------------


def test_replies_5_nam_7_4_store_one_5_refuse_the_repeat_retry_once_and_end_after_4(client, db, gateway, one_stop):
    first = report_dossier(client, one_stop, "HS-0001")
    assert first.status_code == 201, first.json
    question = gateway.sent_to(FROM)
    assert len(question) == 1
    for number, label in enumerate(LABELS, start=1):  # the five labels spelled out
        assert f"{number} {label}" in question[0]
    assert "HUY" in question[0]

    assert gateway.reply(FROM, "5").json == {"status": "processed"}
    assert gateway.reply(FROM, "năm").json == {"status": "processed"}
    stored = responses()
    assert [(r.answers["overall"], r.channel, r.mode, r.language) for r in stored] == [(5, "sms", "sms", "vi")]
    first_token = db.session.scalar(select(ReceiptToken).where(ReceiptToken.response_id == stored[0].id))
    assert first_token is not None  # the dossier's link is spent: one answer per link
    thanks, repeat = gateway.sent_to(FROM)[1:]
    assert "Cam on" in thanks
    assert "da tra loi" in repeat  # "Ông/Bà đã trả lời …": refused as a repeat

    second = report_dossier(client, one_stop, "HS-0002")  # a fresh link
    assert second.status_code == 201
    gateway.reply(FROM, "7")
    gateway.reply(FROM, "4")
    messages = gateway.sent_to(FROM)[3:]
    assert len(messages) == 3  # the question, one retry, the thanks (and nothing asked after a 4)
    new_question, retry, thanks_again = messages[0], messages[1], messages[2]
    assert new_question == question[0]
    assert "mot chu so" in retry and "5 Rat hai long" in retry
    assert "Cam on" in thanks_again
    assert [r.answers["overall"] for r in responses()] == [5, 4]
    assert {c.state for c in db.session.scalars(select(SmsConversation))} == {"answered"}
    gateway.reply(FROM, "3")  # the conversation has ended: one "already answered", nothing stored
    assert len(responses()) == 2


def test_sms_answers_count_in_their_own_series_never_pooled():
    indicators = load_indicators()
    fed = {link.instrument for link in indicators["sat-agencies-sms"].instruments}
    assert fed == {"sms-quick"}
    pooled = indicators["sat-agencies"].instruments
    assert pooled and all(link.instrument != "sms-quick" for link in pooled)
    assert indicators["sat-agencies-sms"].targets == indicators["sat-agencies"].targets
    assert indicators["sat-agencies-sms"].method == indicators["sat-agencies"].method
    from surveys.definitions import load_instruments

    sms = load_instruments()[("sms-quick", 1)]
    assert sms.channels == ("sms",)
    assert [scored_indicator(link) for link in sms.indicators] == ["sat-agencies-sms"]


# --- reading replies -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5", 5),
        (" 5 ", 5),
        ("5.", 5),
        ("５", 5),
        ("năm", 5),
        ("nam", 5),
        ("NĂM", 5),
        ("5 rat hai long", 5),
        ("5 Rất hài lòng", 5),
        ("một", 1),
        ("mot", 1),
        ("1", 1),
        ("hai", 2),
        ("2 khong hai long", 2),
        ("ba", 3),
        ("bốn", 4),
        ("bon", 4),
        ("tư", 4),
        ("4!", 4),
        ("05", 5),
        ("7", None),
        ("0", None),
        ("55", None),
        ("", None),
        ("   ", None),
        ("rat hai long", None),
        ("hài lòng", None),
        ("hai long", None),
        ("ok", None),
        ("-1", 1),
        ("five", None),
        ("5a", None),
    ],
)
def test_a_rating_reply_is_a_digit_or_a_number_word_first(text, expected):
    assert parser.read_number(text, range(1, 6)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("STOP", True), ("huy", True), ("Hủy", True), ("HUY tin nhan", True), ("5", False), ("huyen", False)],
)
def test_stop_words(text, expected):
    assert parser.is_stop(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DG n03646", ("n03646", None)),
        ("dg N03646 civil-status", ("n03646", "civil-status")),
        ("DG", ("", None)),
        ("DG x y z", ("", None)),
        ("5", None),
    ],
)
def test_poster_start_keyword(text, expected):
    assert parser.read_start(text) == expected


# --- the webhook refuses what is not from the gateway ----------------------------------------------


def test_unsigned_forged_stale_or_malformed_calls_are_refused_and_change_nothing(client, db, gateway, one_stop):
    report_dossier(client, one_stop, "HS-0001")
    body = {"id": "gw-x", "from": FROM, "text": "5"}
    now = int(time.time())
    refusals = [
        (gateway.post(body, signature=""), 401, "signature_missing"),
        (gateway.post(body, secret="not-the-secret"), 401, "bad_signature"),
        (gateway.post(body, signature="sha256=" + "0" * 64), 401, "bad_signature"),
        (gateway.post(body, timestamp=now - 301), 401, "stale_timestamp"),
        (gateway.post(body, timestamp=now + 301), 401, "stale_timestamp"),
        (gateway.post({}, raw=b"{not json"), 400, "invalid_json"),
        (gateway.post({"id": "gw-x", "from": "not a phone", "text": "5"}), 400, "invalid_from"),
        (gateway.post({"id": "", "from": FROM, "text": "5"}), 400, "invalid_id"),
        (gateway.post({"id": "gw-x", "from": FROM}), 400, "invalid_text"),
        (gateway.post([1, 2]), 400, "invalid_json"),
    ]
    for answer, status, code in refusals:
        assert answer.status_code == status, (code, answer.json)
        assert answer.json["error"]["code"] == code
        assert answer.json["error"]["message"]
    # A body signed for one text cannot carry another (the signature covers the body).
    stamp = str(now)
    from tests.sms_fakes import sign

    signed = sign(SECRET, stamp, json.dumps(body).encode())
    tampered = client.post(
        "/sms/inbound",
        data=json.dumps({**body, "text": "1"}),
        content_type="application/json",
        headers={"X-Sms-Timestamp": stamp, "X-Sms-Signature": signed},
    )
    assert tampered.status_code == 401
    assert count(SmsInboundMessage) == 0 and responses() == []
    assert len(gateway.sent_to(FROM)) == 1  # only the question


def test_the_webhook_is_off_without_its_secret_and_answers_json_in_the_requesters_language(app, client, db, gateway):
    app.config["SMS_INBOUND_SECRET"] = ""
    off = gateway.reply(FROM, "5")
    assert off.status_code == 404 and off.json["error"]["code"] == "not_configured"
    app.config["SMS_INBOUND_SECRET"] = SECRET
    vi = client.post("/sms/inbound", data="{}", content_type="application/json", headers={"Accept-Language": "vi"})
    assert vi.status_code == 401 and vi.json["error"]["message"] != "The request is not signed."


def test_a_gateway_message_delivered_twice_is_handled_once(client, db, gateway, one_stop):
    report_dossier(client, one_stop, "HS-0001")
    assert gateway.reply(FROM, "4", message_id="gw-42").json == {"status": "processed"}
    assert gateway.reply(FROM, "4", message_id="gw-42").json == {"status": "duplicate"}
    assert len(responses()) == 1
    assert len(gateway.sent_to(FROM)) == 2  # the question and one thanks


def test_the_same_message_delivered_many_times_at_once_stores_one_answer(app, client, db, gateway, one_stop):
    report_dossier(client, one_stop, "HS-0001")
    results: list[int] = []
    barrier = threading.Barrier(6)

    def deliver():
        http = app.test_client()
        from tests.sms_fakes import FakeSmsGateway

        barrier.wait()
        answer = FakeSmsGateway(http, gateway.outbound).reply(FROM, "5", message_id="gw-same")
        results.append(answer.json["status"] if answer.status_code == 200 else answer.status_code)

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["duplicate"] * 5 + ["processed"]
    assert len(responses()) == 1
    assert count(SmsInboundMessage) == 1


# --- the second question, STOP, posters, answers by other paths --------------------------------------


def test_a_low_rating_asks_the_main_problem_and_stores_both(client, db, gateway, one_stop):
    report_dossier(client, one_stop, "HS-0001")
    gateway.reply(FROM, "2")
    follow_up = gateway.sent_to(FROM)[-1]
    assert "1 Tre hen" in follow_up and "0 Bo qua" in follow_up
    assert responses() == []  # stored after the second answer
    gateway.reply(FROM, "1 tre qua")
    [stored] = responses()
    assert stored.answers == {"overall": 2, "main_problem": "late"}


def test_a_rating_waiting_for_its_second_answer_is_stored_after_a_day(client, db, gateway, one_stop):
    report_dossier(client, one_stop, "HS-0001")
    gateway.reply(FROM, "3")
    counts = purge(datetime.now(UTC) + timedelta(hours=25))
    assert counts["stored"] == 1
    assert [r.answers for r in responses()] == [{"overall": 3}]


def test_stop_opts_out_and_no_survey_is_sent_to_that_phone_again(client, db, gateway, one_stop):
    from webapp.delivery.contacts import contact_digest

    report_dossier(client, one_stop, "HS-0001")
    gateway.reply(FROM, "HUY")
    assert "khong nhan them" in gateway.sent_to(FROM)[-1]
    assert db.session.scalar(select(DeliveryOptout.contact_digest)) == contact_digest("sms", PHONE)
    sent = len(gateway.sent_to(FROM))
    report_dossier(client, one_stop, "HS-0002")
    gateway.reply(FROM, "5")
    assert len(gateway.sent_to(FROM)) == sent
    assert responses() == []
    assert db.session.scalars(select(Delivery.status).order_by(Delivery.id)).all() == ["sent", "opted_out"]


def test_a_poster_code_starts_the_survey_once_per_phone(client, db, gateway):
    gateway.reply(FROM, f"DG {UNIT} {SERVICE}")
    assert "5 Rat hai long" in gateway.sent_to(FROM)[0]
    gateway.reply(FROM, "4")
    [stored] = responses()
    assert stored.answers == {"overall": 4} and stored.channel == "sms"
    gateway.reply(FROM, f"DG {UNIT} {SERVICE}")
    assert "da tra loi" in gateway.sent_to(FROM)[-1]
    gateway.reply(FROM, "DG nowhere")
    assert "khong tim thay" in gateway.sent_to(FROM)[-1].lower()
    assert len(responses()) == 1


def test_a_dossier_answered_through_its_link_refuses_the_sms_answer(client, db, gateway, one_stop):
    import uuid

    from surveys.submission import Submission, submit_response
    from tests.conftest import complete_online_answers

    report_dossier(client, one_stop, "HS-0001")
    token = db.session.scalars(select(ReceiptToken)).one()
    instrument, answers = complete_online_answers(SERVICE, rating=4)
    submit_response(
        Submission(
            client_id=uuid.uuid4(),
            instrument_code=instrument,
            unit_code=UNIT,
            service_code=SERVICE,
            channel="qr",
            answers=answers,
            receipt_token=token,
        )
    )
    gateway.reply(FROM, "5")
    assert [r.channel for r in responses()] == ["qr"]
    assert "da tra loi" in gateway.sent_to(FROM)[-1]


def test_sms_and_sms_survey_together_are_refused_and_nothing_is_stored(client, db, gateway, one_stop):
    answer = report_dossier(client, one_stop, "HS-0001", deliver=("sms", "sms_survey"))
    assert answer.status_code == 422
    assert answer.json["error"]["field"] == "deliver" and answer.json["error"]["code"] == "conflicting_choice"
    assert count(ReceiptToken) == 0 and gateway.sent() == []


# --- privacy and retention -----------------------------------------------------------------------------


def test_the_phone_number_is_stored_nowhere(client, db, gateway, one_stop):
    report_dossier(client, one_stop, "HS-0001")
    gateway.reply(FROM, "2")
    gateway.reply(FROM, "xyz")
    gateway.reply(FROM, "HUY")
    database.session.rollback()
    forms = ("912345678", "912 345 678", "912.345.678")
    found = []
    for table in database.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | Text) or c.type.__class__.__name__ == "JSON"]
        for row in database.session.execute(select(*columns)) if columns else ():
            for column, value in zip(columns, row, strict=True):
                text = json.dumps(value, ensure_ascii=False) if value is not None else ""
                if any(form in text for form in forms):
                    found.append(f"{table.name}.{column.name}")
    assert found == []
    assert count(SmsConversation) == 1


def test_purge_after_30_days_deletes_the_conversation_with_its_digest_and_keeps_the_answer(
    client, db, gateway, one_stop, runner
):
    report_dossier(client, one_stop, "HS-0001")
    gateway.reply(FROM, "5")
    database.session.rollback()
    assert count(SmsConversation) == 1 and count(SmsInboundMessage) == 1
    assert purge(datetime.now(UTC) + timedelta(days=29)) == {"stored": 0, "ended": 0, "conversations": 0, "messages": 0}
    counts = purge(datetime.now(UTC) + timedelta(days=30, minutes=1))
    assert counts["conversations"] == 1 and counts["messages"] == 1
    assert count(SmsConversation) == 0 and count(SmsInboundMessage) == 0
    assert [r.answers["overall"] for r in responses()] == [5]
    result = runner.invoke(args=["sms", "purge"])
    assert result.exit_code == 0 and "deleted 0 conversations" in result.output
