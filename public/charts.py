"""Small server-rendered SVG charts for the public pages: no JavaScript, no chart library.

Each chart is inline SVG with ``role="img"``, a ``<title>`` and a ``<desc>`` named by
``aria-labelledby``; the same numbers are always shown in a table next to it. Colours are
from the Okabe–Ito palette (safe for colour-blind readers) and meaning never depends on
colour alone: the target line is dashed, limits are dashed or dotted, points outside the
funnel have their own shapes.

Rates are shares (0–1); every value is clamped to 0–100% before it is drawn.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr  # writes SVG text, never parses XML  # nosec B406

from markupsafe import Markup

#: Okabe–Ito colours.
BLUE = "#0072B2"
SKY = "#56B4E9"
ORANGE = "#E69F00"
VERMILLION = "#D55E00"
GREEN = "#009E73"
INK = "#1b1b1b"
GRID = "#d0d4d8"

WIDTH, HEIGHT = 640, 320
LEFT, RIGHT, TOP, BOTTOM = 60, 36, 16, 56


def default_percent(value: float) -> str:
    return f"{value * 100:.0f}%"


def clamp(value: float | None) -> float | None:
    """A share clamped to 0–1 (``None`` and NaN stay ``None``)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return min(1.0, max(0.0, float(value)))


@dataclass(frozen=True)
class TrendPoint:
    label: str
    estimate: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    #: The target in force in this period (targets change by year); ``None``: the chart's target.
    target: float | None = None


@dataclass(frozen=True)
class FunnelPoint:
    label: str
    n_eff: float
    estimate: float
    lower95: float | None = None
    upper95: float | None = None
    lower998: float | None = None
    upper998: float | None = None
    position: str = "within"


@dataclass(frozen=True)
class ChartText:
    """The translated words of a chart."""

    title: str
    desc: str
    x_label: str
    y_label: str
    target_label: str = ""
    reference_label: str = ""
    empty: str = ""


def _f(value: float) -> str:
    return f"{value:.1f}"


def _y_range(values: Sequence[float]) -> tuple[float, float]:
    """From a round 10% below the smallest value (never under 0) to 100%."""
    values = [v for v in values if v is not None]
    if not values:
        return 0.0, 1.0
    low = max(0.0, math.floor(min(values) * 10 - 1e-9) / 10)
    if low >= 0.95:
        low = 0.9
    return low, 1.0


def _ticks(low: float, high: float) -> list[float]:
    step = 0.05 if high - low <= 0.3 else (0.1 if high - low <= 0.6 else 0.2)
    count = int(round((high - low) / step))
    return [round(low + i * step, 4) for i in range(count + 1)]


def _open(ident: str, text: ChartText, css_class: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class={quoteattr(css_class)} viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="{ident}-title {ident}-desc" focusable="false">',
        f'<title id="{ident}-title">{escape(text.title)}</title>',
        f'<desc id="{ident}-desc">{escape(text.desc)}</desc>',
    ]


