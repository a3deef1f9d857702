"""Hostile and damaged batch inputs (issues #15/#16): workbooks that lie about their size, hide sheets, merge
cells, hold formulas or dates, or are not workbooks at all; CSV records over several lines; odd folder entries.

Malformed workbooks are made by editing the XML inside the zip, so the tests do not depend on how openpyxl
(with or without lxml) writes a file."""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import io
import os
import re
import shutil
import zipfile

import openpyxl
import pytest

from ntm.batch.run import run_batch
from ntm.errors import NtmInputError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OVERLAY = os.path.join(ROOT, "examples", "overlays", "tinh-minh-hoa.yaml")
spec = importlib.util.spec_from_file_location("make_example", os.path.join(ROOT, "examples", "batch", "make_example.py"))
mk = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mk)

SHEET = "xl/worksheets/sheet1.xml"


def book(path, rows, **kw) -> str:
    mk.to_xlsx(rows, str(path), **kw)
    return str(path)


def edit(path, changes: dict, *, drop=(), add: dict | None = None, flags: dict | None = None) -> str:
    """Rewrite the zip: member -> function(bytes) -> bytes; drop members; add members; set flag bits."""
    src = zipfile.ZipFile(path).infolist()
    data = {i.filename: zipfile.ZipFile(path).read(i.filename) for i in src}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for name, body in {**data, **(add or {})}.items():
            if name in drop:
                continue
            zi = zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(zi, changes[name](body) if name in changes else body)
            if flags and name in flags:
                zi.flag_bits |= flags[name]
    with open(path, "wb") as fh:
        fh.write(buf.getvalue())
    return str(path)


def batch(path, **kw):
    return run_batch(str(path), overlay=OVERLAY, isolate=False, **kw)


def refused(path, **kw) -> str:
    with pytest.raises(NtmInputError) as e:
        batch(path, **kw)
    return str(e.value)


@pytest.fixture(scope="module")
def table():
    return mk.table()


# ------------------------------------------------------------------------------------------ 1. dimension


@pytest.mark.parametrize("ref", ["A1:F4", "A1"])
def test_understated_dimension_loses_no_rows(tmp_path, table, ref):
    p = book(tmp_path / "dim.xlsx", table)
    edit(p, {SHEET: lambda b: re.sub(rb'<dimension ref="[^"]*"', f'<dimension ref="{ref}"'.encode(), b)})
    assert f'<dimension ref="{ref}"'.encode() in zipfile.ZipFile(p).read(SHEET)
    doc = batch(p)
    assert len(doc["units"]) == 11 and len(doc["errors"]) == 1  # 12 communes, one bad row, as in the CSV
    assert doc["input"]["rows"] == 12


# ------------------------------------------------------------------------------------------ 2. hidden sheets


def _two_sheets(tmp_path, table, state: str, active: int):
    wb = openpyxl.Workbook()
    old = wb.active
    old.title = "Cũ"
    for r in [table[0], table[1]]:  # one stale commune
        old.append(r)
    ws = wb.create_sheet("Hồ sơ")
    for r in table:
        ws.append(r)
    old.sheet_state = state
    wb.active = 1
    p = tmp_path / f"{state}.xlsx"
    wb.save(p)
    if active == 0:  # a writer that leaves the hidden sheet active
        edit(p, {"xl/workbook.xml": lambda b: re.sub(rb'activeTab="\d+"', b'activeTab="0"', b)
                 if b"activeTab" in b else b.replace(b"<workbookView", b'<workbookView activeTab="0"', 1)})
    return p


@pytest.mark.parametrize("state", ["hidden", "veryHidden"])
@pytest.mark.parametrize("active", [0, 1])
def test_hidden_first_sheet_is_not_read(tmp_path, table, state, active):
    doc = batch(_two_sheets(tmp_path, table, state, active))
    assert len(doc["units"]) == 11
    assert doc["input"]["sheet"] == "Hồ sơ"


def test_hidden_sheet_read_when_named(tmp_path, table):
    doc = batch(_two_sheets(tmp_path, table, "hidden", 1), sheet="Cũ")
    assert len(doc["units"]) == 1 and doc["input"]["sheet"] == "Cũ"


