"""Language packs (issue #17): add a language with one command, translate some of it, see the survey in it.

The toy language is ``qaa``, from ISO 639's range for local use, so Babel's CLDR data does not know it:
the locale machinery must cope (catalogs load for ``qaa``, numbers and dates are formatted as in
Vietnamese). It is added into a temporary copy of the registry and the catalogs: the tests leave no
file in the repository.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from babel import localedata
from babel.messages.pofile import read_po, write_po
from babel.support import Translations
from bs4 import BeautifulSoup
from flask_babel import get_babel
from sqlalchemy import select

from surveys import definitions
from surveys import languages as registry
from tests.surveys import test_online as online_tests
from tests.surveys.test_online import PAGES, answer_pages, survey_url
from webapp.models import Response

REPO = Path(__file__).resolve().parents[2]
TOY = "qaa"
UNIT, SERVICE, INSTRUMENT = "n03646", "civil-status", "admin-procedure"
ADMIN = definitions.latest_instruments()[INSTRUMENT]
#: Interface strings the toy translation covers (English msgid -> toy text).
TOY_INTERFACE = {"Skip to main content": "Toy: skip to the content", "Language": "Toy: language"}


@pytest.fixture()
def toy(app, db, tmp_path, monkeypatch):
    """``qaa`` added by the command into temporary copies of the registry, catalogs and instrument packs."""
    catalogs = tmp_path / "translations"
    shutil.copytree(REPO / "webapp" / "translations", catalogs)
    shutil.copy(registry.REGISTRY_PATH, tmp_path / "languages.yaml")
    monkeypatch.setitem(app.config, "LANGUAGE_REGISTRY", str(tmp_path / "languages.yaml"))
    monkeypatch.setitem(app.config, "INSTRUMENT_TRANSLATIONS_DIR", str(tmp_path / "packs"))
    monkeypatch.setattr(get_babel(app), "translation_directories", [str(catalogs)])
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["languages", "add", TOY, "--name", "Toy", "--name-vi", "Tiếng Thử", "--native", "Toyish"]
    )
    assert result.exit_code == 0, result.output
    runner.invoke(args=["registry", "load"])
    return tmp_path


def invoke(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def vietnamese(msgid: str) -> str:
    with (REPO / "webapp/translations/vi/LC_MESSAGES/messages.mo").open("rb") as handle:
        return Translations(handle).gettext(msgid)


def po_bytes(entries: list[tuple[str | None, str, str, bool]]) -> bytes:
    """A PO file of ``(msgctxt, msgid, msgstr, fuzzy)`` entries."""
    from babel.messages.catalog import Catalog

    catalog = Catalog(locale=None)
    for context, msgid, msgstr, fuzzy in entries:
        catalog.add(msgid, msgstr, context=context, flags=("fuzzy",) if fuzzy else ())
    buffer = io.BytesIO()
    write_po(buffer, catalog)
    return buffer.getvalue()


def translate_some(app, tmp_path, *, fuzzy_intro: bool = False) -> Path:
    """Export the toy pack, translate the title, the first section's title, one standard label and two interface strings."""
    exported = tmp_path / "toy-export.po"
    result = invoke(app, "languages", "export", TOY, "-o", str(exported))
    assert result.exit_code == 0, result.output
    catalog = read_po(exported.open("rb"))
    wanted = {
        f"{INSTRUMENT}.v{ADMIN.version}:title": "TOY TITLE",
        f"{INSTRUMENT}.v{ADMIN.version}:intro": "TOY INTRO",
        f"{INSTRUMENT}.v{ADMIN.version}:sections.{ADMIN.sections[0].code}.title": "TOY FIRST PART",
        "standard:scale5.4": "TOY SATISFIED",
    }
    for message in catalog:
        if message.context in wanted:
            message.string = wanted[message.context]
            if fuzzy_intro and message.context.endswith(":intro"):
                message.flags.add("fuzzy")
    for msgid, text in TOY_INTERFACE.items():
        catalog.add(msgid, text)
    translated = tmp_path / "toy-reviewed.po"
    buffer = io.BytesIO()
    write_po(buffer, catalog)
    translated.write_bytes(buffer.getvalue())
    result = invoke(app, "languages", "import", TOY, str(translated))
    assert result.exit_code == 0, result.output
    return translated


def soup_of(response) -> BeautifulSoup:
    assert response.status_code == 200, response.status_code
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


# --- the Done-when: a toy language, the survey in it, fallbacks listed --------------------------


def test_the_toy_code_is_unknown_to_cldr():
    assert not localedata.exists(TOY)


