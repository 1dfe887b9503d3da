"""Demo action plans (issue #16): what two demo units promised, in every state a reader meets.

:func:`plant_demo_actions` records, through the same service as the agency pages
(:mod:`webapp.insights.actions`), three plans answering the demo's planted problems:

* the provincial public administration service centre (``sl-ttpvhcc``): civil servants
  (``sat-agencies`` aspect ``civil_servant``), done, with its outcome, from three quarters back;
* the same centre: the comment theme ``waiting`` (waiting time and trips), in progress, from two
  quarters back, past its due date;
* the provincial general hospital (``bv-dk-tinh-sonla``): facilities (``sat-health`` aspect
  ``facilities``), planned, from the last ended quarter.

Baselines are counted back from ``now`` so the plans sit before the quarters ``publish
--all-ended`` will publish, and the public page shows the later quarters' rates beside them.
Nothing is planted when any plan exists; a unit missing from the registry is skipped. The caller
commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from webapp.extensions import db
from webapp.insights import actions
from webapp.models import Unit
from webapp.models.insights import ActionPlan
from webapp.periods import current_quarter


def plant_demo_actions(now: datetime) -> list[ActionPlan]:
    """Create the demo plans (none when any plan exists already; a missing unit's are skipped); return them."""
    last = current_quarter(now).previous()
    older, oldest = last.previous(), last.previous().previous()
    plans = [
        {
            "unit": "sl-ttpvhcc",
            "subject": "aspect:sat-agencies:civil_servant",
            "baseline": oldest,
            "said": "Nhiều người cho biết cán bộ tiếp nhận hướng dẫn chưa rõ, phải bổ sung hồ sơ nhiều lần.",
            "action": "Lập bảng hướng dẫn thành phần hồ sơ cho 20 thủ tục nhiều người làm nhất; tập huấn kỹ năng"
            " giao tiếp cho toàn bộ công chức tiếp nhận.",
            "responsible": "Bộ phận tiếp nhận và trả kết quả",
            "due_days": 75,
            "updates": [
                ("in_progress", 20, "Đã tập huấn cho 12 công chức tiếp nhận; đang soạn bảng hướng dẫn.", None),
                (
                    "done",
                    70,
                    "Bảng hướng dẫn đã niêm yết tại các quầy và đăng trên trang của Trung tâm.",
                    "Niêm yết bảng hướng dẫn thành phần hồ sơ của 20 thủ tục tại quầy và trên mạng; 12 công chức"
                    " tiếp nhận đã được tập huấn.",
                ),
            ],
        },
        {
            "unit": "sl-ttpvhcc",
            "subject": "theme:waiting",
            "baseline": older,
            "said": "Nhiều góp ý phản ánh phải chờ lâu vào buổi sáng và không có số thứ tự.",
            "action": "Lắp máy lấy số thứ tự và bố trí thêm một quầy tiếp nhận vào buổi sáng thứ Hai và thứ Sáu.",
            "responsible": "Văn phòng Trung tâm Phục vụ hành chính công",
            "due_days": 60,
            "updates": [("in_progress", 15, "Đã mua máy lấy số; chờ lắp đặt.", None)],
        },
        {
            "unit": "bv-dk-tinh-sonla",
            "subject": "aspect:sat-health:facilities",
            "baseline": last,
            "said": "Người bệnh và người nhà phản ánh khu chờ khám thiếu ghế, nóng và nhà vệ sinh chưa sạch.",
            "action": "Bổ sung ghế và quạt tại khu chờ khám; thuê dịch vụ vệ sinh theo giờ cho khu khám bệnh.",
            "responsible": "Phòng Hành chính quản trị",
            "due_days": 150,
            "updates": [],
        },
    ]
    made: list[ActionPlan] = []
    if db.session.scalar(select(ActionPlan.id).limit(1)) is not None:
        return made
    for spec in plans:
        unit = db.session.scalar(select(Unit).where(Unit.code == spec["unit"]))
        if unit is None:
            continue
        created = datetime.combine(spec["baseline"].end + timedelta(days=10), now.timetz())
        plan = actions.create_plan(
            unit,
            subject=spec["subject"],
            said=spec["said"],
            action=spec["action"],
            responsible=spec["responsible"],
            due_on=created.date() + timedelta(days=spec["due_days"]),
            baseline_period=spec["baseline"].label,
            now=min(created, now),
        )
        for status, days, note, outcome in spec["updates"]:
            moment = min(created + timedelta(days=days), now)
            actions.add_update(plan, status=status, note=note, outcome=outcome, now=moment)
        made.append(plan)
    return made
