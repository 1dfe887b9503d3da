"""The texts sent: in Vietnamese (``force_locale("vi")``), with the unit's name, the link and the code.

* **SMS**: no diacritics, only GSM 03.38 basic characters, at most 160 characters including the
  survey link and the opt-out link. A long unit name is abbreviated (``Trung tâm Phục vụ hành chính
  công`` → ``TT PVHCC``, ``Ủy ban nhân dân`` → ``UBND``…) and then cut at a word; if the code still
  does not fit it is left out (it is the last part of the link anyway).
* **E-mail**: plain text and a simple HTML part, the opt-out link in both.
* **Zalo ZNS**: the approved template's parameters ``unit_name``, ``code``, ``link``, ``optout_link``.
"""

from __future__ import annotations

import re
import unicodedata

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _

SMS_MAX = 160
#: Shortest unit name an SMS keeps before it drops the code instead.
SMS_MIN_UNIT = 14
#: ZNS parameters are limited in length (the "name" kinds to a few dozen characters).
ZALO_UNIT_MAX = 100
#: GSM 03.38 basic character set (one septet each; the extension table is left out on purpose).
GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: Usual abbreviations of Vietnamese unit names, applied (on text without diacritics) to shorten an SMS.
ABBREVIATIONS = (
    (r"\bTrung tam Phuc vu hanh chinh cong\b", "TT PVHCC"),
    (r"\bTrung tam phuc vu hanh chinh cong\b", "TT PVHCC"),
    (r"\bUy ban nhan dan\b", "UBND"),
    (r"\bHoi dong nhan dan\b", "HDND"),
    (r"\bTrung tam Y te\b", "TTYT"),
    (r"\bBenh vien Da khoa\b", "BVDK"),
    (r"\bBenh vien\b", "BV"),
    (r"\bTram Y te\b", "TYT"),
    (r"\bTrung tam\b", "TT"),
    (r"\bSo\b", "S."),
    (r"\bphuong\b", "P."),
    (r"\btinh\b", "T."),
)


def fold(text: str) -> str:
    """``text`` without Vietnamese diacritics and with only GSM basic characters."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    plain = plain.replace("–", "-").replace("—", "-").replace("“", '"').replace("”", '"').replace("’", "'")
    return "".join(char if char in GSM_BASIC else " " for char in plain)


def is_gsm(text: str) -> bool:
    return all(char in GSM_BASIC for char in text)


def shorten(name: str, room: int) -> str:
    """``name`` (already folded) in at most ``room`` characters: abbreviated first, then cut at a word."""
    name = " ".join(name.split())
    if len(name) <= room:
        return name
    for pattern, short in ABBREVIATIONS:
        name = re.sub(pattern, short, name)
        if len(name) <= room:
            return name
    if room <= 0:
        return ""
    # Still too long: the place comes last in Vietnamese names ("TT PVHCC P. Chieng Sinh"), so keep
    # the end and drop words from the front.
    words = name.split()
    while len(words) > 1 and len(" ".join(words)) > room:
        words.pop(0)
    return " ".join(words)[:room].rstrip(" ,.-")


def sms_text(unit_name: str, survey_url: str, code: str, optout_link: str) -> str:
    """The SMS, at most :data:`SMS_MAX` GSM characters (unless the two links alone are longer).

    The first text that leaves the unit's name at least :data:`SMS_MIN_UNIT` characters wins: with
    the code, without it, a minimal one; a translation that lost a placeholder is skipped.
    """
    marks = {"unit": "§U§", "link": "§L§", "code": "§C§", "optout": "§O§"}
    without_code = {"unit": marks["unit"], "link": marks["link"], "optout": marks["optout"]}
    with force_locale("vi"):
        candidates = [
            fold(_("%(unit)s - rate the service: %(link)s code %(code)s Stop: %(optout)s", **marks)),
            fold(_("%(unit)s - rate the service: %(link)s Stop: %(optout)s", **without_code)),
            fold(_("%(unit)s %(link)s Stop: %(optout)s", **without_code)),
        ]
    candidates.append("§U§ §L§ §O§")
    unit = fold(unit_name)
    text = ""
    for template in candidates:
        if any(template.count(marks[name]) != 1 for name in ("unit", "link", "optout")):
            continue  # a translation that lost (or doubled) a placeholder
        filled = template.replace(marks["link"], survey_url).replace(marks["optout"], optout_link)
        filled = filled.replace(marks["code"], code)
        room = SMS_MAX - (len(filled) - len(marks["unit"]))
        text = filled.replace(marks["unit"], shorten(unit, max(room, 0)), 1)
        if room >= SMS_MIN_UNIT:
            break
    return text


def email_parts(
    unit_name: str, survey_url: str, code: str, optout_link: str, expires_on: str | None = None
) -> tuple[str, str, str]:
    """``(subject, plain text, html)`` of the e-mail."""
    with force_locale("vi"):
        subject = _("Rate the service of %(unit)s", unit=unit_name)
        context = {
            "unit_name": unit_name,
            "survey_url": survey_url,
            "code": code,
            "optout_url": optout_link,
            "expires_on": expires_on,
            "subject": subject,
        }
        text = render_template("delivery/email.txt", **context)
        html = render_template("delivery/email.html", **context)
    return subject, text, html


def zalo_data(unit_name: str, survey_url: str, code: str, optout_link: str) -> dict[str, str]:
    name = " ".join(unit_name.split())
    if len(name) > ZALO_UNIT_MAX:
        name = name[:ZALO_UNIT_MAX].rsplit(" ", 1)[0]
    return {"unit_name": name, "code": code, "link": survey_url, "optout_link": optout_link}
