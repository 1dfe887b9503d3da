"""Masking of personal data in citizens' free-text comments (Vietnamese first).

Every comment goes through :func:`mask_personal_data` before it is stored, shown to staff or
published. Each piece of personal data found is replaced by a readable placeholder from
:data:`PLACEHOLDERS` (``"[số điện thoại]"``, ``"[tên]"``…), so the comment still reads naturally
and the web layer can style the placeholders (:data:`PLACEHOLDER_RE` finds them).

What is masked
--------------
* **Phone numbers** (``phone``): mobiles ``0912 345 678``, ``0912345678``, ``0912.345.678``,
  ``0912-345-678``, ``091 234 5678``, and split any other way: digit by digit
  (``0 9 1 2 3 4 5 6 7 8``), in pairs, with slashes or underscores (``0912/345/678``,
  ``0912_345_678``) — any run of digit groups whose digits form a phone number; with the country code ``+84 912345678``,
  ``+84 91 234 5678``, ``84912345678``, ``0084…``, ``(+84)…``; landlines with the area code
  ``(0212) 3852 123``, ``0212 3852 123`` (Sơn La is 0212). Shorter numbers (a landline written
  without its area code, ``3852 123``) only when a word such as "SĐT", "điện thoại", "Zalo",
  "gọi" comes just before. Offices' and hotlines' numbers are masked too: the masker cannot tell
  them from a person's.
* **Citizen ID numbers** (``id_number``): 12-digit CCCD (starting with 0, the province code),
  9-digit CMND, written together or in groups (``014 093 000 123``); any 8–15 digit number
  right after "CCCD", "CMND", "căn cước", "định danh", "mã số thuế", "BHXH", "BHYT"…;
  passports after "hộ chiếu"; health-insurance card numbers (``HS4141234567890``).
* **E-mail addresses** (``email``), also spaced or spelt out: ``nguyenvana @ gmail . com``,
  ``(at)``, ``[at]``, `` at ``, `` a còng ``, ``(dot)``, `` chấm ``, when the address ends in a common
  top-level domain (``com``, ``vn``, ``net``, ``org``, ``edu``, ``gov``…).
* **Licence plates** (``plate``): ``26A-123.45``, ``26A12345``, ``29A-1234``, ``29-B1 123.45``,
  ``26-B1 234.56``, ``26B1-234.56``, ``30LD-123.45``… (upper-case series letters; lower-case or
  loosely spaced plates only right after "biển số", "BKS").
* **Bank account numbers** (``bank_account``): any other run of 9–19 digits, together or in
  groups of 3–6 separated by spaces, dashes or dots (``1903 6677 8899 012``), and 6–19 digits right
  after "STK", "số tài khoản", "chuyển khoản", a bank's name… The label follows the word before
  the number when there is one ("STK 0912345678" is an account, as some banks allow).
* **Dossier case numbers** (``case_number``): the one-stop portal's ``000.00.12.H57-250301-0001``
  and ``H57.24-250301-0001`` forms anywhere, and any code with 4+ digits right after "mã hồ sơ",
  "số biên nhận", "phiếu hẹn"… They are not personal data by themselves, but staff can look the
  dossier up and so find the person: they are masked like the rest.
* **Names after an honorific or a title** (``name``): "chị Lò Thị Mai" → "chị [tên]". The honorific
  ("anh", "chị", "em", "ông", "bà", "cô", "chú", "bác", "cháu", "mế", "cán bộ", "đồng chí", "đ/c",
  "bác sĩ", "y tá", "thầy", "cô giáo", "trưởng bản", "chủ tịch"… in :data:`HONORIFICS`, in lower,
  capitalised or upper case) is kept; the 1–4 capitalised syllables right after it are replaced.
* **Names without an honorific** (``name``), every run of capitalised words the rules below
  read as a name: after "tên", "tên là", "tên tôi là", "họ (và) tên", "tôi/em/mình là", "ký tên",
  "người viết/nhận/gửi", "cảm ơn", "nhờ", "gặp", "hỏi" ("Tôi tên [tên]"); starting with a
  family name of :data:`SURNAMES` (Kinh, Thái, Mông… "[tên] làm rất tốt"); after a title and
  an office or place word when it is a full name (family name + "Văn"/"Thị"/"A"/"Seo", or
  three words: "Chủ tịch xã [tên]", "Phó Giám đốc Sở [tên]"). Leading office, title and
  sentence words of the run stay ("Sở", "Trạm", "Nhờ"). Runs the rules cannot place — not a
  known place (:data:`KNOWN_PLACES`, Thái place prefixes "Chiềng", "Mường", "Nà", "Huổi"…),
  not after a place, office, street or day word ("xã Chiềng An", "phố Tô Hiệu", "thứ Năm"), not
  the first word of a sentence — go to underthesea's named-entity recogniser (``underthesea.ner``,
  CRF model shipped inside the package, loaded lazily once per process, calls serialised by a
  lock), which reads the sentence around them; words it tags ``B-PER``/``I-PER`` are masked.
  Capitalised names of ethnic groups after "người", "dân tộc", "đồng bào" ("người Dao", "đồng
  bào Dao, La Ha và Kháng", :data:`ETHNIC_GROUPS`) are kept.
* **Full names in lower case** (``name``): a family name of :data:`SURNAMES`, "văn", "thị", "a"
  or "seo" and a given name ("gặp chị [tên] ở quầy" for "quàng thị mai"), unless the middle name
  and the next word make a common word ("vì thị trấn", "mua văn phòng phẩm") or it follows a
  street word ("đường lò văn giá", as when capitalised); the word after
  the given name is masked too when the recogniser, reading the sentence with the name and that
  word capitalised, tags it as part of the name ("trần thị hồng nhung"; rules only: not).

What is deliberately not masked
-------------------------------
Dates (``12/03/2025``, ``12.03.2025``), times (``8h30``, ``08:30``), amounts of money
(``50.000 đồng``, ``50.000đ``, ``2 triệu``, ``1.500.000.000 VNĐ``, ``giá 1.200.000.000``),
percentages, years, counts and other short numbers (``3 lần``, ``quầy số 2``, ``2 hồ sơ``); an honorific followed by a lower-case
word ("anh ấy", "chị ở quầy", "ông bà", "cô giáo dạy tốt"); a capitalised word after an honorific
that is a title, an office or a place ("ông Chủ tịch xã", "anh Công an huyện", "cán bộ Bộ phận
một cửa", "Bác Hồ", "Bà Rịa"), a common sentence word ("Em Cảm ơn…"), or an honorific that
follows a place word ("phố Bà Triệu", "xã Chiềng An" is never touched). A number in the
thousands format (``1.234.567``) is read as an amount if it has at most 8 digits, a currency
after it or a money word before it ("giá", "phí", "tổng", "hết"…); otherwise, with 9 or more
digits, it is masked (``123.456.789`` may be a CMND).

Known limits
------------
* Names written all in upper case are not detected, nor names in lower case other than a full
  name with "văn"/"thị"/"a"/"seo" ("chị mai", "nguyễn trãi"), nor a one-word given name as the
  first word of a sentence ("Hùng làm rất tốt") unless a family name starts it.
* A street, school or place named after a person ("đường Lò Văn Giá", "Trường THCS Chu Văn An")
  is masked when it is a full name after a place word; a place the rules do not know may be
  masked when the recogniser takes it for a person ("Khu du lịch Ngũ Động"): the issue allows masking a place when unsure.
* Title Case sentences ("Cô Giáo Dạy Rất Tốt") mask words that are not names.
* The recogniser runs at most :data:`NER_BUDGET` times per text (about 2 ms each); in a longer
  text, runs it would have read are masked.
* Addresses (house numbers, streets), land-parcel and certificate numbers, social-network handles
  and receipt QR codes are not masked.
* It is a heuristic: a human moderator still reads every comment before it is published.

Behaviour
---------
The input is normalised to NFC first (NFD input masks the same), and the output is NFC, even
when nothing is masked. Invisible characters that can split a number or an address (zero-width
space, (non-)joiner, word joiner, byte-order mark, soft hyphen) are skipped by every pattern
("0912", U+200B, "345", U+200B, "678" is a phone number); where nothing is masked they stay.
Masking is idempotent (masking masked text changes nothing: passes are repeated until one
finds nothing, see :func:`mask_personal_data`), never raises on a ``str`` (``TypeError`` on
anything else) and runs in linear time: every pattern either anchors its start after a
boundary or has bounded repetition, and the recogniser reads bounded sentences a bounded
number of times. A 100 KB text takes about a second with the recogniser (bench/pii_bench.py),
plus about a second the first time a process loads it. The output never contains a run of 9
or more digits: any such run is masked, as an account number if nothing else fits.
:attr:`MaskResult.found` lists the kind of every replacement in order of appearance, **not**
deduplicated (so ``len(found)`` is the number of replacements); :attr:`MaskResult.kinds` is
the deduplicated form; :attr:`MaskResult.spans` gives where each masked piece was in the (NFC)
input, for measuring the masker on a labelled corpus.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass, field

__all__ = [
    "ETHNIC_GROUPS",
    "HONORIFICS",
    "KNOWN_PLACES",
    "NER_BUDGET",
    "SURNAMES",
    "PLACEHOLDERS",
    "PLACEHOLDER_RE",
    "MaskResult",
    "mask_personal_data",
    "mask_text",
]

#: Kind of personal data -> the placeholder that replaces it (the web layer styles these).
PLACEHOLDERS: dict[str, str] = {
    "phone": "[số điện thoại]",
    "id_number": "[số giấy tờ]",
    "email": "[email]",
    "plate": "[biển số xe]",
    "bank_account": "[số tài khoản]",
    "case_number": "[mã hồ sơ]",
    "name": "[tên]",
}

#: Finds any placeholder in masked text.
PLACEHOLDER_RE = re.compile("|".join(re.escape(token) for token in PLACEHOLDERS.values()))


@dataclass(frozen=True)
class MaskResult:
    """The masked text and the kind of each replacement, in order of appearance (with repeats)."""

    text: str
    found: tuple[str, ...] = ()
    #: (start, end, kind) of each masked piece in the NFC-normalised input, in order (for
    #: measuring the masker on a labelled corpus); not part of equality.
    spans: tuple[tuple[int, int, str], ...] = field(default=(), compare=False)

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds found, deduplicated, in order of first appearance."""
        return tuple(dict.fromkeys(self.found))

    @property
    def changed(self) -> bool:
        return bool(self.found)


