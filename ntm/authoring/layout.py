"""What an authoring workbook holds: sheet names, columns (Vietnamese headers), closed lists, and how one cell
is written and read. Export and import share this one description, so they cannot drift apart.

A blank cell means "not given" (the schema's default). Ids (facts, tiers, documents, regions) are written as
they are in the YAML; words a person chooses from a list (status, comparison, set by) are written in
Vietnamese and read in Vietnamese or in the schema's English.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

SHEET_GUIDE = "Hướng dẫn"
SHEET_INFO = "Thông tin"
SHEET_DOCS = "Văn bản"
SHEET_VERSIONS = "Phiên bản"
SHEET_REGIONS = "Vùng"
SHEET_GROUPS = "Nhóm xã"
SHEET_FLAGS = "Cờ đơn vị"
SHEET_RULES = "Quy tắc vùng"
SHEET_FACTS = "Chỉ số"
SHEET_TIERS = "Mức"
SHEET_INDICATORS = "Chỉ tiêu"
SHEET_YAML = "Phần khác (YAML)"

KIND_RULESET = "ruleset"
KIND_OVERLAY = "overlay"

# closed lists: schema value -> words a person may write (the first is what export writes)
VOCAB: dict[str, dict[object, tuple[str, ...]]] = {
    "status": {"verified": ("đã đối chiếu", "verified", "V"), "provisional": ("tạm tính", "provisional", "P"),
               "missing": ("thiếu", "missing", "—")},
    "set_by": {"national": ("quốc gia", "national", "trung ương"), "province": ("tỉnh", "province")},
    "op": {">=": ("≥", ">="), "<=": ("≤", "<="), ">": (">",), "<": ("<",), "==": ("=", "=="),
           "is_true": ("đạt", "is_true", "đạt/không")},
    "level": {"commune": ("commune", "xã"), "district": ("district", "huyện"), "village": ("village", "thôn"),
              "province": ("province", "tỉnh")},
    "fact_type": {t: (t,) for t in ("percent", "money", "count", "area_per_person", "length", "number", "boolean")},
    "tier_kind": {"tier": ("tier", "mức"), "recognition": ("recognition", "điều kiện công nhận")},
    "region_kind": {"region": ("region", "vùng"), "commune_group": ("commune_group", "nhóm xã")},
    "bool": {True: ("có", "true", "yes", "x"), False: ("không", "false", "no")},
    "merge_how": {"sum": ("cộng", "sum"), "ratio": ("tỷ lệ từ tử số, mẫu số", "ratio"),
                  "weighted": ("bình quân theo chỉ số gốc", "weighted"),
                  "own_evidence": ("cần số liệu riêng", "own_evidence")},
    "row_kind": {"threshold": ("sửa ngưỡng", "threshold"), "indicator": ("thêm chỉ tiêu", "indicator")},
    "ruleset_kind": {KIND_RULESET: ("bộ tiêu chí", "ruleset"), KIND_OVERLAY: ("lớp bổ sung của tỉnh", "overlay")},
}


def vocab_words(name: str) -> list[str]:
    return [words[0] for words in VOCAB[name].values()]


def from_words(name: str, text: str):
    """The schema value a person's word stands for, or raise KeyError."""
    t = text.strip().casefold()
    for value, words in VOCAB[name].items():
        if t in (w.casefold() for w in words) or (isinstance(value, str) and t == value.casefold()):
            return value
    raise KeyError(text)


def to_word(name: str, value) -> str:
    return VOCAB[name][value][0]


@dataclass(frozen=True)
class Col:
    """One column: its key (what it fills), its header, width, and how a cell is read.

    kind: text | id | int | date | list | choice | yaml | value | ref | num"""

    key: str
    header: str
    width: float = 14
    kind: str = "text"
    vocab: str | None = None  # for kind choice
    hint: str | None = None  # shown as the header's comment: what to write here
    hidden: bool = False


