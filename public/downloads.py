"""Open data files built from published snapshots: CSV, JSON and a Frictionless Data Package.

Only the latest revision of each period is offered. Rows come from ``published_estimates``,
so cells under ``min_n_show`` never appear; an ``insufficient`` row carries its count but no
number derived from the answers (estimate, standard error, interval, effective size, design
effect, change and funnel limits are empty) — the same rule as the JSON API.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from sqlalchemy import select

from public import readers
from webapp.extensions import db
from webapp.models import CHANNELS, MODES, RESPONDENT_TYPES, PublishedEstimate, PublishedSnapshot, Service, Unit
from webapp.models.publishing import DOMAIN_TYPES
from webapp.periods import Period
from webapp.safe_text import csv_cell

LATEST = "latest"
LICENSE = {
    "name": "CC-BY-4.0",
    "title": "Creative Commons Attribution 4.0 International",
    "path": "https://creativecommons.org/licenses/by/4.0/",
}
PACKAGE_NAME = "son-la-satisfaction-index"
PLAN_TARGETS = Path(__file__).resolve().parent / "plan_targets.yaml"

#: Numbers computed from the answers: empty on an ``insufficient`` row.
HIDDEN_WHEN_INSUFFICIENT = ("estimate", "se", "ci_low", "ci_high", "n_eff", "deff", "change", "funnel")

#: Estimate, SE and interval: proportions, except the Ministry of Health's mean score (``scale`` score).
VALUE_UNIT = "proportion (0–1), or points (1–5) where scale is score"

#: What each column of the CSV (a field of the Data Package) holds: (Frictionless type, unit,
#: description in English, in Vietnamese).
FIELD_DOCS: dict[str, tuple[str, str | None, str, str]] = {
    "indicator": ("string", None, "Indicator code (see /api/v1/indicators).", "Mã chỉ số (xem /api/v1/indicators)."),
    "metric": (
        "string",
        None,
        "The indicator, or <indicator>/aspect:<code> for the rate of one aspect, or "
        "<indicator>/item:<code> for one detailed criterion (n: the respondents asked it).",
        "Chỉ số, hoặc <chỉ số>/aspect:<mã> cho tỉ lệ của một khía cạnh, hoặc "
        "<chỉ số>/item:<mã> cho một tiêu chí chi tiết (n: số người được hỏi tiêu chí đó).",
    ),
    "period": (
        "string",
        None,
        "Period: 2026-Q3 (quarter), 2026-H1 (half-year) or 2026 (year).",
        "Kỳ: 2026-Q3 (quý), 2026-H1 (6 tháng) hoặc 2026 (năm).",
    ),
    "domain_type": (
        "string",
        None,
        "Kind of domain: " + ", ".join(DOMAIN_TYPES) + ".",
        "Loại phạm vi: " + ", ".join(DOMAIN_TYPES) + ".",
    ),
    "domain": (
        "string",
        None,
        "Code of the domain: sl for the province, a unit, service, channel, respondent type, mode or language code.",
        "Mã phạm vi: sl là toàn tỉnh, hoặc mã đơn vị, dịch vụ, kênh, loại người trả lời, cách trả lời hoặc ngôn ngữ.",
    ),
    "domain_name_vi": ("string", None, "Name of the domain in Vietnamese.", "Tên phạm vi bằng tiếng Việt."),
    "domain_name_en": ("string", None, "Name of the domain in English.", "Tên phạm vi bằng tiếng Anh."),
    "n": ("integer", "responses", "Number of valid responses in the domain.", "Số phiếu hợp lệ trong phạm vi."),
    "estimate": (
        "number",
        VALUE_UNIT,
        "Weighted share satisfied or very satisfied (a share of answers for an index, a mean 1–5 where scale is score); "
        "empty when insufficient.",
        "Tỉ lệ hài lòng hoặc rất hài lòng (có trọng số; tỉ lệ câu trả lời với chỉ số tổng hợp, điểm trung bình 1–5 khi "
        "scale là score); để trống khi không đủ dữ liệu.",
    ),
    "se": (
        "number",
        VALUE_UNIT,
        "Standard error (Taylor linearisation).",
        "Sai số chuẩn (tuyến tính hoá Taylor).",
    ),
    "ci_low": ("number", VALUE_UNIT, "Lower bound of the 95% interval.", "Cận dưới khoảng tin cậy 95%."),
    "ci_high": ("number", VALUE_UNIT, "Upper bound of the 95% interval.", "Cận trên khoảng tin cậy 95%."),
    "scale": (
        "string",
        None,
        "share (estimate, se and interval are proportions 0–1) or score (a mean score on 1–5).",
        "share (ước lượng, sai số và khoảng là tỉ lệ 0–1) hoặc score (điểm trung bình thang 1–5).",
    ),
    "ci_method": (
        "string",
        None,
        "Interval method (wilson-cc-kish by default; census for coverage).",
        "Phương pháp tính khoảng (mặc định wilson-cc-kish; census cho độ bao phủ).",
    ),
    "n_eff": (
        "number",
        "responses",
        "Effective sample size used for the interval, the n ≥ 30 rule and the funnel: min(p(1−p)/v, Kish's (Σw)²/Σw²).",
        "Cỡ mẫu hiệu dụng dùng cho khoảng tin cậy, quy tắc n ≥ 30 và biểu đồ phễu: min(p(1−p)/v, cỡ mẫu Kish (Σw)²/Σw²).",
    ),
    "deff": (
        "number",
        None,
        "Design effect (variance against simple random sampling).",
        "Hệ số thiết kế (phương sai so với mẫu ngẫu nhiên đơn giản).",
    ),
    "target": ("number", "proportion (0–1)", "Target in force for the period.", "Mục tiêu áp dụng cho kỳ."),
    "status": (
        "string",
        None,
        "met, below, inconclusive, insufficient, or no_target (published, no target to judge it by).",
        "met (đạt), below (chưa đạt), inconclusive (chưa rõ), insufficient (không đủ dữ liệu) hoặc no_target "
        "(có số liệu, không có mục tiêu để so).",
    ),
    "revision": (
        "integer",
        None,
        "Revision of the period's publication (1 = first).",
        "Lần công bố của kỳ (1 = lần đầu).",
    ),
    "weighted": (
        "string",
        None,
        "Whether transaction counts weighted the estimate: yes, imputed (some counts imputed, see the methodology), "
        "partly (older releases) or no.",
        "Ước lượng có dùng trọng số theo số giao dịch hay không: yes (có), imputed (một số số giao dịch được ước tính, "
        "xem phần phương pháp), partly (một phần, các lần công bố cũ), no (không).",
    ),
    "response_rate": (
        "number",
        "proportion (0–1)",
        "Responses divided by transactions.",
        "Số phiếu chia cho số giao dịch.",
    ),
    "transactions": (
        "integer",
        "transactions",
        "Transactions recorded in the domain.",
        "Số giao dịch ghi nhận trong phạm vi.",
    ),
}
#: JSON only: nested objects, flattened to JSON text in the CSV.
NESTED_FIELDS = ("change", "funnel")
#: The domain's names, after its code in the files.
NAME_FIELDS = ("domain_name_vi", "domain_name_en")


def _with_names(names: list[str]) -> list[str]:
    """``names`` with :data:`NAME_FIELDS` after ``domain``."""
    after = names.index("domain") + 1
    return [*names[:after], *NAME_FIELDS, *names[after:]]


def _csv_columns() -> tuple[str, ...]:
    """The estimate's fields (:data:`public.readers.ESTIMATE_FIELDS` and the flat extras) with the domain's
    names; ``scale`` before ``ci_method``, beside the values it qualifies, where the first Data Package put it."""
    flat = [name for name in (*readers.ESTIMATE_FIELDS, *readers.ESTIMATE_EXTRAS) if name not in NESTED_FIELDS]
    flat.remove("scale")
    flat.insert(flat.index("ci_method"), "scale")
    return tuple(_with_names(flat))


FIELD_NAMES = _csv_columns()
FIELDS: tuple[tuple[str, str, str | None, str, str], ...] = tuple((name, *FIELD_DOCS[name]) for name in FIELD_NAMES)
assert set(FIELD_DOCS) == set(FIELD_NAMES), "every column described, every description a column"  # nosec B101

SECTOR_NAMES = {
    "admin": ("Hành chính", "Administration"),
    "health": ("Y tế", "Health"),
    "education": ("Giáo dục", "Education"),
}
CHANNEL_NAMES = {
    "kiosk": ("Máy tính bảng tại quầy", "Kiosk at the counter"),
    "online": ("Trực tuyến", "Online"),
    "qr": ("Mã QR trên phiếu hẹn", "QR code on the receipt"),
    "paper": ("Phiếu giấy", "Paper"),
    "sms": ("Tin nhắn SMS", "Text message (SMS)"),
}
RESPONDENT_NAMES = {"citizen": ("Người dân", "Citizens"), "business": ("Doanh nghiệp", "Businesses")}
#: How the respondent answered (``Response.mode``).
MODE_NAMES = {
    "self": ("Tự trả lời", "Self-completed"),
    "read_aloud": ("Nghe đọc câu hỏi", "Questions read aloud"),
    "assisted": ("Phỏng vấn có hỗ trợ", "Assisted interview"),
    "sms": ("Tin nhắn SMS", "Text message (SMS)"),
}
#: The built-in survey languages; a language pack's code is its own name in the files.
LANGUAGE_NAMES = {"vi": ("Tiếng Việt", "Vietnamese"), "en": ("Tiếng Anh", "English")}
assert set(CHANNEL_NAMES) >= set(CHANNELS) and set(RESPONDENT_NAMES) >= set(
    RESPONDENT_TYPES
)  # import-time check of constants; tests run it  # nosec B101
assert set(MODE_NAMES) >= set(MODES)  # nosec B101


def latest_snapshots() -> list[PublishedSnapshot]:
    """The latest revision of every published period, newest period first."""
    return list(reversed(readers.latest_snapshots()))


def latest_quarter() -> PublishedSnapshot | None:
    """The latest revision of the latest published quarter (what ``latest`` means)."""
    return readers.latest_snapshot("Q")


def find_snapshot(label: str) -> PublishedSnapshot | None:
    """The latest revision of ``label`` (``latest`` = latest quarter); None if unknown or unpublished."""
    if label == LATEST:
        return latest_quarter()
    try:
        period = Period.parse(label).label
    except ValueError:
        return None
    if period != label:
        return None
    return readers.find_snapshot(period)


# --- rows ----------------------------------------------------------------------------------


def _domain_names(rows: list[PublishedEstimate]) -> dict[tuple[str, str], tuple[str, str]]:
    unit_codes = {r.domain for r in rows if r.domain_type in ("unit", "district", "commune")}
    service_codes = {r.domain for r in rows if r.domain_type == "service"}
    names: dict[tuple[str, str], tuple[str, str]] = {}
    if unit_codes:
        for unit in db.session.scalars(select(Unit).where(Unit.code.in_(unit_codes))):
            for kind in ("unit", "district", "commune"):
                names[(kind, unit.code)] = (unit.name_vi, unit.name_en)
    if service_codes:
        for service in db.session.scalars(select(Service).where(Service.code.in_(service_codes))):
            names[("service", service.code)] = (service.name_vi, service.name_en)
    for code, pair in SECTOR_NAMES.items():
        names[("sector", code)] = pair
    for code, pair in CHANNEL_NAMES.items():
        names[("channel", code)] = pair
    for code, pair in RESPONDENT_NAMES.items():
        names[("respondent_type", code)] = pair
    for code, pair in MODE_NAMES.items():
        names[("mode", code)] = pair
    for code, pair in LANGUAGE_NAMES.items():
        names[("language", code)] = pair
    return names


def estimate_rows(snapshot: PublishedSnapshot) -> list[dict]:
    """Every published row of ``snapshot`` (aspects included), as the API spells them, plus names."""
    rows = readers.ordered_estimates(readers.estimates_query(snapshot))
    names = _domain_names(rows)
    result = []
    for r in rows:
        name_vi, name_en = names.get(
            (r.domain_type, r.domain),
            ("Tỉnh Sơn La", "Sơn La province") if r.domain_type == "province" else (None, None),
        )
        record = readers.estimate_record(r, snapshot, every_extra=True)
        record.update(domain_name_vi=name_vi, domain_name_en=name_en)
        row = {name: record[name] for name in _with_names(list(readers.ESTIMATE_FIELDS + readers.ESTIMATE_EXTRAS))}
        if r.status == "insufficient":
            for key in HIDDEN_WHEN_INSUFFICIENT:
                row[key] = None
        result.append(row)
    return result


def _csv_value(value) -> str:
    """A cell of the CSV: numbers exact, text never read as a formula by a spreadsheet (a unit's name)."""
    return csv_cell(value)


def estimates_csv(snapshot: PublishedSnapshot) -> bytes:
    """UTF-8 with a byte order mark (so that Excel shows Vietnamese), comma-separated, one header row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(FIELD_NAMES)
    for row in estimate_rows(snapshot):
        writer.writerow([_csv_value(row[name]) for name in FIELD_NAMES])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def snapshot_metadata(snapshot: PublishedSnapshot) -> dict:
    return {
        "period": snapshot.period,
        "revision": snapshot.revision,
        "published_at": snapshot.published_at.isoformat(),
        "methodology_version": snapshot.methodology_version,
        "reason": snapshot.reason,
        "license": LICENSE["name"],
    }


def estimates_json(snapshot: PublishedSnapshot) -> dict:
    return {
        **snapshot_metadata(snapshot),
        "fields": [*FIELD_NAMES, *NESTED_FIELDS],
        "estimates": estimate_rows(snapshot),
    }


def resource_name(period: str) -> str:
    return "estimates-" + period.lower()


def table_schema() -> dict:
    fields = []
    for name, kind, unit, description_en, description_vi in FIELDS:
        field = {"name": name, "type": kind, "description": description_en, "description_vi": description_vi}
        if unit:
            field["unit"] = unit
        if kind == "number" and unit == "proportion (0–1)":
            field["constraints"] = {"minimum": 0, "maximum": 1}
        if kind == "number" and unit == VALUE_UNIT:
            field["constraints"] = {"minimum": 0, "maximum": 5}
        if name in ("n", "metric", "domain_type", "domain", "status", "period", "revision"):
            field.setdefault("constraints", {})["required"] = True
        if name == "status":
            field["constraints"]["enum"] = ["met", "below", "inconclusive", "insufficient", "no_target"]
        if name == "weighted":
            field["constraints"] = {"enum": ["yes", "imputed", "partly", "no"]}
        if name == "scale":
            field["constraints"] = {"required": True, "enum": ["share", "score"]}
        if name == "domain_type":
            field["constraints"]["enum"] = list(DOMAIN_TYPES)
        fields.append(field)
    return {"fields": fields, "missingValues": [""], "primaryKey": ["metric", "domain_type", "domain"]}


def datapackage(base_url: str) -> dict:
    """A Frictionless (tabular) Data Package describing one CSV resource per published period.

    Resource paths are relative to ``/data/datapackage.json``; ``base_url`` is the site's root
    (for ``homepage``).
    """
    snapshots = latest_snapshots()
    schema = table_schema()
    resources = []
    for snapshot in snapshots:
        resources.append(
            {
                "name": resource_name(snapshot.period),
                "title": f"Estimates {snapshot.period} (revision {snapshot.revision})",
                "path": f"{snapshot.period}/estimates.csv",
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8-sig",
                "dialect": {"delimiter": ",", "header": True, "lineTerminator": "\r\n"},
                "licenses": [LICENSE],
                "period": snapshot.period,
                "revision": snapshot.revision,
                "published_at": snapshot.published_at.isoformat(),
                "methodology_version": snapshot.methodology_version,
                "schema": schema,
            }
        )
    return {
        "profile": "tabular-data-package",
        "name": PACKAGE_NAME,
        "title": "Sơn La Satisfaction Index – Chỉ số Hài lòng Sơn La",
        "description": (
            "Published estimates of citizens' and businesses' satisfaction with public services in Sơn La "
            "province, Vietnam, with 95% intervals, counts and status against the targets. Rates are "
            "shares from 0 to 1. Cells with fewer than 10 responses are never published; rows with "
            "status 'insufficient' carry only the count."
        ),
        "homepage": base_url.rstrip("/") + "/data",
        "licenses": [LICENSE],
        "keywords": ["satisfaction", "public services", "Sơn La", "Vietnam", "survey"],
        "created": max((s.published_at for s in snapshots), default=None).isoformat() if snapshots else None,
        "resources": resources,
    }


# --- HTTP caching ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Validators:
    etag: str
    last_modified: object


def snapshot_validators(snapshot: PublishedSnapshot, kind: str) -> Validators:
    return Validators(f"{kind}-{snapshot.id}-r{snapshot.revision}", snapshot.published_at)


def package_validators() -> Validators | None:
    snapshots = latest_snapshots()
    if not snapshots:
        return None
    digest = hashlib.sha256(json.dumps(sorted((s.id, s.period, s.revision) for s in snapshots)).encode()).hexdigest()[
        :20
    ]
    return Validators(f"package-{digest}", max(s.published_at for s in snapshots))


# --- the plan's targets ----------------------------------------------------------------------


@lru_cache(maxsize=1)
def plan_targets() -> dict:
    """``public/plan_targets.yaml``: ``{"plans": [...]}``, each plan with ``id``, ``years``, ``title``,
    ``document``, ``source`` and ``targets`` (and optionally ``reporting``, ``local_plan``, ``wording``)."""
    with PLAN_TARGETS.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)
