"""Comment themes in the web app: stored at submission, re-run by the CLI, corrected by moderators
(audited, scoped), counted per unit on the agency dashboard and on the public page (cached)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from tests.conftest import csrf_from
from tests.pages import check_page
from tests.webapp.agency_fixtures import OURS, THEIRS, rate

JUNE = datetime(2026, 6, 10, 2, 0, tzinfo=UTC)
SEPTEMBER = datetime(2026, 9, 10, 2, 0, tzinfo=UTC)


def _themes(db, response_id):
    from webapp.models.insights import CommentTheme

    db.session.expire_all()
    rows = db.session.scalars(select(CommentTheme).where(CommentTheme.response_id == response_id)).all()
    return {row.theme: (row.negative, row.source) for row in rows}


def _commented(text, *, unit=OURS, at=SEPTEMBER, published=False):
    """A rating with ``text`` as its (stored) comment, themed by the rules; published if asked."""
    from webapp.extensions import db
    from webapp.insights.themes import assign_missing
    from webapp.models.feedback import CommentReview

    response_id = rate(unit, comment=text, answered_at=at)
    assign_missing()
    if published:
        db.session.add(CommentReview(response_id=response_id, status="published", reviewed_at=at))
    db.session.commit()
    return response_id


def _post_themes(http, response_id, values, *, csrf=True):
    page = http.get(f"/agency/comments/{response_id}")
    data = {f"theme-{code}": value for code, value in values.items()}
    if csrf:
        data["csrf_token"] = csrf_from(page)
    return http.post(f"/agency/comments/{response_id}/themes", data=data)


# --- storing ----------------------------------------------------------------------------------


def test_submission_themes_the_masked_comment_in_the_same_transaction(client, db, registry, monkeypatch):
    from surveys import themes
    from tests.surveys.test_online import PAGES, answer_pages, post_form, survey_url
    from webapp.insights import themes as service
    from webapp.models import Response

    read = []
    original = service.store_rule_themes
    monkeypatch.setattr(service, "store_rule_themes", lambda rid, text: (read.append(text), original(rid, text)))
    comment = "Chị Lan rất nhiệt tình, nhưng phải chờ lâu. Gọi tôi: 0912 345 678."
    answer_pages(client, PAGES[:6] + [{"overall": "4", "comment": comment}, {"consent_demographics": "yes"}])
    post_form(client, check_page(client.get(survey_url(9))), {})
    stored = db.session.scalars(select(Response)).one()
    assert read == [stored.comment] and "0912 345 678" not in read[0]
    assert _themes(db, stored.id) == {"attitude": (False, "rule"), "waiting": (True, "rule")}
    from webapp.models.insights import CommentTheme

    assert {r.rules_version for r in db.session.scalars(select(CommentTheme))} == {themes.rules_version()}


def test_a_response_without_comment_gets_no_themes(db, registry):
    from webapp.models.insights import CommentTheme

    rate(OURS)
    assert db.session.scalar(select(func.count()).select_from(CommentTheme)) == 0


def test_cli_assign_themes_missing_and_outdated_never_a_moderators_and_is_idempotent(db, runner, make_user):
    from sqlalchemy import update

    from webapp.models import AuditEvent
    from webapp.models.insights import CommentTheme

    fresh = rate(OURS, comment="Cán bộ cáu gắt.")
    old = rate(OURS, comment="Chờ đợi lâu.")
    corrected = rate(OURS, comment="Chờ đợi lâu.")
    db.session.add(CommentTheme(response_id=old, theme="other", negative=False, source="rule", rules_version="0"))
    db.session.add(CommentTheme(response_id=corrected, theme="fees", negative=True, source="moderator"))
    db.session.commit()

    answer = runner.invoke(args=["themes", "assign"])
    assert answer.exit_code == 0, answer.output
    assert answer.output.startswith("2 comments themed")
    assert _themes(db, fresh) == {"attitude": (True, "rule")}
    assert _themes(db, old) == {"waiting": (True, "rule")}
    assert _themes(db, corrected) == {"fees": (True, "moderator")}
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "themes.assign")).one().after == {
        "comments": 2
    }

    again = runner.invoke(args=["themes", "assign"])
    assert again.output.startswith("0 comments themed")
    # A new comment stored without themes (demo seeding bypasses the submission service).
    db.session.execute(update(CommentTheme).where(CommentTheme.response_id == fresh).values(rules_version="0"))
    db.session.commit()
    assert runner.invoke(args=["themes", "assign", "--unit", THEIRS]).output.startswith("0 comments")
    assert runner.invoke(args=["themes", "assign", "--unit", OURS]).output.startswith("1 comments")
    assert runner.invoke(args=["themes", "assign", "--unit", "nope"]).exit_code != 0


def test_cli_explain_shows_rule_negation_and_verdict(runner):
    answer = runner.invoke(args=["themes", "explain", "Cán bộ không niềm nở, không phải chờ."])
    assert "attitude: complaint" in answer.output
    assert "attitude.positive: «niềm nở» (negated) -> negative" in answer.output
    assert "waiting: not a complaint" in answer.output


# --- moderators correct themes ------------------------------------------------------------------


def test_manager_corrects_themes_audited_and_never_overwritten_by_the_rules(db, make_user, sign_in, runner):
    from webapp.models import AuditEvent

    response_id = _commented("Chờ đợi lâu, không có số thứ tự.")
    manager = make_user("agency_manager", OURS)
    http = sign_in(manager)
    page = check_page(http.get(f"/agency/comments/{response_id}"))
    assert page.select_one("#field-theme-waiting option[selected]")["value"] == "complaint"
    assert "Thời gian chờ" in page.get_text() or "Waiting time" in page.get_text()

    answer = _post_themes(http, response_id, {"waiting": "complaint", "attitude": "mention"})
    assert answer.status_code == 302
    assert _themes(db, response_id) == {"waiting": (True, "moderator"), "attitude": (False, "moderator")}
    from webapp.models.insights import CommentTheme

    assert {r.assigned_by_id for r in db.session.scalars(select(CommentTheme))} == {manager.id}
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "comment.themes")).one()
    assert event.user_id == manager.id and event.object_id == str(response_id)
    assert event.before["themes"] == [
        {
            "theme": "waiting",
            "negative": True,
            "source": "rule",
            "rules_version": event.before["themes"][0]["rules_version"],
        }
    ]
    assert [t["theme"] for t in event.after["themes"]] == ["waiting", "attitude"]
    assert runner.invoke(args=["themes", "assign"]).output.startswith("0 comments")
    assert _themes(db, response_id)["attitude"] == (False, "moderator")


@pytest.mark.parametrize(
    "values",
    [{}, {"waiting": "maybe"}, {"other": "mention", "fees": "complaint"}],
    ids=["no theme", "unknown answer", "other with another theme"],
)
def test_bad_theme_choices_are_refused_with_a_message(db, make_user, sign_in, values):
    response_id = _commented("Chờ đợi lâu.")
    http = sign_in(make_user("agency_manager", OURS))
    answer = _post_themes(http, response_id, values)
    assert answer.status_code == 400
    soup = check_page(answer, status=400)
    assert soup.select(".error-summary a")
    assert soup.select_one("#themes-error").get_text(strip=True)
    # The moderator's answers are shown again.
    for code, value in values.items():  # may be empty: the "no theme" case sends none
        selected = soup.select_one(f"#field-theme-{code} option[selected]")
        assert selected is None or selected["value"] == value
    assert _themes(db, response_id) == {"waiting": (True, "rule")}


def test_theme_correction_needs_csrf_an_editor_and_the_scope(db, make_user, sign_in):
    ours = _commented("Chờ đợi lâu.")
    theirs = _commented("Chờ đợi lâu.", unit=THEIRS)
    manager = sign_in(make_user("agency_manager", OURS))
    assert _post_themes(manager, ours, {"fees": "complaint"}, csrf=False).status_code == 400
    page = manager.get(f"/agency/comments/{ours}")
    refused = manager.post(
        f"/agency/comments/{theirs}/themes", data={"csrf_token": csrf_from(page), "theme-fees": "complaint"}
    )
    assert refused.status_code == 404
    assert _themes(db, theirs) == {"waiting": (True, "rule")}


def test_viewer_sees_themes_but_cannot_correct_them(db, make_user, sign_in):
    response_id = _commented("Cán bộ cáu gắt.")
    http = sign_in(make_user("viewer", OURS))
    soup = check_page(http.get(f"/agency/comments/{response_id}"))
    assert "Thái độ" in soup.get_text() or "Staff attitude" in soup.get_text()
    assert not soup.select("#field-theme-waiting")
    page = http.get(f"/agency/comments/{response_id}")
    answer = http.post(f"/agency/comments/{response_id}/themes", data={"theme-fees": "complaint"})
    assert answer.status_code in (400, 403) and page.status_code == 200
    assert _themes(db, response_id) == {"attitude": (True, "rule")}


# --- counts on the unit pages -------------------------------------------------------------------


def _table(soup):
    """``{theme label: [cells…]}`` of the themes table."""
    table = soup.select_one("#themes-heading").find_parent("section").select_one("table")
    return {
        row.th.get_text(" ", strip=True): [td.get_text(" ", strip=True) for td in row.select("td")]
        for row in table.select("tbody tr")
    }


def test_agency_dashboard_counts_themes_per_quarter_with_complaint_share(db, make_user, sign_in):
    for _ in range(6):
        _commented("Chờ đợi lâu, không có số thứ tự.")
    for _ in range(4):
        _commented("Thủ tục nhanh gọn.")
    _commented("Cán bộ cáu gắt.")
    _commented("Cán bộ cáu gắt.", at=JUNE)
    http = sign_in(make_user("agency_manager", OURS))
    soup = check_page(http.get(f"/agency/units/{OURS}"))
    section = soup.select_one("#themes-heading").find_parent("section")
    headers = [th.get_text(strip=True) for th in section.select("thead tr:first-child th")][1:]
    assert headers == ["2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"]
    rows = _table(soup)
    labels = list(rows)
    assert labels[0].startswith("Thời gian chờ")  # most complaints in 2026-Q3 first
    assert labels[1].startswith("Thái độ")
    waiting = rows[labels[0]]
    assert waiting[-2:] == ["10", "60%"]  # 10 comments, 6 of them complaints
    assert rows[labels[1]][-2:] == ["1", "–"]  # one comment: too few for a share
    assert rows[labels[1]][-4:-2] == ["1", "–"]  # 2026-Q2


def test_public_page_counts_only_published_comments_from_the_minimum(db, registry, client):
    from webapp.insights.themes import PUBLIC_MIN_COMMENTS

    for _ in range(PUBLIC_MIN_COMMENTS - 1):
        _commented("Chờ đợi lâu.", published=True)
    _commented("Cán bộ cáu gắt.")  # pending: never counted in public
    soup = check_page(client.get(f"/units/{OURS}"))
    section = soup.select_one("#themes-heading").find_parent("section")
    # Under the minimum, no quarter is shown: no table, no count, no share; the page says why.
    assert section.select_one("table") is None
    assert "dưới 10" in section.get_text(" ") and "%" not in section.get_text(" ")
    _commented("Chờ đợi lâu.", published=True)
    soup = check_page(client.get(f"/units/{OURS}"))
    rows = _table(soup)
    waiting = next(cells for label, cells in rows.items() if label.startswith("Thời gian chờ"))
    attitude = next(cells for label, cells in rows.items() if label.startswith("Thái độ"))
    assert waiting[-2:] == [str(PUBLIC_MIN_COMMENTS), "100%"]
    assert attitude[-2:] == ["0", "–"]


def test_public_page_has_no_theme_section_without_published_comments(db, registry, client):
    _commented("Chờ đợi lâu.")
    soup = check_page(client.get(f"/units/{OURS}"))
    assert soup.select_one("#themes-heading") is None


def test_a_theme_correction_leaves_the_public_page_cache(app, db, registry, client, make_user, sign_in):
    from public import cache as page_cache_module
    from webapp.insights.themes import PUBLIC_MIN_COMMENTS

    ids = [_commented("Chờ đợi lâu.", published=True) for _ in range(PUBLIC_MIN_COMMENTS)]
    cache = page_cache_module.page_cache(app)
    cache.clear()
    app.config["PUBLIC_PAGE_CACHE"] = True
    try:
        before = _table(check_page(client.get(f"/units/{OURS}")))
        assert next(c for label, c in before.items() if label.startswith("Thời gian chờ"))[-1] == "100%"
        http = sign_in(make_user("agency_manager", OURS), app.test_client())
        assert _post_themes(http, ids[0], {"attitude": "complaint"}).status_code == 302
        cache.comments_checked = None  # as after COMMENTS_CHECK_SECONDS
        after = _table(check_page(client.get(f"/units/{OURS}")))
        assert next(c for label, c in after.items() if label.startswith("Thời gian chờ"))[-2:] == ["9", "100%"]
        assert next(c for label, c in after.items() if label.startswith("Thái độ"))[-2] == "1"
    finally:
        app.config.pop("PUBLIC_PAGE_CACHE")
        cache.clear()


# --- the demo's planted themes --------------------------------------------------------------------


def test_demo_dashboard_shows_the_planted_themes_with_their_counts(db, registry, make_user, sign_in):
    """The demo plants complaints about waiting most, then staff attitude (webapp/demo/comments.py);
    the seed themes its comments (nothing is left for :func:`assign_missing`), and the province's
    dashboard lists them first, with the counts of the stored themes."""
    from webapp.demo.seed import seed_demo
    from webapp.insights.themes import assign_missing
    from webapp.models import Response, Unit
    from webapp.models.insights import CommentTheme
    from webapp.periods import Period

    seed_demo(
        responses=12_000, seed=11, now=datetime(2026, 9, 29, 3, 0, tzinfo=UTC), first_quarter=Period(2026, "Q", 2)
    )
    assert db.session.scalar(select(func.count()).select_from(CommentTheme)) > 0
    assert assign_missing() == 0
    province = db.session.scalars(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.code)).first()
    complaints = dict(
        db.session.execute(
            select(CommentTheme.theme, func.count())
            .join(Response, Response.id == CommentTheme.response_id)
            .where(Response.period == "2026-Q3", CommentTheme.negative.is_(True))
            .group_by(CommentTheme.theme)
        ).all()
    )
    mentions = dict(
        db.session.execute(
            select(CommentTheme.theme, func.count())
            .join(Response, Response.id == CommentTheme.response_id)
            .where(Response.period == "2026-Q3")
            .group_by(CommentTheme.theme)
        ).all()
    )
    http = sign_in(make_user("admin"))
    rows = _table(check_page(http.get(f"/agency/units/{province.code}")))
    labels = list(rows)
    assert labels[0].startswith("Thời gian chờ") and labels[1].startswith("Thái độ")
    assert rows[labels[0]][-2] == str(mentions["waiting"]) and rows[labels[1]][-2] == str(mentions["attitude"])
    assert (
        complaints["waiting"]
        > complaints["attitude"]
        > max(n for theme, n in complaints.items() if theme not in ("waiting", "attitude"))
    )
