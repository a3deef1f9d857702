"""Words the reports use, in Vietnamese (default) and English."""

from __future__ import annotations

import re

WORDS = {
    "met": ("Đạt", "Met"),
    "not_met": ("Chưa đạt", "Not met"),
    "indeterminate": ("Chưa xác định", "Indeterminate"),
    "pass": ("Đạt", "Pass"),
    "fail": ("Không đạt", "Fail"),
    "missing": ("Thiếu minh chứng", "Missing evidence"),
    "not_applicable": ("Không áp dụng", "Not applicable"),
    "no_threshold": ("Chưa có ngưỡng", "No threshold"),
    "tier": ("Mức", "Tier"),
    "criteria_met": ("Số tiêu chí đạt", "Criteria met"),
    "criterion": ("Tiêu chí", "Criterion"),
    "indicator": ("Chỉ tiêu", "Indicator"),
    "observed": ("Thực tế", "Observed"),
    "threshold": ("Yêu cầu", "Required"),
    "gap": ("Chênh lệch", "Gap"),
    "citation": ("Căn cứ", "Legal basis"),
    "region": ("Vùng áp dụng", "Region applied"),
    "unit": ("Đơn vị", "Unit"),
    "ruleset": ("Bộ tiêu chí", "Ruleset"),
    "overlay": ("Quy định của tỉnh", "Provincial overlay"),
    "illustrative": ("minh họa, không phải quy định thật", "illustrative, not a real provincial decision"),
    "what_missing": ("Còn thiếu", "What is missing"),
    "missing_evidence": ("Thiếu minh chứng cho", "No evidence for"),
    "missing_thresholds": ("Chưa có ngưỡng (cần tỉnh quy định hoặc văn bản gốc)",
                           "No threshold (needs the provincial value or the official text)"),
    "requires": ("Cần đạt trước", "Requires"),
    "provisional_warning": (
        "Cảnh báo: kết luận phụ thuộc vào ngưỡng tạm tính (chưa đối chiếu văn bản gốc): ",
        "Warning: the decision depends on provisional thresholds (not checked against the official text): ",
    ),
    "special_rule": ("Áp dụng quy định đặc thù", "Special rule applied"),
    "assessment": ("Năm đánh giá", "Assessment year"),
    "none": ("không có", "none"),
    "result": ("Kết quả", "Result"),
    "provenance": ("Nguồn ngưỡng", "Threshold provenance"),
    "also_unmet": ("Tiêu chí của mức này cũng chưa đạt", "Criteria of this tier also not met"),
    "version_in_force": ("phiên bản áp dụng", "version in force"),
    "as_of": ("tại ngày", "as of"),
    "recognition_also": ("Đạt tiêu chí, nhưng để được công nhận còn cần đáp ứng các điều kiện trên.",
                         "Meets the criteria, but recognition also needs the conditions above."),
    "commune": ("Xã", "Commune"),
    "highest": ("Mức cao nhất", "Highest tier"),
    "source": ("Nguồn", "Source"),
    "holding_back": ("chưa đạt chuẩn — làm huyện chưa đạt", "not standard — holds the district back"),
    "verified": ("đã đối chiếu", "verified"),
    "warning": ("Cảnh báo", "Warning"),
    "township": ("Thị trấn", "Township"),
    "civilised": ("đô thị văn minh", "civilised urban area"),
    "not_civilised": ("chưa đạt đô thị văn minh — làm huyện chưa đạt", "not a civilised urban area — holds the district back"),
    "district_unit": ("Huyện, thị xã, thành phố", "District, town or city"),
    "status": ("Tình trạng", "Status"),
    "holds_province_back": ("làm tỉnh chưa đạt", "holds the province back"),
    "provisional": ("tạm tính", "provisional"),
}

OPS = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "=", "is_true": ""}


def w(key: str, lang: str) -> str:
    vi, en = WORDS[key]
    return en if lang == "en" else vi


def status_word(status: str, lang: str) -> str:
    return w("no_threshold" if status == "indeterminate_indicator" else status, lang)


def fmt_num(x, lang: str) -> str:
    if isinstance(x, bool):
        return ("Có" if x else "Không") if lang == "vi" else ("yes" if x else "no")
    if x is None:
        return "—"
    s = f"{x:,}" if isinstance(x, int) else f"{x:,.6f}".rstrip("0").rstrip(".")
    if lang == "vi":
        s = s.replace(",", "\u2009").replace(".", ",")
    return s


def requirement(op: str, threshold, unit: str, lang: str) -> str:
    if op == "is_true":
        return "Đạt" if lang == "vi" else "Met"
    if threshold is None:
        return "—"
    u = "" if unit == "%" else " " + unit
    return f"{OPS[op]} {fmt_num(threshold, lang)}{'%' if unit == '%' else u}"


def observed_text(value, unit: str, lang: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return fmt_num(value, lang)
    return f"{fmt_num(value, lang)}{'%' if unit == '%' else ' ' + unit}"


_REASONS = [
    (re.compile(r"^set by the province \(no national value\)$"),
     "do tỉnh quy định (không có giá trị quốc gia)"),
    (re.compile(r"^no value known for this threshold$"), "chưa có giá trị (chưa chép được từ văn bản gốc)"),
    (re.compile(r"^no threshold for assessment year (\d+) \(the table covers (\d+)–(\d+)\); it is not borrowed from another year$"),
     r"không có ngưỡng cho năm đánh giá \1 (bảng chỉ có \2–\3); không lấy ngưỡng của năm khác"),
    (re.compile(r"^no threshold for region (.+)$"), r"không có ngưỡng cho vùng \1"),
]
SET_BY = {"national": ("quốc gia", "national"), "province": ("tỉnh", "province")}


def reason_text(reason: str | None, lang: str) -> str:
    """Threshold reasons are recorded in English in the JSON; the Vietnamese report translates the known ones."""
    if not reason or lang == "en":
        return reason or ""
    for pattern, vi in _REASONS:
        if pattern.match(reason):
            return pattern.sub(vi, reason)
    return reason


def set_by_word(who: str, lang: str) -> str:
    vi, en = SET_BY.get(who, (who, who))
    return en if lang == "en" else vi