def _t(key, header, width=14, hint=None):
    return Col(key, header, width, "text", hint=hint)


def _id(key, header, width=14, hint=None):
    return Col(key, header, width, "id", hint=hint)


def _c(key, header, vocab, width=12, hint=None):
    return Col(key, header, width, "choice", vocab, hint)


EXTRA = Col("extra", "YAML bổ sung", 24, "yaml",
            hint="Trường không có cột riêng, viết dạng YAML (để trống nếu không có)")

DOCS = [
    _id("id", "Mã văn bản", 22, "Mã dùng để dẫn chiếu, ví dụ 318/QĐ-TTg"),
    _t("number", "Số hiệu", 22),
    Col("date", "Ngày ban hành", 14, "date", hint="Ngày, dạng YYYY-MM-DD hoặc DD/MM/YYYY"),
    _t("title.vi", "Trích yếu", 60),
    _t("title.en", "Trích yếu (en)", 50),
    _t("note", "Ghi chú", 40),
    EXTRA,
]

VERSIONS = [
    _id("id", "Phiên bản", 12),
    Col("from", "Áp dụng từ", 14, "date"),
    Col("documents", "Văn bản", 30, "list", hint="Mã văn bản, cách nhau bởi dấu phẩy"),
    _t("note.vi", "Ghi chú", 60),
    _t("note.en", "Ghi chú (en)", 50),
    EXTRA,
]

REGIONS = [
    _id("id", "Mã", 12),
    _t("label.vi", "Tên", 40),
    _t("label.en", "Tên (en)", 36),
    EXTRA,
]

FLAGS = [
    _id("id", "Mã cờ", 34),
    _t("label.vi", "Tên", 50),
    _t("label.en", "Tên (en)", 46),
    EXTRA,
]

CITATION = [
    _id("citation.document", "Căn cứ: văn bản", 18),
    _id("citation.appendix", "Căn cứ: phụ lục", 10),
    _id("citation.article", "Căn cứ: điều", 10),
    _id("citation.item", "Căn cứ: mục", 10),
]

RULES = [
    _id("id", "Mã quy tắc", 28),
    _t("label.vi", "Nội dung", 60),
    _t("label.en", "Nội dung (en)", 50),
    _c("level", "Cấp", "level", 11),
    _id("use_region", "Áp dụng vùng", 14),
    Col("tiers", "Cho các mức", 16, "list", hint="Mã mức, cách nhau bởi dấu phẩy"),
    Col("when_flags_any", "Khi có cờ", 48, "flags_any",
        hint="Các nhóm cờ cách nhau bởi dấu chấm phẩy; trong một nhóm, các cờ nối bằng +"),
    *CITATION,
    EXTRA,
]

FACTS = [
    _id("id", "Mã chỉ số", 34, "Mã dùng trong hồ sơ xã (chữ thường, số, gạch dưới)"),
    _t("label.vi", "Tên chỉ số", 56),
    _t("label.en", "Tên (en)", 44),
    _c("type", "Kiểu", "fact_type", 14),
    _t("unit", "Đơn vị", 14),
    _t("unit_en", "Đơn vị (en)", 12),
    _c("level", "Cấp", "level", 11),
    Col("range.min", "Nhỏ nhất", 10, "num"),
    Col("range.max", "Lớn nhất", 10, "num"),
    _id("ratio_of.numerator", "Tử số (chỉ số)", 24),
    _id("ratio_of.denominator", "Mẫu số (chỉ số)", 24),
    _t("description.vi", "Mô tả", 40),
    _t("description.en", "Mô tả (en)", 36),
    _c("merge.how", "Gộp xã: cách tính", "merge_how", 16,
       "Xã hình thành sau sắp xếp: cộng, tỷ lệ từ tử số/mẫu số, bình quân theo chỉ số gốc, hoặc cần số liệu riêng"),
    _id("merge.base", "Gộp xã: chỉ số gốc", 20, "Chỉ số làm quyền số khi bình quân (hộ, dân số, diện tích)"),
    EXTRA,
]

