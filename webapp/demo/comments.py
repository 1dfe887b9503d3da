"""Canned comments for the demo data: plain, varied, and free of personal data."""

POSITIVE = (
    "Cán bộ hướng dẫn tận tình, thủ tục nhanh gọn.",
    "Trả kết quả đúng hẹn, tôi rất hài lòng.",
    "Bộ phận một cửa sạch sẽ, có chỗ ngồi chờ thoải mái.",
    "Được giải thích rõ ràng bằng tiếng dân tộc, dễ hiểu.",
    "Nộp hồ sơ trực tuyến thuận tiện, không phải đi lại nhiều.",
    "Bác sĩ khám kỹ, dặn dò cẩn thận.",
    "Nhà trường thông báo kịp thời cho phụ huynh.",
    "Phí, lệ phí niêm yết rõ ràng.",
)
NEGATIVE = (
    "Phải đi lại ba lần mới xong hồ sơ đất đai.",
    "Chờ đợi lâu, không có số thứ tự.",
    "Hướng dẫn chưa rõ, phải bổ sung giấy tờ nhiều lần.",
    "Trả kết quả trễ hẹn mà không có thư xin lỗi.",
    "Nhà vệ sinh bệnh viện chưa sạch.",
    "Đường lên xã xa, nên có dịch vụ trả kết quả qua bưu điện.",
    "Cán bộ nói chuyện thiếu niềm nở.",
    "Mạng yếu, nộp hồ sơ trực tuyến bị lỗi.",
)
