"""The one vi/en word catalogue and number formatter every renderer uses (architecture.md §11 `present/words`).

Why one module: words and number formats used to live in eleven modules and drifted ("short by 0 million VND",
Vietnamese units in English reports, 2 decimals in the outcome and 6 in the renderers, a natural sort that
crashed on "4.1" beside "4.1b"). Pure functions and constant tables only; it imports nothing from ntm, so the
engine (gap text in the outcome), the templates and every renderer can use it.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_EVEN, Decimal

# ------------------------------------------------------------------------------------------------- words

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
    "region_short": ("vùng", "region"),
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
    "yes": ("Có", "yes"),
    "no": ("Không", "no"),
    "no_overlay": (
        "Chưa dùng quy định của tỉnh: {n} ngưỡng do tỉnh quy định chưa có giá trị ({items}). "
        "Thêm --overlay TỆP hoặc ghi overlay = \"TỆP\" vào ntm.toml.",
        "No provincial overlay: {n} province-set thresholds have no value ({items}). "
        "Add --overlay FILE, or put overlay = \"FILE\" in ntm.toml.",
    ),
    "page": ("Trang {n}/{total}", "Page {n} of {total}"),
    "signatures": ("Xác nhận của Hội đồng thẩm định", "Appraisal council"),
    "sign_chair": ("Chủ tịch Hội đồng", "Chair of the council"),
    "sign_secretary": ("Thư ký", "Secretary"),
    "sign_member": ("Thành viên", "Member"),
    "sign_hint": ("(ký, ghi rõ họ tên)", "(signature and full name)"),
    "date_made": ("Ngày lập", "Date made"),
    "province": ("Tỉnh", "Province"),
}

# gap phrases: (vi, en) with {n} the number and {u} the unit
GAP = {
    "short": ("còn thiếu {n} {u}", "short by {n} {u}"),
    "over": ("vượt {n} {u}", "over by {n} {u}"),
    "off": ("lệch {n} {u}", "off by {n} {u}"),
    "at_strict_low": ("bằng ngưỡng, cần lớn hơn", "equal to the threshold; must be above it"),
    "at_strict_high": ("bằng ngưỡng, cần nhỏ hơn", "equal to the threshold; must be below it"),
    "not_met": ("chưa đạt", "not met"),
}

# Units as the rulesets write them (Vietnamese) → English. A test checks this table against every `unit_en`
# the shipped rulesets declare, so the catalogue and the law files cannot disagree.
UNITS_EN = {
    "%": "%",
    "km": "km",
    "triệu đồng/người/năm": "million VND/person/year",
    "nhà": "houses",
    "m²/người": "m²/person",
    "xã": "communes",
    "thôn": "villages",
    "công trình": "projects",
    "huyện": "districts",
    "thị trấn": "townships",
    "đơn vị": "towns",  # the rulesets use it only for towns and provincial cities (321); the test keeps them agreeing
    "đạt/không": "met/not met",
    "có/không": "yes/no",
    "triệu đồng": "million VND",
    "triệu VND": "million VND",
    "tỷ đồng": "billion VND",
    "người": "persons",
    "khu vực": "area",
    "hộ": "households",
    "ha": "ha",
    "m²": "m²",
}
PP = ("điểm %", "percentage points")

OPS = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "=", "is_true": ""}
SET_BY = {"national": ("quốc gia", "national"), "province": ("tỉnh", "province")}
LEVELS = {"commune": ("Xã", "Commune"), "district": ("Huyện", "District"), "province": ("Tỉnh", "Province"),
          "village": ("Thôn", "Village")}


def pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "en" else pair[0]


def w(key: str, lang: str) -> str:
    return pick(WORDS[key], lang)


def status_word(status: str, lang: str) -> str:
    return w("no_threshold" if status == "indeterminate_indicator" else status, lang)


def label(obj, lang: str) -> str:
    """A {vi, en} label (model or mapping) in one language; a plain string as is."""
    if obj is None:
        return ""
    if isinstance(obj, dict):
        return str(obj.get("en" if lang == "en" else "vi") or obj.get("vi") or obj.get("en") or "")
    if hasattr(obj, "vi"):
        return obj.en if lang == "en" else obj.vi
    return str(obj)


def unit_text(unit: str | None, lang: str) -> str:
    if not unit:
        return ""
    return UNITS_EN.get(unit, unit) if lang == "en" else unit


# The words of each view, kept here so that every word of every output is in this one catalogue (each table keeps
# the shape its view reads: (vi, en) pairs, or {lang: …} mappings).

HTML_WORDS = {
    "title": ("Báo cáo thẩm định", "Appraisal report"),
    "summary": ("Tóm tắt", "Summary"),
    "tiers_met": ("Mức đã đạt", "Tiers met"),
    "recognition": ("Điều kiện công nhận", "Recognition conditions"),
    "level": ("Cấp", "Level"),
    "province": ("Tỉnh", "Province"),
    "district": ("Huyện", "District"),
    "flags": ("Đặc điểm", "Flags"),
    "assessment_date": ("Ngày đánh giá", "Assessment date"),
    "engine": ("Bộ máy suy luận", "Rule engine"),
    "status": ("Trạng thái", "Status"),
    "evidence": ("Minh chứng", "Evidence"),
    "fact": ("Dữ liệu", "Fact"),
    "k_of_n": ("cần đạt {k}/{n} điều kiện", "needs {k} of {n} conditions"),
    "applies_if": ("áp dụng khi", "applies if"),
    "no_threshold_short": ("chưa có ngưỡng", "no threshold"),
    "illustrative_banner": (("Quy định của tỉnh dùng trong báo cáo này là MINH HỌA, không phải quy định thật: "
                             "kết luận của các mức dùng giá trị của tỉnh chỉ để tham khảo."),
                            ("The provincial overlay used here is ILLUSTRATIVE, not a real decision: tier decisions "
                             "that use provincial values are for illustration only.")),
    "recognition_blocked": ("Đạt tiêu chí, nhưng để được công nhận còn cần: ",
                            "Meets the criteria, but recognition also needs: "),
    "provisional_decision": ("Kết luận của mức này phụ thuộc vào ngưỡng tạm tính",
                             "This tier's decision depends on provisional thresholds"),
    "communes": ("Các xã của huyện", "Communes of the district"),
    "holding_back_title": ("Xã làm huyện chưa đạt", "Communes holding the district back"),
    "declared": ("đã công nhận", "declared"),
    "from_dossier": ("hồ sơ", "dossier"),
    "generated_by": (("Tạo bởi ntm-rules từ kết quả của bộ máy suy luận; không thay thế quyết định của "
                      "cơ quan có thẩm quyền."),
                     ("Generated by ntm-rules from the rule engine's outcome; it does not replace the decision "
                      "of the competent authority.")),
    "no_tier_met": ("chưa đạt mức nào", "no tier met"),
    "missing_evidence_n": ("Thiếu minh chứng", "Missing evidence"),
    "missing_thresholds_n": ("Thiếu ngưỡng", "Missing thresholds"),
    "undecided": ("Chưa xác định được", "Undecided"),
    "unmet": ("Chưa đạt", "Not met"),
}

BATCH_INPUT_WORDS = {"kind": ("loại", "kind"), "rows": ("số dòng", "rows"), "sheet": ("trang tính", "sheet")}

BATCH_REPORT_WORDS = {
    "batch_title": ("Tổng hợp đánh giá nông thôn mới", "New Rural Development assessment summary"),
    "input": ("Dữ liệu vào", "Input"),
    "units": ("Số đơn vị", "Units"),
    "evaluated": ("Đã đánh giá", "Evaluated"),
    "errors": ("Lỗi", "Errors"),
    "avg_met": ("Số tiêu chí đạt bình quân", "Average criteria met"),
    "tiers": ("Kết quả theo mức", "Results by tier"),
    "count": ("Số đơn vị", "Units"),
    "pct": ("Tỷ lệ", "Share"),
    "bands": ("Phân nhóm theo số tiêu chí đạt (mức đạt chuẩn)", "Bands of criteria met (standard tier)"),
    "histogram": ("Số tiêu chí đạt của từng xã", "Criteria met per commune"),
    "n_criteria": ("tiêu chí đạt", "criteria met"),
    "by_district": ("Kết quả theo huyện", "Tiers by district"),
    "district": ("Huyện", "District"),
    "most_failed_criteria": ("Tiêu chí chưa đạt nhiều nhất", "Most failed criteria"),
    "most_failed_indicators": ("Chỉ tiêu chưa đạt nhiều nhất", "Most failed indicators"),
    "priority": ("Xã ưu tiên (gần đạt nhất)", "Priority communes (closest to the next tier)"),
    "missing_criteria": ("Tiêu chí còn thiếu", "Missing criteria"),
    "distance": ("Khoảng cách", "Distance"),
    "per_unit": ("Kết quả từng đơn vị", "Per-unit results"),
    "row": ("Dòng", "Row"),
    "code": ("Mã", "Code"),
    "name": ("Tên", "Name"),
    "status": ("Trạng thái", "Status"),
    "highest": ("Mức cao nhất", "Highest tier"),
    "unmet": ("Tiêu chí chưa đạt", "Criteria not met"),
    "provisional": ("Phụ thuộc ngưỡng tạm tính", "Depends on provisional thresholds"),
    "error_list": ("Các dòng lỗi (không đánh giá được)", "Rows with errors (not evaluated)"),
    "file": ("Tệp", "File"),
    "reason": ("Lý do", "Reason"),
    "trend": ("So sánh với lần trước", "Compared with the previous run"),
    "previous": ("Lần trước", "Previous"),
    "avg_delta": ("Thay đổi số tiêu chí đạt bình quân", "Change in average criteria met"),
    "gained": ("Đạt thêm", "Gained"),
    "lost": ("Không còn đạt", "Lost"),
    "tiers_delta": ("Thay đổi số đơn vị đạt theo mức", "Change in units meeting each tier"),
    "criterion": ("Tiêu chí", "Criterion"),
    "indicator": ("Chỉ tiêu", "Indicator"),
    "tier": ("Mức", "Tier"),
    "yes": ("có", "yes"),
    "ok": ("đã đánh giá", "evaluated"),
    "error": ("lỗi", "error"),
    "none": ("—", "—"),
    "made": ("Ngày lập", "Date made"),
    "provisional_units": ("{n} đơn vị có kết luận phụ thuộc ngưỡng tạm tính (chưa đối chiếu văn bản gốc):",
                          "{n} units have a decision that depends on provisional thresholds (not checked against "
                          "the official text):"),
    "illustrative": ("Quy định của tỉnh là MINH HỌA, không phải quy định thật.",
                     "The provincial overlay is ILLUSTRATIVE, not a real decision."),
}

BATCH_TIER_NAMES = {
    "standard": ("Đạt chuẩn NTM", "Standard NTM"), "advanced": ("NTM nâng cao", "Advanced NTM"),
    "model": ("NTM kiểu mẫu", "Model NTM"), "recognition": ("Điều kiện công nhận", "Recognition conditions"),
    "none": ("Chưa đạt mức nào", "No tier"),
}

BATCH_WORDS = {
    "vi": {"code": "Mã xã", "name": "Tên xã", "district": "Huyện", "region": "Vùng", "row": "Dòng",
           "status": "Trạng thái", "highest": "Mức cao nhất", "met": "Đạt", "total": "Tổng", "pct": "%",
           "not_met": "Chưa đạt", "ind": "Chưa xác định", "tier": "Mức", "units": "Số xã",
           "evaluated": "Đã đánh giá", "errors": "Lỗi", "avg": "Số tiêu chí đạt bình quân", "band": "Số tiêu chí đạt",
           "count": "Số xã", "criterion": "Tiêu chí", "indicator": "Chỉ tiêu", "fact": "Dữ liệu",
           "observed": "Thực tế", "threshold": "Yêu cầu", "gap": "Khoảng cách", "reason": "Lý do",
           "missing": "Còn thiếu", "file": "Tệp", "unmet": "Tiêu chí chưa đạt", "undecided": "Tiêu chí chưa xác định",
           "failed": "Chỉ tiêu chưa đạt", "none": "chưa đạt mức nào", "ok": "đã đánh giá", "error": "lỗi",
           "summary": "Tổng hợp kết quả", "most_c": "Tiêu chí nhiều xã chưa đạt nhất",
           "priority": "Xã còn thiếu 1–2 tiêu chí (ưu tiên)", "districts": "Theo huyện",
           "gained": "Lên mức", "lost": "Xuống mức", "delta": "Thay đổi so với lần trước",
           "criteria_met": "Tiêu chí đạt (chuẩn)", "provisional": "Phụ thuộc ngưỡng tạm tính", "unit": "Đơn vị tính",
           "yes": "có", "no": "không", "ruleset": "Bộ tiêu chí", "overlay": "Quy định của tỉnh",
           "illustrative": "MINH HỌA, không phải quy định thật", "province": "Tỉnh", "made": "Ngày lập",
           "input": "Dữ liệu vào", "prov_warn": "Kết luận phụ thuộc ngưỡng tạm tính (chưa đối chiếu văn bản gốc)",
           "tiers": {"standard": "Đạt chuẩn", "advanced": "Nâng cao", "model": "Kiểu mẫu"},
           "status_v": {"met": "đạt", "not_met": "chưa đạt", "indeterminate": "chưa xác định"}},
    "en": {"code": "Code", "name": "Name", "district": "District", "region": "Region", "row": "Row",
           "status": "Status", "highest": "Highest tier", "met": "Met", "total": "Total", "pct": "%",
           "not_met": "Not met", "ind": "Undecided", "tier": "Tier", "units": "Units",
           "evaluated": "Evaluated", "errors": "Errors", "avg": "Average criteria met", "band": "Criteria met",
           "count": "Communes", "criterion": "Criterion", "indicator": "Indicator", "fact": "Fact",
           "observed": "Observed", "threshold": "Required", "gap": "Gap", "reason": "Reason",
           "missing": "Missing", "file": "File", "unmet": "Unmet criteria", "undecided": "Undecided criteria",
           "failed": "Failed indicators", "none": "no tier", "ok": "evaluated", "error": "error",
           "summary": "Batch summary", "most_c": "Most-failed criteria",
           "priority": "Communes 1–2 criteria from a tier (priority)", "districts": "By district",
           "gained": "Gained a tier", "lost": "Lost a tier", "delta": "Change since the previous batch",
           "criteria_met": "Criteria met (standard)", "provisional": "Depends on provisional thresholds",
           "unit": "Unit", "yes": "yes", "no": "no", "ruleset": "Ruleset", "overlay": "Provincial overlay",
           "illustrative": "ILLUSTRATIVE, not a real provincial decision", "province": "Province", "made": "Date made",
           "input": "Input", "prov_warn": "Decisions that depend on provisional thresholds (not checked against the "
           "official text)",
           "tiers": {"standard": "Standard", "advanced": "Advanced", "model": "Model"},
           "status_v": {"met": "met", "not_met": "not met", "indeterminate": "undecided"}},
}

WHATIF_WORDS = {
    "baseline": ("Hiện trạng", "Baseline"),
    "scenario": ("Kịch bản", "Scenario"),
    "changes": ("Thay đổi minh chứng", "Evidence changed"),
    "fact": ("Chỉ số", "Fact"),
    "before": ("Trước", "Before"),
    "after": ("Sau", "After"),
    "derived": ("(tính từ số liệu thành phần)", "(computed from its parts)"),
    "gained": ("Đạt thêm mức", "Tiers gained"),
    "lost": ("Mất mức", "Tiers lost"),
    "tiers_compare": ("So sánh các mức", "Tiers compared"),
    "criteria_flipped": ("Tiêu chí đổi trạng thái", "Criteria that flip"),
    "indicators_changed": ("Chỉ tiêu thay đổi", "Indicators that change"),
    "no_change": ("Không thay đổi kết quả nào.", "No decision changes."),
    "recognition": ("Điều kiện công nhận", "Recognition conditions"),
    "unit_col": ("Hồ sơ", "Dossier"),
    "changed_tiers": ("Mức đổi trạng thái", "Tiers that change"),
    "why": ("Lý do (chỉ tiêu khác nhau)", "Why (indicators that differ)"),
    "error": ("Lỗi", "Error"),
    "summary": ("Tóm tắt", "Summary"),
    "gap": ("chênh lệch", "gap"),
    "absent": ("không có", "absent"),
    "detail": ("Chi tiết (thực tế, chênh lệch)", "Detail (observed, gap)"),
    "dropped": ("Bỏ qua chỉ số không có trong bộ tiêu chí", "Facts dropped (unknown to the ruleset)"),
    "whatif": ("giả định", "what-if"),
    "compare": ("so sánh", "compare"),
    "varies": {"ruleset": ("bộ tiêu chí", "ruleset"), "overlay": ("quy định của tỉnh", "overlay"),
               "as_of": ("ngày áp dụng", "as-of date")},
    "in_force": ("đang áp dụng", "in force"),
    "no_overlay": ("không có", "none"),
    "as_of": ("tại ngày", "as of"),
}

PLAN_WORDS = {
    "plan": ("Kế hoạch đạt mức", "Plan to reach"),
    "status": ("Trạng thái", "Status"),
    "already_met": ("đã đạt", "already met"),
    "reachable": ("đạt được", "reachable"),
    "conditional": ("đạt được nếu đáp ứng các điều kiện", "reachable if the conditions are met"),
    "unreachable": ("không đạt được với các thay đổi cho phép", "unreachable with the allowed changes"),
    "blocked_by_missing_threshold": ("chưa chứng minh được: thiếu ngưỡng", "blocked: a threshold is missing"),
    "needs_dossier": ("chưa có hồ sơ để lập kế hoạch", "no evidence to plan; needs a dossier"),
    "fact": ("Chỉ tiêu (dữ liệu)", "Fact"),
    "observed": ("Hiện tại", "Now"),
    "target": ("Cần đạt", "Target"),
    "cost": ("Chi phí", "Cost"),
    "needed_by": ("Phục vụ", "For"),
    "total": ("Tổng chi phí", "Total cost"),
    "incomplete": ("chưa đủ: có thay đổi chưa có đơn giá", "incomplete: some changes have no price"),
    "not_purchasable": ("điều kiện (không mua được)", "condition (not purchasable)"),
    "unpriced": ("chưa có đơn giá", "no price"),
    "impossible": ("không thể", "impossible"),
    "provide": ("cần đo/cung cấp", "must be measured/provided"),
    "choice": ("Lựa chọn rẻ nhất (ít nhất k trong n)", "Cheapest choice (at least k of n)"),
    "blockers": ("Trở ngại", "Blockers"),
    "verify": ("Kiểm tra lại bằng bộ máy luật", "Re-evaluated by the engine"),
    "communes": ("Các xã (rẻ nhất trước)", "Communes (cheapest first)"),
    "must_lift": ("Các xã phải nâng lên", "Communes that must be lifted"),
    "needed": ("số xã cần đạt", "communes needed at the tier"),
    "have": ("hiện có", "have"),
    "district": ("Kế hoạch của huyện", "The district's own plan"),
    "budget": ("Ngân sách", "Budget"),
    "selected": ("Chọn", "Selected"),
    "remaining": ("Còn lại", "Remaining"),
    "next": ("Tiền còn lại mua tiếp cho xã", "The remainder buys next for commune"),
    "not_buyable": ("Không mua được bằng tiền", "Money cannot lift"),
    "targets": ("Mục tiêu của tỉnh", "Province targets"),
    "want": ("mục tiêu", "want"),
    "gap": ("còn thiếu", "gap"),
    "min_criteria": ("Xã dưới số tiêu chí tối thiểu", "Communes below the minimum number of criteria"),
    "illustrative_costs": ("đơn giá minh họa, không phải số liệu thật", "illustrative costs, not real figures"),
    "tie_rule": ("Quy tắc chọn khi bằng nhau", "Tie rule"),
    "yes": ("có", "yes"),
    "tie_text": (("chi phí thấp nhất, rồi ít thay đổi nhất, rồi mã các điều kiện được chọn theo thứ tự từ điển (phương án "
                 "cần thay đổi chỉ tiêu cố định, thiếu ngưỡng, điều kiện không mua được hoặc thay đổi chưa có đơn giá "
                 "xếp sau mọi phương án không cần)"), None),
    "not_evaluated": ("không đánh giá lại", "not re-evaluated"),
    "unpriced_plan": ("có thay đổi chưa có đơn giá", "some changes have no price in the cost model"),
    "algorithm": (("Thuật toán (chính xác): mỗi xã là một phần tử có trọng số = chi phí tối thiểu, giá trị 1; lấy các xã "
                  "rẻ nhất trước là tối ưu (m xã rẻ nhất có tổng nhỏ nhất trong mọi nhóm m xã); O(n log n); bằng nhau "
                  "thì theo mã xã. Tiền còn lại được chi (tham lam) cho các thay đổi rẻ nhất của xã kế tiếp."),
                  None),
}

AUDIT_WORDS = {
    "REPRODUCED": {"vi": "TÁI LẬP ĐÚNG — tái lập đúng quyết định đã ghi", "en": "REPRODUCED — the engine reaches the recorded decision"},
    "DIFFERENT": {"vi": "KHÁC — kết quả đánh giá lại khác quyết định đã ghi",
                  "en": "DIFFERENT — re-evaluation differs from the recorded decision"},
    "TAMPERED": {"vi": "BỊ SỬA — hồ sơ quyết định đã bị sửa", "en": "TAMPERED — the record was edited"},
    "UNTRUSTED": {"vi": "KHÔNG TIN CẬY — hồ sơ nguyên vẹn nhưng ký bởi khoá không được tin cậy",
                  "en": "UNTRUSTED — the record is intact but signed by an untrusted key"},
    "UNSIGNED": {"vi": "CHƯA KÝ — hồ sơ nguyên vẹn nhưng chưa được ký (đã yêu cầu khoá tin cậy)",
                 "en": "NOT SIGNED — the record is intact but not signed (a trusted key was required)"},
    "decision": {"vi": "Quyết định", "en": "Decision"},
    "unit": {"vi": "Đơn vị", "en": "Unit"},
    "rules": {"vi": "Bộ tiêu chí", "en": "Rules"},
    "note": {"vi": "Lưu ý", "en": "Note"},
    "diffs": {"vi": "Khác biệt", "en": "Differences"},
    "ok": {"vi": "Sổ đăng ký nguyên vẹn", "en": "Register intact"},
    "broken": {"vi": "Sổ đăng ký bị sửa đổi", "en": "Register was tampered with"},
    "entries": {"vi": "mục", "en": "entries"},
    "head": {"vi": "Mã băm đầu chuỗi (công bố để đối chiếu)", "en": "Head hash (publish it for later checks)"},
    "added": {"vi": "Đã ghi vào sổ, số thứ tự", "en": "Registered as seq"},
    "already": {"vi": "Đã có trong sổ, số thứ tự", "en": "Already registered as seq"},
    "empty": {"vi": "Không có mục nào", "en": "No entries"},
    "maintained": {"vi": "DUY TRÌ — vẫn đạt mức đã công nhận", "en": "MAINTAINED — still meets the recognised tier"},
    "lost": {"vi": "KHÔNG DUY TRÌ — không còn đạt mức đã công nhận",
             "en": "NOT MAINTAINED — no longer meets the recognised tier"},
    "recognised": {"vi": "Mức đã công nhận", "en": "Recognised tier"},
    "tiers_lost": {"vi": "Mức không còn đạt", "en": "Tiers lost"},
    "criteria_lost": {"vi": "Tiêu chí không còn duy trì", "en": "Criteria no longer maintained"},
    "none": {"vi": "(không có)", "en": "(none)"},
    "seq": {"vi": "Số thứ tự", "en": "seq"}, "decision_id": {"vi": "Mã quyết định", "en": "decision_id"},
    "unit_code": {"vi": "Mã đơn vị", "en": "unit_code"}, "unit_name": {"vi": "Tên đơn vị", "en": "unit_name"},
    "level": {"vi": "Cấp", "en": "level"}, "year": {"vi": "Năm", "en": "year"},
    "ruleset": {"vi": "Bộ tiêu chí", "en": "ruleset"}, "highest_tier": {"vi": "Mức cao nhất", "en": "highest_tier"},
    "record_sha256": {"vi": "Mã băm hồ sơ", "en": "record_sha256"},
    "prev_hash": {"vi": "Mã băm mục trước", "en": "prev_hash"}, "entry_hash": {"vi": "Mã băm mục", "en": "entry_hash"},
    "tiers_met": {"vi": "Mức đã đạt", "en": "tiers_met"}, "recognition": {"vi": "Điều kiện công nhận", "en": "recognition"},
    "unmet": {"vi": "chưa đạt", "en": "unmet"}, "signature": {"vi": "Chữ ký", "en": "signature"},
    "key": {"vi": "khóa", "en": "key"},
}

DOC_WORDS = {
    "title": ("BÁO CÁO THẨM ĐỊNH", "APPRAISAL REPORT"),
    "batch_title": ("TỔNG HỢP ĐÁNH GIÁ NÔNG THÔN MỚI", "NEW RURAL DEVELOPMENT ASSESSMENT SUMMARY"),
    "summary": ("Tóm tắt", "Summary"),
    "level": ("Cấp", "Level"),
    "district": ("Huyện", "District"),
    "flags": ("Đặc điểm", "Flags"),
    "assessment_date": ("Ngày đánh giá", "Assessment date"),
    "engine": ("Bộ máy suy luận", "Rule engine"),
    "unmet": ("Chưa đạt", "Not met"),
    "undecided": ("Chưa xác định được", "Undecided"),
    "no_tier_met": ("chưa đạt mức nào", "no tier met"),
    "illustrative_banner": ("Quy định của tỉnh dùng trong báo cáo này là MINH HỌA, không phải quy định thật: kết "
                            "luận của các mức dùng giá trị của tỉnh chỉ để tham khảo.",
                            "The provincial overlay used here is ILLUSTRATIVE, not a real decision: tier decisions "
                            "that use provincial values are for illustration only."),
    "recognition_blocked": ("Đạt tiêu chí, nhưng để được công nhận còn cần: ",
                            "Meets the criteria, but recognition also needs: "),
    "k_of_n": ("cần đạt {k}/{n} điều kiện", "needs {k} of {n} conditions"),
    "generated_by": ("Tạo bởi ntm-rules từ kết quả của bộ máy suy luận; không thay thế quyết định của cơ quan có "
                     "thẩm quyền.", "Generated by ntm-rules from the rule engine's outcome; it does not replace the "
                     "decision of the competent authority."),
    "communes": ("Các xã của huyện", "Communes of the district"),
    "declared": ("đã công nhận", "declared"),
    "from_dossier": ("hồ sơ", "dossier"),
    "input": ("Dữ liệu vào", "Input"),
    "units": ("Số đơn vị", "Units"),
    "evaluated": ("Đã đánh giá", "Evaluated"),
    "errors": ("Lỗi", "Errors"),
    "avg_met": ("Số tiêu chí đạt bình quân", "Average criteria met"),
    "share": ("Tỷ lệ", "Share"),
    "bands": ("Phân nhóm theo số tiêu chí đạt", "Bands of criteria met"),
    "count": ("Số xã", "Communes"),
    "most_failed": ("Tiêu chí chưa đạt nhiều nhất", "Most failed criteria"),
    "priority": ("Xã ưu tiên (gần đạt nhất)", "Priority communes (closest to the next tier)"),
    "missing_criteria": ("Tiêu chí còn thiếu", "Missing criteria"),
    "by_district": ("Kết quả theo huyện", "Tiers by district"),
    "per_unit": ("Kết quả từng đơn vị", "Per-unit results"),
    "row": ("Dòng", "Row"),
    "code": ("Mã", "Code"),
    "name": ("Tên", "Name"),
    "reason": ("Lý do", "Reason"),
    "error_list": ("Các dòng lỗi (không đánh giá được)", "Rows with errors (not evaluated)"),
    "provisional_units": ("Kết luận phụ thuộc ngưỡng tạm tính", "Decisions that depend on provisional thresholds"),
    "provisional_units_text": ("{n} đơn vị có kết luận phụ thuộc ngưỡng tạm tính (chưa đối chiếu văn bản gốc): {codes}",
                               "{n} units have a decision that depends on provisional thresholds (not checked "
                               "against the official text): {codes}"),
}

RULESET_WORDS = {
    "in_force": ("áp dụng", "in force"), "documents": ("văn bản", "documents"), "facts": ("dữ liệu", "facts"),
    "regions": ("vùng", "regions"), "verified": ("đã đối chiếu", "verified"), "provisional": ("tạm tính", "provisional"),
    "missing": ("chưa có / tỉnh quy định", "missing/province"), "requires": ("cần đạt trước", "requires"),
    "code": ("mã", "code"), "indicator": ("chỉ tiêu", "indicator"), "fact": ("dữ liệu", "fact"),
    "op": ("phép so", "op"), "threshold": ("ngưỡng", "threshold"), "if": ("nếu", "if"),
    "at_least": ("ít nhất", "at least"), "met": ("đạt", "met"), "province": ("tỉnh quy định", "set by the province"),
    "unknown": ("chưa rõ", "unknown"),
}


# ----------------------------------------------------------------------------------------------- numbers

MAX_PLACES = 6


def _decimal(x) -> Decimal:
    if isinstance(x, Decimal):
        return x
    if isinstance(x, float):
        return Decimal(repr(x))
    if hasattr(x, "numerator") and hasattr(x, "denominator") and not isinstance(x, int):
        return Decimal(x.numerator) / Decimal(x.denominator)
    return Decimal(x)


def fmt_num(x, lang: str, places: int | None = None, sign: bool = False) -> str:
    """One number format per language: 1,234.5 (en) and 1.234,5 (vi). `places` rounds (half-even) to at most
    that many decimals; None keeps up to six. Trailing zeros are dropped; booleans are words; None is a dash."""
    if isinstance(x, bool):
        return w("yes" if x else "no", lang) if lang == "vi" else ("yes" if x else "no")
    if x is None:
        return "—"
    d = _decimal(x)
    q = Decimal(1).scaleb(-(MAX_PLACES if places is None else places))
    d = d.quantize(q, rounding=ROUND_HALF_EVEN)
    if d == 0:
        d = Decimal(0)
    neg = d < 0
    text = f"{abs(d):,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if lang == "vi":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    prefix = "-" if neg else ("+" if sign and d > 0 else "")
    return prefix + text


def places_of(x) -> int:
    """Decimals a value is written with (80 → 0, 67.5 → 1)."""
    if x is None or isinstance(x, bool):
        return 0
    exp = _decimal(x).normalize().as_tuple().exponent
    return max(0, -int(exp)) if isinstance(exp, int) else 0


def _compare(a: Decimal, op: str, b: Decimal) -> bool:
    return {">=": a >= b, ">": a > b, "<=": a <= b, "<": a < b, "==": a == b}.get(op, a == b)


def fmt_observed(value, threshold=None, op: str | None = None, lang: str = "vi", share: bool = True) -> str:
    """An observed value rounded to what the threshold needs: one decimal more than the threshold is written
    with, and more if rounding would make a failing value look like the threshold (79.996 vs ≥ 80)."""
    if value is None or isinstance(value, bool) or not share or threshold is None or isinstance(threshold, bool):
        return fmt_num(value, lang)
    v, t = _decimal(value), _decimal(threshold)
    places = max(1, places_of(threshold) + 1)
    while places < MAX_PLACES:
        r = v.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
        if (r == t) == (v == t) and (op is None or _compare(r, op, t) == _compare(v, op, t)):
            break
        places += 1
    return fmt_num(value, lang, places)


def fmt_gap(gap, lang: str) -> str:
    """Two decimals, more when that would show a non-zero gap as 0 (never "short by 0")."""
    if gap is None:
        return "—"
    d = _decimal(gap)
    places = 2
    while places < MAX_PLACES and d != 0 and d.quantize(Decimal(1).scaleb(-places)) == 0:
        places += 1
    return fmt_num(gap, lang, places)


def fmt_pct(x, lang: str, places: int = 2) -> str:
    return "—" if x is None else fmt_num(x, lang, places) + "%"


def gap_phrase(gap, op: str, unit: str, lang: str) -> str:
    """'còn thiếu 5,8 triệu đồng/người/năm' / 'short by 5.8 million VND/person/year'."""
    if isinstance(gap, bool) or gap is None:
        return pick(GAP["not_met"], lang)
    if _decimal(gap) == 0 and op in (">", "<"):
        return pick(GAP["at_strict_low" if op == ">" else "at_strict_high"], lang)
    u = pick(PP, lang) if unit == "%" else unit_text(unit, lang)
    kind = "short" if op in (">=", ">") else "over" if op in ("<=", "<") else "off"
    return pick(GAP[kind], lang).format(n=fmt_gap(gap, lang), u=u).rstrip()


def requirement(op: str, threshold, unit: str, lang: str) -> str:
    if op == "is_true":
        return w("met", lang)
    if threshold is None:
        return "—"
    u = "%" if unit == "%" else " " + unit_text(unit, lang)
    return f"{OPS[op]} {fmt_num(threshold, lang)}{u}".rstrip()


def observed_text(value, unit: str, lang: str, threshold=None, op: str | None = None) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return fmt_num(value, lang)
    num = fmt_observed(value, threshold, op, lang, share=unit == "%")
    return f"{num}{'%' if unit == '%' else ' ' + unit_text(unit, lang)}".rstrip()


def cond_gap(c, lang: str) -> str:
    """The gap of a failing condition (ConditionOut), formatted here rather than taken from the outcome's text."""
    if c.status != "fail":
        return ""
    if c.gap is None:
        return pick(GAP["not_met"], lang) if c.gap_text is not None else ""
    return gap_phrase(c.gap, c.op, c.unit, lang)