# --------------------------------------------------------------------------------------------
# Character classes
# --------------------------------------------------------------------------------------------


def _latin_class(category: str) -> str:
    """A regex character class of the Latin letters (incl. Vietnamese) of a Unicode category."""
    points = [
        c
        for block in (range(0x41, 0x250), range(0x1E00, 0x1F00))
        for c in block
        if unicodedata.category(chr(c)) == category
    ]
    ranges: list[tuple[int, int]] = []
    for c in points:
        if ranges and ranges[-1][1] == c - 1:
            ranges[-1] = (ranges[-1][0], c)
        else:
            ranges.append((c, c))
    parts = [f"\\u{a:04x}" if a == b else f"\\u{a:04x}-\\u{b:04x}" for a, b in ranges]
    return "[" + "".join(parts) + "]"


_UPPER = _latin_class("Lu")
_LOWER = _latin_class("Ll")
_NOT_LETTER_AHEAD = r"(?![^\W\d_])"
_NOT_LETTER_BEHIND = r"(?<![^\W\d_])"
_SP = r"[ \t\u00a0]"
_FILL = "\ue000"  # marks claimed characters in the working copy; only for matching


# --------------------------------------------------------------------------------------------
# Patterns claimed first: e-mail, case numbers, plates
# --------------------------------------------------------------------------------------------

_EMAIL_RE = re.compile(r"(?<![\w.+%\-])[\w.+%\-]+@[\w\-]+(?:\.[\w\-]+)+")
# Spelt-out or spaced addresses: "nguyenvana @ gmail . com", "(at)", "[at]", " a còng ", "chấm com".
# The domain must end in a common top-level domain, so "gặp @ quầy 2 . Cảm ơn" is not one.
_AT = r"(?:[ \t]*[@＠][ \t]*|[ \t]*[(\[][ \t]*(?i:at|a còng)[ \t]*[)\]][ \t]*|[ \t]+(?i:at|a còng|a móc)[ \t]+)"
_DOT = r"(?:[ \t]*\.[ \t]*|[ \t]*[(\[][ \t]*(?i:dot|chấm)[ \t]*[)\]][ \t]*|[ \t]+(?i:dot|chấm)[ \t]+)"
_EMAIL_LOOSE_RE = re.compile(
    r"(?<![\w.+%\-])[A-Za-z0-9][A-Za-z0-9._%+\-]{0,63}"
    + _AT
    + r"[A-Za-z0-9][A-Za-z0-9\-]{0,62}(?:"
    + _DOT
    + r"[A-Za-z0-9][A-Za-z0-9\-]{0,62}){0,3}"
    + _DOT
    + r"(?i:com|vn|net|org|edu|gov|info|biz|io|me|co)(?![\w])"
)

_CASE_RE = re.compile(r"(?<![\w.\-])(?:[0-9A-Z]{1,5}\.){0,4}[A-Z]\d{2}(?:\.\d{1,3})?-\d{6}-\d{3,6}(?!\w)")

_PLATE_RE = re.compile(
    r"(?<![\w.\-/])[1-9]\d(?:-|" + _SP + r")?[A-ZĐ]{1,2}\d?"
    r"(?:[-.]?\d{3}\.\d{2}|" + _SP + r"?\d{3}\.\d{2}|" + _SP + r"?\d{5}|[-.]?\d{4})"
    r"(?!\w)(?![.,\-]\d)"
)

# --------------------------------------------------------------------------------------------
# Numbers that are kept as they are: dates, times, money, percentages
# --------------------------------------------------------------------------------------------

_UNIT = r"(?i:đồng|vnđ|vnd|đ|₫|nghìn|ngàn|triệu|tr|tỷ|tỉ|usd|k|\$)" + _NOT_LETTER_AHEAD
_KEEP_RES = (
    # dates: 12/03/2025, 12.03.2025, 2025-03-12, 12/03, 03/2025
    re.compile(
        r"(?<![\d/.\-])(?:\d{1,2}[/.\-]\d{1,2}[/.\-](?:\d{4}|\d{2})|\d{4}[/.\-]\d{1,2}[/.\-]\d{1,2}"
        r"|\d{1,2}/\d{4}|\d{1,2}/\d{1,2})(?!\d)(?![/.\-]\d)"
    ),
    # times: 8h30, 08:30, 8g30, 14h
    re.compile(r"(?<![\d:.])\d{1,2}(?:[h:g]\d{2}(?:ph|p|')?|h)(?!\w)(?![:.]\d)"),
    # money: 50.000đ, 1.500.000.000 VNĐ, 2 triệu, 1,5 tr, 500k
    re.compile(r"(?<![\d.,])\d{1,3}(?:[.,]\d{3})+(?:[.,]\d{1,2})?" + _SP + r"?" + _UNIT),
    re.compile(r"(?<![\d.,])\d{1,8}(?:[.,]\d{1,3})?" + _SP + r"?" + _UNIT),
    # percentages
    re.compile(r"(?<![\d.,])\d{1,6}(?:[.,]\d{1,3})?" + _SP + r"?%"),
)
# thousands format without a unit: kept when it has at most 8 digits or a money word before it
_THOUSANDS_RE = re.compile(r"(?<![\d.,])[1-9]\d{0,2}(?:\.\d{3})+(?!\d)(?![.,]\d)")
_MONEY_BEFORE_RE = re.compile(
    _NOT_LETTER_BEHIND + r"(?i:giá|phí|tiền|vốn|tổng|dự toán|kinh phí|hết|mất|nộp|đóng|trả|thu|chi|hỗ trợ"
    r"|bồi thường|khoảng|gần|hơn|trên|tới|lên|còn)" + _NOT_LETTER_AHEAD + r"[ \t:=]*(?i:là[ \t:]*)?\Z"
)