# ------------------------------------------------------------------------------------------ 3. merged cells


def test_merged_district_reaches_every_row(tmp_path, table):
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in table:
        ws.append(r)
    ws.merge_cells("C2:C5")  # "Huyện Đông" merged down over the first four communes
    ws.merge_cells("F2:F13")  # one assessment date for all
    p = tmp_path / "merged.xlsx"
    wb.save(p)
    doc = batch(p)
    got = {u["code"]: u["district"] for u in doc["units"]}
    assert [got[c] for c in ("99101", "99102", "99103", "99104")] == ["Huyện Đông"] * 4
    assert len(doc["units"]) == 11


# ------------------------------------------------------------------------------------------ 4. formulas


def _income_col(table):
    return table[0].index("Thu nhập bình quân đầu người khu vực nông thôn") + 1


def test_formula_without_saved_result_is_a_cell_error(tmp_path, table):
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in table:
        ws.append(r)
    col = _income_col(table)
    ws.cell(2, col, "=70+1.8")  # openpyxl saves the formula only: no cached result
    p = tmp_path / "formula.xlsx"
    wb.save(p)
    doc = batch(p)
    (err,) = [e for e in doc["errors"] if e["row"] == 2]
    letter = openpyxl.utils.get_column_letter(col)
    assert f"cell {letter}2" in err["reason"] and "=70+1.8" in err["reason"] and "no saved result" in err["reason"]
    assert "99101" not in {u["code"] for u in doc["units"]}


def test_formula_with_saved_result_uses_that_result(tmp_path, table):
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in table:
        ws.append(r)
    col = _income_col(table)
    ws.cell(3, col, "=50+10")  # 99102 has 60 in the table: fails criterion 10
    p = tmp_path / "cached.xlsx"
    wb.save(p)
    letter = openpyxl.utils.get_column_letter(col)
    edit(p, {SHEET: lambda b: re.sub(rf'(<c r="{letter}3"[^>]*>\s*<f>[^<]*</f>)\s*(<v\s*/>|<v></v>)?'.encode(),
                                     rb"\1<v>71.8</v>", b)})
    doc = batch(p)
    u = next(u for u in doc["units"] if u["code"] == "99102")
    assert u["highest_tier"] == "standard"  # the saved 71.8 was read, not 60 and not "missing"


# ------------------------------------------------------------------------------------------ 11. dates


def test_date_in_a_number_cell_is_refused_per_cell(tmp_path, table):
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in table:
        ws.append(r)
    col = _income_col(table)
    ws.cell(4, col, dt.datetime(2024, 3, 1))
    p = tmp_path / "date.xlsx"
    wb.save(p)
    doc = batch(p)
    (err,) = [e for e in doc["errors"] if e["row"] == 4]
    letter = openpyxl.utils.get_column_letter(col)
    assert f"cell {letter}4" in err["reason"] and "2024-03-01" in err["reason"]
    assert "expected a number in triệu đồng" in err["reason"]


# ------------------------------------------------------------------------------------------ 9. damaged


def test_damaged_and_disguised_workbooks_are_clear_errors(tmp_path, table):
    good = book(tmp_path / "good.xlsx", table[:3])
    cases = {}

    def case(name, **kw):
        p = tmp_path / f"{name}.xlsx"
        shutil.copy(good, p)
        cases[name] = edit(p, **kw)

    case("no-sheet-part", changes={}, drop=(SHEET,))
    case("bad-workbook-xml", changes={"xl/workbook.xml": lambda b: b"<workbook><sheets><sheet"})
    case("flag-bit-5", changes={}, flags={SHEET: 0x20})
    case("macros", changes={"[Content_Types].xml": lambda b: b.replace(
        b"spreadsheetml.sheet.main+xml", b"ms-excel.sheet.macroEnabled.main+xml")},
        add={"xl/vbaProject.bin": b"\0" * 64})
    case("external-links", changes={}, add={"xl/externalLinks/externalLink1.xml": b"<externalLink/>"})
    case("dtd", changes={SHEET: lambda b: re.sub(rb"^(<\?xml[^>]*\?>)?", rb'\1<!DOCTYPE x [<!ENTITY a "b">]>', b,
                                                 count=1)})
    for name, raw in {"not-a-zip": b"code,name\n1,2\n", "xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600,
                      "empty": b""}.items():
        p = tmp_path / f"{name}.xlsx"
        p.write_bytes(raw)
        cases[name] = str(p)
    expect = {"no-sheet-part": "damaged", "bad-workbook-xml": "not a readable XLSX", "flag-bit-5": "flag bit 5",
              "macros": "macro-enabled", "external-links": "links to other workbooks", "dtd": "DTD",
              "not-a-zip": "not a zip", "xls": ".xls", "empty": "not a zip"}
    for name, p in cases.items():
        msg = refused(p)
        assert p in msg and expect[name] in msg, (name, msg)