def test_added_language_is_recorded_and_offered_in_the_switch(app, client, toy):
    with app.app_context():
        assert TOY in registry.codes()
        assert registry.get(TOY).status == "empty"
    soup = soup_of(client.get("/?lang=vi"))
    link = soup.select_one(f'.lang-switch a[hreflang="{TOY}"]')
    assert link is not None and "Toyish" in link.get_text()
    assert "Tiếng Thử" in link.get_text(), "the pack is named in the page's language too"
    assert link.select_one(".lang-note"), "a pack not reviewed is marked as not fully translated"


def test_survey_in_the_toy_language_with_vietnamese_fallbacks(app, client, toy):
    translate_some(app, toy)
    soup = soup_of(client.get(survey_url() + f"&lang={TOY}"))
    text = soup.get_text(" ")
    assert soup.html["lang"] == TOY
    # Translated: instrument texts and interface strings.
    assert "TOY TITLE" in text and "TOY FIRST PART" in text and "TOY INTRO" in text
    assert soup.select_one("a.skip-link").get_text(strip=True) == TOY_INTERFACE["Skip to main content"]
    # Untranslated: in Vietnamese, never in English.
    first_item = ADMIN.sections[0].items[0]
    assert first_item.text.vi in text and first_item.text.en not in text
    assert vietnamese("Sơn La Satisfaction Index") in soup.title.get_text()
    assert vietnamese("Home") in text and ">Home<" not in str(soup)


def test_coverage_lists_what_is_still_in_vietnamese(app, toy):
    translate_some(app, toy)
    result = invoke(app, "languages", "coverage", TOY, "--missing")
    assert result.exit_code == 0, result.output
    first_item = ADMIN.sections[0].items[0]
    assert f"missing {INSTRUMENT}.v{ADMIN.version}:items.{first_item.code}.text" in result.output
    assert f"missing {INSTRUMENT}.v{ADMIN.version}:title" not in result.output
    assert "interface: 2/" in result.output


def test_kiosk_in_the_toy_language(app, client, toy, make_device):
    translate_some(app, toy)
    _device, key = make_device()
    soup = soup_of(client.get(f"/kiosk/{key}?lang={TOY}"))
    assert soup.html["lang"] == TOY
    kiosk = definitions.latest_instruments()["counter-quick"]
    assert kiosk.items[0].text.vi in soup.get_text(" "), "untranslated kiosk question in Vietnamese"
    current = soup.select_one(".kiosk-lang [aria-current]")
    assert current is not None and "Toyish" in current.get_text(), "the kiosk switch shows the pack as current"
    assert soup.select_one('.kiosk-lang a[hreflang="blt"]'), "and offers the other packs"


def test_a_survey_answered_in_the_toy_language_records_it(app, client, db, toy, monkeypatch):
    # tests.pages.check_page knows only vi and en pages.
    monkeypatch.setattr(online_tests, "check_page", soup_of)
    answer_pages(client, PAGES, start=survey_url() + f"&lang={TOY}")
    db.session.expire_all()
    stored = db.session.scalars(select(Response)).all()
    assert [response.language for response in stored] == [TOY]


def test_a_translation_awaiting_review_is_not_shown(app, client, toy):
    translate_some(app, toy, fuzzy_intro=True)
    text = soup_of(client.get(survey_url() + f"&lang={TOY}")).get_text(" ")
    assert "TOY INTRO" not in text and ADMIN.intro.vi in text
    result = invoke(app, "languages", "coverage", TOY)
    assert "1 awaiting review" in result.output


# --- export and import ---------------------------------------------------------------------------


def test_export_then_import_round_trip(app, db, toy):
    from webapp.models import AuditEvent

    translated = translate_some(app, toy)
    db.session.expire_all()
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("languages.%"))).all()
    assert sorted(actions) == ["languages.add", "languages.import"]
    again = toy / "again.po"
    assert invoke(app, "languages", "export", TOY, "-o", str(again)).exit_code == 0
    exported = {message.context: message for message in read_po(again.open("rb")) if message.context}
    assert exported[f"{INSTRUMENT}.v{ADMIN.version}:title"].string == "TOY TITLE"
    assert exported["standard:scale5.4"].string == "TOY SATISFIED"
    assert f"en: {ADMIN.title.en}" in exported[f"{INSTRUMENT}.v{ADMIN.version}:title"].auto_comments
    # Importing the same file again changes nothing.
    before = sorted((path.name, path.read_bytes()) for path in (toy / "packs" / TOY).glob("*.po"))
    assert invoke(app, "languages", "import", TOY, str(translated)).exit_code == 0
    assert sorted((path.name, path.read_bytes()) for path in (toy / "packs" / TOY).glob("*.po")) == before


