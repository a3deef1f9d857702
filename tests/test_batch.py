"""`ntm batch`: tables and folders in, engine decisions counted into the province summary."""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import types
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
import yaml

from ntm.batch.inputs import parse_number
from ntm.batch.outputs import to_csv, to_json, to_xlsx
from ntm.batch.run import run_batch
from ntm.engine.evaluate import evaluate_file
from ntm.errors import NtmInputError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OVERLAY = os.path.join(ROOT, "examples", "overlays", "tinh-minh-hoa.yaml")
spec = importlib.util.spec_from_file_location("make_example", os.path.join(ROOT, "examples", "batch", "make_example.py"))
mk = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mk)


def ntm_process(*args):
    return subprocess.run([sys.executable, "-m", "ntm", *args], capture_output=True, text=True, check=False)


def ntm(*args):
    """The CLI in this process (subprocess start-up is slow); NtmInputError is what main() turns into exit 2."""
    from typer.testing import CliRunner

    from ntm.cli import app
    from ntm.errors import NtmInputError

    res = CliRunner().invoke(app, list(args))
    if isinstance(res.exception, NtmInputError):
        return types.SimpleNamespace(returncode=2, stdout=res.stdout, stderr=res.exception.render())
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    return types.SimpleNamespace(returncode=res.exit_code, stdout=res.stdout, stderr="")