def test_cli_exit_2_on_a_damaged_workbook(tmp_path, table):
    from typer.testing import CliRunner

    from ntm.cli import app

    p = edit(book(tmp_path / "x.xlsx", table[:3]), {}, flags={SHEET: 0x20})
    res = CliRunner().invoke(app, ["batch", p])
    assert isinstance(res.exception, NtmInputError) and "flag bit 5" in str(res.exception)


# ------------------------------------------------------------------------------------------ 10. bombs, rows


def test_zip_bomb_member_is_refused_before_reading(tmp_path, table):
    p = book(tmp_path / "bomb.xlsx", table[:3])
    edit(p, {}, add={"xl/media/padding.bin": b"\0" * (8 * 2**20)})  # 8 MB of zeros, ~8 KB packed
    assert "zip bomb" in refused(p)


def test_total_unpacked_size_is_capped(tmp_path, table, monkeypatch):
    import ntm.batch.xlsx as x

    p = book(tmp_path / "big.xlsx", table)
    monkeypatch.setattr(x, "MAX_UNCOMPRESSED", 20_000)
    assert "unpacks to" in refused(p)


def test_too_many_rows_refused_from_the_raw_sheet(tmp_path, table, monkeypatch):
    import ntm.batch.inputs as inputs
    import ntm.batch.xlsx as x

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Hồ sơ")
    ws.append(table[0])
    for k in range(300):
        ws.append(table[1 + k % 12])
    p = tmp_path / "rows.xlsx"
    wb.save(p)
    monkeypatch.setattr(inputs, "MAX_ROWS", 200)
    parsed = []
    real = x._parser_class
    monkeypatch.setattr(x, "_parser_class", lambda: parsed.append(1) or real())
    assert "more than 200 rows" in refused(p)
    assert not parsed  # refused before openpyxl parsed a single cell


# ------------------------------------------------------------------------------------------ 5. one unit once

DOSSIER = os.path.join(ROOT, "examples", "xa-dat-chuan.yaml")
DISGUISED = ["\ufeff99001", "99001\u200b", "９９００１", " 99\u2060001 ", "99\u200c0\u200d01"]


def _with_code(path, code):
    text = open(DOSSIER, encoding="utf-8").read()
    assert 'code: "99001"' in text
    path.write_text(text.replace('code: "99001"', f'code: "{code}"'), encoding="utf-8")


@pytest.mark.parametrize("code", ["99001", *DISGUISED])
def test_same_commune_twice_in_a_folder_is_refused(tmp_path, code):
    shutil.copy(DOSSIER, tmp_path / "a.yaml")
    _with_code(tmp_path / "b.yaml", code)
    doc = batch(tmp_path)
    assert [os.path.basename(u["file"]) for u in doc["units"]] == ["a.yaml"]
    (err,) = doc["errors"]
    assert err["file"].endswith("b.yaml") and "already in" in err["reason"] and "a.yaml" in err["reason"]
    assert doc["summary"]["units"] == 2 and doc["summary"]["evaluated"] == 1


@pytest.mark.parametrize("code", DISGUISED)
def test_disguised_code_is_a_repeated_row_in_a_table(tmp_path, table, code):
    rows = [table[0], list(table[1]), list(table[1])]
    rows[1][0], rows[2][0] = "99001", code
    p = tmp_path / "t.csv"
    p.write_text(mk.to_csv(rows), encoding="utf-8")
    doc = batch(p)
    assert len(doc["units"]) == 1
    (err,) = doc["errors"]
    assert err["row"] == 3 and "already on row 2" in err["reason"]


