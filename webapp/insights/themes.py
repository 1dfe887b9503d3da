"""Comment themes (issue #16): storing the rules' themes, and the theme tables of the unit pages.

* :func:`store_rule_themes` — the themes of one masked comment, written by the submission
  service in the transaction that stores the comment (``source='rule'``).
* :func:`assign_missing` — the rules run again on comments without themes (demo data, rows
  stored before the rules existed) or themed by an older ``rules_version``; never on a comment a
  moderator corrected. Idempotent: a second run finds nothing to do (``flask themes assign``).
* :func:`agency_section` / :func:`public_section` — counts per theme for the last
  :data:`QUARTERS` quarters of the unit and every unit under it (as the dashboard's response
  rates), with the share of complaints (negative mentions). The public table counts only
  published comments, and shows a quarter only from :data:`PUBLIC_MIN_COMMENTS` themed published
  comments on; a share of complaints is shown from :data:`MIN_FOR_SHARE` mentions on.

Rows are sorted by the latest quarter's complaints, then mentions: what to fix first comes first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import and_, case, delete, exists, func, insert, or_, select

from surveys import themes as rules
from webapp.extensions import db
from webapp.models import Response, Unit, utcnow
from webapp.models.feedback import CommentReview
from webapp.models.insights import CommentTheme
from webapp.periods import Period
from webapp.portal.response_rates import subtree_ids

#: Quarters in the trend table (the latest with themed comments and the ones before it).
QUARTERS = 4
#: A public quarter's column is shown from this many themed published comments on.
PUBLIC_MIN_COMMENTS = 10
#: The share of complaints among a theme's mentions is shown from this many mentions on.
MIN_FOR_SHARE = 5
#: Comments themed per batch by :func:`assign_missing`.
BATCH = 500


def rule_rows(response_id: int, text: str) -> list[dict]:
    """The ``comment_themes`` rows the rules give ``text`` (masked already)."""
    version, now = rules.rules_version(), utcnow()
    return [
        {
            "response_id": response_id,
            "theme": found.theme,
            "negative": found.negative,
            "source": "rule",
            "rules_version": version,
            "assigned_at": now,
        }
        for found in rules.assign(text)
    ]


def store_rule_themes(response_id: int, text: str | None) -> None:
    """Write the rules' themes of a just-stored comment (current transaction; nothing for no text)."""
    if text and text.strip():
        db.session.execute(insert(CommentTheme.__table__), rule_rows(response_id, text))


def _needing_rules():
    """Commented responses without a moderator's themes and without current rule themes."""
    version = rules.rules_version()
    themed = exists().where(CommentTheme.response_id == Response.id)
    corrected = exists().where(CommentTheme.response_id == Response.id, CommentTheme.source == "moderator")
    outdated = exists().where(
        CommentTheme.response_id == Response.id,
        CommentTheme.source == "rule",
        or_(CommentTheme.rules_version.is_(None), CommentTheme.rules_version != version),
    )
    return and_(Response.comment.is_not(None), Response.comment != "", ~corrected, or_(~themed, outdated))


def assign_missing(unit_ids: Iterable[int] | None = None, batch: int = BATCH) -> int:
    """Theme every comment that needs it (see the module); returns how many. Flushes, never commits.

    ``unit_ids`` limits the run to those units' responses.
    """
    condition = _needing_rules()
    if unit_ids is not None:
        condition = and_(condition, Response.unit_id.in_(list(unit_ids)))
    done, last = 0, 0
    while True:
        rows = db.session.execute(
            select(Response.id, Response.comment)
            .where(condition, Response.id > last)
            .order_by(Response.id)
            .limit(batch)
        ).all()
        if not rows:
            return done
        ids = [row.id for row in rows]
        db.session.execute(delete(CommentTheme).where(CommentTheme.response_id.in_(ids), CommentTheme.source == "rule"))
        db.session.execute(insert(CommentTheme.__table__), [r for row in rows for r in rule_rows(row.id, row.comment)])
        db.session.flush()
        done += len(rows)
        last = ids[-1]


def themes_of(response_id: int) -> list[CommentTheme]:
    """The stored themes of one comment, in taxonomy order."""
    order = rules.theme_codes()
    found = db.session.scalars(select(CommentTheme).where(CommentTheme.response_id == response_id)).all()
    return sorted(found, key=lambda row: order.index(row.theme) if row.theme in order else len(order))


# --- the unit pages' tables --------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One theme in one quarter: comments mentioning it, and how many of those complain."""

    mentions: int
    negative: int

    @property
    def share_negative(self) -> float | None:
        return self.negative / self.mentions if self.mentions >= MIN_FOR_SHARE else None


@dataclass(frozen=True)
class ThemeRow:
    theme: rules.Theme
    #: One per :attr:`ThemeSection.periods` (``None``: the quarter is not shown).
    cells: list[Cell | None]


@dataclass
class ThemeSection:
    #: Oldest first; the last one is the latest quarter with themed comments.
    periods: list[str]
    #: Themed comments per quarter (``None``: too few to show in public).
    comments: list[int | None]
    rows: list[ThemeRow] = field(default_factory=list)
    includes_subunits: bool = False
    public: bool = False
    min_comments: int = PUBLIC_MIN_COMMENTS
    min_for_share: int = MIN_FOR_SHARE

    @property
    def latest(self) -> str:
        return self.periods[-1]

    @property
    def latest_shown(self) -> bool:
        return self.comments[-1] is not None

    @property
    def ordered_by(self) -> str:
        """The quarter whose complaints order the rows: the latest one shown."""
        return self.periods[self.shown[-1]] if self.shown else self.latest

    @property
    def shown(self) -> list[int]:
        """Positions of the quarters the table shows (those with enough comments)."""
        return [i for i, n in enumerate(self.comments) if n is not None]

    @property
    def left_out(self) -> list[str]:
        """The quarters left out of the public table: too few published comments with a theme."""
        return [p for p, n in zip(self.periods, self.comments, strict=True) if n is None]


