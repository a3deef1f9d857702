"""Input-error messages in the output's language.

Problems are raised in English (the CLI's and the JSON's words, which tests and other programs match); a
Vietnamese page, API answer or batch output shows them through this catalogue. Each entry is a whole message
(or the text of `expected` / a hint) as a regular expression and its Vietnamese form. A message no entry knows
is not shown half-translated: a Vietnamese output says, in Vietnamese, that the value is not valid and where
(the English original stays in the JSON), so no English fragment reaches a Vietnamese reader.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ntm.errors import Problem

_Q = r"'([^']*)'"  # a quoted value

# whole messages (Problem.message)
_MESSAGES = [
    # dossier values (ntm.criteria.dossier, ntm.criteria.validation)
    (r"unknown fact " + _Q, r"không có chỉ số dữ liệu '\1' trong bộ tiêu chí"),
    (r"unknown field " + _Q, r"trường '\1' không hợp lệ"),
    (r"unknown region " + _Q, r"vùng '\1' không có trong bộ tiêu chí"),
    (r"unknown flag " + _Q, r"đặc điểm '\1' không có trong bộ tiêu chí"),
    (r"unknown tier " + _Q, r"mức '\1' không có trong bộ tiêu chí"),
    (r"unknown ruleset " + _Q, r"không có bộ tiêu chí '\1'"),
    (r"unknown overlay " + _Q, r"máy chủ không có quy định của tỉnh '\1'"),
    (r"unknown document " + _Q, r"không rõ văn bản '\1'"),
    (r"unknown format " + _Q, r"không có định dạng '\1'"),
    (r"unknown tier id", "mã mức không hợp lệ"),
    (r"the unit's region is required \(unit\.region\)", "cần ghi vùng của đơn vị (unit.region)"),
    (r"the unit's commune group is required \(unit\.region\)", "cần ghi nhóm xã của đơn vị (unit.region)"),
    (r"ruleset (\S+) has no criteria for level " + _Q, r"bộ tiêu chí \1 không có tiêu chí cho cấp '\2'"),
    (r"fact " + _Q + r" belongs to level (\S+), not (\S+)", r"chỉ số '\1' thuộc cấp \2, không phải cấp \3"),
    (r"got (.+?) \(a true/false value\)", r"nhận được \1 (giá trị đúng/sai)"),
    (r"got the text '(.*)'", r"nhận được chữ '\1'"),
    (r"got the number (\S+)", r"nhận được số \1"),
    (r"got nothing \(null\)", "không có giá trị (null)"),
    (r"got a list", "nhận được một danh sách"),
    (r"got a mapping", "nhận được một bảng khóa: giá trị"),
    (r"got (list|dict|date|str|int|float|bool)", r"nhận được kiểu \1"),
    (r"got (.+)", r"nhận được \1"),
    (r"(\S+) is not a finite number", r"\1 không phải một số hữu hạn"),
    (r"(\S+) is outside the valid range", r"\1 nằm ngoài khoảng hợp lệ"),
    (r"(\S+) is not a whole number", r"\1 không phải số nguyên"),
    (r"(\S+) has more than 6 decimal places", r"\1 có quá 6 chữ số thập phân"),
    (_Q + r" is given both directly and as (\S+)/(\S+)", r"'\1' được ghi cả trực tiếp lẫn dưới dạng \2/\3"),
    (_Q + r" is given without " + _Q, r"có '\1' nhưng thiếu '\2'"),
    (_Q + r" is 0, so (\S+) cannot be computed", r"'\1' bằng 0 nên không tính được \2"),
    (_Q + r" \((\S+)\) is larger than " + _Q + r" \((\S+)\)", r"'\1' (\2) lớn hơn '\3' (\4)"),
    (_Q + r" is not allowed", r"giá trị '\1' không được phép"),
    (r"this field is required", "trường này bắt buộc"),
    (r"a dossier must be a mapping with unit, assessment and facts",
     "hồ sơ phải là một bảng gồm unit, assessment và facts"),
    (r"commune (\S+) is listed twice", r"xã \1 được liệt kê hai lần"),
    (r"district (\S+) is listed twice", r"huyện \1 được liệt kê hai lần"),
    (r"township (\S+) is listed twice", r"thị trấn \1 được liệt kê hai lần"),
    (r"a (\S+) dossier has no " + _Q + r" list", r"hồ sơ cấp \1 không có danh sách '\2'"),
    (_Q + r" is computed from the (\S+) list; do not give it", r"'\1' được tính từ danh sách \2; đừng ghi giá trị này"),
    (r"the (\S+) level of ruleset (\S+) is in force only from (\S+) \((.*)\); the dossier is judged on (\S+)",
     r"cấp \1 của bộ tiêu chí \2 chỉ có hiệu lực từ \3 (\4); hồ sơ được đánh giá vào ngày \5"),
    (r"the (\S+) level of ruleset (\S+) ended on (\S+).*; the dossier is judged on (\S+)",
     r"cấp \1 của bộ tiêu chí \2 hết hiệu lực ngày \3; hồ sơ được đánh giá vào ngày \4"),
    (r"a district sent to the server cannot refer to commune dossier files",
     "hồ sơ huyện gửi lên máy chủ không được dẫn tới tệp hồ sơ xã"),
    (r"the dossier is for (\S+) (\S+), but the district lists commune (\S+) here",
     r"hồ sơ này của \1 \2, nhưng huyện liệt kê xã \3 ở đây"),
    # files (ntm.criteria.yamlsrc)
    (r"not valid YAML/JSON: (.*)", "không phải YAML/JSON hợp lệ"),
    (r"not valid JSON: (.*)", "không phải JSON hợp lệ"),
    (r"is empty", "tệp trống"),
    (r"is a binary file, not YAML or JSON text", "là tệp nhị phân, không phải văn bản YAML hoặc JSON"),
    (r"is not UTF-8 text \(bad byte at offset (\d+)\)", r"không phải văn bản UTF-8 (byte lỗi ở vị trí \1)"),
    (r"is not UTF-8 text", "không phải văn bản UTF-8"),
    (r"is nested too deeply", "lồng nhau quá sâu"),
    (r"is nested more than (\d+) levels deep", r"lồng nhau quá \1 cấp"),
    (r"duplicate key " + _Q, r"khóa '\1' bị lặp"),
    (r"has too many values \(more than (\d+).*\)", r"có quá nhiều giá trị (hơn \1)"),
    (r"file is too large \((\d+) bytes; the limit is (\d+)\)", r"tệp quá lớn (\1 byte; giới hạn \2)"),
    (r"an alias refers to the value that contains it", "một bí danh YAML trỏ tới chính giá trị chứa nó"),
    (_Q + r" is not a number JSON allows", r"'\1' không phải số mà JSON cho phép"),
    # batch and template tables (ntm.batch.inputs)
    (r"unknown input type", "loại tệp không được hỗ trợ"),
    (r"unknown file type", "loại tệp không được hỗ trợ"),
    (r"the workbook has no data rows", "bảng tính không có dòng dữ liệu nào"),
    (r"the template has no filled row", "biểu mẫu chưa có dòng nào được điền"),
    (r"(\d+) rows; this server takes at most (\d+) per upload", r"\1 dòng; máy chủ nhận tối đa \2 dòng mỗi lần tải lên"),
    (r"(\d+) rows; the limit is (\d+)", r"\1 dòng; giới hạn là \2"),
    (r"not a readable XLSX workbook.*", "không đọc được bảng tính XLSX (tệp hỏng hoặc không phải .xlsx)"),
    (r"not a valid CSV file.*", "không phải tệp CSV hợp lệ"),
    (r"the first row must hold the column headers", "dòng đầu tiên phải là tiêu đề cột"),
    (r"the file is empty; row 1 must hold the column headers", "tệp trống; dòng 1 phải là tiêu đề cột"),
    (r"unknown column " + _Q, r"cột '\1' không có trong biểu mẫu"),
    (r"expected a number in (.+?), got '?([^']*)'?", r"cần một số (đơn vị \1), nhận được '\2'"),
    (r"expected a date \(YYYY-MM-DD or DD/MM/YYYY\), got " + _Q,
     r"cần một ngày (YYYY-MM-DD hoặc DD/MM/YYYY), nhận được '\1'"),
    (r"expected a year \(YYYY\), got " + _Q, r"cần một năm (YYYY), nhận được '\1'"),
    (r"expected a year, got (.*)", r"cần một năm, nhận được \1"),
    (r"expected true/false \(có/không, x, 1/0\), got " + _Q, r"cần đúng/sai (có/không, x, 1/0), nhận được '\1'"),
    (_Q + r" is ambiguous \(thousands separator or decimal\?\) — write (\S+) or (\S+)",
     r"'\1' không rõ là dấu phân cách hàng nghìn hay dấu thập phân — hãy ghi \2 hoặc \3"),
    (_Q + r" is ambiguous or malformed — write a plain number such as 1234\.5 \(no thousands separators\)",
     r"'\1' không rõ nghĩa hoặc sai dạng — hãy ghi một số đơn giản như 1234,5 (không có dấu phân cách hàng nghìn)"),
    (_Q + r" is ambiguous.*", r"'\1' không rõ là dấu phân cách hàng nghìn hay dấu thập phân"),
    (r"the commune code is empty", "mã xã để trống"),
    (r"commune (\S+) is already on row (\d+)", r"xã \1 đã có ở dòng \2"),
    (r"year (\d+) does not match the assessment date (\S+)", r"năm \1 không khớp với ngày đánh giá \2"),
    (r"input is nested too deeply", "dữ liệu lồng nhau quá sâu"),
    (r"engine failure: (.*)", "bộ máy suy luận gặp lỗi"),
    (r"timed out after (\S+) s; the engine was stopped", r"quá thời gian \1 giây; đã dừng bộ máy suy luận"),
    (r"not evaluated \(no engine worker\)", "chưa đánh giá (không có tiến trình suy luận)"),
    (r"not evaluated", "chưa đánh giá"),
    # the web app and the API (ntm.web)
    (r"choose a file to upload", "hãy chọn một tệp để tải lên"),
    (r"choose a workbook to upload", "hãy chọn một bảng tính để tải lên"),
    (r"choose a record file", "hãy chọn một tệp hồ sơ quyết định"),
    (r"give the dossier once", "chỉ gửi hồ sơ một lần"),
    (r"give the overlay once", "chỉ gửi quy định của tỉnh một lần"),
    (r"give the record once", "chỉ gửi hồ sơ quyết định một lần"),
    (_Q + r" is not a date", r"'\1' không phải một ngày"),
    (_Q + r" is not a year", r"'\1' không phải một năm"),
    (r"the request body is not valid JSON", "nội dung yêu cầu không phải JSON hợp lệ"),
    (r"the upload is too large.*", "tệp tải lên quá lớn"),
    (r"the request came from another site", "yêu cầu đến từ một trang web khác"),
    (r"cross-site request refused", "đã từ chối yêu cầu từ trang web khác"),
    (r"missing or wrong bearer token", "thiếu hoặc sai mã truy cập"),
    (r"a bearer token is required", "cần mã truy cập"),
    (r"no such page", "không có trang này"),
    (r"method not allowed", "phương thức không được phép"),
    (r"the request body cannot be read", "không đọc được nội dung yêu cầu"),
    (r"the web plan is for one unit.*", "kế hoạch trên web dành cho một đơn vị"),
    (r"no engine worker became free within (\S+) s; try again later",
     r"không có tiến trình suy luận nào rảnh trong \1 giây; hãy thử lại sau"),
    (r"the evaluation took longer than (\S+) s and was stopped", r"việc đánh giá quá \1 giây và đã bị dừng"),
    (r"engine crashed \(signal (\d+), (\w+)\); the unit was not evaluated",
     r"bộ máy suy luận bị lỗi (tín hiệu \1, \2); đơn vị chưa được đánh giá"),
    (r"engine worker exited unexpectedly \(exit code (-?\d+)\); the unit was not evaluated",
     r"tiến trình suy luận dừng bất thường (mã \1); đơn vị chưa được đánh giá"),
    (r"engine crashed \(signal (\d+), (\w+)\).*", r"bộ máy suy luận bị lỗi (tín hiệu \1, \2)"),
    (r"engine worker exited unexpectedly \(exit code (-?\d+)\).*", r"tiến trình suy luận dừng bất thường (mã \1)"),
    (r"the rule engine failed.*", "bộ máy luật không trả lời"),
    (r"too many alternative combinations to plan exactly \((\d+)\)",
     r"quá nhiều tổ hợp lựa chọn để lập kế hoạch chính xác (\1)"),
    (r"a cost model must be a mapping with cost_model and costs",
     "tệp chi phí phải là một bảng gồm cost_model và costs"),
    (r"an overlay must give a value \(verified or provisional\), not null or a ref",
     "quy định của tỉnh phải cho một giá trị (đã xác minh hoặc tạm tính), không để trống hay dẫn chiếu"),
    (r"level (\S+) has no tier " + _Q, r"cấp \1 không có mức '\2'"),
    (r"tier " + _Q + r" has no indicator (\S+)", r"mức '\1' không có chỉ tiêu \2"),
    (r"(\S+) (\S+) condition (\S+) is overridden twice", r"điều kiện \3 của \1 \2 bị ghi đè hai lần"),
    (r"indicator (\S+) has (\d+) condition\(s\)", r"chỉ tiêu \1 có \2 điều kiện"),
    (r"after adding the overlay's facts and indicators: (.*)", "sau khi thêm chỉ số và chỉ tiêu của quy định tỉnh, "
     "bộ tiêu chí không hợp lệ"),
]

# `expected` texts
_EXPECTED = [
    (r"one of (.*)", r"một trong: \1"),
    (r"a number in (.+)", r"một số (đơn vị \1)"),
    (r"a count \((.+)\)", r"một số nguyên (\1)"),
    (r"(\S+)\.\.(\S+) (.*)", r"từ \1 đến \2 \3"),
    (r"(\S+)\.\.(\S+)", r"từ \1 đến \2"),
    (r"true or false", "đúng hoặc sai (true/false)"),
    (r"true/false", "đúng/sai (true/false)"),
    (r"at most 6 decimal places", "tối đa 6 chữ số thập phân"),
    (r"text \(put quotes around codes such as \"2\.2\" or \"17\.10\"\)",
     "chữ (đặt mã như \"2.2\" hoặc \"17.10\" trong dấu ngoặc kép)"),
    (r"a whole number", "một số nguyên"),
    (r"a number", "một số"),
    (r"a finite number", "một số hữu hạn"),
    (r"a date YYYY-MM-DD", "một ngày YYYY-MM-DD"),
    (r"YYYY-MM-DD", "YYYY-MM-DD"),
    (r"YYYY", "YYYY"),
    (r"a mapping \(key: value\)", "một bảng (khóa: giá trị)"),
    (r"a mapping of fields", "một bảng các trường"),
    (r"a list", "một danh sách"),
    (r"a JSON object", "một đối tượng JSON"),
    (r"text", "chữ"),
    (r"valid JSON", "JSON hợp lệ"),
    (r"no flags", "không có đặc điểm nào"),
    (r"at most (\S+) MB", r"tối đa \1 MB"),
    (r"at most (\d+) rows", r"tối đa \1 dòng"),
    (r"a date from (.*)", r"một ngày trong khoảng \1"),
    (r"(\S+) ≤ (\S+)", r"\1 ≤ \2"),
    (r"unit:, assessment:, facts:", "unit:, assessment:, facts:"),
    (r"either dossier \(a JSON object\) or dossier_text \(YAML/JSON text\)",
     "hoặc dossier (đối tượng JSON) hoặc dossier_text (văn bản YAML/JSON)"),
    (r"either overlay \(an id this server offers\) or overlay_text",
     "hoặc overlay (mã máy chủ cung cấp) hoặc overlay_text"),
    (r"either record \(a JSON object\) or record_text", "hoặc record (đối tượng JSON) hoặc record_text"),
    (r"none: this server offers no overlay.*", "không có: máy chủ này không cung cấp quy định của tỉnh nào"),
    (r"a \.xlsx workbook or a \.csv file", "một bảng tính .xlsx hoặc tệp .csv"),
    (r"a \.xlsx or \.csv file", "một tệp .xlsx hoặc .csv"),
    (r"a \.yaml/\.yml/\.json dossier or a filled \.xlsx/\.csv template",
     "một hồ sơ .yaml/.yml/.json hoặc biểu mẫu .xlsx/.csv đã điền"),
    (r"a folder of dossiers, a \.csv file or a \.xlsx workbook", "một thư mục hồ sơ, tệp .csv hoặc bảng tính .xlsx"),
    (r"a \.json decision record", "một hồ sơ quyết định .json"),
    (r"the commune's declared status and decision \(status:, decision:\)",
     "trạng thái và quyết định đã công nhận của xã (status:, decision:)"),
    (r"Authorization: Bearer <token>", "Authorization: Bearer <mã>"),
    (r"this server's own pages", "các trang của chính máy chủ này"),
    (_Q + r" only in a (.+) dossier", r"'\1' chỉ có trong hồ sơ cấp \2"),
]

# hints
_HINTS = [
    (r"did you mean " + _Q + r"\?", r"có phải ý bạn là '\1'?"),
    (r"allowed here: (.*)", r"được phép ở đây: \1"),
    (r"write the region id " + _Q, r"hãy ghi mã vùng '\1'"),
    (r"write the number without quotes, with a dot for decimals.*",
     "ghi số không có dấu ngoặc kép, dùng dấu chấm cho phần thập phân (52.3, không phải \"52,3\")"),
    (r"give either the share or its two parts, not both", "chỉ ghi tỷ lệ hoặc hai thành phần của nó, không ghi cả hai"),
    (r"both are needed to compute (\S+)", r"cần cả hai để tính \1"),
    (r"give (\S+) directly", r"hãy ghi trực tiếp \1"),
    (r"save the file as UTF-8", "hãy lưu tệp ở dạng UTF-8"),
    (r"see the request schema at /openapi\.json", "xem lược đồ yêu cầu tại /openapi.json"),
    (r"run `ntm rulesets show (\S+)` for the fact ids.*",
     r"xem mã các chỉ số bằng `ntm rulesets show \1`; chỉ số của tỉnh cần quy định của tỉnh định nghĩa nó (--overlay)"),
    (r"`ntm template --format xlsx` writes a workbook to fill", "`ntm template --format xlsx` tạo bảng tính để điền"),
    (r"split the workbook by district, or use `ntm batch` on the command line",
     "hãy tách bảng tính theo huyện, hoặc dùng `ntm batch` trên dòng lệnh"),
    (r"split the workbook, or start the server with a larger --max-upload",
     "hãy tách bảng tính, hoặc khởi động máy chủ với --max-upload lớn hơn"),
    (r"the token is in the file given to `ntm serve --token-file`", "mã nằm trong tệp đã cho `ntm serve --token-file`"),
    (r"evaluate each commune on its own, or run `ntm evaluate` on the district file",
     "hãy đánh giá từng xã, hoặc chạy `ntm evaluate` với tệp của huyện"),
    (r"fill one row: the commune's code, name, region and its facts",
     "hãy điền một dòng: mã xã, tên, vùng và các chỉ số"),
    (r"to audit a decision taken under the old .*", "để rà soát quyết định theo quy định cũ, thêm --audit-past"),
    (r"the value looks like it is in .*", "giá trị có vẻ được ghi theo đơn vị khác; hãy kiểm tra đơn vị"),
]

_COMPILED = {kind: [(re.compile(p), vi) for p, vi in table]
             for kind, table in (("message", _MESSAGES), ("expected", _EXPECTED), ("hint", _HINTS))}
_FALLBACK = {"message": "giá trị không hợp lệ", "expected": None, "hint": None}


def text(kind: str, value: str | None, lang: str) -> str | None:
    """One message, `expected` or hint text in the language (English: as raised)."""
    if value is None or lang == "en":
        return _en_units(value) if value is not None else None
    for pattern, vi in _COMPILED[kind]:
        m = pattern.fullmatch(value)
        if m:
            return m.expand(vi)
    return _FALLBACK[kind]


def _en_units(value: str) -> str:
    """Units in English text (the rulesets write them in Vietnamese), the longest first."""
    from ntm.report.words import UNITS_EN

    for vi in sorted(UNITS_EN, key=len, reverse=True):
        if vi == UNITS_EN[vi] or vi not in value:
            continue
        u, en = re.escape(vi), UNITS_EN[vi].replace("\\", "\\\\")
        # only where a unit stands: 'a number in U', '0..100 U', '(U)'; never inside a user's column header
        value = re.sub(rf"(number in |a count \(|\d )({u})(?=[,;)]|$| —| \(|, got)", rf"\g<1>{en}", value)
        value = re.sub(rf"\(({u})\)", f"({en})", value)
    return value


# field ids shown in a Vietnamese message (the JSON keeps the id)
_FIELDS = {"file": "tệp", "ruleset": "bộ tiêu chí", "overlay": "quy định của tỉnh", "format": "định dạng",
           "path": "đường dẫn", "method": "phương thức", "as_of": "ngày áp dụng", "target": "mức mục tiêu",
           "dossier": "hồ sơ", "record": "hồ sơ quyết định", "costs": "tệp chi phí"}


def problem(p: Problem, lang: str) -> Problem:
    """The problem with its message, `expected` and hint in the language (where it is stays as it was)."""
    if lang == "en":
        return replace(p, message=_en_units(p.message), expected=text("expected", p.expected, "en"),
                       hint=text("hint", p.hint, "en"))
    return replace(p, message=text("message", p.message, lang), expected=text("expected", p.expected, lang),
                   hint=text("hint", p.hint, lang))


def render(p: Problem, lang: str, *, where: bool = True) -> str:
    """`file:line: field: message (expected …) — hint` in the language; `where=False` leaves out file and field
    (the message beside its form field)."""
    q = problem(p, lang)
    if not where:
        q = replace(q, file=None, line=None, field=None)
    if lang == "en":
        return q.render()
    out = ""
    if q.file:
        out = q.file + (f":{q.line}" if q.line is not None else "") + ": "
    if q.field:
        out += f"{_FIELDS.get(q.field, q.field)}: "
    out += q.message
    if q.expected:
        out += f" (cần {q.expected})"
    if q.hint:
        out += f" — {q.hint}"
    return out


# a batch row error: 'row 7, column Thu nhập: message (expected …) — hint', several joined by '; '
_ROW = re.compile(r"row (\d+)(?:, column (.+?)|, ([\w.\[\]-]+))?: (.*)", re.S)
_FILE = re.compile(r"([^:;]+?\.(?:ya?ml|json))(?::(\d+))?: (?:([\w.\[\]-]+): )?(.*)", re.S | re.I)


def _split_rendered(rest: str) -> Problem:
    """'message (expected …) — hint' back into its parts; a whole known message that itself holds ' — ' (the
    ambiguous-number ones) stays whole."""
    if " (expected " not in rest and any(p.fullmatch(rest) for p, _ in _COMPILED["message"]
                                         if not p.pattern.startswith("got")):
        return Problem(rest)
    hint = None
    expected = None
    if " — " in rest:
        rest, hint = rest.rsplit(" — ", 1)
    m = re.fullmatch(r"(.*) \(expected (.*)\)", rest, re.S)
    if m:
        rest, expected = m.group(1), m.group(2)
    return Problem(rest, expected=expected, hint=hint)


def row_error(reason: str | None, lang: str) -> str:
    """A batch row error (recorded in English in the JSON) in the output's language, every part of it."""
    if not reason:
        return ""
    if lang == "en":
        return _en_units(reason)
    parts = re.split(r"; (?=row \d+|[^:;]+?\.(?:ya?ml|json)[:])", reason)
    out = []
    for part in parts:
        m = _ROW.fullmatch(part)
        if m:
            where = f"dòng {m.group(1)}" + (f", cột {m.group(2)}" if m.group(2) else
                                             f", {m.group(3)}" if m.group(3) else "")
            out.append(f"{where}: " + render(_split_rendered(m.group(4)), lang))
            continue
        m = _FILE.fullmatch(part)
        if m:
            p = _split_rendered(m.group(4))
            out.append(render(replace(p, file=m.group(1), line=int(m.group(2)) if m.group(2) else None,
                                      field=m.group(3)), lang))
            continue
        out.append(render(_split_rendered(part), lang))
    return "; ".join(out)
