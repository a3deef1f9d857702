"""A commune name that looks like a formula must reach a spreadsheet as text, never as a formula."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from ntm.batch import outputs
from ntm.batch.run import run_batch

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "examples" / "batch" / "xa-tinh-minh-hoa.csv"
OVERLAY = str(ROOT / "examples" / "overlays" / "tinh-minh-hoa.yaml")
PAYLOAD = '=HYPERLINK("http://example.invalid","x")'


def _batch_with_hostile_name(tmp_path: Path) -> dict:
    rows = list(csv.reader(SRC.open(encoding="utf-8")))
    col = next(i for i, h in enumerate(rows[0]) if h.strip().lower() in ("name", "tên xã"))
    rows[1][col] = PAYLOAD
    p = tmp_path / "in.csv"
    with p.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return run_batch(str(p), overlay=OVERLAY, jobs=1)


def test_xlsx_holds_no_formula(tmp_path):
    doc = _batch_with_hostile_name(tmp_path)
    data = outputs.to_xlsx(doc)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheets = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))
        strings = z.read("xl/sharedStrings.xml").decode() if "xl/sharedStrings.xml" in z.namelist() else sheets
    assert "<f>" not in sheets
    assert "HYPERLINK" in strings  # kept, as text


def test_csv_neutralises_formula_text(tmp_path):
    doc = _batch_with_hostile_name(tmp_path)
    cells = [c for row in csv.reader(io.StringIO(outputs.to_csv(doc))) for c in row]
    assert "'" + PAYLOAD in cells and PAYLOAD not in cells