# ------------------------------------------------------------------------------------------------ reasons

_REASONS = [
    (re.compile(r"^set by the province \(no national value\)$"),
     "do tỉnh quy định (không có giá trị quốc gia)"),
    (re.compile(r"^no value known for this threshold$"), "chưa có giá trị (chưa chép được từ văn bản gốc)"),
    (re.compile(r"^no threshold for assessment year (\d+) \(the table covers (\d+)–(\d+)\); it is not borrowed from another year$"),
     r"không có ngưỡng cho năm đánh giá \1 (bảng chỉ có \2–\3); không lấy ngưỡng của năm khác"),
    (re.compile(r"^no threshold for region (.+)$"), r"không có ngưỡng cho vùng \1"),
]


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


# ------------------------------------------------------------------------------------------- codes, tiers

_RUN = re.compile(r"(\d+)")


def natural_key(code) -> tuple:
    """A total order on criterion/indicator codes: '2' < '10' < '17.6' < '17.10' < '17.10b'. Digit runs compare
    as numbers, other runs as text; every element is a (kind, value) pair, so mixed codes never raise."""
    out = []
    for i, part in enumerate(_RUN.split(str(code))):
        if part == "":
            continue
        out.append((0, int(part), "") if i % 2 else (1, 0, part))
    return tuple(out)


