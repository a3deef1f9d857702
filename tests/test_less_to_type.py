"""Less to type: the project file ntm.toml, dossiers from standard input, batch inputs for plan/whatif/compare,
Vietnamese tier names on the command line, shell completion; and the batch outputs meant for Excel."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "examples"
OVERLAY = str(EX / "overlays" / "tinh-minh-hoa.yaml")
SHORT = str(EX / "xa-thieu-hai-tieu-chi.yaml")
STD = str(EX / "xa-dat-chuan.yaml")
BATCH = str(EX / "batch" / "xa-tinh-minh-hoa.csv")


def ntm(*args, cwd=None, stdin: bytes | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    e = {k: v for k, v in os.environ.items() if k != "NTM_PROJECT"}
    e.update({"COLUMNS": "100", "SOURCE_DATE_EPOCH": "86400"}, **(env or {}))
    return subprocess.run([sys.executable, "-m", "ntm", *map(str, args)], capture_output=True, cwd=cwd, input=stdin,
                          timeout=300, check=False, env=e)


@pytest.fixture()
def good_csv(tmp_path) -> Path:
    """The example province table without its deliberately bad row."""
    with open(BATCH, encoding="utf-8-sig") as fh:
        rows = [r for r in csv.reader(fh) if not (r and r[0] == "99107")]
    p = tmp_path / "xa.csv"
    with open(p, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows[:4])
    return p


# ----------------------------------------------------------------------------------------------- ntm.toml


def test_project_file_gives_defaults_and_options_win(tmp_path):
    (tmp_path / "quy-dinh").mkdir()
    (tmp_path / "quy-dinh" / "tinh.yaml").write_bytes(Path(OVERLAY).read_bytes())
    (tmp_path / "ntm.toml").write_text('overlay = "quy-dinh/tinh.yaml"\nlang = "en"\n', encoding="utf-8")
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    r = ntm("evaluate", SHORT, "-f", "json", cwd=work)  # found two folders up
    assert r.returncode == 0, r.stderr.decode()
    assert json.loads(r.stdout)["overlay"]["id"] == "tinh-minh-hoa"
    table = ntm("evaluate", SHORT, cwd=work).stdout.decode()
    assert "Provincial overlay: tinh-minh-hoa" in table and "What is missing" in table  # lang = en
    vi = ntm("evaluate", SHORT, "--lang", "vi", cwd=work).stdout.decode()
    assert "Còn thiếu" in vi  # an explicit option wins over the project file
    batch = ntm("batch", BATCH, "-f", "json", cwd=work)
    assert json.loads(batch.stdout)["overlay"]["id"] == "tinh-minh-hoa"
    ignored = ntm("evaluate", SHORT, "-f", "json", cwd=work, env={"NTM_PROJECT": "none"})
    assert json.loads(ignored.stdout)["overlay"] is None


def test_project_file_register_path(tmp_path):
    (tmp_path / "ntm.toml").write_text('register = "so/dang-ky.sqlite"\n', encoding="utf-8")
    (tmp_path / "so").mkdir()
    rec = tmp_path / "r.json"
    assert ntm("evaluate", STD, "--overlay", OVERLAY, "-f", "json", "--record", rec, cwd=tmp_path).returncode == 0
    r = ntm("register", "add", rec, cwd=tmp_path)
    assert r.returncode == 0, r.stderr.decode()
    assert (tmp_path / "so" / "dang-ky.sqlite").exists()


@pytest.mark.parametrize("text,msg", [('overlay = 3\n', "must be text"), ('overlai = "x"\n', "unknown key 'overlai'"),
                                      ('lang = "fr"\n', "unknown language"), ('overlay = \n', "not a valid TOML")])
def test_bad_project_file_is_a_clear_error(tmp_path, text, msg):
    (tmp_path / "ntm.toml").write_text(text, encoding="utf-8")
    r = ntm("evaluate", SHORT, cwd=tmp_path)
    err = r.stderr.decode()
    assert r.returncode == 2 and msg in err and "ntm.toml" in err and "Traceback" not in err, err


def test_no_overlay_says_so_and_how_to_fix_it(tmp_path):
    r = ntm("evaluate", STD, "-f", "json", cwd=tmp_path)
    assert r.returncode == 0 and "--overlay" in r.stderr.decode() and "ntm.toml" in r.stderr.decode()
    assert "12.3" in r.stderr.decode()
    r = ntm("evaluate", STD, "-f", "json", "--overlay", OVERLAY, cwd=tmp_path)
    assert r.returncode == 0 and "ntm.toml" not in r.stderr.decode()
    r = ntm("batch", BATCH, "-f", "json", "--lang", "en", cwd=tmp_path)
    assert "No provincial overlay" in r.stderr.decode()


# ------------------------------------------------------------------------------------------- inputs, tiers


def test_dossier_from_standard_input(tmp_path):
    piped = ntm("evaluate", "-", "-f", "json", "--overlay", OVERLAY, stdin=Path(SHORT).read_bytes(), cwd=tmp_path)
    direct = ntm("evaluate", SHORT, "-f", "json", "--overlay", OVERLAY, cwd=tmp_path)
    assert piped.returncode == 0, piped.stderr.decode()
    assert piped.stdout == direct.stdout
    empty = ntm("evaluate", "-", stdin=b"", cwd=tmp_path)
    assert empty.returncode == 2 and "standard input is empty" in empty.stderr.decode()


def test_vietnamese_tier_names_on_the_command_line(tmp_path):
    assert ntm("evaluate", STD, "--overlay", OVERLAY, "--require", "đạt-chuẩn", "-f", "json").returncode == 0
    assert ntm("evaluate", STD, "--overlay", OVERLAY, "--require", "kiểu-mẫu", "-f", "json").returncode == 1
    bad = ntm("evaluate", STD, "--require", "siêu-cấp", "-f", "json")
    assert bad.returncode == 2 and "unknown tier" in bad.stderr.decode()
    plan = ntm("plan", SHORT, "--target", "đạt-chuẩn", "--overlay", OVERLAY, "-f", "json")
    assert plan.returncode == 0 and json.loads(plan.stdout)["plan"]["target"] == "standard"


def test_plan_whatif_compare_take_a_table(good_csv):
    r = ntm("compare", good_csv, "--overlay", "none", "--overlay", OVERLAY, "-f", "json")
    assert r.returncode == 0, r.stderr.decode()
    units = json.loads(r.stdout)["units"]
    assert len(units) == 3 and units[0]["path"] == f"{good_csv}:2"
    r = ntm("whatif", good_csv, "--overlay", OVERLAY, "--set", "income_per_capita=90", "-f", "json")
    assert r.returncode == 0, r.stderr.decode()
    assert [x["unit"]["code"] for x in json.loads(r.stdout)] == [u["code"] for u in units]
    r = ntm("plan", good_csv, "--target", "standard", "--overlay", OVERLAY, "-f", "json")
    assert r.returncode == 0, r.stderr.decode()
    assert len(json.loads(r.stdout)["plan"]["communes"]) == 3


def test_shell_completion_is_on():
    r = ntm("--help")
    assert "--install-completion" in r.stdout.decode() and "--project" in r.stdout.decode()


# -------------------------------------------------------------------------------------- batch for Excel


def test_batch_csv_has_a_bom_and_words_of_one_language(tmp_path):
    vi = ntm("batch", BATCH, "--overlay", OVERLAY, "-f", "csv").stdout
    assert vi.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(vi.decode("utf-8-sig"))))
    assert "Phụ thuộc ngưỡng tạm tính" in rows[0] and "Xã đạt chuẩn nông thôn mới" in rows[0]
    bad = next(r for r in rows if r[2] == "99107")
    assert bad[-1].startswith("dòng 8, cột") and "nhận được 'abc'" in bad[-1]


def test_batch_workbook_layout_and_provenance(tmp_path):
    import openpyxl

    out = tmp_path / "b.xlsx"
    assert ntm("batch", BATCH, "--overlay", OVERLAY, "-f", "xlsx", "-o", out).returncode == 0
    assert out.stat().st_mode & 0o644 == 0o644
    wb = openpyxl.load_workbook(out)
    first = [[c for c in row if c is not None] for row in wb.worksheets[0].iter_rows(max_row=9, values_only=True)]
    flat = [str(x) for row in first for x in row]
    assert "vn-2021-2025 v2022.1" in flat and "MINH HỌA, không phải quy định thật" in flat
    assert "Tỉnh Minh Họa" in flat and "1970-01-02" in flat and any("ngưỡng tạm tính" in x for x in flat)
    for ws in wb.worksheets[1:]:
        assert ws.freeze_panes == "A2" and ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:")
        assert ws.print_title_rows == "$1:$1"
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape" and str(ws.page_setup.paperSize) == "9"
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert any((ws.column_dimensions[c].width or 0) > 10 for c in "ABCD")


def test_batch_reports_carry_ruleset_overlay_warnings_province_and_date(tmp_path):
    doc = tmp_path / "b.json"
    doc.write_bytes(ntm("batch", BATCH, "--overlay", OVERLAY, "-f", "json").stdout)
    page = ntm("report", doc).stdout.decode()
    assert 'id="illustrative"' in page and 'id="provisional-warning"' in page
    assert "Ngày lập" in page and "1970-01-02" in page and "Tỉnh Minh Họa" in page
    md = ntm("report", doc, "-f", "md", "--lang", "en").stdout.decode()
    assert "ILLUSTRATIVE" in md and "provisional thresholds" in md and "Date made: 1970-01-02" in md
    assert "Standard NTM commune" in md  # the tier's name from the ruleset, not "standard"
