"""Provider adapters against real local servers (SMTP sink, HTTP gateway) and the message texts."""

from __future__ import annotations

import csv

import pytest

from tests.conftest import REPO
from tests.fakes import fake_gateway, smtp_sink
from webapp.delivery.messages import SMS_MAX, email_parts, fold, is_gsm, sms_text, zalo_data
from webapp.delivery.senders import (
    HttpSmsSender,
    Message,
    PermanentSendError,
    SmtpSender,
    TransientSendError,
    ZaloZnsSender,
    retry_after_ms,
    sender_for,
)

PHONE = "84912345678"
EMAIL = "nguoi.dan@example.vn"
CODE = "ABCD-EFGH-JKMN-PQRS"


@pytest.fixture()
def gateway():
    with fake_gateway(hang_seconds=1.5) as server:
        yield server


def sms(text: str = "Moi danh gia") -> Message:
    return Message(channel="sms", to=PHONE, text=text, ref="delivery-7")


# --- SMS gateway -----------------------------------------------------------------------------


def test_sms_gateway_gets_the_documented_json_with_our_reference(gateway):
    sender = HttpSmsSender(gateway.url + "/sms", "gw-token", timeout=2)
    result = sender.send(sms("Xin chao"))
    (call,) = gateway.calls
    assert call.path == "/sms"
    assert call.body == {"to": PHONE, "text": "Xin chao", "ref": "delivery-7"}
    assert call.headers["authorization"] == "Bearer gw-token"
    assert result.provider_ref == "sms-1"


@pytest.mark.parametrize(
    ("step", "error", "reason"),
    [
        ("503", TransientSendError, "server_error"),
        ("500", TransientSendError, "server_error"),
        (("429", 7), TransientSendError, "rate_limited"),
        ("400", PermanentSendError, "rejected"),
        ("401", PermanentSendError, "unauthorised"),
        ("timeout", TransientSendError, "timeout"),
    ],
)
def test_gateway_failures_are_told_apart(gateway, step, error, reason):
    gateway.then(step)
    sender = HttpSmsSender(gateway.url + "/sms", "t", timeout=0.3)
    with pytest.raises(error) as raised:
        sender.send(sms())
    assert raised.value.reason == reason
    assert PHONE not in str(raised.value)
    if step == ("429", 7):
        assert raised.value.retry_after_ms == 7000


def test_unreachable_gateway_is_transient():
    from tests.fakes import free_port

    sender = HttpSmsSender(f"http://127.0.0.1:{free_port()}/sms", "t", timeout=0.5)
    with pytest.raises(TransientSendError) as raised:
        sender.send(sms())
    assert raised.value.reason == "unreachable"


def test_retry_after_reads_seconds_and_http_dates():
    assert retry_after_ms("30") == 30_000
    assert retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT") == 0  # in the past: at once
    assert retry_after_ms("soon") is None
    assert retry_after_ms(None) is None


# --- Zalo ZNS --------------------------------------------------------------------------------


def test_zalo_gets_phone_template_data_and_tracking_id(gateway):
    sender = ZaloZnsSender(gateway.url + "/zalo/message/template", "oa-token", "123456", timeout=2)
    data = {"unit_name": "UBND xã Chiềng Mung", "code": CODE, "link": "http://x/r/A", "optout_link": "http://x/o"}
    result = sender.send(Message(channel="zalo", to=PHONE, text="", template_data=data, ref="delivery-9"))
    (call,) = gateway.calls
    assert call.body == {"phone": PHONE, "template_id": "123456", "template_data": data, "tracking_id": "delivery-9"}
    assert call.headers["access_token"] == "oa-token"
    assert result.provider_ref == "zmsg-1"


def test_zalo_error_codes_in_a_200_answer(gateway):
    sender = ZaloZnsSender(gateway.url + "/zalo", "oa", "1", timeout=2)
    message = Message(channel="zalo", to=PHONE, text="", ref="delivery-1")
    gateway.then(("zalo_error", -124), ("zalo_error", -32))
    with pytest.raises(PermanentSendError):
        sender.send(message)
    with pytest.raises(TransientSendError):
        sender.send(message)


# --- SMTP ------------------------------------------------------------------------------------


def test_smtp_sender_delivers_one_mail_with_our_message_id():
    with smtp_sink() as sink:
        sender = SmtpSender(sink.url, "Chỉ số hài lòng <khaosat@sonla.gov.vn>", timeout=5)
        message = Message(
            channel="email",
            to=EMAIL,
            subject="Đánh giá dịch vụ",
            text="Xin chào\nhttp://x/r/A",
            html="<p>Xin chào</p>",
            ref="delivery-3",
        )
        result = sender.send(message)
        (mail,) = sink.messages
    assert sink.recipients == [EMAIL]
    assert mail["Message-ID"] == "<delivery-3@sonla.gov.vn>" == result.provider_ref
    assert mail["Subject"] == "Đánh giá dịch vụ"
    assert "http://x/r/A" in mail.get_body(("plain",)).get_content()
    assert mail.get_body(("html",)) is not None


