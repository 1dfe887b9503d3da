"""Canned comments for the demo data: plain, varied, free of personal data, with planted themes.

The demo plants known comment themes (issue #16; see docs/comment-themes.md). A respondent who is
dissatisfied overall writes one of :data:`PLANTED_NEGATIVE`, each a complaint about exactly one
theme, drawn with these weights (per 100 comments):

====================  ======  ===================================
theme                 weight  example
====================  ======  ===================================
waiting (and trips)   40      "Chờ đợi lâu, không có số thứ tự."
attitude              25      "Cán bộ nói chuyện thiếu niềm nở."
guidance              12      "Giải thích khó hiểu, …"
fees                  8       "… phải bồi dưỡng thì mới xong."
result                7       "Trả kết quả trễ hẹn …"
online                5       "Mạng yếu, nộp hồ sơ trực tuyến bị lỗi."
facilities            3       "Nhà vệ sinh chưa sạch, phòng chờ nóng."
====================  ======  ===================================

So among complaints, waiting and trips come first, then staff attitude. A satisfied respondent
writes one of :data:`PLANTED_POSITIVE` (equal weights): praise on one or more themes, none a
complaint, or a thank-you (``other``). The seed calls :func:`pick_comment` (the same draw as
``rand.choice(POSITIVE if satisfied else NEGATIVE)``: the tuples repeat each text by its weight), then
:func:`webapp.insights.themes.assign_missing` after its bulk insert (it bypasses the submission
service, which themes comments as they are stored). A test checks that the rules find exactly
the planted themes of every canned comment.
"""

from __future__ import annotations

import random

#: (text, weight, {theme: complaint?}) of dissatisfied respondents.
PLANTED_NEGATIVE: tuple[tuple[str, int, dict[str, bool]], ...] = (
    ("Chờ đợi lâu, không có số thứ tự.", 12, {"waiting": True}),
    ("Phải đi lại ba lần mới xong hồ sơ đất đai.", 12, {"waiting": True}),
    ("Xếp hàng từ sáng đến trưa mới đến lượt.", 8, {"waiting": True}),
    ("Mất cả buổi chỉ để nộp một bộ hồ sơ.", 8, {"waiting": True}),
    ("Cán bộ nói chuyện thiếu niềm nở.", 10, {"attitude": True}),
    ("Cán bộ cáu gắt khi người dân hỏi lại.", 8, {"attitude": True}),
    ("Cán bộ thờ ơ, làm việc riêng trong giờ.", 7, {"attitude": True}),
    ("Giải thích khó hiểu, tôi phải hỏi nhiều người.", 6, {"guidance": True}),
    ("Hướng dẫn chưa rõ ràng về tờ khai.", 6, {"guidance": True}),
    ("Có người nói phải bồi dưỡng thì mới xong.", 5, {"fees": True}),
    ("Lệ phí cao so với thu nhập của bà con.", 3, {"fees": True}),
    ("Trả kết quả trễ hẹn mà không có thư xin lỗi.", 4, {"result": True}),
    ("Giấy chứng nhận ghi sai năm sinh, phải sửa lại.", 3, {"result": True}),
    ("Mạng yếu, nộp hồ sơ trực tuyến bị lỗi.", 5, {"online": True}),
    ("Nhà vệ sinh chưa sạch, phòng chờ nóng.", 3, {"facilities": True}),
)
#: (text, weight, {theme: complaint?}) of satisfied respondents: no complaint among them.
PLANTED_POSITIVE: tuple[tuple[str, int, dict[str, bool]], ...] = (
    ("Cán bộ hướng dẫn tận tình, thủ tục nhanh gọn.", 1, {"waiting": False, "attitude": False, "guidance": False}),
    ("Trả kết quả đúng hẹn, tôi rất hài lòng.", 1, {"result": False}),
    ("Bộ phận một cửa sạch sẽ, có chỗ ngồi chờ thoải mái.", 1, {"facilities": False}),
    ("Được giải thích rõ ràng bằng tiếng dân tộc, dễ hiểu.", 1, {"guidance": False}),
    ("Nộp hồ sơ trực tuyến thuận tiện, không phải đi lại nhiều.", 1, {"waiting": False, "online": False}),
    ("Bác sĩ khám kỹ, dặn dò cẩn thận.", 1, {"attitude": False}),
    ("Nhà trường thông báo kịp thời cho phụ huynh.", 1, {"guidance": False}),
    ("Phí, lệ phí niêm yết rõ ràng.", 1, {"fees": False}),
    ("Cảm ơn các anh chị ở bộ phận một cửa.", 1, {"other": False}),
)
# What the seed draws from with ``rand.choice``: each complaint repeated by its weight, so a
# uniform draw gives the planted frequencies; the praise once each.
POSITIVE = tuple(text for text, weight, _themes in PLANTED_POSITIVE for _ in range(weight))
NEGATIVE = tuple(text for text, weight, _themes in PLANTED_NEGATIVE for _ in range(weight))


def pick_comment(rand: random.Random, satisfied: bool) -> str:
    """A canned comment of a satisfied (praise) or dissatisfied (planted complaints) respondent."""
    return rand.choice(POSITIVE if satisfied else NEGATIVE)
