"""The weekly integrity summary: the last N days' signals, counted per signal, with the top units.

One function (:func:`weekly_summary`) feeds both the admin page and
``flask --app webapp integrity summary``, so they never disagree.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from webapp.integrity.signals import SIGNAL_CODES, SIGNAL_NAMES, Report, Signal, UnitRef, Window, compute_signals

#: Units named in the summary.
TOP_UNITS = 10
DEFAULT_DAYS = 7


@dataclass(frozen=True)
class Summary:
    report: Report
    #: ``{signal code: number of signals}``, in the order of :data:`SIGNAL_CODES`.
    counts: dict[str, int]
    #: ``(unit, its signals)``, most serious first, at most :data:`TOP_UNITS`.
    top_units: list[tuple[UnitRef, list[Signal]]]

    @property
    def window(self) -> Window:
        return self.report.window

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.window.start.isoformat(timespec="seconds"),
            "to": self.window.end.isoformat(timespec="seconds"),
            "quarter": self.window.quarter.label,
            "totals": self.report.totals(),
            "signals_by_code": self.counts,
            "top_units": [
                {"unit": unit.code or None, "name": unit.name_vi, "signals": [signal.as_dict() for signal in signals]}
                for unit, signals in self.top_units
            ],
        }

    def as_json(self) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False, indent=2, sort_keys=True)

    def as_text(self) -> str:
        """Plain lines for a terminal or an e-mail."""
        totals = self.report.totals()
        lines = [
            _(
                "Integrity summary from %(start)s to %(end)s (quarterly signals: %(quarter)s)",
                start=self.window.start.isoformat(timespec="minutes"),
                end=self.window.end.isoformat(timespec="minutes"),
                quarter=self.window.quarter.label,
            ),
            _(
                "Responses %(responses)s, flagged %(flagged)s, late %(late)s, reinstated %(reinstated)s, refused attempts %(refused)s",
                **totals,
            ),
            "",
            _("Signals:"),
        ]
        if not any(self.counts.values()):
            lines.append("  " + _("none"))
        for code, count in self.counts.items():
            if count:
                lines.append(f"  {code:<28} {count:>5}  {SIGNAL_NAMES[code]}")
        if self.top_units:
            lines += ["", _("Units with the most serious signals:")]
        for unit, signals in self.top_units:
            lines.append(f"  {unit.code or '-'}  {unit.name_vi}")
            for signal in signals:
                device = f" [{signal.device_id}]" if signal.device_id else ""
                lines.append(f"    {signal.severity:<6} {signal.code}{device}: {signal.explanation}")
        return "\n".join(lines)


def weekly_summary(days: int = DEFAULT_DAYS, now: datetime | None = None) -> Summary:
    """The signals of the last ``days`` days (raises ``ValueError`` outside 1–366)."""
    report = compute_signals(Window.last_days(days, now))
    counted = Counter(signal.code for signal in report.signals)
    return Summary(report, {code: counted[code] for code in SIGNAL_CODES}, report.by_unit()[:TOP_UNITS])
