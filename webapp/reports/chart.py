"""The report's chart: each indicator's rate with its 95% interval, this period and the previous one, and the target.

Drawn with matplotlib's object API on the Agg canvas (no pyplot, no global state, safe in a
web worker). Colours are the Okabe–Ito palette, which colour-blind readers can tell apart, and
the two periods also differ by marker shape, so the chart reads in black and white too.
"""

from __future__ import annotations

import io
import math
import textwrap
from dataclasses import dataclass

from flask_babel import gettext as _
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure as MplFigure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from webapp.reports import labels
from webapp.reports.data import Figure, Line

BLUE = "#0072B2"
ORANGE = "#E69F00"
BLACK = "#000000"


@dataclass(frozen=True)
class Chart:
    png: bytes
    #: A text alternative naming every plotted value, for the picture's alt text.
    description: str


def _has_rate(figure: Figure | None) -> bool:
    return figure is not None and not figure.suppressed


def _lower_limit(lines: list[Line]) -> float:
    lows = [f.ci_low for line in lines for f in (line.current, line.previous) if _has_rate(f)]
    lows += [line.current.target for line in lines if line.current is not None and line.current.target is not None]
    return max(0.0, math.floor((min(lows) if lows else 0.5) * 10 - 0.5) / 10)


def indicator_chart(lines: list[Line], current_label: str, previous_label: str) -> Chart | None:
    """The chart of ``lines`` (None when no line has a published rate in either period)."""
    lines = [line for line in lines if _has_rate(line.current) or _has_rate(line.previous)]
    if not lines:
        return None
    height = 1.2 + 0.9 * len(lines)
    figure = MplFigure(figsize=(7.2, height), dpi=200)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    low = _lower_limit(lines)
    described = []
    for i, line in enumerate(reversed(lines)):
        for offset, found, colour, marker in ((0.15, line.current, BLUE, "o"), (-0.15, line.previous, ORANGE, "s")):
            if not _has_rate(found):
                if found is not None:
                    axes.text(
                        low + 0.005,
                        i + offset,
                        _("%(n)s ratings: too few to publish a rate", n=labels.count(found.n)),
                        va="center",
                        fontsize=7,
                        color="#333333",
                    )
                continue
            axes.errorbar(
                found.estimate,
                i + offset,
                xerr=[[found.estimate - found.ci_low], [found.ci_high - found.estimate]],
                fmt=marker,
                color=colour,
                ecolor=colour,
                elinewidth=1.6,
                capsize=3,
                markersize=5,
            )
        target = line.current.target if line.current is not None else None
        if target is not None:
            axes.plot([target, target], [i - 0.4, i + 0.4], linestyle="--", color=BLACK, linewidth=1.2)
        described.append(_describe(line, current_label, previous_label))
    axes.set_yticks(range(len(lines)))
    axes.set_yticklabels([textwrap.fill(line.label, 34) for line in reversed(lines)], fontsize=8)
    axes.set_ylim(-0.6, len(lines) - 0.4)
    axes.set_xlim(low, 1.0)
    axes.xaxis.set_major_formatter(
        FuncFormatter(lambda value, _pos: labels.rate(value).replace(",0%", "%").replace(".0%", "%"))
    )
    axes.set_xlabel(_("Share of satisfied respondents; bars: %(level)s interval", level="95%"), fontsize=8)
    axes.tick_params(axis="x", labelsize=8)
    axes.grid(axis="x", color="#dddddd", linewidth=0.6)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    legend = [
        Line2D([], [], color=BLUE, marker="o", linestyle="-", label=current_label),
        Line2D([], [], color=ORANGE, marker="s", linestyle="-", label=previous_label),
        Line2D([], [], color=BLACK, linestyle="--", label=_("Target")),
    ]
    axes.legend(handles=legend, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=8, frameon=False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return Chart(buffer.getvalue(), " ".join(described))


def _describe(line: Line, current_label: str, previous_label: str) -> str:
    parts = []
    for name, found in ((current_label, line.current), (previous_label, line.previous)):
        if found is None:
            continue
        if found.suppressed:
            parts.append(
                _("%(period)s: %(n)s ratings, too few to publish a rate", period=name, n=labels.count(found.n))
            )
        else:
            parts.append(
                _(
                    "%(period)s: %(rate)s (%(interval)s)",
                    period=name,
                    rate=labels.rate(found.estimate),
                    interval=labels.interval(found.ci_low, found.ci_high),
                )
            )
    target = line.current.target if line.current is not None else None
    if target is not None:
        parts.append(_("target %(target)s", target=labels.target(target)))
    return f"{line.label}: " + "; ".join(parts) + "."
