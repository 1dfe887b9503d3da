"""Issue #16 reviewed from outside: duplicate submissions, hostile input and ids on the action-plan
and theme-correction routes, escaping on the agency and public pages, and the priority chart."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import select

from tests.conftest import csrf_from
from tests.pages import check_page
from tests.webapp.agency_fixtures import OURS
from tests.webapp.test_action_plans import GOOD, _create, _events, _plans, _update, published  # noqa: F401

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_a_double_submitted_plan_is_saved_once(db, published, make_user, sign_in):  # noqa: F811
    http = sign_in(make_user("agency_manager", OURS))
    page = http.get(f"/agency/units/{OURS}/actions/new?lang=en")
    data = {"csrf_token": csrf_from(page), **GOOD}
    first = http.post(f"/agency/units/{OURS}/actions", data=data)
    again = http.post(f"/agency/units/{OURS}/actions", data=data)
    (plan,) = _plans(db)
    # The second click lands on the plan the first one saved, and says so.
    assert first.status_code == again.status_code == 302
    assert again.headers["Location"] == first.headers["Location"]
    assert "already saved" in check_page(http.get(again.headers["Location"] + "?lang=en")).get_text(" ")
    assert len(_events(db, "action_plan.create")) == 1


def test_a_double_submitted_progress_note_is_saved_once(db, published, make_user, sign_in):  # noqa: F811
    http = sign_in(make_user("agency_manager", OURS))
    _create(http, GOOD)
    plan_id = _plans(db)[0].id
    note = {"status": "in_progress", "note": "Đã đặt mua bảng niêm yết."}
    assert _update(http, plan_id, note).status_code == 302
    assert _update(http, plan_id, note).status_code == 302
    assert [u.note for u in _plans(db)[0].updates] == [note["note"]]
    assert len(_events(db, "action_plan.update")) == 1
    # The same words again later with another status are a new step, kept.
    assert _update(http, plan_id, {**note, "status": "dropped"}).status_code == 302
    assert len(_plans(db)[0].updates) == 2


def test_masking_cannot_push_the_responsible_post_past_its_column(db, published, make_user, sign_in):  # noqa: F811
    # 18 phone numbers: 198 characters typed, 288 once each becomes "[số điện thoại]".
    typed = " ".join(["0912345678"] * 18)
    assert len(typed) <= 200
    http = sign_in(make_user("agency_manager", OURS))
    answer = _create(http, {**GOOD, "responsible": typed})
    assert answer.status_code == 400
    error = check_page(answer, status=400).select_one("#field-responsible-error").get_text(" ")
    assert "200 characters" in error and "masked" in error
    assert _plans(db) == []


@pytest.mark.parametrize(
    "path",
    [
        "/agency/actions/99999999999999999999999",
        "/agency/actions/99999999999999999999999/updates",
        "/agency/comments/99999999999999999999999/themes",
    ],
)
def test_out_of_range_ids_answer_404(app, db, published, make_user, sign_in, path):  # noqa: F811
    from tests.webapp.test_role_matrix import valid_csrf_token

    http = sign_in(make_user("agency_manager", OURS))
    if path.endswith(("updates", "themes")):
        answer = http.post(path, data={"csrf_token": valid_csrf_token(app, http), "status": "dropped", "note": "x"})
    else:
        answer = http.get(path)
    assert answer.status_code == 404


def test_hostile_plan_texts_are_shown_as_text_everywhere(db, published, make_user, sign_in, client):  # noqa: F811
    http = sign_in(make_user("agency_manager", OURS))
    answer = _create(http, {**GOOD, "said": HOSTILE, "action": HOSTILE, "responsible": "Tổ <b>một cửa</b>"})
    assert answer.status_code == 302
    plan_id = _plans(db)[0].id
    assert _update(http, plan_id, {"status": "done", "note": HOSTILE, "outcome": HOSTILE}).status_code == 302
    pages = [
        http.get(f"/agency/actions/{plan_id}?lang=en"),
        http.get(f"/agency/units/{OURS}/actions?lang=en"),
        http.get(f"/agency/units/{OURS}?lang=en"),
        client.get(f"/units/{OURS}?lang=en"),
    ]
    for page in pages:
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert "<script>alert" not in html and "<img src=x" not in html and "<b>một cửa" not in html
        soup = check_page(page)
        assert not soup.select("main script, main img[src=x], main b")
    assert HOSTILE in check_page(client.get(f"/units/{OURS}?lang=en")).get_text()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"responsible": "x" * 201}, "responsible"),
        ({"responsible": "Bộ phận\u202emột cửa"}, "responsible"),
        ({"said": "x" * 1001}, "said"),
        ({"due_on": "31/12/99999"}, "due_on"),
        ({"due_on": "29/02/2027"}, "due_on"),
        ({"baseline_period": "2026-Q9"}, "baseline_period"),
        ({"subject": "aspect:" + "x" * 5000}, "subject"),
    ],
)
def test_more_bad_plan_input_is_a_400_with_the_field_named(db, published, make_user, sign_in, data, field):  # noqa: F811
    http = sign_in(make_user("agency_manager", OURS))
    answer = _create(http, {**GOOD, **data})
    assert answer.status_code == 400
    assert check_page(answer, status=400).select_one(f"#field-{field}-error") is not None
    assert _plans(db) == []


def test_bad_progress_input_is_a_400(db, published, make_user, sign_in):  # noqa: F811
    http = sign_in(make_user("agency_manager", OURS))
    _create(http, GOOD)
    plan_id = _plans(db)[0].id
    for data in (
        {"status": "done", "note": "ok", "outcome": "y" * 2001},
        {"status": "in_progress", "note": "a\x00b"},
        {"status": "x" * 5000, "note": "ok"},
    ):
        assert _update(http, plan_id, data).status_code == 400
    assert _plans(db)[0].updates == []


def test_priority_chart_skips_points_it_cannot_place():
    from public import charts

    text = charts.ChartText(title="t", desc="d", x_label="x", y_label="y", target_label="", empty="none")
    points = [
        charts.PriorityPoint("a", 0.8, 1.2, 1),
        charts.PriorityPoint("b", 0.7, math.nan, 2),
        charts.PriorityPoint("c", 0.6, math.inf, 3),
    ]
    svg = str(charts.priority_svg(points, text, ("1", "2", "3", "4"), split=1.2))
    assert svg.count('class="point"') == 1


def test_plan_texts_mask_the_formats_the_issue_lists(db, published, make_user, sign_in, client):  # noqa: F811
    http = sign_in(make_user("agency_manager", OURS))
    said = (
        "Tôi tên Mùa A Sáng, gọi 0 9 1 2 3 4 5 6 7 8 hoặc 0912/345/678, 0912_345_678, "
        "0912\u200b345\u200b678, thư nguyenvana @ gmail . com mà không ai trả lời."
    )
    assert _create(http, {**GOOD, "said": said}).status_code == 302
    plan_id = _plans(db)[0].id
    assert (
        _update(http, plan_id, {"status": "in_progress", "note": "Đã gọi lại cho bà Lò Thị Xuân."}).status_code == 302
    )
    stored = _plans(db)[0]
    public = check_page(client.get(f"/units/{OURS}?lang=en")).get_text(" ")
    audit = [str(e.after) for e in _events(db, "action_plan.create") + _events(db, "action_plan.update")]
    assert audit
    for leak in ("Mùa A Sáng", "5 6 7 8", "345/678", "345_678", "345\u200b678", "nguyenvana", "Lò Thị Xuân"):
        assert leak not in stored.said + stored.updates[0].note
        assert leak not in public
        assert not any(leak in text for text in audit)


@pytest.mark.parametrize("value", ["<script>alert(1)</script>", "complaint\x00", "x" * 10000])
def test_hostile_theme_corrections_are_a_400_shown_as_text(db, registry, make_user, sign_in, value):
    from tests.webapp.test_comment_themes import _commented, _post_themes, _themes

    response_id = _commented("Chờ đợi lâu quá.")
    before = _themes(db, response_id)
    http = sign_in(make_user("agency_manager", OURS))
    answer = _post_themes(http, response_id, {"waiting": value})
    assert answer.status_code == 400
    assert "<script>alert" not in answer.get_data(as_text=True)
    check_page(answer, status=400)
    assert _themes(db, response_id) == before


def test_a_theme_correction_sent_twice_is_recorded_once(db, registry, make_user, sign_in):
    from tests.webapp.test_comment_themes import _commented, _post_themes, _themes

    response_id = _commented("Chờ đợi lâu quá.")
    http = sign_in(make_user("agency_manager", OURS))
    # Confirming the rules' own themes makes them the moderator's (the rules leave them alone).
    assert _post_themes(http, response_id, {"waiting": "complaint"}).status_code == 302
    assert _themes(db, response_id) == {"waiting": (True, "moderator")}
    assert _post_themes(http, response_id, {"waiting": "complaint"}).status_code == 302
    assert len(_events(db, "comment.themes")) == 1
    assert _post_themes(http, response_id, {"waiting": "mention"}).status_code == 302
    assert len(_events(db, "comment.themes")) == 2 and _themes(db, response_id) == {"waiting": (False, "moderator")}


def test_public_theme_counts_follow_the_published_text_not_the_words_a_moderator_removed(
    db, registry, client, make_user
):
    """A moderator may publish a comment with words left out ("[…]"): the public table must not
    count a theme only those words carried; the agency's table still counts the whole comment."""
    from tests.webapp.test_comment_themes import _commented, _table
    from webapp.agency import moderation
    from webapp.insights.themes import PUBLIC_MIN_COMMENTS
    from webapp.models import Response

    for _ in range(PUBLIC_MIN_COMMENTS - 1):
        _commented("Chờ đợi lâu.", published=True)
    edited = _commented("Chờ đợi lâu. Cán bộ đòi tiền bồi dưỡng mới làm.", published=True)
    manager = make_user("agency_manager", OURS)
    moderation.edit_text(db.session.get(Response, edited), "Chờ đợi lâu. […]", manager)
    db.session.commit()
    rows = _table(check_page(client.get(f"/units/{OURS}")))
    fees = next(cells for label, cells in rows.items() if label.startswith("Phí"))
    waiting = next(cells for label, cells in rows.items() if label.startswith("Thời gian chờ"))
    assert fees[-2] == "0" and waiting[-2:] == [str(PUBLIC_MIN_COMMENTS), "100%"]
    from webapp.insights.themes import agency_section
    from webapp.models import Unit

    section = agency_section(db.session.scalar(select(Unit).where(Unit.code == OURS)))
    assert next(r for r in section.rows if r.theme.code == "fees").cells[-1].mentions == 1


def test_eight_copies_of_one_plan_sent_at_once_store_one(app, db, published, backend, make_user, sign_in):  # noqa: F811
    """The duplicate check holds the unit's row, so copies sent at the same moment wait for each
    other (PostgreSQL; SQLite runs one writer at a time and has no row locks to take)."""
    import threading

    if backend != "postgresql":
        pytest.skip("row locks: PostgreSQL")
    from tests.webapp.test_role_matrix import valid_csrf_token
    from webapp.extensions import limiter

    limiter.reset()
    copies = 8
    clients = [
        sign_in(make_user("agency_manager", OURS, email=f"m{i}@sonla.gov.vn"), app.test_client()) for i in range(copies)
    ]
    tokens = [valid_csrf_token(app, http) for http in clients]
    barrier = threading.Barrier(copies)
    statuses: list[int] = []

    def send(http, token):
        barrier.wait()
        statuses.append(http.post(f"/agency/units/{OURS}/actions", data={"csrf_token": token, **GOOD}).status_code)

    threads = [threading.Thread(target=send, args=pair) for pair in zip(clients, tokens, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [302] * copies
    assert len(_plans(db)) == 1 and len(_events(db, "action_plan.create")) == 1