def fold(text: str) -> str:
    """Case, spacing, hyphens and diacritics folded away: 'Đạt-Chuẩn' → 'dat chuan'."""
    s = unicodedata.normalize("NFKD", str(text).replace("đ", "d").replace("Đ", "D"))
    s = "".join(ch for ch in s if not unicodedata.combining(ch)).casefold()
    return " ".join(re.sub(r"[-_/]+", " ", s).split())


def match_tier(text: str, tiers) -> str | None:
    """The tier id a user meant: an id, or words of a tier's label in either language ('đạt-chuẩn',
    'nâng-cao', 'kiểu-mẫu', 'dat chuan'). `tiers` are (id, label, requires) from the ruleset. When the words
    are in several labels ("đạt chuẩn" is also in "xã đạt chuẩn nông thôn mới nâng cao"), the tier the others
    build on (via `requires`) is meant, and a tier before recognition conditions. None if no single tier matches (the caller lists the choices)."""
    rows = [(x[0], x[1], x[2] if len(x) > 2 else None) for x in tiers]
    kinds = {x[0]: (x[3] if len(x) > 3 else "tier") for x in tiers}
    for tid, _, _ in rows:
        if text == tid:
            return tid
    want = fold(text)
    if not want:
        return None
    for tid, _, _ in rows:
        if fold(tid) == want:
            return tid
    hits = [tid for tid, lbl, _ in rows
            if any(f" {want} " in f" {fold(label(lbl, lg))} " for lg in ("vi", "en"))]
    if len(hits) > 1 and any(kinds[h] != "recognition" for h in hits):
        hits = [h for h in hits if kinds[h] != "recognition"]  # "đạt chuẩn" names a tier, not its conditions
    if len(hits) <= 1:
        return hits[0] if hits else None
    needs = {tid: req for tid, _, req in rows}

    def below(tid: str) -> set:
        seen, cur = set(), needs.get(tid)
        while cur and cur not in seen:
            seen.add(cur)
            cur = needs.get(cur)
        return seen
    base = [h for h in hits if all(h == o or h in below(o) for o in hits)]
    if len(base) == 1:
        return base[0]
    # otherwise the tier whose name says least besides the words given ("huyện đạt chuẩn nông thôn mới", not
    # "huyện không có xã đạt chuẩn nông thôn mới (huyện đảo)")
    size = {tid: len(fold(label(lbl, "vi")).split()) for tid, lbl, _ in rows}
    least = min(size[h] for h in hits)
    short = [h for h in hits if size[h] == least]
    return short[0] if len(short) == 1 else None