def _y_axis(
    parts: list[str], low: float, high: float, y: Callable[[float], float], fmt: Callable[[float], str], label: str
) -> None:
    for tick in _ticks(low, high):
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_f(y(tick))}" y2="{_f(y(tick))}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{_f(y(tick) + 4)}" text-anchor="end" font-size="14" fill="{INK}">'
            f"{escape(fmt(tick))}</text>"
        )
    parts.append(f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" stroke="{INK}"/>')
    parts.append(
        f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{HEIGHT - BOTTOM}" y2="{HEIGHT - BOTTOM}" stroke="{INK}"/>'
    )
    middle = (TOP + HEIGHT - BOTTOM) / 2
    parts.append(
        f'<text class="axis-label" x="14" y="{_f(middle)}" text-anchor="middle" font-size="14" fill="{INK}" '
        f'transform="rotate(-90 14 {_f(middle)})">{escape(label)}</text>'
    )


def _x_label(parts: list[str], label: str) -> None:
    parts.append(
        f'<text class="axis-label" x="{_f((LEFT + WIDTH - RIGHT) / 2)}" y="{HEIGHT - 8}" text-anchor="middle" '
        f'font-size="14" fill="{INK}">{escape(label)}</text>'
    )


def _empty(parts: list[str], text: ChartText) -> Markup:
    parts.append(
        f'<text x="{WIDTH / 2:.0f}" y="{HEIGHT / 2:.0f}" text-anchor="middle" font-size="14" fill="{INK}">'
        f"{escape(text.empty)}</text>"
    )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text and attribute was escaped above  # nosec B704


def trend_svg(
    points: Sequence[TrendPoint],
    text: ChartText,
    *,
    ident: str = "trend",
    target: float | None = None,
    fmt: Callable[[float], str] = default_percent,
) -> Markup:
    """A line of rates by period with the 95% interval as a band and the target as a dashed line."""
    parts = _open(ident, text, "chart chart-trend")
    drawn = [p for p in points if clamp(p.estimate) is not None]
    if not drawn:
        return _empty(parts, text)
    values = [clamp(p.estimate) for p in drawn] + [clamp(p.ci_low) for p in drawn if p.ci_low is not None]
    targets = [clamp(p.target) if p.target is not None else clamp(target) for p in points]
    values += [t for t in targets if t is not None]
    low, high = _y_range(values)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    count = len(points)

    def x(i: int) -> float:
        return LEFT + plot_w / 2 if count == 1 else LEFT + 12 + i * (plot_w - 24) / (count - 1)

    def y(v: float) -> float:
        return TOP + (high - v) / (high - low) * plot_h

    _y_axis(parts, low, high, y, fmt, text.y_label)
    every = max(1, math.ceil(count / 8))
    for i, point in enumerate(points):
        if i % every == 0 or i == count - 1 and count <= 8:
            parts.append(
                f'<text x="{_f(x(i))}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle" font-size="14" '
                f'fill="{INK}">{escape(point.label)}</text>'
            )
    _x_label(parts, text.x_label)

    # The interval band, one polygon per run of consecutive periods with an interval.
    segment: list[int] = []
    segments: list[list[int]] = []
    for i, point in enumerate(points):
        if clamp(point.ci_low) is not None and clamp(point.ci_high) is not None and clamp(point.estimate) is not None:
            segment.append(i)
        elif segment:
            segments.append(segment)
            segment = []
    if segment:
        segments.append(segment)
    for run in segments:
        if len(run) == 1:
            i = run[0]
            top, bottom = y(clamp(points[i].ci_high)), y(clamp(points[i].ci_low))
            parts.append(
                f'<rect class="band" x="{_f(x(i) - 5)}" y="{_f(top)}" width="10" height="{_f(max(bottom - top, 0.5))}" '
                f'fill="{SKY}" fill-opacity="0.45"/>'
            )
        else:
            upper = [f"{_f(x(i))},{_f(y(clamp(points[i].ci_high)))}" for i in run]
            lower = [f"{_f(x(i))},{_f(y(clamp(points[i].ci_low)))}" for i in reversed(run)]
            parts.append(f'<polygon class="band" points="{" ".join(upper + lower)}" fill="{SKY}" fill-opacity="0.45"/>')

    if any(t is not None for t in targets):
        # A step line: each period at the target in force then, across the whole plot width.
        half = (plot_w - 24) / (count - 1) / 2 if count > 1 else plot_w / 2
        steps: list[str] = []
        for i, value in enumerate(targets):
            if value is None:
                continue
            start = LEFT if i == 0 else x(i) - half
            end = WIDTH - RIGHT if i == count - 1 else x(i) + half
            steps += [f"{_f(start)},{_f(y(value))}", f"{_f(end)},{_f(y(value))}"]
        parts.append(
            f'<polyline class="target" points="{" ".join(steps)}" fill="none" '
            f'stroke="{VERMILLION}" stroke-width="2" stroke-dasharray="8 4"/>'
        )
        ty = y(next(t for t in reversed(targets) if t is not None))
        if text.target_label:
            parts.append(
                f'<text class="target-label" x="{WIDTH - RIGHT - 4}" y="{_f(ty - 6)}" text-anchor="end" '
                f'font-size="14" fill="{INK}">{escape(text.target_label)}</text>'
            )

    line: list[str] = []
    for i, point in enumerate(points):
        value = clamp(point.estimate)
        if value is None:
            if len(line) > 1:
                parts.append(
                    f'<polyline class="line" points="{" ".join(line)}" fill="none" stroke="{BLUE}" stroke-width="2.5"/>'
                )
            line = []
            continue
        line.append(f"{_f(x(i))},{_f(y(value))}")
    if len(line) > 1:
        parts.append(
            f'<polyline class="line" points="{" ".join(line)}" fill="none" stroke="{BLUE}" stroke-width="2.5"/>'
        )
    for i, point in enumerate(points):
        value = clamp(point.estimate)
        if value is not None:
            parts.append(f'<circle class="point" cx="{_f(x(i))}" cy="{_f(y(value))}" r="4" fill="{BLUE}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text and attribute was escaped above  # nosec B704


def _marker(position: str, cx: float, cy: float) -> str:
    if position.startswith("above"):
        return (
            f'<polygon class="point point-above" points="{_f(cx)},{_f(cy - 6)} {_f(cx + 6)},{_f(cy + 5)} '
            f'{_f(cx - 6)},{_f(cy + 5)}" fill="{GREEN}" stroke="{INK}" stroke-width="0.75"/>'
        )
    if position.startswith("below"):
        return (
            f'<polygon class="point point-below" points="{_f(cx)},{_f(cy + 6)} {_f(cx + 6)},{_f(cy - 5)} '
            f'{_f(cx - 6)},{_f(cy - 5)}" fill="{VERMILLION}" stroke="{INK}" stroke-width="0.75"/>'
        )
    return f'<circle class="point" cx="{_f(cx)}" cy="{_f(cy)}" r="4" fill="{BLUE}" fill-opacity="0.8"/>'


def funnel_svg(
    points: Sequence[FunnelPoint],
    text: ChartText,
    *,
    ident: str = "funnel",
    reference: float | None = None,
    fmt: Callable[[float], str] = default_percent,
    fmt_n: Callable[[float], str] = lambda v: f"{v:.0f}",
) -> Markup:
    """Units' rates against their effective size, with the province line and 95% / 99.8% limits."""
    parts = _open(ident, text, "chart chart-funnel")
    drawn = [p for p in points if clamp(p.estimate) is not None and p.n_eff is not None and p.n_eff > 0]
    if not drawn:
        return _empty(parts, text)
    drawn = sorted(drawn, key=lambda p: p.n_eff)
    values = [clamp(p.estimate) for p in drawn] + [clamp(p.lower998) for p in drawn if p.lower998 is not None]
    if clamp(reference) is not None:
        values.append(clamp(reference))
    low, high = _y_range(values)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    x_max = max(p.n_eff for p in drawn) * 1.05

    def x(n: float) -> float:
        return LEFT + n / x_max * plot_w

    def y(v: float) -> float:
        return TOP + (high - v) / (high - low) * plot_h

    _y_axis(parts, low, high, y, fmt, text.y_label)
    step = 10 ** max(0, math.floor(math.log10(x_max)))
    if x_max / step < 3:
        step /= 2
    tick = 0.0
    while tick <= x_max:
        parts.append(
            f'<text x="{_f(x(tick))}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle" font-size="14" '
            f'fill="{INK}">{escape(fmt_n(tick))}</text>'
        )
        tick += step
    _x_label(parts, text.x_label)

    for name, dash, width in (
        ("lower998", "2 3", 1.5),
        ("upper998", "2 3", 1.5),
        ("lower95", "6 3", 1.5),
        ("upper95", "6 3", 1.5),
    ):
        limit = [(p.n_eff, clamp(getattr(p, name))) for p in drawn if getattr(p, name) is not None]
        if len(limit) > 1:
            coords = " ".join(f"{_f(x(n))},{_f(y(v))}" for n, v in limit)
            parts.append(
                f'<polyline class="limit limit-{name}" points="{coords}" fill="none" stroke="{ORANGE if "998" in name else INK}" '
                f'stroke-width="{width}" stroke-dasharray="{dash}"/>'
            )
    if clamp(reference) is not None:
        ry = y(clamp(reference))
        parts.append(
            f'<line class="reference" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_f(ry)}" y2="{_f(ry)}" '
            f'stroke="{VERMILLION}" stroke-width="2"/>'
        )
        if text.reference_label:
            parts.append(
                f'<text class="reference-label" x="{WIDTH - RIGHT - 4}" y="{_f(ry - 6)}" text-anchor="end" '
                f'font-size="14" fill="{INK}">{escape(text.reference_label)}</text>'
            )
    for point in drawn:
        parts.append(_marker(point.position or "within", x(point.n_eff), y(clamp(point.estimate))))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text and attribute was escaped above  # nosec B704


SPARK_WIDTH, SPARK_HEIGHT, SPARK_PAD = 240, 48, 4


def sparkline_svg(
    points: Sequence[TrendPoint],
    text: ChartText,
    *,
    ident: str = "spark",
    target: float | None = None,
) -> Markup:
    """A small line of rates by period (no axes) with the target dashed; the words are in ``text``.

    For the home page: the title and description carry the first and last values, and the
    full numbers are one link away (the indicator page's table).
    """
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sparkline" viewBox="0 0 {SPARK_WIDTH} {SPARK_HEIGHT}" '
        f'role="img" aria-labelledby="{ident}-title {ident}-desc" focusable="false">',
        f'<title id="{ident}-title">{escape(text.title)}</title>',
        f'<desc id="{ident}-desc">{escape(text.desc)}</desc>',
    ]
    values = [clamp(p.estimate) for p in points]
    drawn = [v for v in values if v is not None]
    if not drawn:
        parts.append("</svg>")
        return Markup("".join(parts))  # noqa: S704 - every text was escaped above  # nosec B704
    low, high = _y_range(drawn + ([clamp(target)] if clamp(target) is not None else []))
    count = len(points)

    def x(i: int) -> float:
        return SPARK_WIDTH / 2 if count == 1 else SPARK_PAD + i * (SPARK_WIDTH - 2 * SPARK_PAD) / (count - 1)

    def y(v: float) -> float:
        return SPARK_PAD + (high - v) / (high - low) * (SPARK_HEIGHT - 2 * SPARK_PAD)

    if clamp(target) is not None:
        ty = _f(y(clamp(target)))
        parts.append(
            f'<line class="target" x1="0" x2="{SPARK_WIDTH}" y1="{ty}" y2="{ty}" stroke="{VERMILLION}" '
            f'stroke-width="1.5" stroke-dasharray="5 3"/>'
        )
    run: list[str] = []
    for i, value in enumerate([*values, None]):
        if value is None:
            if len(run) > 1:
                parts.append(
                    f'<polyline class="line" points="{" ".join(run)}" fill="none" stroke="{BLUE}" stroke-width="2"/>'
                )
            run = []
            continue
        run.append(f"{_f(x(i))},{_f(y(value))}")
    last = max(i for i, v in enumerate(values) if v is not None)
    parts.append(f'<circle class="point" cx="{_f(x(last))}" cy="{_f(y(values[last]))}" r="3" fill="{BLUE}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text and attribute was escaped above  # nosec B704


@dataclass(frozen=True)
class PriorityPoint:
    """One aspect of the priority matrix: its published rate and its importance (log odds ratio)."""

    label: str
    performance: float
    importance: float
    rank: int | None = None


def priority_svg(
    points: Sequence[PriorityPoint],
    text: ChartText,
    quadrants: tuple[str, str, str, str],
    *,
    ident: str = "priority",
    target: float | None = None,
    split: float | None = None,
    fmt: Callable[[float], str] = default_percent,
) -> Markup:
    """Importance (y, log odds ratio) against performance (x, the aspect's published rate).

    A dashed vertical line at the target and a dotted horizontal one at ``split`` (the mean
    importance) cut the plane into ``quadrants`` = (top-left, top-right, bottom-left,
    bottom-right) names, e.g. "fix first", "keep up", "lower priority", "possible overkill".
    Each point carries its rank as a number, so the table next to it names the aspect.
    """
    parts = _open(ident, text, "chart chart-priority")
    drawn = [
        p
        for p in points
        if clamp(p.performance) is not None and p.importance is not None and math.isfinite(p.importance)
    ]
    if split is not None and not math.isfinite(split):
        split = None
    if not drawn:
        return _empty(parts, text)
    xs = [clamp(p.performance) for p in drawn] + ([clamp(target)] if clamp(target) is not None else [])
    x_low, x_high = _y_range(xs)
    x_low = min(x_low, max(0.0, min(xs) - 0.05))
    ys = [p.importance for p in drawn] + ([split] if split is not None else [])
    y_low, y_high = min(0.0, math.floor(min(ys))), math.ceil(max(ys) + 0.5)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(v: float) -> float:
        return LEFT + (v - x_low) / (x_high - x_low) * plot_w

    def y(v: float) -> float:
        return TOP + (y_high - v) / (y_high - y_low) * plot_h

    step = 1 if y_high - y_low <= 6 else 2
    tick = y_low
    while tick <= y_high + 1e-9:
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_f(y(tick))}" y2="{_f(y(tick))}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{_f(y(tick) + 4)}" text-anchor="end" font-size="14" fill="{INK}">{tick:g}</text>'
        )
        tick += step
    parts.append(f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" stroke="{INK}"/>')
    parts.append(
        f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{HEIGHT - BOTTOM}" y2="{HEIGHT - BOTTOM}" stroke="{INK}"/>'
    )
    middle = (TOP + HEIGHT - BOTTOM) / 2
    parts.append(
        f'<text class="axis-label" x="14" y="{_f(middle)}" text-anchor="middle" font-size="14" fill="{INK}" '
        f'transform="rotate(-90 14 {_f(middle)})">{escape(text.y_label)}</text>'
    )
    for value in _ticks(x_low, x_high):
        parts.append(
            f'<text x="{_f(x(value))}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle" font-size="14" '
            f'fill="{INK}">{escape(fmt(value))}</text>'
        )
    _x_label(parts, text.x_label)
    cut_x = clamp(target)
    if cut_x is not None:
        parts.append(
            f'<line class="target" x1="{_f(x(cut_x))}" x2="{_f(x(cut_x))}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" '
            f'stroke="{VERMILLION}" stroke-width="2" stroke-dasharray="6 4"/>'
        )
        if text.target_label:
            parts.append(
                f'<text class="target-label" x="{_f(x(cut_x) + 4)}" y="{TOP + 14}" font-size="14" '
                f'fill="{INK}">{escape(text.target_label)}</text>'
            )
    if split is not None:
        parts.append(
            f'<line class="split" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_f(y(split))}" y2="{_f(y(split))}" '
            f'stroke="{INK}" stroke-width="1" stroke-dasharray="2 3"/>'
        )
    corners = (
        (LEFT + 6, TOP + 32, "start"),
        (WIDTH - RIGHT - 6, TOP + 32, "end"),
        (LEFT + 6, HEIGHT - BOTTOM - 8, "start"),
        (WIDTH - RIGHT - 6, HEIGHT - BOTTOM - 8, "end"),
    )
    for (cx, cy, anchor), name in zip(corners, quadrants, strict=True):
        parts.append(
            f'<text class="quadrant" x="{cx}" y="{cy}" text-anchor="{anchor}" font-size="14" '
            f'fill="{INK}">{escape(name)}</text>'
        )
    for point in drawn:
        px, py = x(clamp(point.performance)), y(point.importance)
        parts.append(f'<circle class="point" cx="{_f(px)}" cy="{_f(py)}" r="5" fill="{BLUE}" fill-opacity="0.85"/>')
        marker = str(point.rank) if point.rank is not None else point.label
        parts.append(
            f'<text class="point-label" x="{_f(px + 8)}" y="{_f(py - 6)}" font-size="14" font-weight="bold" '
            f'fill="{INK}">{escape(marker)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text and attribute was escaped above  # nosec B704