# --------------------------------------------------------------------------------------------
# Context words: the kind of the number that follows them
# --------------------------------------------------------------------------------------------

_CONTEXT_WORDS = {
    "phone": [
        "số điện thoại",
        "điện thoại",
        "đthoại",
        "sđt",
        "sdt",
        "đt",
        "đtdđ",
        "di động",
        "zalo",
        "viber",
        "hotline",
        "đường dây nóng",
        "số máy",
        "máy bàn",
        "gọi",
        "nhắn tin",
        "nhắn",
        "liên hệ",
        "liên lạc",
        "tel",
        "phone",
    ],
    "id_number": [
        "cccd",
        "cmnd",
        "cmt",
        "cmtnd",
        "căn cước công dân",
        "căn cước",
        "chứng minh nhân dân",
        "chứng minh thư",
        "chứng minh",
        "định danh cá nhân",
        "định danh",
        "số giấy tờ",
        "giấy tờ tùy thân",
        "giấy tờ tuỳ thân",
        "hộ chiếu",
        "passport",
        "mã số thuế",
        "mst",
        "bhxh",
        "bảo hiểm xã hội",
        "bhyt",
        "bảo hiểm y tế",
    ],
    "bank_account": [
        "số tài khoản",
        "stk",
        "tài khoản",
        "chuyển khoản",
        "ngân hàng",
        "agribank",
        "vietcombank",
        "vcb",
        "bidv",
        "vietinbank",
        "techcombank",
        "mbbank",
        "tpbank",
        "acb",
        "sacombank",
        "vpbank",
        "lpbank",
        "lienvietpostbank",
        "momo",
        "ví điện tử",
    ],
    "case_number": [
        "mã hồ sơ",
        "số hồ sơ",
        "mã số hồ sơ",
        "mã hs",
        "số biên nhận",
        "mã biên nhận",
        "biên nhận",
        "phiếu hẹn",
        "giấy hẹn",
        "phiếu tiếp nhận",
        "mã tra cứu",
    ],
    "plate": ["biển số xe", "biển số", "biển kiểm soát", "bks", "bsx"],
}
_GAP_WORDS = [
    "số",
    "là",
    "của",
    "tôi",
    "em",
    "mình",
    "cháu",
    "con",
    "anh",
    "chị",
    "ông",
    "bà",
    "nhà",
    "cá",
    "nhân",
    "mới",
    "cũ",
    "hiện",
    "tại",
    "như",
    "sau",
    "dưới",
    "đây",
    "ạ",
    "nhé",
    "xe",
    "thẻ",
    "chi",
    "nhánh",
    "mang",
    "có",
    "gồm",
    "bàn",
    "riêng",
    "mb",
    "bank",
]


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


def _starts(words: list[str]) -> str:
    """A lookahead for the first letters of ``words`` in either case: lets the regex engine skip
    most positions before it tries a long alternation (four times faster on ordinary text)."""
    return "(?=[" + "".join(sorted({c for w in words for c in (w[0].lower(), w[0].upper())})) + "])"


_GAP = r"(?:[\s:#=.,;()\-–—]|" + _NOT_LETTER_BEHIND + "(?:" + _alternation(_GAP_WORDS) + ")" + _NOT_LETTER_AHEAD + ")*"
_CONTEXT_RE = re.compile(
    _NOT_LETTER_BEHIND
    + _starts([w for words in _CONTEXT_WORDS.values() for w in words])
    + "(?:"
    + "|".join(f"(?P<{kind}>{_alternation(words)})" for kind, words in _CONTEXT_WORDS.items())
    + ")"
    + _NOT_LETTER_AHEAD
    + "(?P<gap>"
    + _GAP
    + ")",
    re.IGNORECASE,
)


def _keyword_re(kind: str, value: str) -> re.Pattern[str]:
    return re.compile(
        _NOT_LETTER_BEHIND
        + _starts(_CONTEXT_WORDS[kind])
        + "(?:"
        + _alternation(_CONTEXT_WORDS[kind])
        + ")"
        + _NOT_LETTER_AHEAD
        + _GAP
        + "(?P<val>"
        + value
        + ")",
        re.IGNORECASE,
    )


# Codes after a case-number word: letters, digits, dots, dashes, slashes (at least 4 digits).
_CASE_CONTEXT_RE = _keyword_re("case_number", r"[A-Za-z0-9][A-Za-z0-9.\-/]{3,39}")
# Loosely written plates after "biển số".
_PLATE_CONTEXT_RE = _keyword_re(
    "plate", r"[1-9]\d[ \-.]?[A-ZĐa-zđ]{1,2}\d?[ \-.]?(?:\d{3}[ .]?\d{2}|\d{4,5})(?!\w)(?![.,\-]\d)"
)
# Passports after "hộ chiếu".
_PASSPORT_RE = re.compile(r"(?i:hộ chiếu|passport)" + _NOT_LETTER_AHEAD + _GAP + r"(?P<val>[A-Z]{1,2}\d{6,8})(?!\w)")

# --------------------------------------------------------------------------------------------
# Number shapes
# --------------------------------------------------------------------------------------------

_NSN = r"(?:[35789]\d(?:[ .\-]?\d){7}|2\d(?:[ .\-]?\d){8})"  # national number without the 0
_PHONE_RE = re.compile(
    r"(?<![\d+.,])(?:"
    r"(?:\+|00)84[ .\-]?(?:\(0\)[ .\-]?|0[ .\-]?)?"
    + _NSN
    + r"|\(\+?84\)[ .\-]?0?"
    + _NSN
    + r"|84[ .\-]?[35789]\d(?:[ .\-]?\d){7}"
    + r"|\(0?2\d\)"
    + _SP
    + r"?\d(?:[ .\-]?\d){7}"
    + r"|\(0?2\d\d\)"
    + _SP
    + r"?\d(?:[ .\-]?\d){6}"
    + r"|0[ .\-]?"
    + _NSN
    + r")(?!\d)(?![.\-]\d)"
)
_BHYT_RE = re.compile(_NOT_LETTER_BEHIND + r"[A-Z]{2}[ \-]?\d[ \-]?\d{2}[ \-]?\d{10}(?!\d)")
_GROUPED_RE = re.compile(r"(?<![\w.,/])\d{2,6}(?:[ \-]\d{3,6}){1,5}(?!\w)(?![.,/]\d)")
_DOTTED_RE = re.compile(r"(?<![\w.,/])\d{1,6}(?:\.\d{1,6}){1,6}(?!\w)(?![.,/]\d)")
_CONTIG_RE = re.compile(r"(?<!\d)\d{9,}(?!\d)")
_CHUNK_RE = re.compile(r"(?<![\w.,/])(?:\+|\(\+?)?\d+\)?(?:[ .\-]\(?\d+\)?)*")
_LONG_RUN_RE = re.compile(r"\d{9,}")
# Digits split in any way: "0 9 1 2 3 4 5 6 7 8", "0912/345/678", "0912_345_678", "09 12 34 56 78".
_SPLIT_RE = re.compile(r"(?<![\w.,/\-])\d{1,12}(?:(?: ?[.\-/_] ?| )\d{1,12}){1,11}(?![\w])(?![.,/\-]\d)")
_PHONE_DIGITS_RE = re.compile(r"0(?:[35789]\d{8}|2\d{9})|84[35789]\d{8}")
_YEAR_RE = re.compile(r"(?:19|20)\d\d")