@pytest.mark.parametrize("code", DISGUISED)
def test_disguised_code_is_the_same_commune_for_a_plan(tmp_path, code):
    from ntm.engine.plan_group import plan_group

    shutil.copy(DOSSIER, tmp_path / "a.yaml")
    _with_code(tmp_path / "b.yaml", code)
    with pytest.raises(NtmInputError) as e:
        plan_group(str(tmp_path), "standard", overlay=OVERLAY)
    assert "commune 99001 is also in" in str(e.value)


# ------------------------------------------------------------------------------------------ 6. CSV records


def test_csv_row_numbers_count_records_not_lines(tmp_path, table):
    rows = [table[0]] + [list(r) for r in table[1:5]]
    rows[1][1] = "Xã An Bình\n(tên cũ: Xã An Bình Thượng)\nghi chú"  # a quoted cell over three lines
    rows[3][table[0].index("Thu nhập bình quân đầu người khu vực nông thôn")] = "abc"
    p = tmp_path / "multi.csv"
    p.write_text(mk.to_csv(rows), encoding="utf-8")
    doc = batch(p)
    (err,) = doc["errors"]
    assert err["row"] == 4 and err["reason"].startswith("row 4 (line 6), ")  # the 4th record starts on line 6
    assert [u["row"] for u in doc["units"]] == [2, 3, 5]


# ------------------------------------------------------------------------------------------ 7. folder entries


def test_folder_entries_that_cannot_be_dossiers_are_listed(tmp_path):
    shutil.copy(DOSSIER, tmp_path / "a.yaml")
    os.symlink(tmp_path / "gone.yaml", tmp_path / "b-dangling.yaml")
    os.mkfifo(tmp_path / "c-fifo.yaml")  # opening it would block the batch forever
    os.symlink("/dev/zero", tmp_path / "d-device.json")
    (tmp_path / "e-folder.yaml").mkdir()
    bad = os.path.join(os.fsencode(tmp_path), b"f-\xff\xfe.yaml")
    with open(bad, "wb") as fh:
        fh.write(open(DOSSIER, "rb").read())
    doc = batch(tmp_path)
    assert [os.path.basename(u["file"]) for u in doc["units"]] == ["a.yaml"]
    got = {os.path.basename(e["file"]): e["reason"] for e in doc["errors"]}
    assert "does not exist" in got["b-dangling.yaml"]
    assert "FIFO" in got["c-fifo.yaml"]
    assert "device" in got["d-device.json"]
    assert "folder" in got["e-folder.yaml"]
    assert "not valid UTF-8" in got["f-\\xff\\xfe.yaml"]
    assert doc["summary"]["units"] == 6
    import json

    json.dumps(doc, ensure_ascii=False).encode("utf-8")  # the document can be written


# ------------------------------------------------------------------------------------------ 13. JSON dates


def _json_dossier(tmp_path, date, name="d.json"):
    import json

    import yaml

    d = yaml.safe_load(open(DOSSIER, encoding="utf-8"))
    d["assessment"] = {"date": date}
    p = tmp_path / name
    p.write_text(json.dumps(d, ensure_ascii=False, default=str), encoding="utf-8")
    return str(p)


def test_json_dossier_gives_iso_dates(tmp_path):
    from ntm.engine.evaluate import evaluate_file

    o = evaluate_file(_json_dossier(tmp_path, "2024-10-20"), overlay=OVERLAY)
    assert o.summary.highest_tier == "standard"
    for bad, why in (("20/10/2024", "expected a date YYYY-MM-DD"), ("2024-02-30", "not a date of the calendar"),
                     ("2024-10-20T00:00", "expected a date YYYY-MM-DD")):
        with pytest.raises(NtmInputError) as e:
            evaluate_file(_json_dossier(tmp_path, bad), overlay=OVERLAY)
        assert "assessment.date" in str(e.value) and why in str(e.value), bad


# ------------------------------------------------------------------------------------------ 12. many unknown facts