TIERS = [
    _c("level", "Cấp", "level", 11),
    _id("id", "Mã mức", 20),
    _t("label.vi", "Tên mức", 36),
    _t("label.en", "Tên (en)", 30),
    _c("kind", "Loại", "tier_kind", 14),
    _id("requires", "Cần đạt trước", 14),
    Col("when_flags", "Chỉ khi có cờ", 16, "list"),
    Col("unless_flags", "Trừ khi có cờ", 16, "list"),
    Col("effective.from", "Hiệu lực từ", 13, "date"),
    Col("effective.to", "Hiệu lực đến", 13, "date"),
    *CITATION,
    _t("note.vi", "Ghi chú", 40),
    _t("note.en", "Ghi chú (en)", 36),
    EXTRA,
]

ALL_REGIONS = {"region": "Mọi vùng", "commune_group": "Mọi nhóm"}

# the indicators sheet: the columns before the region columns, and after them
IND_HEAD = [
    _c("level", "Cấp", "level", 10),
    _id("tier", "Mức", 13),
    _id("criterion", "Tiêu chí", 8),
    _t("criterion.vi", "Tên tiêu chí", 22),
    _t("criterion.en", "Tên tiêu chí (en)", 18),
    _id("code", "Mã chỉ tiêu", 10),
    _t("label.vi", "Nội dung chỉ tiêu", 50),
    _t("label.en", "Nội dung (en)", 36),
    Col("cond", "Điều kiện số", 8, "int", hint="1, 2, ...: các dòng cùng số là một điều kiện"),
    _id("fact", "Chỉ số", 28),
    _c("op", "So sánh", "op", 8),
    _t("unit", "Đơn vị", 10),
    Col("year", "Năm", 7, "int", hint="Để trống nếu giá trị không đổi theo năm đánh giá"),
]
REF = Col("ref", "Theo ngưỡng khác", 22, "ref",
          hint="Ngưỡng bằng hệ số × ngưỡng của chỉ tiêu khác, ví dụ: 1.1 × standard 10 (điều kiện 1)")
IND_TAIL = [
    REF,
    *CITATION,
    _c("status", "Tình trạng", "status", 14),
    _t("note", "Ghi chú nguồn", 44),
    _c("set_by", "Quy định bởi", "set_by", 11),
    _id("source.document", "Nguồn: văn bản", 16),
    _id("source.item", "Nguồn: mục", 10),
    _id("source.page", "Nguồn: trang", 9),
    _t("source.url", "Nguồn: URL", 24),
    _t("verified_by", "Người đối chiếu", 18),
    Col("verified_on", "Ngày đối chiếu", 13, "date"),
    Col("at_least", "Số điều kiện phải đạt", 10, "int", hint="Để trống nếu phải đạt mọi điều kiện"),
    _id("applies_if", "Áp dụng nếu có (chỉ số)", 22),
    Col("effective.from", "Hiệu lực từ", 12, "date"),
    Col("effective.to", "Hiệu lực đến", 12, "date"),
    _t("cond_label.vi", "Nhãn điều kiện", 24),
    _t("cond_label.en", "Nhãn điều kiện (en)", 20),
    _t("ind_note", "Ghi chú chỉ tiêu", 30),
    _c("provincial_placeholder", "Chỗ giữ cho tiêu chí của tỉnh", "bool", 12,
       "có: chỉ tiêu đứng chỗ cho tiêu chí tỉnh quy định; bị bỏ khi lớp bổ sung của tỉnh thêm chỉ tiêu vào mức này"),
    EXTRA,
    Col("fp", "_dấu", 10, "text", hidden=True),
]
OVERLAY_KIND = _c("kind", "Loại dòng", "row_kind", 14)

