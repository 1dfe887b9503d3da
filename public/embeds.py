"""The embeddable badge and widget of a unit: its latest published figure, for other sites.

Both read the same :class:`UnitFigure` (published snapshots only): the unit's indicator with
the most ratings in the latest quarter that published a row for it. A suppressed row gives
only its count; a unit with no published row says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr  # writes SVG text, never parses XML  # nosec B406

from flask_babel import gettext as _

from public import readers
from webapp.i18n import localized, number, percent
from webapp.models import Indicator, PublishedEstimate, PublishedSnapshot, Unit

#: Badge geometry: two lines of text on a card; the width follows the longer line.
BADGE_HEIGHT = 58
BADGE_MIN_WIDTH, BADGE_MAX_WIDTH = 200, 560
#: A rough average advance of the badge font, in pixels per character (12–13 px sans-serif).
CHAR_WIDTH = 6.9
#: Longest unit name drawn on the badge before it is cut with an ellipsis.
NAME_CHARS = 60
STATUS_COLOURS = {"met": "#00703c", "below": "#b10e1e", "inconclusive": "#6f4e00"}
NEUTRAL = "#4a4a4a"


@dataclass(frozen=True)
class UnitFigure:
    """What the badge and the widget show about one unit."""

    unit: Unit
    snapshot: PublishedSnapshot | None
    estimate: PublishedEstimate | None
    indicator: Indicator | None

    @property
    def has_rate(self) -> bool:
        return (
            self.estimate is not None and self.estimate.status != "insufficient" and self.estimate.estimate is not None
        )


def unit_figure(unit: Unit, indicator_code: str | None = None) -> UnitFigure:
    """The unit's latest published figure (of ``indicator_code``, or of its indicator with most ratings)."""
    indicators = readers.indicators_by_code()
    snapshots = readers.latest_snapshots("Q")
    index, published = readers.latest_unit_estimates(snapshots, unit.code)
    rows = [
        r for r in published if "/" not in r.metric and r.metric in indicators and indicator_code in (None, r.metric)
    ]
    if index is not None and rows:
        best = max(rows, key=lambda r: (r.n, r.metric))
        return UnitFigure(unit, snapshots[index], best, indicators[best.metric])
    return UnitFigure(unit, None, None, indicators.get(indicator_code) if indicator_code else None)


def status_words(status: str) -> str:
    """The status against the target in a few words (never by colour alone)."""
    return {
        "met": _("Target met"),
        "below": _("Below target"),
        "inconclusive": _("Not yet clear"),
        "no_target": _("No target set"),
    }.get(status, _("Not enough data"))


def figure_lines(figure: UnitFigure) -> tuple[str, str]:
    """The badge's two lines: the unit's name, then the figure (or why there is none) and the period."""
    name = localized(figure.unit)
    if len(name) > NAME_CHARS:
        name = name[: NAME_CHARS - 1].rstrip() + "…"
    e = figure.estimate
    if e is None or figure.snapshot is None:
        return name, _("Satisfaction: no published figure yet")
    if not figure.has_rate:
        return name, _(
            "%(period)s: %(n)s ratings, too few to publish a rate", period=figure.snapshot.period, n=number(e.n)
        )
    return name, _(
        "Satisfied %(rate)s (95%% interval %(low)s–%(high)s) · %(status)s · %(period)s",
        rate=percent(e.estimate),
        low=percent(e.ci_low),
        high=percent(e.ci_high),
        status=status_words(e.status),
        period=figure.snapshot.period,
    )


def badge_svg(figure: UnitFigure) -> str:
    """A small standalone SVG image: the unit's name over its latest figure, with a title for screen readers."""
    first, second = figure_lines(figure)
    width = int(min(BADGE_MAX_WIDTH, max(BADGE_MIN_WIDTH, CHAR_WIDTH * max(len(first), len(second)) + 24)))
    colour = STATUS_COLOURS.get(figure.estimate.status, NEUTRAL) if figure.has_rate else NEUTRAL
    label = f"{first}: {second}"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{BADGE_HEIGHT}" '
        f'viewBox="0 0 {width} {BADGE_HEIGHT}" role="img" aria-label={quoteattr(label)}>'
        f"<title>{escape(label)}</title>"
        f'<rect x="0.5" y="0.5" width="{width - 1}" height="{BADGE_HEIGHT - 1}" rx="4" fill="#ffffff" stroke="#b1b4b6"/>'
        f'<rect x="0" y="0" width="6" height="{BADGE_HEIGHT}" rx="2" fill="{colour}"/>'
        f'<g font-family="system-ui, -apple-system, Segoe UI, Roboto, Noto Sans, Arial, sans-serif" fill="#1b1b1b">'
        f'<text x="16" y="23" font-size="13" font-weight="700">{escape(first)}</text>'
        f'<text x="16" y="44" font-size="12.5">{escape(second)}</text>'
        f"</g></svg>"
    )


def embed_snippets(base_url: str, badge_path: str, widget_path: str, page_path: str, title: str) -> dict[str, str]:
    """The HTML another site pastes to show the badge (an image in a link) or the widget (an iframe),
    as plain text (the page escapes it to show it)."""
    base = base_url.rstrip("/")
    image = (
        f"<a href={quoteattr(base + page_path)}><img src={quoteattr(base + badge_path)} "
        f'alt={quoteattr(title)} height="{BADGE_HEIGHT}"></a>'
    )
    frame = (
        f'<iframe src={quoteattr(base + widget_path)} title={quoteattr(title)} width="320" height="190" '
        f'loading="lazy"></iframe>'
    )
    return {"image": image, "frame": frame}