def test_import_refuses_a_file_with_wrong_placeholders_and_changes_nothing(app, toy):
    packs_before = sorted((toy / "packs" / TOY).iterdir())
    catalog = toy / "translations" / TOY / "LC_MESSAGES" / "messages.po"
    catalog_before = catalog.read_bytes()
    bad = toy / "bad.po"
    bad.write_bytes(
        po_bytes(
            [
                (None, "Part %(current)s of %(total)s", "Toy part %(current)s", False),
                (f"{INSTRUMENT}.v{ADMIN.version}:title", ADMIN.title.vi, "TOY TITLE", False),
            ]
        )
    )
    result = invoke(app, "languages", "import", TOY, str(bad))
    assert result.exit_code != 0
    assert "placeholders" in result.output and "%(total)s" in result.output and "line" in result.output
    assert sorted((toy / "packs" / TOY).iterdir()) == packs_before
    assert catalog.read_bytes() == catalog_before


def test_import_into_an_unknown_language_says_to_add_it_first(app, toy):
    bad = toy / "x.po"
    bad.write_bytes(po_bytes([]))
    result = invoke(app, "languages", "import", "qab", str(bad))
    assert result.exit_code != 0 and "add it first" in result.output


@pytest.mark.parametrize("code", ["vi", "Thai", "x1"])
def test_add_refuses_a_built_in_or_malformed_code(app, toy, code):
    result = invoke(app, "languages", "add", code, "--name", "X", "--native", "X")
    assert result.exit_code != 0
    assert "already" in result.output or "not a language code" in result.output


# --- locales unknown to CLDR, hashes, shipped packs ----------------------------------------------


def test_pages_in_an_unknown_to_cldr_language_format_numbers_as_vietnamese(app, client, toy):
    from webapp.i18n import number, percent

    with app.test_request_context(f"/?lang={TOY}"):
        assert number(12345) == "12.345" and percent(0.853) == "85,3%"
    assert client.get(f"/?lang={TOY}").status_code in (200, 503)
    assert client.get(f"/survey/{UNIT}?lang={TOY}").status_code == 200


def test_a_pack_never_changes_an_instruments_hash(app, client, toy):
    before = {key: definitions.content_hash(instrument) for key, instrument in definitions.load_instruments().items()}
    translate_some(app, toy)
    with app.test_request_context(f"/?lang={TOY}"):
        from webapp.i18n import lang_of

        assert ADMIN.title.get(TOY) == "TOY TITLE" and lang_of(ADMIN.title) == TOY
        assert lang_of(ADMIN.sections[0].items[0].text) == "vi", "an untranslated text is tagged Vietnamese"
        after = {
            key: definitions.content_hash(instrument) for key, instrument in definitions.load_instruments().items()
        }
    assert after == before


def test_thai_and_mong_ship_without_unreviewed_translations(app):
    """No machine translation as if reviewed: the shipped packs hold only reviewed samples, if anything."""
    from webapp.languages import packs

    with app.app_context():
        shipped_packs = registry.packs()
        assert shipped_packs
        for language in shipped_packs:
            assert language.status in ("empty", "reviewed samples")
            report = packs.coverage(language.code)
            if language.status == "empty":
                assert report.interface.reviewed == 0 and report.instruments
                assert all(part.reviewed == 0 for part in report.instruments)
    shipped = {language.code: language for language in registry.load(registry.REGISTRY_PATH)}
    assert shipped["blt"].script == "Tavt" and shipped["blt"].font == "Noto Sans Tai Viet"
    assert shipped["hnj"].html_lang == "hnj-Latn"


def test_admin_page_shows_coverage_per_language(admin_client, toy):
    soup = soup_of(admin_client.get("/admin/languages/?lang=en"))
    headings = [heading.get_text(" ", strip=True) for heading in soup.find_all("h2")]
    assert any("Toyish" in heading for heading in headings)
    assert any("Tai Dam" in heading for heading in headings)
    assert soup.find("code", string=f"{INSTRUMENT}.v{ADMIN.version}")


def test_admin_page_is_for_administrators_only(client, db):
    response = client.get("/admin/languages/")
    assert response.status_code in (302, 401)


# --- fonts ---------------------------------------------------------------------------------------


def test_tai_viet_font_is_declared_for_its_block_only_and_served(client):
    css = client.get("/static/css/site.css").get_data(as_text=True)
    block = css[css.index("@font-face") :]
    block = block[: block.index("}") + 1]
    assert '"Noto Sans Tai Viet"' in block and "U+AA80-AADF" in block and "font-display: swap" in block
    font = client.get("/static/fonts/NotoSansTaiViet-Regular.subset.woff2")
    assert font.status_code == 200 and font.data[:4] == b"wOF2"
    assert (REPO / "webapp/static/fonts/OFL.txt").read_text().count("SIL Open Font License") >= 1


def test_pages_declare_the_packs_bcp47_tag(client, registry):
    """Mông is written in Latin letters here; CLDR's hnj defaults to another script, so pages say hnj-Latn."""
    assert soup_of(client.get(f"/survey/{UNIT}?lang=hnj")).html["lang"] == "hnj-Latn"
    assert soup_of(client.get(f"/survey/{UNIT}?lang=blt")).html["lang"] == "blt"
