"""Accessibility checks with axe-core (through axe-playwright-python).

``assert_no_axe_violations(page, "home, vi")`` runs the WCAG 2.0, 2.1 and 2.2 level A and
AA rules on the page as it is now and fails the test on any violation, listing for each
rule its id, impact, help text and link, and for each offending element its CSS target, its
HTML and axe's explanation — enough to find and fix it without rerunning anything.

axe's ``best-practice`` rules run too, but only warn (``AxeBestPracticeWarning`` in the
pytest warnings summary): they are advice, not WCAG requirements.
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")
ADVISORY_TAGS = ("best-practice",)

_axe = Axe()


class AxeBestPracticeWarning(UserWarning):
    """An axe best-practice rule failed: worth fixing, but not a WCAG failure."""


def run_axe(page, context: Any = None) -> dict:
    """The raw axe result of ``page`` (optionally limited to the ``context`` selector)."""
    options = {
        "runOnly": {"type": "tag", "values": [*WCAG_TAGS, *ADVISORY_TAGS]},
        "resultTypes": ["violations"],
    }
    return _axe.run(page, context=context, options=options).response


def is_wcag(violation: dict) -> bool:
    return bool(set(violation.get("tags", ())) & set(WCAG_TAGS))


def format_violations(violations: list[dict], *, heading: str) -> str:
    """A readable report: rule by rule, element by element."""
    lines = [heading]
    for violation in violations:
        wcag = ", ".join(tag for tag in violation.get("tags", ()) if tag.startswith("wcag")) or "best-practice"
        lines.append("")
        lines.append(f"[{violation.get('impact') or 'n/a'}] {violation['id']}: {violation.get('help', '')}  ({wcag})")
        if violation.get("helpUrl"):
            lines.append(f"    {violation['helpUrl']}")
        for number, node in enumerate(violation.get("nodes", ()), start=1):
            targets = " | ".join(_selector(target) for target in node.get("target", ()))
            html = " ".join((node.get("html") or "").split())
            lines.append(f"    {number}) target: {targets}")
            lines.append(f"       html:   {html[:400]}")
            summary = (node.get("failureSummary") or "").strip()
            for summary_line in summary.splitlines():
                lines.append(f"       {summary_line.strip()}")
    return "\n".join(lines)


def _selector(target: Any) -> str:
    # Targets inside iframes or shadow roots are lists of selectors.
    return " >> ".join(target) if isinstance(target, list) else str(target)


def assert_no_axe_violations(page, context_label: str, *, context: Any = None) -> None:
    """Fail when axe finds any WCAG 2.x A/AA violation on ``page``; warn on best-practice ones."""
    result = run_axe(page, context=context)
    violations = result.get("violations", [])
    failing = [v for v in violations if is_wcag(v)]
    advisory = [v for v in violations if not is_wcag(v)]
    where = f"{context_label} ({page.url})"
    if advisory:
        warnings.warn(
            AxeBestPracticeWarning(format_violations(advisory, heading=f"axe best-practice findings on {where}:")),
            stacklevel=2,
        )
    if failing:
        count = sum(len(v.get("nodes", ())) for v in failing)
        heading = f"axe found {len(failing)} WCAG rule(s) violated on {count} element(s) on {where}:"
        pytest.fail(format_violations(failing, heading=heading), pytrace=False)


def assert_pages_accessible(page, paths: list[str], languages=("vi", "en")) -> None:
    """Open every path in every language: 200, the right ``lang``, one ``h1`` and no axe violation."""
    assert paths, "no page to check"
    assert languages, "no language to check"
    for lang in languages:
        for path in paths:
            separator = "&" if "?" in path else "?"
            response = page.goto(f"{path}{separator}lang={lang}")
            assert response is not None and response.status == 200, path
            assert page.locator("html").get_attribute("lang") == lang
            assert page.locator("h1").count() == 1
            assert_no_axe_violations(page, f"{path}, {lang}")
