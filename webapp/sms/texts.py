"""The texts of the SMS survey, in Vietnamese without diacritics (GSM 7-bit, as ``webapp.delivery.messages``).

The question and its five labels come from the instrument (``surveys/instruments/sms-quick.v1.yaml``),
spelled out in full so a reply needs no leaflet: ``Ong/Ba hai long voi viec giai quyet ho so khong? Tra loi
1 Rat khong hai long, 2 Khong hai long, 3 Binh thuong, 4 Hai long, 5 Rat hai long``. The rest (retry,
thanks, opt-out) are this module's strings, translated with Flask-Babel and sent in Vietnamese.

A question that names the unit may take two SMS parts (:data:`QUESTION_MAX` characters); the unit's
name is abbreviated (``TT PVHCC``, ``UBND``…) to fit. Every other reply fits one SMS.
"""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import force_locale
from flask_babel import gettext as _

from surveys.definitions import Instrument, Item
from webapp.delivery.messages import SMS_MAX, fold, shorten

#: A question with its options may use two concatenated SMS parts (2 × 153 characters).
QUESTION_MAX = 306
#: Value of the reply that skips the optional question.
SKIP = 0


def options_text(item: Item) -> str:
    """``1 Rat khong hai long, 2 Khong hai long, …``: the item's options numbered from 1, labels in full."""
    return ", ".join(f"{number} {fold(option.label.vi)}" for number, option in enumerate(item.options, start=1))


def question_text(instrument: Instrument, index: int, unit_name: str | None = None) -> str:
    """Question ``index`` of the SMS questionnaire with its numbered options (and the unit's name first)."""
    item = asked_items(instrument)[index]
    with force_locale("vi"):
        if item.required:
            template = _("%(question)s Reply %(options)s. To stop: HUY")
        else:
            template = _("%(question)s Reply %(options)s, 0 skip")
    body = fold(template % {"question": item.text.vi, "options": options_text(item)})
    if not unit_name:
        return body
    room = QUESTION_MAX - len(body) - 2
    unit = shorten(fold(unit_name), room)
    return f"{unit}: {body}" if unit else body


def asked_items(instrument: Instrument) -> list[Item]:
    """The questions asked by SMS, in order: every item of the instrument (a rating, then a choice)."""
    return [item for section in instrument.sections for item in section.items]


def retry_text(instrument: Instrument, index: int) -> str:
    item = asked_items(instrument)[index]
    with force_locale("vi"):
        text = _("Sorry, we could not read that. Please reply with one digit: %(options)s", options=options_text(item))
    return fold(text)[: SMS_MAX * 2]


def _in_vietnamese(message: Callable[[], str]) -> str:
    """``message()`` translated to Vietnamese, without diacritics."""
    with force_locale("vi"):
        return fold(message())


def thanks_text() -> str:
    return _in_vietnamese(lambda: _("Thank you for your answer. It helps the province improve its services."))


def gave_up_text() -> str:
    return _in_vietnamese(lambda: _("Sorry, we could not read your answer, so nothing was recorded. Thank you."))


def repeat_text() -> str:
    return _in_vietnamese(lambda: _("You have already answered about this service. Thank you."))


def stopped_text() -> str:
    return _in_vietnamese(lambda: _("You will receive no more survey messages."))


def unknown_code_text() -> str:
    return _in_vietnamese(lambda: _("We could not find this code. Please text DG and the code shown on the poster."))
