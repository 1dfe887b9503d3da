"""Every user-visible string is extracted and translated into Vietnamese."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

REPO = Path(__file__).resolve().parents[2]
CATALOGS = REPO / "webapp" / "translations"


def _catalog(language: str):
    with (CATALOGS / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle)


def test_every_vietnamese_string_is_translated_and_not_fuzzy():
    catalog = _catalog("vi")
    untranslated = [m.id for m in catalog if m.id and not (m.string if isinstance(m.string, str) else all(m.string))]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not untranslated, f"missing Vietnamese for: {untranslated[:10]}"
    assert not fuzzy, f"fuzzy (unchecked) Vietnamese for: {fuzzy[:10]}"


def test_catalogs_contain_every_string_in_the_code(tmp_path):
    """Fails when code or templates use a string that `make update-messages` has not extracted."""
    template = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-o",
            str(template),
            "--sort-by-file",
            ".",
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    with template.open("rb") as handle:
        extracted = {m.id for m in read_po(handle) if m.id}
    for language in ("vi", "en"):
        known = {m.id for m in _catalog(language) if m.id}
        missing = extracted - known
        assert not missing, f"{language}: run `make update-messages` and translate: {sorted(missing)[:10]}"


def test_compiled_catalogs_are_not_committed():
    tracked = subprocess.run(["git", "ls-files", "*.mo"], cwd=REPO, capture_output=True, text=True).stdout
    assert tracked.strip() == ""


def test_translations_keep_every_placeholder():
    """A Vietnamese string that drops or renames %(name)s would crash the page that uses it."""
    catalog = _catalog("vi")
    problems = [(m.id, str(error)) for m in catalog if m.id for error in m.check(catalog)]
    assert not problems, problems[:5]


#: docs/glossary.md: words a Sở Nội vụ officer would not use, and what to say instead.
AVOIDED_TERMS = {
    "gia trọng": "trọng số / tính trọng số",
    "nhật ký công bố lại": "Lịch sử điều chỉnh số liệu",
    "phiếu hẹn": "Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
    "ki-ốt": "Thiết bị đánh giá",
    "máy đánh giá": "Thiết bị đánh giá",
    "chưa có số liệu công bố": "Chưa có số liệu",
    "tổng cục thống kê": "Mã ĐVHC / Cục Thống kê",
}


def test_vietnamese_follows_the_glossary():
    """The terms of docs/glossary.md: the words a Sở Nội vụ officer uses, not near-synonyms."""
    catalog = _catalog("vi")
    texts = {m.id: (m.string if isinstance(m.string, str) else " ".join(m.string)) for m in catalog if m.id}
    wrong = [(msgid, term) for msgid, text in texts.items() for term in AVOIDED_TERMS if term in text.lower()]
    assert not wrong, "use the glossary terms: " + "; ".join(
        f"{term!r} in {msgid[:60]!r} → {AVOIDED_TERMS[term]}" for msgid, term in wrong[:10]
    )
    # The one-stop section is a named body: capital B and M.
    lower_case = [msgid for msgid, text in texts.items() if "bộ phận một cửa" in text]
    assert not lower_case, f"write 'Bộ phận Một cửa': {lower_case[:5]}"
    # The respondent types as the forms of the Ministry of Home Affairs name them.
    assert texts["Citizens"] == "Cá nhân"
    assert texts["Businesses and organisations"] == "Tổ chức, doanh nghiệp"


def test_every_template_is_read_when_strings_are_extracted():
    """A template outside babel.cfg's patterns would ship its strings untranslated."""
    from babel.messages.extract import pathmatch

    repo = Path(__file__).resolve().parents[2]
    patterns = re.findall(r"^\[jinja2: (.+)\]$", (repo / "babel.cfg").read_text(encoding="utf-8"), re.MULTILINE)
    templates = [
        path.relative_to(repo).as_posix()
        for package in ("webapp", "surveys", "public")
        for path in (repo / package).rglob("templates/**/*.html")
    ]
    assert len(templates) > 80 and any(t.startswith("webapp/audio/templates/") for t in templates)
    missed = [t for t in templates if not any(pathmatch(pattern, t) for pattern in patterns)]
    assert not missed, missed
