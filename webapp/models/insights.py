"""From scores to action (issue #16): key drivers, comment themes and agencies' action plans.

* :class:`PublishedDriver` — for a published snapshot, how strongly satisfaction with each aspect
  is associated with overall satisfaction in a domain (design-based logistic regression,
  :mod:`analysis.drivers`), beside the aspect's own rate. Frozen with its snapshot like the rates.
* :class:`CommentTheme` — the themes of one (already masked) comment: assigned by the documented
  rules of :mod:`surveys.themes`, or corrected by a moderator (audited).
* :class:`ActionPlan` and :class:`ActionUpdate` — what an agency said it will change for an aspect
  or a theme, by when, who is responsible (a post or an office, never a person's name), and its
  progress: the public "you said — we will — we did".
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models.accounts import User
from webapp.models.publishing import DOMAIN_TYPES
from webapp.models.registry import Unit
from webapp.models.types import BigIdentifier, JSONDocument, UTCDateTime, one_of, utcnow

__all__ = ["ACTION_STATUSES", "THEME_SOURCES", "ActionPlan", "ActionUpdate", "CommentTheme", "PublishedDriver"]

THEME_SOURCES = ("rule", "moderator")
ACTION_STATUSES = ("planned", "in_progress", "done", "dropped")


class PublishedDriver(db.Model):
    """One aspect's association with overall satisfaction in a domain of a published snapshot.

    ``coefficient`` is the log odds ratio of being satisfied overall for a respondent satisfied
    with the aspect against one who is not, the other aspects held equal; ``se`` and the interval
    are design-based (linearisation, as R's ``svyglm``). Only stored for domains whose overall rate
    is published with an estimate and whose sample allows a model (see :mod:`webapp.publishing.drivers`).
    """

    __tablename__ = "published_drivers"
    __table_args__ = (
        UniqueConstraint("snapshot_id", "indicator", "domain_type", "domain", "aspect"),
        CheckConstraint(one_of("domain_type", DOMAIN_TYPES), name="domain_type"),
        CheckConstraint("n > 0", name="n_positive"),
        Index("ix_published_drivers_lookup", "indicator", "domain_type", "domain"),
    )

    id: Mapped[int] = mapped_column(BigIdentifier, primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("published_snapshots.id", ondelete="CASCADE"), index=True)
    #: The overall indicator the model explains, e.g. ``sat-agencies``.
    indicator: Mapped[str] = mapped_column(String(60))
    domain_type: Mapped[str] = mapped_column(String(20))
    domain: Mapped[str] = mapped_column(String(40))
    #: The aspect's code (``access``, ``civil_servant``…).
    aspect: Mapped[str] = mapped_column(String(60))
    #: Responses in the model (complete cases).
    n: Mapped[int] = mapped_column(Integer)
    #: Performance: the weighted share satisfied with the aspect among those responses.
    performance: Mapped[float] = mapped_column(Float)
    #: Importance: log odds ratio, its standard error and 95% interval; NULL when not estimable.
    coefficient: Mapped[float | None] = mapped_column(Float)
    se: Mapped[float | None] = mapped_column(Float)
    ci_low: Mapped[float | None] = mapped_column(Float)
    ci_high: Mapped[float | None] = mapped_column(Float)
    #: 1 = the strongest association in the domain.
    rank: Mapped[int | None] = mapped_column(Integer)
    #: Method name and version, degrees of freedom, quadrant of the priority matrix, notes.
    extra: Mapped[dict] = mapped_column(JSONDocument, default=dict)


class CommentTheme(db.Model):
    """One theme of one response's comment; a comment with text has at least one (``other``)."""

    __tablename__ = "comment_themes"
    __table_args__ = (
        CheckConstraint(one_of("source", THEME_SOURCES), name="source"),
        Index("ix_comment_themes_theme", "theme"),
    )

    response_id: Mapped[int] = mapped_column(
        BigIdentifier, ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True
    )
    #: A code of the taxonomy (``surveys/themes.yaml``): ``waiting``, ``attitude``…
    theme: Mapped[str] = mapped_column(String(30), primary_key=True)
    #: The mention is a complaint (True) or not (praise, neutral, suggestion).
    negative: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(10), default="rule")
    #: The rules' version for ``rule`` rows (re-assignment replaces older rule rows, never a moderator's).
    rules_version: Mapped[str | None] = mapped_column(String(20))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class ActionPlan(db.Model):
    """What a unit will change in answer to what citizens said about an aspect or a theme."""

    __tablename__ = "action_plans"
    __table_args__ = (
        CheckConstraint(one_of("status", ACTION_STATUSES), name="status"),
        CheckConstraint("aspect IS NOT NULL OR theme IS NOT NULL", name="has_subject"),
        CheckConstraint("length(trim(action)) > 0", name="action_given"),
        CheckConstraint("length(trim(responsible)) > 0", name="responsible_given"),
        Index("ix_action_plans_unit", "unit_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    #: The overall indicator whose aspect is meant (``sat-agencies``…), with ``aspect``.
    indicator: Mapped[str | None] = mapped_column(String(60))
    aspect: Mapped[str | None] = mapped_column(String(60))
    theme: Mapped[str | None] = mapped_column(String(30))
    #: The period whose results prompted the plan (``2026-Q3``): the "before" of the public comparison.
    baseline_period: Mapped[str] = mapped_column(String(7))
    #: "You said": what citizens said, in the agency's words (public; no personal data).
    said: Mapped[str] = mapped_column(Text)
    #: "We will": what will change.
    action: Mapped[str] = mapped_column(Text)
    #: Who is responsible: a post or an office ("Bộ phận một cửa"), not a person's name.
    responsible: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="planned")
    #: "We did": what was done, once done.
    outcome: Mapped[str | None] = mapped_column(Text)
    done_on: Mapped[date | None] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit] = relationship()
    created_by: Mapped[User | None] = relationship()
    updates: Mapped[list[ActionUpdate]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="ActionUpdate.created_at"
    )


class ActionUpdate(db.Model):
    """A dated progress note on an action plan (public), with the status it set."""

    __tablename__ = "action_updates"
    __table_args__ = (
        CheckConstraint(one_of("status", ACTION_STATUSES), name="status"),
        CheckConstraint("length(trim(note)) > 0", name="note_given"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("action_plans.id", ondelete="CASCADE"), index=True)
    note: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    plan: Mapped[ActionPlan] = relationship(back_populates="updates")
