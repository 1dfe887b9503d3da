"""The comments inbox and moderation: masking, publish, hide, edit, reply, back to pending, audit."""

from __future__ import annotations

from sqlalchemy import select

from tests.conftest import csrf_from
from tests.pages import check_page
from tests.webapp.agency_fixtures import OURS, THEIRS, rate

REALISTIC = (
    "Tôi là anh Tuấn, gọi 0912 345 678 hoặc +84 912345678 nếu cần, CCCD 034095001234. Cán bộ hướng dẫn tận tình."
)


def _events(db, action):
    from webapp.models import AuditEvent

    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def _review(db, response_id):
    from webapp.models.feedback import CommentReview

    db.session.expire_all()
    return db.session.get(CommentReview, response_id)


def _post(http, url, data=None, page=None):
    page = page or http.get(f"/agency/units/{OURS}/comments")
    return http.post(url, data={"csrf_token": csrf_from(page), **(data or {})})


def test_inbox_masks_personal_data_again_and_shows_the_rating(db, make_user, sign_in):
    response_id = rate(OURS, overall=1, comment=REALISTIC)
    http = sign_in(make_user("agency_manager", OURS))
    page = http.get(f"/agency/units/{OURS}/comments")
    soup = check_page(page)
    text = soup.get_text(" ")
    for secret in ("0912 345 678", "912345678", "034095001234", "Tuấn"):
        assert secret not in text
    assert "[số điện thoại]" in text and "[số giấy tờ]" in text and "[tên]" in text
    assert "Cán bộ hướng dẫn tận tình." in text
    assert "1/3" in text.replace(" ", "") or "1 trên 3" in text or "1 of 3" in text
    detail = http.get(f"/agency/comments/{response_id}")
    detail_text = check_page(detail).get_text(" ")
    assert "0912 345 678" not in detail_text and "034095001234" not in detail_text


def test_filters_status_period_service_and_pagination(db, make_user, sign_in):
    for i in range(23):
        rate(OURS, comment=f"Góp ý số {i}", service="land" if i % 2 else "civil-status")
    http = sign_in(make_user("agency_manager", OURS))
    first = check_page(http.get(f"/agency/units/{OURS}/comments"))
    assert len(first.select("ol.inbox > li")) == 20
    assert "Góp ý số 22" in first.get_text()  # newest first
    second = check_page(http.get(f"/agency/units/{OURS}/comments?page=2"))
    assert len(second.select("ol.inbox > li")) == 3
    land = check_page(http.get(f"/agency/units/{OURS}/comments?service=land"))
    assert len(land.select("ol.inbox > li")) == 11
    none = check_page(http.get(f"/agency/units/{OURS}/comments?status=published"))
    assert not none.select("ol.inbox > li")
    other_period = check_page(http.get(f"/agency/units/{OURS}/comments?period=2019-Q1"))
    assert not other_period.select("ol.inbox > li")
    # Garbage in the filters falls back to the defaults instead of failing.
    assert http.get(f"/agency/units/{OURS}/comments?status=x&period=zz&service=nope&page=-4").status_code == 200


def test_publish_reply_hide_and_back_to_pending_are_audited(db, make_user, sign_in, client):
    response_id = rate(OURS, comment="Chờ đợi lâu, không có số thứ tự.")
    manager = make_user("agency_manager", OURS)
    http = sign_in(manager)

    answer = _post(http, f"/agency/comments/{response_id}/publish")
    assert answer.status_code == 302
    assert _review(db, response_id).status == "published"
    event = _events(db, "comment.publish")[0]
    assert event.before == {"status": "pending"} and event.after["status"] == "published"
    assert event.user_id == manager.id

    answer = _post(http, f"/agency/comments/{response_id}/reply", {"reply": "Đã lắp máy lấy số thứ tự từ tháng 10."})
    assert answer.status_code == 302
    assert _review(db, response_id).reply == "Đã lắp máy lấy số thứ tự từ tháng 10."
    public = client.get(f"/units/{OURS}")
    assert "Đã lắp máy lấy số thứ tự" in public.get_data(as_text=True)
    assert _events(db, "comment.reply")[0].after["reply"].startswith("Đã lắp")

    answer = _post(http, f"/agency/comments/{response_id}/remove-reply")
    assert answer.status_code == 302 and _review(db, response_id).reply is None
    assert _events(db, "comment.remove_reply")[0].before["reply"].startswith("Đã lắp")

    refused = _post(http, f"/agency/comments/{response_id}/hide", {"reason": "  "})
    assert refused.status_code == 400
    assert "Nêu lý do" in refused.get_data(as_text=True) or "Say why" in refused.get_data(as_text=True)
    check_page(refused, status=400)
    assert _review(db, response_id).status == "published"

    answer = _post(http, f"/agency/comments/{response_id}/hide", {"reason": "Nói về cơ quan khác"})
    assert answer.status_code == 302
    review = _review(db, response_id)
    assert review.status == "hidden" and review.hidden_reason == "Nói về cơ quan khác"
    assert "Chờ đợi lâu" not in client.get(f"/units/{OURS}").get_data(as_text=True)

    answer = _post(http, f"/agency/comments/{response_id}/pending")
    assert answer.status_code == 302 and _review(db, response_id) is None
    assert _events(db, "comment.pending")[0].before["status"] == "hidden"