def write_csv(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return str(path)


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    d = tmp_path_factory.mktemp("ex")
    path = write_csv(d / "xa.csv", mk.table())
    doc = run_batch(path, overlay=OVERLAY)
    return d, path, doc


def individual_outcomes(tmp):
    """Each good example commune as its own dossier file, evaluated alone: the reference for the counts."""
    facts = mk.base_facts()
    out = {}
    for code, name, district, changes in mk.COMMUNES:
        if code == "99107":
            continue  # the bad row
        values = {**facts, **changes}
        values = {k: ({"có": True, "không": False}.get(v, v) if isinstance(v, str) else v) for k, v in values.items()}
        values = {k: (v if not isinstance(v, str) else float(v.replace(",", "."))) for k, v in values.items()}
        values = {k: v for k, v in values.items() if v is not None}
        dossier = {"unit": {"level": "commune", "code": code, "name": name, "province": "Tỉnh Minh Họa",
                            "district": district, "region": "ĐNB"},
                   "assessment": {"date": dt.date(2024, 10, 20)}, "facts": values}
        p = tmp / f"{code}.yaml"
        p.write_text(yaml.safe_dump(dossier, allow_unicode=True), encoding="utf-8")
        out[code] = evaluate_file(str(p), overlay=OVERLAY)
    return out


def test_summary_counts_match_one_by_one_evaluation(example, tmp_path):
    _, _, doc = example
    ref = individual_outcomes(tmp_path)
    s = doc["summary"]
    assert s["units"] == len(mk.COMMUNES) and s["evaluated"] == len(ref) and s["errors"] == 1
    assert [u["code"] for u in doc["units"]] == list(ref)
    for u in doc["units"]:
        o = ref[u["code"]]
        assert u["tiers"] == {t.id: t.status for t in o.tiers}
        assert u["criteria"]["standard"]["unmet"] == o.tier("standard").unmet_criteria
        assert u["highest_tier"] == o.summary.highest_tier
    for t in ("standard", "advanced", "model"):
        met = sum(1 for o in ref.values() if o.tier(t).status == "met")
        assert s["tiers"][t]["met"] == met
        pct = (Decimal(100 * met) / len(ref)).quantize(Decimal("0.01"), ROUND_HALF_EVEN)
        assert s["tiers"][t]["pct"] == float(pct)
        assert sum(v for k, v in s["tiers"][t].items() if k != "pct") == len(ref)
    met = [o.tier("standard").criteria_met for o in ref.values()]
    bands = {"19": sum(m == 19 for m in met), "15-18": sum(15 <= m <= 18 for m in met),
             "10-14": sum(10 <= m <= 14 for m in met), "5-9": sum(5 <= m <= 9 for m in met), "<5": sum(m < 5 for m in met)}
    assert s["bands"] == bands
    assert s["avg_criteria_met"] == float((Decimal(sum(met)) / len(met)).quantize(Decimal("0.01"), ROUND_HALF_EVEN))
    # by construction (see examples/batch/make_example.py): which communes fail what
    by = {u["code"]: u for u in doc["units"]}
    assert by["99101"]["highest_tier"] == "standard" and by["99110"]["highest_tier"] == "standard"
    assert by["99103"]["criteria"]["standard"]["unmet"] == ["10", "17"]
    assert by["99104"]["criteria"]["standard"]["unmet"] == ["11"]  # "5,5" read as 5.5
    assert by["99105"]["criteria"]["standard"]["met"] == 14
    assert by["99106"]["criteria"]["standard"]["undecided"] == ["10"]
    prio = {(p["code"], p["distance"]) for p in s["priority"]}
    expect = set()
    for code, o in ref.items():
        t = o.tier("standard")
        n = len(t.unmet_criteria) + len(t.undecided_criteria)
        if t.status != "met" and 1 <= n <= 2:
            expect.add((code, n))
    assert prio == expect and ("99105", 5) not in prio
    assert [p["distance"] for p in s["priority"]] == sorted(p["distance"] for p in s["priority"])
    top = s["most_failed_criteria"][0]
    assert top["count"] == max(c["count"] for c in s["most_failed_criteria"])
    std10 = next(c for c in s["most_failed_criteria"] if c["tier"] == "standard" and c["number"] == "10")
    assert std10["count"] == sum("10" in o.tier("standard").unmet_criteria for o in ref.values())
    assert std10["name"]["vi"] == "Thu nhập"


def test_district_rollup(example):
    _, _, doc = example
    d = {x["district"]: x for x in doc["summary"]["districts"]}
    assert set(d) == {"Huyện Đông", "Huyện Tây", "Huyện Nam"}
    assert sum(x["units"] for x in d.values()) == doc["summary"]["evaluated"]
    for name, x in d.items():
        us = [u for u in doc["units"] if u["district"] == name]
        assert x["tiers"]["standard"] == sum(u["tiers"]["standard"] == "met" for u in us)
        ms = [u["criteria"]["standard"]["met"] for u in us]
        assert x["avg_criteria_met"] == float((Decimal(sum(ms)) / len(ms)).quantize(Decimal("0.01")))


def test_bad_row_is_listed_with_row_and_column(example):
    _, _, doc = example
    (e,) = doc["errors"]
    assert e["row"] == 8 and e["code"] == "99107"
    assert "row 8, column Thu nhập bình quân đầu người khu vực nông thôn" in e["reason"] and "'abc'" in e["reason"]


def _small_table(extra_rows):
    facts = mk.base_facts()
    ids = list(facts)
    header = ["code", "name", "district", "region", "year", *ids]
    rows = [header, ["#", "a comment row"]]
    good = ["90001", "Xã Một", "H1", "ĐNB", "2024", *["true" if v is True else v for v in facts.values()]]
    rows.append(good)
    for code, change in extra_rows:
        r = list(good)
        r[0] = code
        for k, v in change.items():
            r[header.index(k)] = v
        rows.append(r)
    return header, rows


def test_each_bad_row_reported_others_evaluated(tmp_path):
    header, rows = _small_table([
        ("90002", {"income_per_capita": "abc"}),
        ("90003", {"multidim_poverty_rate_pct": "150"}),
        ("", {}),
        ("90005", {"region": "Dong Nam Bo"}),
        ("90006", {"income_per_capita": "1.234"}),
        ("90007", {"commune_culture_house": "maybe"}),
        ("90001", {}),
        ("90009", {"income_per_capita": "", "regular_job_pct": "95,1"}),
        ("90010", {"year": "20x4"}),
        ("90011", {"name": ""}),
    ])
    rows.append([""] * len(header))  # empty rows are skipped, not errors
    path = write_csv(tmp_path / "t.csv", rows)
    doc = run_batch(path, overlay=OVERLAY, isolate=False)
    errs = {e["row"]: e for e in doc["errors"]}
    assert [u["code"] for u in doc["units"]] == ["90001", "90009"]
    assert [u["row"] for u in doc["units"]] == [3, 11]
    assert set(errs) == {4, 5, 6, 7, 8, 9, 10, 12, 13}
    assert "column income_per_capita" in errs[4]["reason"] and "abc" in errs[4]["reason"]
    assert "column multidim_poverty_rate_pct" in errs[5]["reason"] and "outside the valid range" in errs[5]["reason"]
    assert "code is empty" in errs[6]["reason"]
    assert "column region" in errs[7]["reason"] and "unknown region" in errs[7]["reason"]
    assert "ambiguous" in errs[8]["reason"]
    assert "column commune_culture_house" in errs[9]["reason"] and "maybe" in errs[9]["reason"]
    assert "already on row 3" in errs[10]["reason"]
    assert "column year" in errs[12]["reason"]
    assert errs[13]["reason"].startswith("row 13, column name: this field is required")
    assert all(e["reason"].startswith(f"row {e['row']},") for e in doc["errors"])
    assert doc["summary"]["units"] == doc["input"]["rows"] == 11
    assert doc["units"][1]["criteria"]["standard"]["undecided"] == ["10"]
    # every input row appears in the CSV output: evaluated or with its reason
    out = list(csv.reader(io.StringIO(to_csv(doc))))
    assert [int(r[0]) for r in out[1:]] == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]