def test_ten_thousand_unknown_facts_get_twenty_suggestions_and_one_summary(tmp_path, monkeypatch):
    import yaml

    import ntm.criteria.dossier as dossier
    from ntm.engine.evaluate import evaluate_file

    d = yaml.safe_load(open(DOSSIER, encoding="utf-8"))
    for i in range(10_000):
        d["facts"][f"unknown_fact_{i:05d}"] = i
    p = tmp_path / "many.yaml"
    p.write_text(yaml.safe_dump(d, allow_unicode=True, sort_keys=False), encoding="utf-8")
    calls = []
    real = dossier.did_you_mean
    monkeypatch.setattr(dossier, "did_you_mean", lambda w, c: calls.append(w) or real(w, c))
    with pytest.raises(NtmInputError) as e:
        evaluate_file(str(p), overlay=OVERLAY)
    probs = e.value.problems
    assert len(probs) == 21 and len(calls) <= 20  # one fuzzy match per listed fact, not per fact
    assert probs[0].message == "unknown fact 'unknown_fact_00000'" and probs[0].line is not None
    assert probs[-1].message.startswith("and 9980 more unknown facts (unknown_fact_00020, unknown_fact_00021")


# ------------------------------------------------------------------------------------------ 8. overlay values

OVERLAY_TEXT = open(OVERLAY, encoding="utf-8").read()


def _overlay(tmp_path, old, new, name="ov.yaml"):
    assert old in OVERLAY_TEXT
    p = tmp_path / name
    p.write_text(OVERLAY_TEXT.replace(old, new, 1), encoding="utf-8")
    return str(p)


def _check_and_evaluate(ov, dossier=DOSSIER):
    """(rulesets check's error messages, evaluate's error message): both must refuse, never OK then crash."""
    from ntm.criteria.check import check
    from ntm.engine.evaluate import evaluate_file

    rep = check(ov)
    with pytest.raises(NtmInputError) as e:
        evaluate_file(dossier, overlay=ov)
    return [f.message for f in rep.errors], str(e.value)


IS_TRUE = '''    indicator: "1.1"
    threshold: {value: true,'''
NUMERIC = '''      value: 95
      status: verified'''


@pytest.mark.parametrize("value", ["false", "5", "0", "'yes'"])
def test_overlay_cannot_set_an_is_true_threshold_to_anything_but_true(tmp_path, value):
    ov = _overlay(tmp_path, IS_TRUE, IS_TRUE.replace("true", value))
    errs, msg = _check_and_evaluate(ov)
    assert errs and errs[0] in msg and ov in msg
    if value != "'yes'":  # a text is already a schema error
        assert "advanced 1.1 (adv_general_plan_valid): got" in msg and "(expected true)" in msg


@pytest.mark.parametrize("value", ["1.0e+30", "1.0e+308", "100000000000000000000000000000000", "-1.0e+30",
                                   "95.0000001"])
def test_overlay_huge_or_too_precise_threshold_is_refused_by_check_and_evaluate(tmp_path, value):
    ov = _overlay(tmp_path, NUMERIC, NUMERIC.replace("95", value))
    errs, msg = _check_and_evaluate(ov)
    assert errs and errs[0] in msg
    assert any("standard 15.1 (health_insurance_pct)" in e for e in errs) or value.startswith("-")


def test_overlay_fact_with_a_huge_range_is_refused_by_check_and_evaluate(tmp_path):
    ov = _overlay(tmp_path, "range: {min: 0, max: 100}", "range: {min: 0, max: 1.0e+308}")
    errs, msg = _check_and_evaluate(ov)
    assert errs and "goes beyond" in errs[0] and "goes beyond" in msg


def test_overlay_with_true_and_a_large_in_range_value_still_evaluates(tmp_path):
    from ntm.criteria.check import check
    from ntm.engine.evaluate import evaluate_file

    ov = _overlay(tmp_path, NUMERIC, NUMERIC.replace("95", "99.999999"))
    assert not check(ov).errors
    o = evaluate_file(DOSSIER, overlay=ov)
    assert o.summary.highest_tier is None or o.summary.highest_tier != "standard"  # 15.1 now needs 99.999999%


# ------------------------------------------------------------------------------------------ 14. XLSX output