#: Digits accepted after a context word, per kind (inclusive).
_CONTEXT_DIGITS = {"phone": (7, 13), "id_number": (8, 15), "bank_account": (6, 19), "case_number": (4, 30)}

# --------------------------------------------------------------------------------------------
# Names after honorifics
# --------------------------------------------------------------------------------------------

#: Honorifics and titles after which capitalised syllables are taken for a name.
HONORIFICS: tuple[str, ...] = (
    "anh",
    "chị",
    "em",
    "ông",
    "bà",
    "cô",
    "chú",
    "bác",
    "cháu",
    "cậu",
    "dì",
    "mợ",
    "thím",
    "cụ",
    "bạn",
    "thầy",
    "mế",
    "cán bộ",
    "công chức",
    "viên chức",
    "chuyên viên",
    "nhân viên",
    "đồng chí",
    "đ/c",
    "bác sĩ",
    "bác sỹ",
    "bs",
    "bs.",
    "y tá",
    "y sĩ",
    "y sỹ",
    "điều dưỡng",
    "hộ lý",
    "dược sĩ",
    "nữ hộ sinh",
    "cô giáo",
    "thầy giáo",
    "giáo viên",
    "hiệu trưởng",
    "hiệu phó",
    "chủ tịch",
    "phó chủ tịch",
    "giám đốc",
    "phó giám đốc",
    "trưởng phòng",
    "phó trưởng phòng",
    "trưởng khoa",
    "trưởng bản",
    "trưởng thôn",
    "bí thư",
    "kế toán",
    "văn thư",
    "thủ quỹ",
    "công an",
    "bảo vệ",
    "lái xe",
    "tài xế",
    "chủ tài khoản",
    "chủ TK",
    "người nhận",
)
_SINGLE_HONORIFICS = frozenset(h for h in HONORIFICS if " " not in h)


def _variants(phrase: str) -> set[str]:
    return {phrase, phrase[:1].upper() + phrase[1:], phrase.title(), phrase.upper()}


_HONORIFIC_ALT = "|".join(
    re.escape(v) for v in sorted({v for h in HONORIFICS for v in _variants(h)}, key=len, reverse=True)
)
_SYLLABLE = _UPPER + r"(?:['’]" + _UPPER + ")?" + _LOWER + r"{0,8}(?!\w)"
_NAME_RE = re.compile(
    r"(?<!\w)"
    + _starts(list(HONORIFICS))
    + "(?P<hon>"
    + _HONORIFIC_ALT
    + ")"
    + _SP
    + "+(?P<name>"
    + _SYLLABLE
    + "(?:"
    + _SP
    + "+"
    + _SYLLABLE
    + "){0,3})"
)
_SYLLABLE_RE = re.compile(_SYLLABLE)

#: Capitalised words after an honorific that start a title, an office, a place or a sentence.
#: What an office or a civil servant's post is about: "Công chức Tư pháp - Hộ tịch", "Cán bộ Địa chính",
#: "Bộ phận Tiếp nhận và Trả kết quả". Two words each, so a given name alone ("chị Văn") is still read.
_OFFICE_FIELDS = [
    "tư pháp",
    "hộ tịch",
    "địa chính",
    "tài chính",
    "kế hoạch",
    "nội vụ",
    "văn hóa",
    "văn hoá",
    "xã hội",
    "lao động",
    "thương binh",
    "y tế",
    "giáo dục",
    "nông nghiệp",
    "tài nguyên",
    "môi trường",
    "xây dựng",
    "giao thông",
    "công thương",
    "quân sự",
    "thanh tra",
    "tiếp nhận",
    "trả kết quả",
    "một cửa",
    "dân số",
    "thú y",
    "khuyến nông",
    "kiểm lâm",
    "thống kê",
    "đất đai",
    "dân tộc",
    "hành chính",
    "tổ chức",
    "tuyên giáo",
    "dân vận",
    "kinh tế",
    "hạ tầng",
]
_NOT_A_NAME = [
    "chủ tịch",
    "phó",
    "giám đốc",
    "trưởng",
    "bí thư",
    "hiệu trưởng",
    "hiệu phó",
    "kế toán",
    "văn thư",
    "công an",
    "cảnh sát",
    "bộ đội",
    "bác sĩ",
    "y tá",
    "điều dưỡng",
    "giáo viên",
    "cán bộ",
    "nhân viên",
    "ủy ban",
    "uỷ ban",
    "bộ phận",
    "phòng",
    "sở",
    "ban",
    "cục",
    "chi cục",
    "chi nhánh",
    "trung tâm",
    "bệnh viện",
    "trạm",
    "trường học",
    "trường tiểu học",
    "trường mầm non",
    "trường thcs",
    "trường thpt",
    "trường ptdt",
    "trường dân tộc",
    "trường cao đẳng",
    "trường đại học",
    "đội",
    "tổ",
    "kho bạc",
    "ngân hàng",
    "văn phòng",
    "bưu điện",
    "đảng",
    "nhà nước",
    "nhà văn hóa",
    "nhà văn hoá",
    "xã",
    "phường",
    "huyện",
    "tỉnh",
    "thị trấn",
    "thành phố",
    "thị xã",
    "bản",
    "thôn",
    "tiểu khu",
    "xóm",
    "quận",
    "tôi",
    "rất",
    "cảm",
    "xin",
    "nhưng",
    "và",
    "thì",
    "là",
    "ở",
    "khi",
    "nếu",
    "cũng",
    "đã",
    "đang",
    "sẽ",
    "không",
    "chưa",
    "được",
    "bị",
    "mình",
    "chúng",
    "các",
    "những",
    "cho",
    "với",
    "này",
    "đó",
    "đây",
    "nên",
    "phải",
    "hôm",
    "vậy",
    "còn",
    "rồi",
    "ạ",
    "ơi",
    "vẫn",
    "đều",
    "luôn",
    "làm",
    "đi",
    "đến",
    "về",
    "có",
    "hãy",
    "mong",
    "nhờ",
    "hỏi",
    "nói",
    "chờ",
    "hẹn",
    "kiểm",
    "giải",
    # hospital departments ("bác sĩ Khoa Nhi"), "Khoa" alone being a given name
    "khoa nhi",
    "khoa nội",
    "khoa ngoại",
    "khoa sản",
    "khoa cấp cứu",
    "khoa hồi sức",
    "khoa khám",
    "khoa truyền nhiễm",
    "khoa lây",
    "khoa mắt",
    "khoa răng",
    "khoa tai",
    "khoa xét nghiệm",
    "khoa chẩn đoán",
    "khoa dược",
    "khoa y học",
    "khoa đông y",
    "khoa phục hồi",
    "khoa tim",
    "khoa ung",
    "khoa gây mê",
    "khoa da liễu",
    "khoa tâm thần",
    "khoa dinh dưỡng",
    # fields of an office after a title ("Công chức Tư pháp - Hộ tịch", "Cán bộ Địa chính xã")
    *_OFFICE_FIELDS,
]
_NOT_A_NAME_RE = re.compile("(?:" + _alternation(_NOT_A_NAME) + ")" + _NOT_LETTER_AHEAD, re.IGNORECASE)
#: Honorific + word that are a place or a fixed expression, not a person.
_FIXED = frozenset(
    {
        "bác hồ",
        "bà rịa",
        "bà chiểu",
        "bà đen",
        "bà triệu",
        "bà trưng",
        "bà nà",
        "cô tô",
        "chú cuội",
        "ông táo",
        "ông địa",
        "ông công",
    }
)
#: A name stops before these words (an office or a place after the name).
_NAME_STOPS = frozenset(
    {
        "phòng",
        "sở",
        "ủy",
        "uỷ",
        "bệnh",
        "xã",
        "huyện",
        "tỉnh",
        "phường",
        "bản",
        "thôn",
        "tổ",
        "trạm",
        "bộ",
        "cục",
        "đội",
        "đảng",
        "tiểu",
        "kho",
        "ubnd",
    }
)
#: An honorific right after these words is part of a place name ("phố Bà Triệu").
_PLACE_WORDS = frozenset(
    {
        "xã",
        "phường",
        "huyện",
        "tỉnh",
        "bản",
        "thôn",
        "khu",
        "trấn",
        "phố",
        "đường",
        "quận",
        "xóm",
        "làng",
        "ấp",
        "chợ",
        "cầu",
        "núi",
        "suối",
        "sông",
        "đèo",
        "bến",
        "hồ",
        "đồi",
        "thác",
        "hang",
        "động",
        "ngõ",
        "hẻm",
        "mường",
    }
)
_PREV_WORD_RE = re.compile(r"(\w+)" + _SP + r"+\Z")