def test_unknown_header_stops_the_batch_with_a_hint(tmp_path):
    header, rows = _small_table([])
    j = header.index("income_per_capita")
    rows[0][j] = "income_per_capital"
    path = write_csv(tmp_path / "t.csv", rows)
    r = ntm_process("batch", path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "unknown column 'income_per_capital'" in r.stderr and "did you mean 'income_per_capita'" in r.stderr
    rows[0][j] = "regular_job_pct"
    r = ntm("batch", write_csv(tmp_path / "t2.csv", rows))
    assert r.returncode == 2 and "repeats column" in r.stderr


def test_vietnamese_headers_need_not_match_case_or_spacing(tmp_path):
    rows = mk.table()
    rows[0] = [("  " + h.upper().replace(" ", "  ") + " ") if i > 5 else h for i, h in enumerate(rows[0])]
    doc = run_batch(write_csv(tmp_path / "u.csv", rows[:3]), overlay=OVERLAY, isolate=False)
    assert [u["code"] for u in doc["units"]] == ["99101", "99102"] and not doc["errors"]


def test_semicolon_csv_with_quoted_labels(tmp_path):
    rows = mk.table()[:3]
    path = tmp_path / "semi.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:  # Excel's "CSV UTF-8" adds a BOM
        csv.writer(fh, delimiter=";").writerows(rows)
    doc = run_batch(str(path), overlay=OVERLAY, isolate=False)
    assert [u["code"] for u in doc["units"]] == ["99101", "99102"] and not doc["errors"]


@pytest.mark.parametrize("text,value", [("61.2", 61.2), ("61,2", 61.2), ("0,820", 0.82), ("12", 12), ("-3", -3),
                                        ("99,5%", 99.5)])
def test_numbers_accepted(text, value):
    assert parse_number(text, "%") == value


@pytest.mark.parametrize("text", ["1.234", "1,234", "1.234,5", "1,234.5", "1 234", "12abc", "--1"])
def test_numbers_refused(text):
    with pytest.raises(ValueError):
        parse_number(text, "%")


def test_xlsx_input_round_trip(example, tmp_path):
    _, _, doc = example
    book = tmp_path / "xa.xlsx"
    mk.to_xlsx(mk.table(), str(book))
    got = run_batch(str(book), overlay=OVERLAY)
    assert got["input"]["kind"] == "xlsx"
    assert got["units"] == doc["units"] and got["errors"] == doc["errors"] and got["summary"] == doc["summary"]
    r = ntm("batch", str(book), "--sheet", "Ho so")
    assert r.returncode == 2 and "did you mean 'Hồ sơ'" in r.stderr


def test_xlsx_native_cells_percent_format_and_comments(tmp_path):
    import datetime as dt_

    import openpyxl

    rows = mk.table()[:3]
    hdr = rows[0]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(hdr)
    ws.append(["# ghi chú: dòng này bị bỏ qua"])
    for r in rows[1:]:
        ws.append(r)
    income = hdr.index("Thu nhập bình quân đầu người khu vực nông thôn")
    date = hdr.index("ngày đánh giá")
    from ntm.criteria.loader import load_ruleset

    poverty = hdr.index(load_ruleset("vn-2021-2025").ruleset.fact_map()["multidim_poverty_rate_pct"].label.vi)
    ws.cell(3, income + 1, 71.8)
    ws.cell(3, date + 1, dt_.datetime(2024, 10, 20))
    ws.cell(4, poverty + 1, 0.055).number_format = "0.0%"  # shown as 5.5%: fails criterion 11
    book = tmp_path / "native.xlsx"
    wb.save(book)
    doc = run_batch(str(book), overlay=OVERLAY, isolate=False)
    assert not doc["errors"] and [u["row"] for u in doc["units"]] == [3, 4]
    assert doc["units"][0]["highest_tier"] == "standard"
    assert doc["units"][1]["criteria"]["standard"]["unmet"] == ["10", "11"]


def test_folder_input(tmp_path):
    for name in ("xa-dat-chuan.yaml", "xa-thieu-hai-tieu-chi.yaml", "xa-kieu-mau.yaml"):
        shutil.copy(os.path.join(ROOT, "examples", name), tmp_path / name)
    (tmp_path / "z-broken.yaml").write_text("unit: [\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "not-read.yaml").write_text("unit: [\n", encoding="utf-8")  # subfolders are not read
    doc = run_batch(str(tmp_path), overlay=OVERLAY)
    assert doc["input"]["kind"] == "folder" and doc["summary"]["units"] == 4
    assert [os.path.basename(u["file"]) for u in doc["units"]] == ["xa-dat-chuan.yaml", "xa-kieu-mau.yaml",
                                                                   "xa-thieu-hai-tieu-chi.yaml"]
    for u in doc["units"]:
        o = evaluate_file(u["file"], overlay=OVERLAY)
        assert u["tiers"] == {t.id: t.status for t in o.tiers}
    (e,) = doc["errors"]
    assert e["file"].endswith("z-broken.yaml") and "z-broken.yaml:" in e["reason"]


def test_jobs_two_equals_jobs_one_byte_for_byte(example, tmp_path):
    _, path, _ = example
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    r1 = ntm("batch", path, "--overlay", OVERLAY, "-f", "json", "-o", str(a))
    r2 = ntm("batch", path, "--overlay", OVERLAY, "-f", "json", "-o", str(b), "--jobs", "2")
    assert r1.returncode == 0 and r2.returncode == 0, r1.stderr + r2.stderr
    assert a.read_bytes() == b.read_bytes()
    assert json.loads(a.read_text(encoding="utf-8"))["schema"] == "ntm-batch/1"
    r = ntm("batch", path, "--overlay", OVERLAY, "-f", "json", "-o", str(a))
    assert r.returncode == 2 and "not overwriting" in r.stderr
    assert ntm("batch", path, "--overlay", OVERLAY, "--strict", "-f", "json").returncode == 2


def test_compare_with_previous_batch(example, tmp_path):
    _, path, doc = example
    prev = tmp_path / "prev.json"
    prev.write_text(to_json(doc), encoding="utf-8")
    rows = mk.table()
    hdr = rows[0]
    from ntm.criteria.loader import load_ruleset

    income = hdr.index(load_ruleset("vn-2021-2025").ruleset.fact_map()["income_per_capita"].label.vi)
    rows[2][income] = 75  # 99102 now meets criterion 10 → gains the standard tier
    rows[1][income] = 40  # 99101 loses it
    cur = run_batch(write_csv(tmp_path / "now.csv", rows), overlay=OVERLAY, previous=str(prev))
    c = cur["compare"]
    assert [g["code"] for g in c["gained"]] == ["99102"] and c["gained"][0]["tier"] == "standard"
    assert [g["code"] for g in c["lost"]] == ["99101"] and c["lost"][0]["previous"] == "standard"
    assert c["tiers_delta"]["standard"] == 0
    expect = Decimal(str(cur["summary"]["avg_criteria_met"])) - Decimal(str(doc["summary"]["avg_criteria_met"]))
    assert c["avg_criteria_delta"] == float(expect) == 0.0
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "ntm-outcome/1"}', encoding="utf-8")
    r = ntm("batch", path, "--compare", str(bad))
    assert r.returncode == 2 and "not a batch result" in r.stderr
    bad.write_text('{"schema": "ntm-batch/1", "units": [{"code": 1}], "summary": {}}', encoding="utf-8")
    r = ntm("batch", path, "--compare", str(bad))
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_xlsx_output_sheets_colours_and_stable_bytes(example):
    import openpyxl

    _, _, doc = example
    data = to_xlsx(doc)
    assert data == to_xlsx(doc)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["Tổng hợp", "Theo xã", "Khoảng cách", "Lỗi"]
    ws = wb["Theo xã"]
    head = [c.value for c in ws[1]]
    row = next(r for r in ws.iter_rows(min_row=2) if r[1].value == "99103")
    c10, c17, c1 = (row[head.index(f"Tiêu chí {n}")] for n in ("10", "17", "1"))
    assert c10.fill.start_color.rgb.endswith("FFC7CE") and c17.fill.start_color.rgb.endswith("FFC7CE")
    assert c1.fill.start_color.rgb.endswith("C6EFCE")
    gaps = [r for r in wb["Khoảng cách"].iter_rows(min_row=2, values_only=True) if r[0] == "99103" and r[2] == "Xã đạt chuẩn nông thôn mới"]
    assert {g[4] for g in gaps} == {"10", "17.6"}
    assert [r[2] for r in wb["Lỗi"].iter_rows(min_row=2, values_only=True)] == ["99107"]


def test_cli_table_in_vietnamese_and_english(example):
    _, path, _ = example
    r = ntm("batch", path, "--overlay", OVERLAY)
    assert r.returncode == 0 and "Tổng hợp kết quả" in r.stdout and "Xã còn thiếu 1–2 tiêu chí" in r.stdout
    r = ntm("batch", path, "--overlay", OVERLAY, "--lang", "en")
    assert r.returncode == 0 and "Batch summary" in r.stdout and "Most-failed criteria" in r.stdout
    assert ntm("batch", path, "-f", "xlsx").returncode == 2


@pytest.mark.slow
def test_officer_fills_the_template_for_120_communes(tmp_path):
    """The issue's 'done when': template → 120 filled rows → one batch command → summary, sheets, HTML report."""
    import openpyxl

    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    import bench_batch

    tpl = tmp_path / "mau.xlsx"
    assert ntm("template", "-r", "vn-2021-2025", "--overlay", OVERLAY, "-o", str(tpl)).returncode == 0
    wb = openpyxl.load_workbook(tpl)
    ws = wb["Hồ sơ"]
    header = [c.value for c in ws[1]]
    first = next(r for r in range(2, ws.max_row + 2) if not str(ws.cell(r, 1).value or "").startswith("#"))
    src = tmp_path / "national.csv"
    bench_batch.write_csv(120, str(src), seed=7)
    with open(src, encoding="utf-8") as fh:
        data = list(csv.reader(fh))
    cols = {h: j for j, h in enumerate(data[0])}
    for i, row in enumerate(data[1:]):
        for j, h in enumerate(header):
            if h in cols and row[cols[h]] != "":
                ws.cell(first + i, j + 1, row[cols[h]])
    ws.cell(first + 5, header.index("income_per_capita") + 1, "nhiều")  # one bad row, not lost
    wb.save(tpl)
    out, js, html = tmp_path / "ket-qua.xlsx", tmp_path / "ket-qua.json", tmp_path / "bao-cao.html"
    assert ntm("batch", str(tpl), "--overlay", OVERLAY, "-j", "2", "-f", "xlsx", "-o", str(out)).returncode == 0
    assert ntm("batch", str(tpl), "--overlay", OVERLAY, "-f", "json", "-o", str(js)).returncode == 0
    doc = json.loads(js.read_text(encoding="utf-8"))
    assert doc["summary"]["units"] == 120 and doc["summary"]["errors"] == 1
    assert doc["errors"][0]["row"] == first + 5 and "nhiều" in doc["errors"][0]["reason"]
    assert sum(doc["summary"]["bands"].values()) == 119
    assert openpyxl.load_workbook(out).sheetnames == ["Tổng hợp", "Theo xã", "Khoảng cách", "Lỗi"]
    assert ntm("report", str(js), "-o", str(html)).returncode == 0
    assert "<svg" in html.read_text(encoding="utf-8")


def test_damaged_workbooks_are_refused_cleanly(tmp_path):
    import zipfile

    good = tmp_path / "good.xlsx"
    mk.to_xlsx(mk.table()[:3], str(good))
    data = good.read_bytes()
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(buf, "w") as dst:
        for info in src.infolist():  # the sheet's XML cut short: found only while the rows are read
            body = src.read(info.filename)
            dst.writestr(info.filename, body[: len(body) // 2] if "worksheets/sheet1" in info.filename else body)
    cases = {"truncated": data[: len(data) // 2], "bad-sheet-xml": buf.getvalue(), "not-a-zip": b"code,name\n"}
    for name, body in cases.items():
        p = tmp_path / f"{name}.xlsx"
        p.write_bytes(body)
        with pytest.raises(NtmInputError) as e:
            run_batch(str(p), isolate=False)
        assert "not a readable XLSX workbook" in str(e.value), name