def test_control_characters_from_a_csv_reach_the_xlsx_output_escaped(tmp_path, table):
    from ntm.batch.outputs import to_xlsx

    rows = [table[0]] + [list(r) for r in table[1:4]]
    rows[1][1] = "Xã An\x07Bình\x1b[31m"
    rows[2][2] = "Huyện\x02Đông\x0bTây"
    rows[3][0] = "99\x01103"  # an error row: the code is kept in the error sheet
    p = tmp_path / "ctl.csv"
    p.write_text(mk.to_csv(rows), encoding="utf-8")
    doc = batch(p)
    book = tmp_path / "out.xlsx"
    book.write_bytes(to_xlsx(doc))
    wb = openpyxl.load_workbook(book)
    text = {str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None}
    assert "Xã An\\x07Bình\\x1b[31m" in text and "Huyện\\x02Đông\\x0bTây" in text
    assert doc["units"][0]["name"] == "Xã An\x07Bình\x1b[31m"  # the JSON keeps the text as given


def test_table_rows_for_plan_and_whatif_never_name_files_after_raw_codes(tmp_path, table):
    from ntm.batch.expand import dossier_files

    rows = [table[0]] + [list(r) for r in table[1:4]]
    rows[1][0], rows[2][0], rows[3][0] = "9" * 300, "../../x", "a/b\\c:d*?"
    p = tmp_path / "codes.csv"
    p.write_text(mk.to_csv(rows), encoding="utf-8")
    with dossier_files([str(p)], overlay=OVERLAY) as paths:
        (folder,) = paths
        names = sorted(os.listdir(folder))
        assert len(names) == 3 and all(len(n) < 60 and "/" not in n and not n.startswith(".") for n in names)
        assert sorted(paths.names.values()) == [f"{p}:2", f"{p}:3", f"{p}:4"]


def test_shared_string_table_is_capped(tmp_path, table, monkeypatch):
    import ntm.batch.xlsx as x

    p = book(tmp_path / "strings.xlsx", table)  # openpyxl 3.1 writes inline strings: add a table
    edit(p, {}, add={"xl/sharedStrings.xml": b"<sst>" + b"<si><t>x</t></si>" * 200 + b"</sst>"})
    monkeypatch.setattr(x, "MAX_SHARED_STRINGS", 1000)
    assert "text table" in refused(p)


def test_csv_over_the_row_limit_is_refused_once_known(tmp_path, table, monkeypatch):
    import ntm.batch.inputs as inputs

    p = tmp_path / "many.csv"
    p.write_text(mk.to_csv([table[0]] + [table[1]] * 50), encoding="utf-8")
    monkeypatch.setattr(inputs, "MAX_ROWS", 20)
    assert "more than 20 rows" in refused(p)


def test_formula_with_a_saved_empty_text_result_is_an_empty_cell(tmp_path, table):
    col = _income_col(table)
    p = book(tmp_path / "empty.xlsx", table)
    letter = openpyxl.utils.get_column_letter(col)
    # what Excel saves for =IF(…;"";…): a text result that is empty — the fact is simply not given
    edit(p, {SHEET: lambda b: re.sub(rf'<c r="{letter}2"[^>]*>.*?</c>'.encode(),
                                     f'<c r="{letter}2" t="str"><f>IF(1,"",2)</f><v></v></c>'.encode(), b, count=1)})
    doc = batch(p)
    u = next(u for u in doc["units"] if u["code"] == "99101")
    assert u["criteria"]["standard"]["undecided"] == ["10"]


def test_overlapping_merges_over_a_sheet_are_bounded(tmp_path, table, monkeypatch):
    import ntm.batch.xlsx as x

    merges = "".join(f'<mergeCell ref="A{k}:F13"/>' for k in range(2, 12))
    p = book(tmp_path / "over.xlsx", table)
    edit(p, {SHEET: lambda b: b.replace(b"</sheetData>", f"</sheetData><mergeCells>{merges}</mergeCells>".encode())})
    monkeypatch.setattr(x, "MAX_MERGED_CELLS", 100)
    assert "merged ranges cover more than 100 cells" in refused(p)


@pytest.mark.parametrize("name", ["p.xlsx", "p.csv"])
def test_a_fifo_given_as_the_table_is_refused_not_waited_on(tmp_path, name):
    os.mkfifo(tmp_path / name)
    assert "not a regular file" in refused(tmp_path / name)
