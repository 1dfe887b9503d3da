"""A page checker used on every HTML page a test fetches (after GOV.UK Notify's conftest).

It fails a test when a page has no ``lang``, not exactly one ``<h1>``, a ``<title>`` that
does not start with the ``<h1>``, duplicate ids, a form without an action, a form control
without a label, or an image without alternative text.
"""

from __future__ import annotations

from bs4 import BeautifulSoup


def check_page(response, *, status: int = 200, lang: str | None = None) -> BeautifulSoup:
    """Parse ``response`` as HTML, assert the structural rules, and return the soup."""
    assert response.status_code == status, f"expected {status}, got {response.status_code}"
    assert response.mimetype == "text/html", response.mimetype
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    html = soup.find("html")
    assert html is not None and html.get("lang") in {"vi", "en"}, "<html> needs lang='vi' or 'en'"
    if lang:
        assert html["lang"] == lang, f"page language is {html['lang']}, expected {lang}"
    headings = soup.find_all("h1")
    assert len(headings) == 1, f"expected exactly one <h1>, found {len(headings)}"
    h1 = " ".join(headings[0].get_text().split())
    title = " ".join((soup.title.get_text() if soup.title else "").split())
    assert title.startswith(h1), f"<title> {title!r} should start with the <h1> {h1!r}"
    ids = [tag["id"] for tag in soup.find_all(id=True)]
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert not duplicates, f"duplicate ids: {sorted(duplicates)}"
    for form in soup.find_all("form"):  # may be empty: a rule for every form, on any page
        assert form.get("action"), "every form needs an explicit action"
    labelled = {label.get("for") for label in soup.find_all("label")}
    for control in soup.find_all(["input", "select", "textarea"]):  # may be empty: as forms
        if control.get("type") in {"hidden", "submit", "button"}:
            continue
        has_label = control.get("id") in labelled or control.find_parent("label") or control.get("aria-label")
        assert has_label, f"form control {control.get('name')!r} has no label"
    for image in soup.find_all("img"):  # may be empty: as forms
        assert image.has_attr("alt"), f"image {image.get('src')!r} has no alt attribute"
    for nav in soup.find_all("nav"):  # may be empty: the embeddable widget has no navigation
        assert nav.get("aria-label") or nav.get("aria-labelledby"), "each <nav> needs an accessible name"
    assert soup.find("main"), "page has no <main> landmark"
    return soup