# --------------------------------------------------------------------------------------------
# Names without an honorific: rules first, underthesea's named-entity recognition when unsure
# --------------------------------------------------------------------------------------------


def _words(text: str, sep: str | None = None) -> frozenset[str]:
    """A set of words (or, with ``sep``, phrases) written as one string, spaces normalised."""
    return frozenset(" ".join(item.split()) for item in text.split(sep))


#: Family names (lower case) of the Kinh, Thái, Mông, Dao, Mường, Khơ Mú… of Sơn La.
SURNAMES = _words("""nguyễn trần lê phạm hoàng huỳnh phan vũ võ đặng bùi đỗ hồ ngô dương lý đinh đào trịnh mai
    cao lương tạ đoàn vương trương lưu la tô triệu quách thái tăng kiều khổng chu lục mạc mã nông
    hứa lâm phùng vi hà tống lã lại doãn khuất đàm kim âu giáp
    lò lường quàng cầm tòng vì điêu lù lềm bạc sầm mè đèo xa bế khà leo
    mùa giàng sùng thào vừ hờ lầu tráng hạng cứ chá vàng ly dình chang hầu mua thò
    bàn""")
#: Middle names that make a run of capitalised words a person's name ("Lò Văn…", "Mùa A…").
_MIDDLE = _words("văn thị a seo thi bá đức ngọc hữu công quang xuân thanh minh hồng mạnh")
_STRONG_MIDDLE = _words("văn thị a seo")
#: Common words that start with a middle name: "vì thị trấn", "mua văn phòng phẩm" are not names.
_MIDDLE_WORDS = _words(
    """thị trấn|thị xã|thị trường|thị thực|thị chính|thị sát|thị hiếu|thị lực|thị phần|thị ủy|thị uỷ
    |thị giác|thị uy|thị phi|thị tộc|thị dân|thị thành|thị tứ|thị vệ|thị sảnh|thị trưởng|văn bản
    |văn phòng|văn hóa|văn hoá|văn thư|văn minh|văn nghệ|văn học|văn kiện|văn xuôi|văn phong|văn hiến
    |văn tự|văn bằng|văn chương|văn miếu|văn thể|văn công|văn vẻ|văn mẫu|văn võ|văn sĩ|văn nhân
    |văn hào|văn thơ|văn tế|văn khấn|văn hay|văn án|a lô|a còng|a dua|a ha|a la|a di|a tòng""",
    "|",
)
#: Vietnam's ethnic groups: after "người", "dân tộc", "đồng bào" ("người Dao", "dân tộc La Ha"), not names.
ETHNIC_GROUPS = _words(
    """kinh|tày|thái|mường|khmer|hoa|nùng|mông|hmông|h'mông|dao|gia rai|ê đê|ba na|xơ đăng|sán chay
    |cơ ho|chăm|sán dìu|hrê|mnông|ra glai|xtiêng|bru vân kiều|bru|vân kiều|thổ|giáy|cơ tu|gié triêng
    |mạ|khơ mú|khơmú|co|tà ôi|chơ ro|kháng|xinh mun|hà nhì|chu ru|lào|la chí|la ha|phù lá|la hủ|lự
    |lô lô|chứt|mảng|pà thẻn|cơ lao|cống|bố y|si la|pu péo|brâu|ơ đu|rơ măm""",
    "|",
)
_ETHNIC_SYLLABLES = frozenset(syllable for group in ETHNIC_GROUPS for syllable in group.split())
_LOWER_WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")


def _after_ethnic_word(before: str) -> bool:
    """Whether ``before`` ends with "người"/"dân tộc"/"đồng bào" and, maybe, a list of ethnic
    groups ("đồng bào Dao, La Ha và "): the next capitalised words name a group, not a person."""
    words = _LOWER_WORD_RE.findall(before.lower())
    while words and (words[-1] in _ETHNIC_SYLLABLES or words[-1] == "và"):
        words.pop()
    return bool(words) and (words[-1] == "người" or words[-2:] in (["dân", "tộc"], ["đồng", "bào"]))


#: A full name in lower case: family name, a strong middle name, a given name ("quàng thị mai").
_LOWER_NAME_RE = re.compile(
    _NOT_LETTER_BEHIND
    + "(?P<family>"
    + _LOWER
    + "+)"
    + _SP
    + "+(?P<middle>"
    + "|".join(sorted(_STRONG_MIDDLE))
    + ")"
    + _SP
    + "+(?P<given>"
    + _LOWER
    + "+)"
    + _NOT_LETTER_AHEAD
)
_NEXT_LOWER_RE = re.compile(_SP + "+(" + _LOWER + "+)" + _NOT_LETTER_AHEAD)
_WORD_RE = re.compile(r"[^\W\d_]+")
#: Places of Sơn La (and a few others) whose first word is also a family name or a given name.
KNOWN_PLACES = _words(
    """sơn la|mộc châu|thuận châu|mường la|phù yên|bắc yên|quỳnh nhai|sốp cộp|mai sơn|yên châu|vân hồ
    |sông mã|sông đà|hà nội|điện biên|lai châu|lào cai|yên bái|hòa bình|hoà bình|phú thọ|thanh hóa
    |thanh hoá|nghệ an|hà giang|cao bằng|lâm đồng|thái bình|thái nguyên|hải phòng|đà nẵng|nam định
    |ninh bình|việt nam|tô hiệu|tô múa|tà xùa|nà sản|hát lót|ít ong|cò nòi|tạ khoa|tạ bú|mộc hạ
    |lóng luông|quyết thắng|quyết tâm|hua la|chiềng lề|long hẹ|phổng lái|bó mười|tông lạnh
    |mai châu|hoàng liên|lê lợi|trần hưng đạo|nguyễn trãi|hồ chí minh""",
    "|",
)
#: First words of Thái place names ("Chiềng Sinh", "Mường Bú", "Nà Ngần", "Huổi Hẹ"…).
_PLACE_PREFIXES = _words(
    "chiềng mường nà huổi nậm phiêng pá púng hua tà co noong bó pú háng lóng xím sốp lả phổng nong chim pắc nong tà"
)
#: Words that never start a name: offices, titles, places, days, sentence words.
_NOT_NAME_WORDS = _words("""sở phòng trạm trung tâm bộ phận ban chi cục ủy uỷ ubnd bệnh viện trường kho giám đốc chủ
    tịch phó trưởng công hội đoàn cổng ngân hàng thị xã huyện tỉnh phường bản thôn tiểu khu đường
    phố ngõ chợ sông suối núi đèo thành cảm xin tôi em mình chúng các những họ tên ký người hôm sáng
    chiều tối thứ tháng năm ngày tết nhà nước đảng mặt trận tế dịch vụ quốc gia hành chính một
    hai ba bốn sáu bảy tám chín mười không rất mong đề nghị kính gửi văn viện hội đồng nhân dân
    cán cảnh quân sự chủ nhật nhật lao động thương binh tài nguyên môi đăng tư pháp thuế bảo hiểm
    liên hiệp phụ nữ nông thanh niên mầm non tiểu học đẳng đại ptdt thcs thpt trợ hộ khẩu
    căn cước giấy phép số sđt email zalo facebook vneid agribank vietcombank bidv viettel
    vinaphone mobifone tổng cty công ty hợp tác điện lực cấp nước nhờ gặp hỏi thẻ""")