def _themed(scope: list[int] | None, public: bool):
    """Responses (id, period) with a themed comment, of these units (None: all), published ones only if ``public``."""
    base = select(Response.id, Response.period)
    if scope is not None:
        base = base.where(Response.unit_id.in_(scope))
    if public:
        base = base.join(CommentReview, CommentReview.response_id == Response.id).where(
            CommentReview.status == "published"
        )
    return base.where(exists().where(CommentTheme.response_id == Response.id)).subquery()


def period_counts(scope: list[int] | None, labels: list[str], *, public: bool = False, themed=None):
    """Themed comments per quarter of ``labels``, and ``(quarter, theme, mentions, complaints)`` rows.

    ``scope``: unit ids (None: every unit). In public, a comment a moderator shortened counts the themes
    the rules find in its published text.
    """
    themed = themed if themed is not None else _themed(scope, public)
    totals = dict(
        db.session.execute(
            select(themed.c.period, func.count()).where(themed.c.period.in_(labels)).group_by(themed.c.period)
        ).all()
    )
    edited = _edited_published(scope, labels) if public else {}
    query = (
        select(
            themed.c.period,
            CommentTheme.theme,
            func.count(),
            func.sum(case((CommentTheme.negative.is_(True), 1), else_=0)),
        )
        .join(CommentTheme, CommentTheme.response_id == themed.c.id)
        .where(themed.c.period.in_(labels))
        .group_by(themed.c.period, CommentTheme.theme)
    )
    if edited:
        query = query.where(themed.c.id.not_in(list(edited)))
    counts = [tuple(row) for row in db.session.execute(query).all()]
    counts += [
        (period, found.theme, 1, int(found.negative))
        for period, text in edited.values()
        for found in rules.assign(text)
    ]
    return totals, counts


def _section(unit: Unit, *, public: bool) -> ThemeSection | None:
    scope = subtree_ids(unit)
    themed = _themed(scope, public)
    latest = db.session.scalar(select(func.max(themed.c.period)))
    if latest is None:
        return None
    quarter = Period.parse(latest)
    periods = [quarter]
    while len(periods) < QUARTERS:
        periods.insert(0, periods[0].previous())
    labels = [p.label for p in periods]
    totals, counts = period_counts(scope, labels, public=public, themed=themed)
    shown = [
        (totals.get(label, 0) if not public or totals.get(label, 0) >= PUBLIC_MIN_COMMENTS else None)
        for label in labels
    ]
    cells: dict[str, dict[str, Cell]] = {}
    for period, code, mentions, negative in counts:
        was = cells.setdefault(code, {}).get(period, Cell(0, 0))
        cells[code][period] = Cell(was.mentions + int(mentions), was.negative + int(negative or 0))
    order = rules.theme_codes()
    rows = [
        ThemeRow(
            rules.theme(code),
            [
                cells.get(code, {}).get(label, Cell(0, 0)) if shown[i] is not None else None
                for i, label in enumerate(labels)
            ],
        )
        for code in order
    ]
    # Ordered by the latest quarter the table shows (a quarter left out never orders the rows).
    last = max((i for i, n in enumerate(shown) if n is not None), default=len(labels) - 1)
    latest_cell = {row.theme.code: row.cells[last] or Cell(0, 0) for row in rows}
    rows.sort(
        key=lambda row: (
            -latest_cell[row.theme.code].negative,
            -latest_cell[row.theme.code].mentions,
            order.index(row.theme.code),
        )
    )
    return ThemeSection(labels, shown, rows, includes_subunits=len(scope) > 1, public=public)


def _edited_published(scope: list[int], labels: list[str]) -> dict[int, tuple[str, str]]:
    """``{response id: (period, published text)}`` of the published comments of the quarters whose
    text a moderator shortened and whose themes the rules gave (not a moderator).

    Their stored themes come from the whole comment; the public table counts the themes of the
    published text instead, so that a theme carried only by the words left out is not published.
    """
    corrected = exists().where(CommentTheme.response_id == Response.id, CommentTheme.source == "moderator")
    rows = db.session.execute(
        select(Response.id, Response.period, CommentReview.edited_text)
        .join(CommentReview, CommentReview.response_id == Response.id)
        .where(
            Response.unit_id.in_(scope),
            Response.period.in_(labels),
            CommentReview.status == "published",
            CommentReview.edited_text.is_not(None),
            CommentReview.edited_text != "",
            ~corrected,
            exists().where(CommentTheme.response_id == Response.id),
        )
    ).all()
    return {row.id: (row.period, row.edited_text) for row in rows}


def public_section(unit: Unit) -> ThemeSection | None:
    """Themes of the published comments on the unit (and the units under it), or None."""
    return _section(unit, public=True)


def agency_section(unit: Unit) -> ThemeSection | None:
    """Themes of every comment on the unit (and the units under it), or None."""
    return _section(unit, public=False)


def theme_choices() -> Sequence[rules.Theme]:
    """The taxonomy, for the moderator's form."""
    return [rules.theme(code) for code in rules.theme_codes()]
