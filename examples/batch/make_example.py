"""Build the example batch input: 12 invented communes of Tỉnh Minh Họa, Vietnamese headers, one bad row.

    python examples/batch/make_example.py            # writes examples/batch/xa-tinh-minh-hoa.csv
    python examples/batch/make_example.py --xlsx F   # also the same table as an XLSX workbook
    ntm batch examples/batch/xa-tinh-minh-hoa.csv --overlay examples/overlays/tinh-minh-hoa.yaml

Every commune starts from examples/xa-dat-chuan.yaml (meets the standard tier with the overlay) and changes a
few facts, so which criteria each one fails is known by construction.
"""

from __future__ import annotations

import csv
import io
import os
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
BASE = os.path.join(HERE, "..", "xa-dat-chuan.yaml")

# code, name, district, changes (fact -> value; None = not given; a str is written verbatim)
COMMUNES = [
    ("99101", "Xã An Bình", "Huyện Đông", {}),
    ("99102", "Xã An Hòa", "Huyện Đông", {"income_per_capita": 60}),  # 10
    ("99103", "Xã An Lạc", "Huyện Đông", {"income_per_capita": 60, "solid_waste_treated_pct": 50}),  # 10, 17
    ("99104", "Xã Bình Minh", "Huyện Đông", {"multidim_poverty_rate_pct": "5,5"}),  # 11 (decimal comma)
    ("99105", "Xã Bình Phú", "Huyện Tây", {"income_per_capita": 50, "multidim_poverty_rate_pct": 6,
                                            "regular_job_pct": 80, "health_insurance_pct": 70,
                                            "cultural_village_pct": 40}),  # 10, 11, 12, 15, 16
    ("99106", "Xã Cát Tiên", "Huyện Tây", {"income_per_capita": None}),  # 10 undecided (missing)
    ("99107", "Xã Đồng Tâm", "Huyện Tây", {"income_per_capita": "abc"}),  # bad row
    ("99108", "Xã Hòa Hiệp", "Huyện Tây", {"standard_school_pct": 50}),  # 5
    ("99109", "Xã Long Sơn", "Huyện Nam", {"security_order_safe": "không"}),  # 19
    ("99110", "Xã Mỹ Phước", "Huyện Nam", {"income_per_capita": "71,8"}),  # meets (decimal comma)
    ("99111", "Xã Phú Hữu", "Huyện Nam", {"commune_culture_house": "không", "standard_school_pct": 50}),  # 5, 6
    ("99112", "Xã Tân Thành", "Huyện Nam", {"safe_power_household_pct": 90, "temporary_houses": 3}),  # 4, 9
]


def base_facts() -> dict:
    with open(BASE, encoding="utf-8") as fh:
        facts = yaml.safe_load(fh)["facts"]
    return {k: (v["value"] if isinstance(v, dict) else v) for k, v in facts.items()}


def table(vietnamese: bool = True) -> list[list]:
    """Header row then one row per commune (values as a person would type them: 'có'/'không', numbers)."""
    from ntm.criteria.loader import load_ruleset

    facts = base_facts()
    fm = load_ruleset("vn-2021-2025").ruleset.fact_map()
    ids = list(facts)
    unit = ["mã xã", "tên xã", "huyện", "tỉnh", "vùng", "ngày đánh giá"] if vietnamese else \
        ["code", "name", "district", "province", "region", "assessment_date"]
    header = unit + [fm[f].label.vi if vietnamese else f for f in ids] + ["income_per_capita__evidence"]
    rows = [header]
    for code, name, district, changes in COMMUNES:
        values = {**facts, **changes}
        cells = [code, name, district, "Tỉnh Minh Họa", "ĐNB", "2024-10-20"]
        for f in ids:
            v = values[f]
            cells.append("" if v is None else ("có" if v is True else "không" if v is False else v))
        cells.append("Báo cáo 215/BC-UBND" if values["income_per_capita"] is not None else "")
        rows.append(cells)
    return rows


def to_csv(rows: list[list]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def to_xlsx(rows: list[list], path: str, sheet: str = "Hồ sơ") -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for r in rows:
        ws.append(r)
    wb.save(path)


if __name__ == "__main__":
    rows = table()
    with open(os.path.join(HERE, "xa-tinh-minh-hoa.csv"), "w", encoding="utf-8", newline="") as fh:
        fh.write(to_csv(rows))
    if "--xlsx" in sys.argv:
        to_xlsx(rows, sys.argv[sys.argv.index("--xlsx") + 1])