def test_smtp_url_is_parsed():
    sender = SmtpSender("smtp://user%40x:p%3Ass@mail.example:587?starttls=1", "a@b.vn")
    assert (sender.host, sender.port, sender.username, sender.password, sender.starttls) == (
        "mail.example",
        587,
        "user@x",
        "p:ss",
        True,
    )
    with pytest.raises(ValueError):
        SmtpSender("http://mail.example", "a@b.vn")


def test_unreachable_smtp_is_transient():
    from tests.fakes import free_port

    sender = SmtpSender(f"smtp://127.0.0.1:{free_port()}", "a@b.vn", timeout=1)
    with pytest.raises(TransientSendError):
        sender.send(Message(channel="email", to=EMAIL, text="x", subject="x", ref="delivery-1"))


def test_a_channel_without_settings_has_no_sender():
    assert sender_for("sms", {}) is None
    assert sender_for("email", {"SMTP_URL": "smtp://h:25"}) is None  # no MAIL_FROM
    assert sender_for("zalo", {"ZALO_ZNS_URL": "http://z", "ZALO_ACCESS_TOKEN": "t"}) is None
    assert isinstance(sender_for("sms", {"SMS_GATEWAY_URL": "http://g", "SMS_GATEWAY_TOKEN": "t"}), HttpSmsSender)


# --- message texts ---------------------------------------------------------------------------


def unit_names() -> list[str]:
    with (REPO / "webapp" / "registry" / "data" / "units.csv").open(encoding="utf-8") as handle:
        return [row["name_vi"] for row in csv.DictReader(handle)]


def test_fold_removes_vietnamese_diacritics():
    assert fold("Ủy ban nhân dân phường Chiềng Sinh – Đội 1") == "Uy ban nhan dan phuong Chieng Sinh - Doi 1"
    assert is_gsm(fold("Trung tâm Phục vụ hành chính công tỉnh Sơn La"))


@pytest.mark.parametrize("base", ["http://sonla-index.test.invalid", "https://chisohailong.sonla.gov.vn"])
def test_every_unit_name_fits_one_gsm_sms_with_both_links(app, base):
    names = unit_names()
    longest = max(names, key=len)
    survey_url = f"{base}/r/ABCDEFGHJKMNPQRS"
    optout = f"{base}/optout/0123456789abcdefghjk"
    with app.app_context():
        texts = {name: sms_text(name, survey_url, CODE, optout) for name in names}
    assert len(texts) > 300, "every unit's name"
    for name, text in texts.items():
        assert len(text) <= SMS_MAX, (name, len(text), text)
        assert is_gsm(text), text
        assert survey_url in text and optout in text
    longest_text = texts[longest]
    assert len(longest) > 45
    # The longest name is shortened, yet still names the place.
    assert fold(longest).split()[-1] in longest_text


def test_a_short_unit_name_keeps_the_code_in_the_sms(app):
    with app.app_context():
        text = sms_text("Sở Tư pháp", "http://s.vn/r/ABCDEFGHJKMNPQRS", CODE, "http://s.vn/optout/x")
    assert "So Tu phap" in text and CODE in text
    assert len(text) <= SMS_MAX


def test_email_has_the_unit_the_link_the_code_and_the_optout_link(app):
    with app.app_context():
        subject, text, html = email_parts(
            "UBND xã Chiềng Mung", "http://s.vn/r/ABC", CODE, "http://s.vn/optout/x", "2027-02-05"
        )
    assert "UBND xã Chiềng Mung" in subject
    for part in (text, html):
        assert "UBND xã Chiềng Mung" in part
        assert "http://s.vn/r/ABC" in part and CODE in part and "http://s.vn/optout/x" in part


def test_email_html_escapes_the_unit_name(app):
    with app.app_context():
        _, _, html = email_parts("<b>Đội</b>", "http://s.vn/r/ABC", CODE, "http://s.vn/optout/x")
    assert "<b>Đội</b>" not in html and "&lt;b&gt;" in html


def test_zalo_template_data_has_the_four_parameters():
    data = zalo_data("UBND  xã   Chiềng Mung", "http://s.vn/r/A", CODE, "http://s.vn/optout/x")
    assert data == {
        "unit_name": "UBND xã Chiềng Mung",
        "code": CODE,
        "link": "http://s.vn/r/A",
        "optout_link": "http://s.vn/optout/x",
    }


def test_a_long_or_broken_translation_still_gives_one_sms_with_both_links(app, monkeypatch):
    import webapp.delivery.messages as messages

    def long_translation(text, **values):
        if "code" in values:
            return f"{values['unit']} " + "x" * 150
        if "rate" in text:
            return (
                f"Kính mời ông/bà dành chút thời gian đánh giá chất lượng phục vụ của {values['unit']} tại "
                f"{values['link']} ; nếu không muốn nhận tin nữa: {values['optout']}"
            )
        return f"{values['unit']} {values['link']}"  # the opt-out link lost by the translator

    monkeypatch.setattr(messages, "_", long_translation)
    survey_url, optout = "http://sonla-index.test.invalid/r/ABCDEFGHJKMNPQRS", "http://s.vn/optout/0123456789abcdefghjk"
    with app.app_context():
        text = sms_text("Trung tâm Phục vụ hành chính công phường Chiềng Sinh", survey_url, CODE, optout)
    assert len(text) <= SMS_MAX and is_gsm(text)
    assert survey_url in text and optout in text and "Chieng Sinh" in text