VALUE_HINT = ("Số (ví dụ 80 hoặc 13.9), Đạt (chỉ tiêu đạt/không), hoặc — nếu văn bản không cho số "
              "(tỉnh quy định hoặc chưa biết)")

# key/value rows of the information sheet
RULESET_INFO = [
    ("kind", "Loại sổ", "choice:ruleset_kind"),
    ("id", "Mã bộ tiêu chí", "id"),
    ("version", "Phiên bản", "id"),
    ("title.vi", "Tên", "text"),
    ("title.en", "Tên (en)", "text"),
    ("effective.from", "Hiệu lực từ", "date"),
    ("effective.to", "Hiệu lực đến", "date"),
    ("region_kind", "Phân loại địa bàn", "choice:region_kind"),
    ("note.vi", "Ghi chú", "text"),
    ("note.en", "Ghi chú (en)", "text"),
]
LEVEL_KEY = "level:"  # a row "level:commune" of the YAML sheet holds that level's own fields

# the parts of a ruleset or overlay that are not tables (commune group rules, transcription notes, a level's
# report bands, ...): one row each, the part's name and its YAML
PARTS = [Col("part", "Phần", 26, "id", hint="Tên trường trong YAML (ví dụ commune_groups), hoặc level:commune"),
         Col("yaml", "Nội dung (YAML)", 120, "yaml_any", hint="Giá trị của phần đó, viết dạng YAML")]

OVERLAY_INFO = [
    ("kind", "Loại sổ", "choice:ruleset_kind"),
    ("id", "Mã lớp bổ sung", "id"),
    ("title.vi", "Tên", "text"),
    ("title.en", "Tên (en)", "text"),
    ("province", "Tỉnh", "text"),
    ("ruleset", "Áp dụng cho bộ tiêu chí", "id"),
    ("illustrative", "Chỉ là minh họa", "choice:bool"),
    ("decision", "Quyết định", "text"),
    ("date", "Ngày", "date"),
    ("extra", "YAML bổ sung", "yaml"),
]

NULL_WORDS = {"—", "-", "–", "null", "chưa có", "không có số", "?"}
TRUE_WORDS = {"đạt", "true", "có"}
_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+(\.\d*)?[eE][+-]?\d+)$")
_COMMA = re.compile(r"^[+-]?\d+,\d+$")


def parse_number(text: str):
    """A number as a person writes it ('80', '13.9', '13,9', '100.0'), or None. '100.0' stays a float, as in YAML."""
    t = text.strip().replace("\u00a0", "").replace(" ", "")
    if _INT.match(t):
        return int(t)
    if _COMMA.match(t):
        t = t.replace(",", ".")
    if _FLOAT.match(t):
        v = float(t)
        return v if v == v and v not in (float("inf"), float("-inf")) else None
    return None


def write_number(v):
    """What a cell holds for a number: the number, except a whole float (100.0), kept as text so it stays a float."""
    if isinstance(v, float) and v.is_integer():
        return repr(v)
    return v


def parse_date(v) -> dt.date | None:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str):
        t = v.strip()
        try:
            return dt.date.fromisoformat(t)
        except ValueError:
            pass
        m = re.match(r"^(\d{1,2})/(\d{1,2})/(\d{4})$", t)
        if m:
            try:
                return dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
            except ValueError:
                return None
    return None


REF_RE = re.compile(r"^\s*(?P<factor>[0-9]+(?:[.,][0-9]+)?)\s*[×x*]\s*(?P<tier>[a-z][a-z0-9_]*)\s+"
                    r"(?P<code>[0-9]+(?:\.[0-9]+)*[a-z]?)\s*(?:\((?:điều kiện|condition)\s*(?P<cond>[0-9]+)\))?\s*$")


def write_ref(ref) -> str:
    text = f"{ref.factor} × {ref.tier} {ref.indicator}"
    return text + (f" (điều kiện {ref.condition + 1})" if ref.condition else "")