def test_edit_may_only_mask_more(db, make_user, sign_in, client):
    response_id = rate(OURS, comment="Chị Lan ở bộ phận một cửa rất nhiệt tình.")
    http = sign_in(make_user("agency_manager", OURS))
    _post(http, f"/agency/comments/{response_id}/publish")
    added = _post(http, f"/agency/comments/{response_id}/edit", {"text": "Cán bộ rất tệ."})
    assert added.status_code == 400
    check_page(added, status=400)
    assert _review(db, response_id).edited_text is None
    answer = _post(http, f"/agency/comments/{response_id}/edit", {"text": "[…] ở bộ phận một cửa rất nhiệt tình."})
    assert answer.status_code == 302
    assert _review(db, response_id).edited_text == "[…] ở bộ phận một cửa rất nhiệt tình."
    event = _events(db, "comment.edit")[0]
    assert event.before["edited_text"] is None and event.after["edited_text"].startswith("[…]")
    public = client.get(f"/units/{OURS}").get_data(as_text=True)
    assert "[…] ở bộ phận một cửa" in public and "Lan" not in public


def test_only_masks_more_rule():
    from webapp.agency.moderation import only_masks_more

    original = "Anh [tên] làm hồ sơ đất nhanh, nhưng phí cao."
    assert only_masks_more(original, "Anh [tên] làm hồ sơ đất nhanh.")
    assert only_masks_more(original, "[…] hồ sơ đất nhanh, nhưng *** cao")
    assert not only_masks_more(original, "Anh làm hồ sơ đất chậm")
    assert not only_masks_more(original, "phí cao, hồ sơ đất nhanh")


def test_reply_needs_a_published_comment(db, make_user, sign_in):
    response_id = rate(OURS, comment="Mạng yếu.")
    http = sign_in(make_user("agency_manager", OURS))
    refused = _post(http, f"/agency/comments/{response_id}/reply", {"reply": "Cảm ơn"})
    assert refused.status_code == 400
    assert _review(db, response_id) is None


def test_viewer_reads_but_cannot_moderate(db, make_user, sign_in):
    response_id = rate(OURS, comment="Trả kết quả đúng hẹn.")
    http = sign_in(make_user("viewer", OURS))
    page = http.get(f"/agency/units/{OURS}/comments")
    soup = check_page(page)
    assert not soup.select("form[method=post][action*='/publish']")
    for action, data in (
        ("publish", {}),
        ("hide", {"reason": "x"}),
        ("reply", {"reply": "x"}),
        ("edit", {"text": ""}),
        ("pending", {}),
        ("remove-reply", {}),
    ):
        assert _post(http, f"/agency/comments/{response_id}/{action}", data, page).status_code == 403
    assert _review(db, response_id) is None


def test_comments_of_another_commune_answer_404(db, make_user, sign_in):
    theirs = rate(THEIRS, comment="Góp ý của xã khác.")
    http = sign_in(make_user("agency_manager", OURS))
    assert http.get(f"/agency/units/{THEIRS}/comments").status_code == 404
    assert http.get(f"/agency/comments/{theirs}").status_code == 404
    for action, data in (
        ("publish", {}),
        ("hide", {"reason": "x"}),
        ("reply", {"reply": "x"}),
        ("edit", {"text": ""}),
        ("pending", {}),
        ("remove-reply", {}),
    ):
        assert _post(http, f"/agency/comments/{theirs}/{action}", data).status_code == 404
    assert _review(db, theirs) is None
    assert http.get("/agency/comments/999999").status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(db, client, registry):
    answer = client.get(f"/agency/units/{OURS}/comments")
    assert answer.status_code == 302 and "/auth/login" in answer.headers["Location"]