#: A run right after these words is a place, an office, a day… ("xã Chiềng An", "thứ Năm").
_PLACE_BEFORE = _words("""xã huyện tỉnh phường bản thôn khu trấn phố đường quận xóm làng chợ cầu núi suối sông đèo bến
    hồ đồi thác hang động ngõ hẻm mường ở tại từ về quê sở phòng trạm trường viện ban cục tâm
    thứ tháng tết nhánh tp tx tt non học thcs thpt ptdt""")
#: Only a full name (family name + middle name, or three words) follows these ("Chủ tịch xã Lò Văn…").
_STREET_BEFORE = _words("phố đường ngõ hẻm")
_TRIGGER_RE = re.compile(
    r"(?:(?<![^\W\d_])(?:tên|tên (?:tôi|em|mình|cháu|con|bố|mẹ|chồng|vợ|anh|chị|ông|bà)(?: là)?|tên là"
    r"|họ tên|họ và tên|ký tên|người (?:viết|nhận|gửi|làm đơn|liên hệ|khai|đề nghị)"
    r"|(?:tôi|em|mình|cháu|con) là|(?:con|vợ|chồng|bố|mẹ) (?:tôi|em|mình) (?:là|tên)?)"
    r"|(?:cảm ơn|nhờ|gặp|hỏi|gửi))[ \t:,]*\Z",
    re.IGNORECASE,
)
_RUN_RE = re.compile(r"(?<![\w\[\]'’])" + _SYLLABLE + "(?:" + _SP + "+" + _SYLLABLE + "){0,5}")
_WORD_BEFORE_RE = re.compile(r"(\w+)[ \t,:]*\Z")
_SENTENCE_START_RE = re.compile(r"(?:\A|[.!?…\n\"“(*•\-–]|\A[ \t]*)[ \t]*\Z")
#: At most this many calls of the recogniser per text (each ~2 ms); beyond, unsure runs are masked.
NER_BUDGET = 200
_NER_WINDOW = 240
_HONORIFIC_BEFORE_RE = re.compile(r"(?<!\w)(?:" + _HONORIFIC_ALT + ")" + _SP + r"+\Z")
_BOUNDARY_RE = re.compile(r"[.!?…\n]")
_ner_lock = threading.Lock()
_ner_function = None


def _ner(sentence: str) -> list[tuple[str, str, str, str]]:
    """underthesea's named-entity recogniser, loaded once per process (its CRF model ships in the
    package, no download); calls are serialised because the tagger is not known to be thread-safe."""
    global _ner_function
    with _ner_lock:
        if _ner_function is None:
            from underthesea import ner  # start-up: loads its model, only when a name is looked for

            _ner_function = ner
        return _ner_cached(sentence)


def warm_up() -> None:
    """Load the name recogniser now (a web server's master process does, before its workers fork)."""
    _ner("Tôi tên Mùa A Sáng.")


@functools.lru_cache(maxsize=4096)
def _ner_cached(sentence: str) -> tuple[tuple[str, str, str, str], ...]:
    return tuple(tuple(token) for token in _ner_function(sentence))  # type: ignore[misc]


def _per_spans(window: str) -> list[tuple[int, int]]:
    """Spans (in ``window``) of the words tagged as a person (B-PER/I-PER)."""
    spans, pos = [], 0
    for token in _ner(window):
        word, tag = token[0], token[-1]
        found = window.find(word, pos)
        if found < 0:
            continue
        pos = found + len(word)
        if tag.endswith("-PER"):
            spans.append((found, pos))
    return spans


# --------------------------------------------------------------------------------------------
# The masker
# --------------------------------------------------------------------------------------------


def _digits(text: str) -> str:
    return "".join(str(unicodedata.decimal(ch)) for ch in text if ch.isdecimal())


def _shape_kind(digits: str) -> str | None:
    """The kind of a bare number from its digits alone, or None to leave it."""
    if len(digits) < 9:
        return None
    if len(digits) == 9 or (len(digits) == 12 and digits[0] == "0"):
        return "id_number"
    return "bank_account"


def _valid_phone(text: str) -> bool:
    """No one-digit groups (other than a trunk 0): '0 9 1 2 3 4 5 6 7 8' is not a phone number."""
    groups = re.findall(r"\d+", text)
    return all(len(g) > 1 or g == "0" for g in groups[1:])


def _split_phones(m: re.Match[str]) -> list[tuple[int, int]]:
    """Phone numbers inside a run of digit groups, whatever the grouping: from each group, the
    longest run of following groups whose digits form a phone number (at most 12 digits)."""
    groups = [(g.start(), g.end()) for g in re.finditer(r"\d+", m.group())]
    found: list[tuple[int, int]] = []
    i = 0
    while i < len(groups):
        digits, best = "", None
        for j in range(i, len(groups)):
            digits += m.group()[groups[j][0] : groups[j][1]]
            if len(digits) > 12:
                break
            if _PHONE_DIGITS_RE.fullmatch(digits):
                best = j
        if best is None:
            i += 1
            continue
        found.append((m.start() + groups[i][0], m.start() + groups[best][1]))
        i = best + 1
    return found