CITE = {"article": ("Điều", "Art."), "appendix": ("PL", "App."), "item": ("mục", "item")}


def citation_text(c, lang: str) -> str:
    """A citation in the report's language ('318/QĐ-TTg, PL I, mục 10' / '318/QĐ-TTg, App. I, item 10'); the
    document number is a name and stays as the law writes it."""
    if c is None:
        return ""
    get = (lambda k: c.get(k)) if isinstance(c, dict) else (lambda k: getattr(c, k, None))
    if lang != "en" and get("text"):
        return get("text")
    parts = [get("document") or ""]
    for key in ("article", "appendix", "item"):
        if get(key):
            parts.append(f"{pick(CITE[key], lang)} {get(key)}")
    return ", ".join(p for p in parts if p)


# Batch row errors are recorded in English in the JSON (like threshold reasons); a Vietnamese output translates
# them through ntm.report.messages, whole message by whole message.
def row_error_text(reason: str | None, lang: str) -> str:
    """A batch row error in the output's language: the known phrases translated, units in the language."""
    from ntm.report.messages import row_error

    return row_error(reason, lang)


# Notes and problems of `verify`, `recheck` and the register are recorded in English (they are also in the JSON);
# the Vietnamese text output translates the known ones, whole note by whole note.
_AUDIT_NOTES = [
    (r"^recorded with (\S+) (\S+), now (\S+)$", r"ghi bằng \1 \2, nay là \3"),
    (r"^the given ruleset file differs from the recorded one: recorded sha256 (\S+), given (\S+)$",
     r"tệp bộ tiêu chí đã cho khác tệp đã ghi: sha256 đã ghi \1, tệp đã cho \2"),
    (r"^shipped ruleset (\S+) changed: recorded sha256 (\S+), now (\S+) \((.+)\); give the recorded file with "
     r"--ruleset PATH to verify against it$",
     r"bộ tiêu chí \1 kèm theo đã thay đổi: sha256 đã ghi \2, nay \3 (\4); dùng --ruleset TỆP với tệp đã ghi để "
     r"kiểm tra theo đúng tệp đó"),
    (r"^ruleset (\S+) version: recorded (\S+), now (\S+)$", r"phiên bản bộ tiêu chí \1: đã ghi \2, nay \3"),
    (r"^signed by (.*)\(key (\S+)\)$", r"đã ký bởi \1(khóa \2)"),
    (r"^signed by (.*)\(key (\S+)\), but not by the trusted key \(key (\S+)\)$",
     r"đã ký bởi \1(khóa \2), nhưng không phải khóa tin cậy (khóa \3)"),
    (r"^the record is not signed, but a trusted key was given$", "hồ sơ chưa được ký, nhưng đã cho khóa tin cậy"),
    (r"^signature is not valid \(the record or its signature block was changed after signing\)$",
     "chữ ký không hợp lệ (hồ sơ hoặc phần chữ ký đã bị sửa sau khi ký)"),
    (r"^using the record's overlay (\S+) \(give --overlay to use another\)$",
     r"dùng quy định của tỉnh đã ghi trong hồ sơ \1 (dùng --overlay để chọn quy định khác)"),
    (r"^judged under (\S+) (\S+) \(the record: (\S+) (\S+)\)$", r"đánh giá theo \1 \2 (hồ sơ đã ghi: \3 \4)"),
    (r"^tier (\S+) is not in the new rules$", r"mức \1 không có trong quy định mới"),
    (r"^the record's inputs are damaged \((.*)\)$", r"dữ liệu vào của hồ sơ bị hỏng (\1)"),
    (r"^the signing key was not checked: anyone can sign with a key of their own; give --trusted-key with the "
     r"council's public key$", "chưa đối chiếu khoá ký: ai cũng có thể ký bằng khoá của riêng mình; dùng "
     "--trusted-key với khoá công khai của hội đồng"),
    (r"^(outcome\.)?(\S+) says (.*), but the embedded dossier says (.*) \(the record's headline does not match what "
     r"was judged\)$", r"\1\2 ghi \3, nhưng hồ sơ đánh giá đi kèm ghi \4 (phần đầu hồ sơ quyết định không khớp nội "
     r"dung đã được đánh giá)"),
    (r"^the embedded dossier has no unit or assessment section$",
     "hồ sơ đánh giá đi kèm không có phần unit hoặc assessment"),
    (r"^inputs\.dossier was edited \(it no longer matches inputs\.dossier_sha256\)$",
     "hồ sơ đánh giá (inputs.dossier) đã bị sửa (không còn khớp inputs.dossier_sha256)"),
    (r"^inputs\.communes\[(.*)\] was edited \(it no longer matches its sha256\)$",
     r"hồ sơ xã inputs.communes[\1] đã bị sửa (không còn khớp sha256 của nó)"),
    (r"^inputs\.overlay was edited \(its text no longer matches its sha256\)$",
     "quy định của tỉnh (inputs.overlay) đã bị sửa (không còn khớp sha256)"),
    (r"^decision_id does not match the inputs \(inputs or decision_id were edited\)$",
     "decision_id không khớp dữ liệu vào (dữ liệu vào hoặc decision_id đã bị sửa)"),
    (r"^outcome was edited \(it no longer matches outcome_sha256\)$",
     "phần kết quả (outcome) đã bị sửa (không còn khớp outcome_sha256)"),
    (r"^the record's content was edited \(record_sha256 does not match\)$",
     "nội dung hồ sơ đã bị sửa (record_sha256 không khớp)"),
    (r"^record_sha256 does not match the content$", "record_sha256 không khớp nội dung"),
    (r"^the record is damaged \((.*)\)$", r"hồ sơ quyết định bị hỏng (\1)"),
]


def audit_note(text: str, lang: str) -> str:
    if lang == "en" or not text:
        return text
    for pattern, vi in _AUDIT_NOTES:
        if re.match(pattern, text):
            return re.sub(pattern, vi, text)
    return text

# units a batch could not evaluate because their engine worker crashed, was killed or timed out (summary "lost")
BATCH_LOST_WORDS = {
    "lost": ("Không đánh giá được do tiến trình suy luận dừng bất thường (hỏng, bị dừng hoặc quá thời gian)",
             "Not evaluated: the engine worker crashed, was killed or timed out"),
}
