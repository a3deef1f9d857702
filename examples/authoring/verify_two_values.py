"""What a person does in Excel, done with openpyxl: correct two thresholds and mark them verified.

    ntm rulesets export vn-2021-2025 -o bo-tieu-chi.xlsx
    python examples/authoring/verify_two_values.py bo-tieu-chi.xlsx bo-tieu-chi-da-doi-chieu.xlsx
    ntm rulesets import bo-tieu-chi-da-doi-chieu.xlsx -o vn-2021-2025-doi-chieu.yaml

MINH HỌA — ILLUSTRATIVE ONLY. The two "corrected" values below are invented to show the workflow; they are
not the official values of 318/QĐ-TTg, and the person named is not a real verifier.
"""

from __future__ import annotations

import datetime as dt
import sys

import openpyxl

SHEET = "Chỉ tiêu"
# (tier, indicator code) -> the value read in the (illustrative) official text, and where it was read
CORRECTIONS = {
    ("standard", "12.1"): {"value": 96, "item": "12.1", "page": "7"},
    ("standard", "15.1"): {"value": 95, "item": "15.1", "page": "9"},
}
VERIFIER = "Nguyễn Văn Minh Họa (ví dụ)"
VERIFIED_ON = dt.date(2026, 11, 30)


def main(src: str, dst: str) -> None:
    wb = openpyxl.load_workbook(src)
    ws = wb[SHEET]
    col = {c.value: c.column for c in ws[1]}  # find columns by their header, as a person reads them
    done = set()
    for r in range(2, ws.max_row + 1):
        key = (ws.cell(r, col["Mức"]).value, ws.cell(r, col["Mã chỉ tiêu"]).value)
        fix = CORRECTIONS.get(key)
        if fix is None or key in done:
            continue
        ws.cell(r, col["Mọi vùng"]).value = fix["value"]
        ws.cell(r, col["Tình trạng"]).value = "đã đối chiếu"
        ws.cell(r, col["Ghi chú nguồn"]).value = "MINH HỌA: giá trị đối chiếu giả định, không phải văn bản thật"
        ws.cell(r, col["Nguồn: văn bản"]).value = "318/QĐ-TTg"
        ws.cell(r, col["Nguồn: mục"]).value = fix["item"]
        ws.cell(r, col["Nguồn: trang"]).value = fix["page"]
        ws.cell(r, col["Người đối chiếu"]).value = VERIFIER
        ws.cell(r, col["Ngày đối chiếu"]).value = VERIFIED_ON
        done.add(key)
    missing = set(CORRECTIONS) - done
    if missing:
        sys.exit(f"rows not found on sheet {SHEET}: {sorted(missing)}")
    wb.save(dst)
    print(f"wrote {dst}: {len(done)} values corrected and marked verified")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