class _Masker:
    def __init__(self, text: str, budget: list[int] | None = None) -> None:
        self.text = text
        self.shadow = text
        self.claimed = bytearray(len(text))
        self.spans: list[tuple[int, int, str | None]] = []
        self._pending: list[tuple[int, int]] = []
        self.budget = budget if budget is not None else [NER_BUDGET]  # recogniser calls left, per text

    def free(self, start: int, end: int) -> bool:
        return start < end and self.claimed.find(1, start, end) == -1

    def claim(self, start: int, end: int, kind: str | None) -> bool:
        if not self.free(start, end):
            return False
        self.claimed[start:end] = b"\x01" * (end - start)
        self.spans.append((start, end, kind))
        self._pending.append((start, end))
        return True

    def commit(self) -> None:
        """Blank the newly claimed spans in the working copy so later patterns can't see them."""
        if not self._pending:
            return
        pieces, last = [], 0
        for start, end in sorted(self._pending):
            pieces.append(self.shadow[last:start])
            pieces.append(_FILL * (end - start))
            last = end
        pieces.append(self.shadow[last:])
        self.shadow = "".join(pieces)
        self._pending.clear()

    def find_contexts(self) -> None:
        """Where a context word's gap (spaces, punctuation, "số", "của tôi"…) runs, and its kind."""
        self._gap_starts, self._gaps = [], []
        for m in _CONTEXT_RE.finditer(self.shadow):
            kind = next(k for k in _CONTEXT_WORDS if m.group(k) is not None)
            self._gap_starts.append(m.start("gap"))
            self._gaps.append((m.end("gap"), kind))

    def context_kind(self, start: int) -> str | None:
        """The kind of the context word whose gap ends at ``start`` (or runs over it), if any."""
        i = bisect_right(self._gap_starts, start) - 1
        if i >= 0 and start <= self._gaps[i][0]:
            return self._gaps[i][1]
        return None

    # -- stages ---------------------------------------------------------------------------

    def stage_fixed_formats(self) -> None:
        fixed = ((_EMAIL_RE, "email"), (_EMAIL_LOOSE_RE, "email"), (_CASE_RE, "case_number"), (_PLATE_RE, "plate"))
        for pattern, kind in fixed:
            for m in pattern.finditer(self.shadow):
                self.claim(m.start(), m.end(), kind)
            self.commit()

    def stage_keep(self) -> None:
        for pattern in _KEEP_RES:
            for m in pattern.finditer(self.shadow):
                self.claim(m.start(), m.end(), None)
        for m in _THOUSANDS_RE.finditer(self.shadow):
            if len(_digits(m.group())) <= 8 or _MONEY_BEFORE_RE.search(self.shadow, max(0, m.start() - 30), m.start()):
                self.claim(m.start(), m.end(), None)
        self.commit()

    def stage_names(self) -> None:
        shadow, pos = self.shadow, 0
        while True:
            m = _NAME_RE.search(shadow, pos)
            if m is None:
                break
            span = self._name_span(m)
            if span is None:
                pos = m.start() + 1
                continue
            self.claim(*span, "name")
            pos = span[1]
        self.commit()

    def stage_open_names(self) -> None:
        """Names without an honorific: after "tên", "tôi là", a title and a place word ("Chủ tịch
        xã Lò Văn Hặc"), or starting with a family name; underthesea's recogniser decides the rest."""
        for m in _RUN_RE.finditer(self.shadow):
            span = self._open_name(m)
            if span is not None:
                self.claim(*span, "name")
        self.commit()

    def _open_name(self, m: re.Match[str]) -> tuple[int, int] | None:
        shadow = self.shadow
        words = list(_SYLLABLE_RE.finditer(shadow, m.start(), m.end()))
        while words and words[0].group().lower() in _NOT_NAME_WORDS:
            if len(words) > 1 and words[0].group().lower() in SURNAMES and words[1].group().lower() in _STRONG_MIDDLE:
                break  # "Đoàn Văn Nam", not "Đoàn Thanh niên"
            words.pop(0)  # "Sở Lê Hồng Sơn", "Trạm Y": the office word is context, not the name
        office = _NOT_A_NAME_RE.match(shadow, words[0].start()) if words else None
        if office and " " in office.group().strip():
            return None  # "Khoa Khám bệnh", "Tư pháp - Hộ tịch": an office's name, not a person's
        if (
            len(words) >= 3
            and words[0].group().lower() not in SURNAMES
            and words[1].group().lower() in SURNAMES
            and words[2].group().lower() in _MIDDLE
        ):
            words.pop(0)  # "Mời Lò Văn…": a capitalised first word before a full name
        if not words:
            return None
        if words[0].group().lower() in _SINGLE_HONORIFICS or _HONORIFIC_BEFORE_RE.search(
            shadow, max(0, words[0].start() - 30), words[0].start()
        ):
            return None  # the honorific stage has read this one ("Bác Hồ", "bác sĩ Khoa Nhi")
        for k in range(1, len(words)):
            if words[k].group().lower() in _NAME_STOPS:
                del words[k:]
                break
        lower = [w.group().lower() for w in words]
        start, end = words[0].start(), words[-1].end()
        if any(" ".join(lower[:n]) in KNOWN_PLACES for n in range(1, len(lower) + 1)):
            return None
        if lower[0] in _PLACE_PREFIXES and (len(lower) == 1 or lower[1] not in _MIDDLE):
            return None
        before = shadow[max(0, start - 40) : start]
        prev = _WORD_BEFORE_RE.search(before)
        prev_word = prev.group(1).lower() if prev else ""
        family = lower[0] in SURNAMES and len(lower) >= 2
        if prev_word in _STREET_BEFORE:
            return None
        if " ".join(lower) in ETHNIC_GROUPS and _after_ethnic_word(before):
            return None  # "người Dao", "dân tộc La Ha"
        if prev_word in _PLACE_BEFORE:
            full = family and (lower[1] in _MIDDLE or len(lower) >= 3)
            return (start, end) if full else None
        if family or _TRIGGER_RE.search(before):
            return start, end
        if len(lower) == 1 and (len(lower[0]) == 1 or start == m.start() and _SENTENCE_START_RE.search(before)):
            return None  # a capitalised first word of a sentence, a lone letter
        return (start, end) if self._ner_says_person(start, end) else None

    def _ner_says_person(self, start: int, end: int) -> bool:
        """Whether the recogniser tags part of text[start:end] as a person, reading its sentence."""
        if self.budget[0] < 0:
            return False  # rules only (mask_personal_data(..., ner=False))
        if self.budget[0] == 0:
            return True  # unsure and out of budget: mask rather than leak
        self.budget[0] -= 1
        left, right = self._sentence(start, end)
        window = self.text[left:right]
        return any(a < end - left and b > start - left for a, b in _per_spans(window))

    def _sentence(self, start: int, end: int) -> tuple[int, int]:
        """The bounds of the sentence around text[start:end] (at most _NER_WINDOW either side)."""
        text = self.text
        left = max(0, start - _NER_WINDOW)
        right = min(len(text), end + _NER_WINDOW)
        for boundary in _BOUNDARY_RE.finditer(text, left, start):
            left = boundary.end()
        stop = _BOUNDARY_RE.search(text, end, right)
        if stop is not None:
            right = stop.start() + 1
        return left, right

    def stage_lower_names(self) -> None:
        """Full names in lower case ("gặp chị quàng thị mai"): a family name, "văn"/"thị"/"a"/"seo"
        and a given name are masked, unless the middle and the next word make a common word ("vì
        thị trấn") or a street word comes before ("đường lò văn giá"); the recogniser, reading the sentence with the name and the word after it
        capitalised, says whether that word is a second given name ("trần thị hồng nhung")."""
        for m in _LOWER_NAME_RE.finditer(self.shadow):
            if m.group("family") not in SURNAMES or f"{m.group('middle')} {m.group('given')}" in _MIDDLE_WORDS:
                continue
            prev = _WORD_BEFORE_RE.search(self.shadow, max(0, m.start() - 40), m.start())
            if prev and prev.group(1).lower() in _STREET_BEFORE:
                continue  # "đường lò văn giá": a street, kept as when capitalised
            end = m.end()
            after = _NEXT_LOWER_RE.match(self.shadow, end)
            if after is not None and self._ner_extends_name(m.start(), after.start(1), after.end()):
                end = after.end()
            self.claim(m.start(), end, "name")
        self.commit()

    def _ner_extends_name(self, start: int, word_start: int, word_end: int) -> bool:
        """Whether the recogniser tags text[word_start:word_end] as part of the person's name that
        starts at ``start`` once text[start:word_end] is capitalised (it reads case; rules only or
        out of budget: no, the name stops at its first given name)."""
        if self.budget[0] <= 0:
            return False
        self.budget[0] -= 1
        left, right = self._sentence(start, word_end)
        name = _WORD_RE.sub(lambda w: w.group()[:1].upper() + w.group()[1:], self.text[start:word_end])
        window = self.text[left:start] + name + self.text[word_end:right]
        return any(a <= word_start - left and b >= word_end - left for a, b in _per_spans(window))

    def _name_span(self, m: re.Match[str]) -> tuple[int, int] | None:
        shadow = self.shadow
        hon, start = m.group("hon").lower(), m.start("name")
        prev = _PREV_WORD_RE.search(shadow, max(0, m.start() - 30), m.start())
        if prev and prev.group(1).lower() in _PLACE_WORDS:
            return None
        if _NOT_A_NAME_RE.match(shadow, start):
            return None
        syllables = list(_SYLLABLE_RE.finditer(shadow, start, m.end()))
        if f"{hon} {syllables[0].group().lower()}" in _FIXED:
            return None
        first = syllables[0].group().lower()
        if hon.endswith((" bản", " thôn")) and (first in _PLACE_PREFIXES or first in KNOWN_PLACES):
            return None  # "trưởng bản Lả Mường": the village, not its head's name
        if syllables[0].group().lower() in _SINGLE_HONORIFICS - {"anh"}:
            return None  # "Anh Chị Mai": the inner honorific takes the name ("Anh" is also a given name)
        kept = [syllables[0]]
        for syllable in syllables[1:]:
            if syllable.group().lower() in _NAME_STOPS:
                break
            kept.append(syllable)
        return start, kept[-1].end()

    def stage_numbers(self) -> None:
        shadow = self.shadow
        self.find_contexts()
        candidates: list[tuple[int, int, int, str]] = []  # start, end, priority, kind

        def add(start: int, end: int, priority: int, kind: str | None, relabel: bool = True) -> None:
            if kind is None or start >= end:
                return
            if relabel:
                context = self.context_kind(start)
                if context in _CONTEXT_DIGITS:
                    kind = context
            candidates.append((start, end, priority, kind))

        for m in _PHONE_RE.finditer(shadow):
            if _valid_phone(m.group()):
                add(m.start(), m.end(), 0, "phone")
        for m in _SPLIT_RE.finditer(shadow):
            for start, end in _split_phones(m):
                add(start, end, 0, "phone")
        for m in _CASE_CONTEXT_RE.finditer(shadow):
            value = m.group("val").rstrip(".-/")
            if len(_digits(value)) >= 4:
                add(m.start("val"), m.start("val") + len(value), 1, "case_number", relabel=False)
        for m in _PLATE_CONTEXT_RE.finditer(shadow):
            add(m.start("val"), m.end("val"), 2, "plate", relabel=False)
        for m in _PASSPORT_RE.finditer(shadow):
            add(m.start("val"), m.end("val"), 3, "id_number", relabel=False)
        for m in _BHYT_RE.finditer(shadow):
            add(m.start(), m.end(), 4, "id_number", relabel=False)
        for m in _CHUNK_RE.finditer(shadow):
            span = self._context_chunk(m)
            if span:
                add(*span, 5, self.context_kind(m.start()), relabel=False)
        for pattern in (_GROUPED_RE, _DOTTED_RE, _CONTIG_RE):
            for m in pattern.finditer(shadow):
                groups = re.findall(r"\d+", m.group())
                if len(groups) > 1 and all(len(g) == 4 and _YEAR_RE.fullmatch(g) for g in groups):
                    continue  # "2023 2024 2025"
                add(m.start(), m.end(), 6, _shape_kind(_digits(m.group())))

        candidates.sort(key=lambda c: (c[0], c[0] - c[1], c[2]))
        for start, end, _priority, kind in candidates:
            self.claim(start, end, kind)
        self.commit()

    def _context_chunk(self, m: re.Match[str]) -> tuple[int, int] | None:
        """The span of a number right after a context word, if its length fits the word's kind."""
        kind = self.context_kind(m.start())
        if kind not in _CONTEXT_DIGITS:
            return None
        text = m.group()
        # drop trailing one-digit groups separated by a space: "SĐT 0912345678 3 lần"
        trimmed = re.sub(r"(?: \(?\d\)?)+\Z", "", text)
        if not trimmed:
            return None
        low, high = _CONTEXT_DIGITS[kind]
        if not low <= len(_digits(trimmed)) <= high:
            return None
        return m.start(), m.start() + len(trimmed)

    def replacements(self) -> list[tuple[int, int, str]]:
        """The spans to replace, in order, with their kinds (kept spans left out)."""
        return sorted((start, end, kind) for start, end, kind in self.spans if kind is not None)


#: Passes at most: one usually finds everything, the next confirms it (see mask_personal_data).
_MAX_PASSES = 6


def _mask_once(text: str, budget: list[int] | None = None) -> list[tuple[int, int, str]]:
    masker = _Masker(text, budget)
    masker.stage_fixed_formats()
    masker.stage_keep()
    masker.stage_names()
    masker.stage_open_names()
    masker.stage_lower_names()
    masker.stage_numbers()
    return masker.replacements()


def _replace(
    text: str, spans: list[tuple[int, int, str]], marks: list[tuple[int, str]]
) -> tuple[str, list[tuple[int, str]]]:
    """Replace ``spans`` by placeholders; ``marks`` (position, kind) of earlier placeholders follow."""
    pieces: list[str] = []
    new_marks: list[tuple[int, str]] = []
    last = offset = i = 0
    for start, end, kind in spans:
        while i < len(marks) and marks[i][0] < start:
            new_marks.append((marks[i][0] + offset, marks[i][1]))
            i += 1
        while i < len(marks) and marks[i][0] < end:  # cannot happen: no pattern matches a placeholder
            i += 1
        token = PLACEHOLDERS[kind]
        pieces.append(text[last:start])
        pieces.append(token)
        new_marks.append((start + offset, kind))
        offset += len(token) - (end - start)
        last = end
    pieces.append(text[last:])
    new_marks.extend((position + offset, kind) for position, kind in marks[i:])
    return "".join(pieces), new_marks


#: Invisible characters that can split a number or an address: zero-width space, (non-)joiner,
#: word joiner, byte-order mark, soft hyphen. Matching skips them; they stay where nothing is masked.
_INVISIBLE_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]+")


def _spans_in(text: str, budget: list[int]) -> list[tuple[int, int, str]]:
    """One pass over ``text`` with its invisible characters skipped; spans in ``text``."""
    if _INVISIBLE_RE.search(text) is None:
        return _mask_once(text, budget)
    index = [i for i, ch in enumerate(text) if _INVISIBLE_RE.match(ch) is None]
    visible = "".join(text[i] for i in index)
    return [(index[start], index[end - 1] + 1, kind) for start, end, kind in _mask_once(visible, budget)]


def mask_personal_data(text: str, *, ner: bool = True) -> MaskResult:
    """Mask the personal data in ``text``; see the module docstring for what is and is not masked.

    A pass can leave a piece that only shows once its neighbour is masked (the tail of a number
    whose head went to a longer match), so passes are repeated until one changes nothing: that
    is what makes masking idempotent. A comment without personal data takes a single pass.
    ``ner=False`` leaves out the named-entity recogniser (rules only: the speed baseline of
    bench/pii_bench.py); capitalised words the rules cannot place are then kept.
    """
    if not isinstance(text, str):
        raise TypeError(f"expected str, got {type(text).__name__}")
    text = unicodedata.normalize("NFC", text)
    marks: list[tuple[int, str]] = []
    origin: list[int] | None = None  # position in the NFC input of each character of ``text``
    masked: list[tuple[int, int, str]] = []
    budget = [NER_BUDGET if ner else -1]
    for attempt in range(_MAX_PASSES + 1):
        if attempt < _MAX_PASSES:
            spans = _spans_in(text, budget)
        else:  # pathological input: still never let a long digit run through
            spans = [(m.start(), m.end(), "bank_account") for m in _LONG_RUN_RE.finditer(text)]
        if not spans:
            break
        at = origin.__getitem__ if origin is not None else int
        masked.extend((at(start), at(end - 1) + 1, kind) for start, end, kind in spans)
        origin = _origin_after(text, spans, origin)
        text, marks = _replace(text, spans, marks)
    return MaskResult(text, tuple(kind for _position, kind in marks), tuple(sorted(masked)))


def _origin_after(text: str, spans: list[tuple[int, int, str]], origin: list[int] | None) -> list[int]:
    """Where each character of the text after ``spans`` are replaced came from in the input."""
    old = origin if origin is not None else range(len(text))
    new: list[int] = []
    last = 0
    for start, end, kind in spans:
        new.extend(old[last:start])
        new.extend([old[start]] * len(PLACEHOLDERS[kind]))
        last = end
    new.extend(old[last:])
    return new


def mask_text(text: str) -> str:
    """The masked text alone."""
    return mask_personal_data(text).text
