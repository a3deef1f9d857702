"""`ntm template`: fillable YAML/CSV/XLSX templates that `ntm evaluate` and `ntm batch` accept as they are."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest
import yaml

from ntm.criteria.loader import load_ruleset
from ntm.criteria.resolve import resolve
from ntm.engine.evaluate import evaluate_file
from ntm.errors import NtmInputError
from ntm.templates.spec import COMPUTED, build_spec
from ntm.templates.writers import guide_rows, to_csv, to_xlsx, to_yaml

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "examples"
OVERLAY = str(EX / "overlays" / "tinh-minh-hoa.yaml")
RS = "vn-2021-2025"


def cli(*args, cwd=None):
    """A real process: exit codes 2/3 come from ntm.cli.main()."""
    return subprocess.run([sys.executable, "-m", "ntm", *args], capture_output=True, text=True, timeout=60, cwd=cwd,
                          check=False)


class Ran:
    def __init__(self, result):
        err = result.exception
        if isinstance(err, NtmInputError):
            self.returncode, self.stderr = 2, "error: " + err.render()
        elif err is not None and not isinstance(err, SystemExit):
            raise err
        else:
            self.returncode, self.stderr = result.exit_code, result.output


def run(*args):
    """In-process (fast); an NtmInputError counts as exit 2, as main() would make it."""
    from typer.testing import CliRunner

    from ntm.cli import app

    return Ran(CliRunner().invoke(app, list(args)))


def commune_fact_ids() -> list[str]:
    rs = load_ruleset(RS).ruleset
    return [f.id for f in rs.facts if f.level == "commune" and f.id not in COMPUTED]


def income_threshold(region: str, year: int):
    """The standard-tier income threshold the engine will use (from resolve, never hard-coded)."""
    res = resolve(load_ruleset(RS).ruleset, "commune", region, year)
    ind = next(i for c in res.tier("standard").criteria for i in c.indicators
               if any(cond.fact == "income_per_capita" for cond in i.conditions))
    return ind.conditions[0].threshold.value


def example_facts(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {k: (v["value"] if isinstance(v, dict) else v) for k, v in data["facts"].items()}


def fill_yaml(text: str, facts: dict) -> str:
    """What an officer does: replace `value: null` of each fact line with the measured value."""
    for fid, value in facts.items():
        text, n = re.subn(rf"^(  {re.escape(fid)}: {{value: )null", lambda m, v=value: m.group(1) + json.dumps(v),
                          text, flags=re.MULTILINE)
        assert n == 1, f"the template has no line for {fid}"
    return text


def tier_view(o):
    return [(t.id, t.status, t.criteria_met, t.unmet_criteria, t.undecided_criteria,
             [(i.code, i.status) for c in t.criteria for i in c.indicators]) for t in o.tiers]


# ------------------------------------------------------------------------------------------------------ yaml

@pytest.mark.parametrize("example,overlay", [("xa-thieu-hai-tieu-chi.yaml", OVERLAY), ("xa-dat-chuan.yaml", None)])
def test_yaml_template_filled_from_example_evaluates_like_the_example(tmp_path, example, overlay):
    src = EX / example
    ex = yaml.safe_load(src.read_text(encoding="utf-8"))
    year = ex["assessment"].get("year") or ex["assessment"]["date"].year
    out = tmp_path / "mau.yaml"
    args = ["template", "-r", RS, "--region", ex["unit"]["region"], "--year", str(year), "-f", "yaml", "-o", str(out)]
    r = run(*args, *(["--overlay", overlay] if overlay else []))
    assert r.returncode == 0, r.stderr
    text = out.read_text(encoding="utf-8")
    for fid in commune_fact_ids():
        assert re.search(rf"^  {fid}: {{value: null", text, re.MULTILINE), fid
    filled = tmp_path / "filled.yaml"
    filled.write_text(fill_yaml(text, example_facts(src)), encoding="utf-8")
    got = evaluate_file(str(filled), overlay=overlay)
    want = evaluate_file(str(src), overlay=overlay)
    assert tier_view(got) == tier_view(want)
    assert got.summary.recognition == want.summary.recognition


def test_yaml_template_with_every_fact_null_loads_and_is_indeterminate(tmp_path):
    out = tmp_path / "empty.yaml"
    assert run("template", "-r", RS, "--region", "TDMNPB", "-f", "yaml", "-o", str(out)).returncode == 0
    o = evaluate_file(str(out))
    standard = o.tier("standard")
    assert standard.status == "indeterminate" and standard.criteria_met == 0
    assert "income_per_capita" in standard.missing_evidence
    assert o.summary.tiers_met == []
    r = run("evaluate", str(out), "-f", "json")  # and through the CLI: no error, no tier met
    assert r.returncode == 0, r.stderr


def test_yaml_comment_carries_label_unit_range_and_region_threshold():
    spec = build_spec(RS, "commune", "ĐNB", 2024)
    text = to_yaml(spec)
    line = text.splitlines()[text.splitlines().index(
        next(x for x in text.splitlines() if x.startswith("  income_per_capita:"))) - 1]
    th = income_threshold("ĐNB", 2024)
    assert "Thu nhập bình quân" in line and "triệu đồng/người/năm" in line and "0..10" in line
    assert f"≥ {th}" in line.replace("\u2009", "")
    assert yaml.safe_load(text)["unit"]["region"] == "ĐNB"  # the hostile-proof quoting still parses


# ------------------------------------------------------------------------------------------------- csv/xlsx

def test_csv_template_has_every_fact_header_and_comment_rows():
    spec = build_spec(RS, "commune", "BTB", 2024)
    rows = list(csv.reader(io.StringIO(to_csv(spec))))
    head = rows[0]
    for fid in commune_fact_ids():
        assert fid in head and f"{fid}__evidence" in head
    for col in ("code", "name", "district", "province", "region", "flags", "year"):
        assert col in head
    assert len(rows) > 1 and all(r[0].startswith("#") for r in rows[1:])  # only comments: no fake data rows
    thr = next(r for r in rows if r[0] == "# ngưỡng BTB")
    cell = thr[head.index("income_per_capita")]
    assert f"{income_threshold('BTB', 2024)}" in cell.replace("\u2009", "")


def test_xlsx_validation_comments_and_guide_per_region(tmp_path):
    out = tmp_path / "mau.xlsx"
    r = run("template", "-r", RS, "--region", "ĐNB", "--year", "2024", "-f", "xlsx", "-o", str(out), "--rows", "150")
    assert r.returncode == 0, r.stderr
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[:2] == ["Hồ sơ", "Hướng dẫn"]
    ws = wb["Hồ sơ"]
    head = [c.value for c in ws[1]]
    assert set(commune_fact_ids()) <= set(head)
    rs = load_ruleset(RS).ruleset
    fact = rs.fact_map()["income_per_capita"]
    letter = openpyxl.utils.get_column_letter(head.index("income_per_capita") + 1)
    dvs = [dv for dv in ws.data_validations.dataValidation if any(str(rg).startswith(letter) for rg in dv.sqref.ranges)]
    assert len(dvs) == 1
    dv = dvs[0]
    assert dv.type == "decimal" and dv.operator == "between"
    assert float(dv.formula1) == fact.range.min and float(dv.formula2) == fact.range.max
    assert str(dv.sqref) == f"{letter}{ws.max_row + 1}:{letter}{ws.max_row + 150}"  # the 150 rows to fill
    bletter = openpyxl.utils.get_column_letter(head.index("commune_plan_approved") + 1)
    bdv = next(dv for dv in ws.data_validations.dataValidation if any(str(rg).startswith(bletter)
                                                                       for rg in dv.sqref.ranges))
    assert bdv.type == "list" and "có" in bdv.formula1
    assert ws.cell(row=1, column=head.index("income_per_capita") + 1).comment is not None
    # every comment row starts with '#', so the batch reader skips them
    assert all(str(ws.cell(row=r, column=1).value).startswith("#") for r in range(2, ws.max_row + 1))
    guide = wb["Hướng dẫn"]
    rows = [[c.value for c in row] for row in guide.iter_rows()]
    ghead = next(r for r in rows if r[0] == "fact")
    inc = next(r for r in rows if r[0] == "income_per_capita" and r[ghead.index("mức")] == "standard")
    assert inc[ghead.index("ngưỡng ĐNB")] == income_threshold("ĐNB", 2024)


def test_guide_thresholds_follow_the_region():
    a, b = income_threshold("ĐNB", 2024), income_threshold("TDMNPB", 2024)
    assert a != b  # the premise: income thresholds differ between regions
    for region, want in (("ĐNB", a), ("TDMNPB", b)):
        head, body = guide_rows(build_spec(RS, "commune", region, 2024))
        row = next(r for r in body if r[0] == "income_per_capita" and r[head.index("mức")] == "standard")
        assert row[head.index(f"ngưỡng {region}")] == want
    head, body = guide_rows(build_spec(RS, "commune", None, 2024))  # no region: every region side by side
    row = next(r for r in body if r[0] == "income_per_capita" and r[head.index("mức")] == "standard")
    assert row[head.index("ngưỡng ĐNB")] == a and row[head.index("ngưỡng TDMNPB")] == b


def test_overlay_values_appear_in_the_template():
    spec = build_spec(RS, "commune", "ĐNB", 2024, overlay=OVERLAY)
    head, body = guide_rows(spec)
    row = next(r for r in body if r[0] == "health_insurance_pct" and r[head.index("mức")] == "standard")
    res = resolve(spec.ruleset.ruleset, "commune", "ĐNB", 2024, (), spec.overlay)
    want = next(c.threshold.value for t in res.tiers if t.id == "standard" for cr in t.criteria
                for i in cr.indicators for c in i.conditions if c.fact == "health_insurance_pct")
    assert row[head.index("ngưỡng ĐNB")] == want
    assert "MINH HỌA" in to_yaml(spec)


def test_xlsx_bytes_are_deterministic():
    spec = build_spec(RS, "commune", "ĐNB", 2024)
    a = to_xlsx(spec, rows=5)
    time.sleep(1.1)  # openpyxl would stamp a new save time; the template must not change
    assert a == to_xlsx(spec, rows=5)
    assert openpyxl.load_workbook(io.BytesIO(a)).sheetnames == ["Hồ sơ", "Hướng dẫn"]


# ---------------------------------------------------------------------------------------------- bad options

def test_unknown_region_exits_2_with_did_you_mean(tmp_path):
    r = cli("template", "-r", RS, "--region", "DNB", "-f", "csv")
    assert r.returncode == 2
    assert "unknown region 'DNB'" in r.stderr and "did you mean 'ĐNB'" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("args,needle", [
    (["--level", "comune"], "did you mean 'commune'"),
    (["--flag", "especialy_difficult"], "did you mean 'especially_difficult'"),
    (["-r", "vn-2021-2052"], "vn-2021-2025"),
])
def test_bad_options_exit_2(args, needle):
    base = ["template", "-f", "csv"] + ([] if "-r" in args else ["-r", RS])
    r = run(*base, *args)
    assert r.returncode == 2, r.stderr
    assert needle in r.stderr and "Traceback" not in r.stderr


def test_xlsx_needs_output_and_never_overwrites(tmp_path):
    r = run("template", "-r", RS, "-f", "xlsx")
    assert r.returncode == 2 and "--output" in r.stderr
    out = tmp_path / "mine.xlsx"
    out.write_bytes(b"my own work")
    r = cli("template", "-r", RS, "-f", "xlsx", "-o", str(out))
    assert r.returncode == 2 and "--force" in r.stderr and "Traceback" not in r.stderr
    assert out.read_bytes() == b"my own work"
    assert run("template", "-r", RS, "-f", "xlsx", "-o", str(out), "--force").returncode == 0
    assert openpyxl.load_workbook(out).sheetnames[0] == "Hồ sơ"
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".ntm-")]


def test_english_labels():
    spec = build_spec(RS, "commune", "ĐNB", 2024)
    rows = list(csv.reader(io.StringIO(to_csv(spec, "en"))))
    head = rows[0]
    lab = next(r for r in rows if r[0] == "# label")
    assert lab[head.index("income_per_capita")] == "Average rural income per person"


# ------------------------------------------------------------------------------------ accepted by ntm batch

def _fill_sheet_rows(head: list[str], examples: list[Path]) -> list[list[str]]:
    rows = []
    for ex in examples:
        d = yaml.safe_load(ex.read_text(encoding="utf-8"))
        u = d["unit"]
        vals = {"code": u["code"], "name": u["name"], "district": u.get("district") or "",
                "province": u.get("province") or "", "region": u["region"], "flags": ";".join(u.get("flags", [])),
                "year": str(d["assessment"].get("year") or d["assessment"]["date"].year)}
        for k, v in example_facts(ex).items():
            vals[k] = ("có" if v else "không") if isinstance(v, bool) else str(v)
        rows.append([vals.get(h, "") for h in head])
    return rows


EXAMPLES = [EX / "xa-thieu-hai-tieu-chi.yaml", EX / "xa-dat-chuan.yaml", EX / "xa-dac-biet-kho-khan-dnb.yaml"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_filled_sheet_template_is_accepted_by_batch(tmp_path, fmt):
    run = pytest.importorskip("ntm.batch.run", reason="ntm batch is not installed")
    spec = build_spec(RS, "commune", None, 2024)
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(to_csv(spec))))
        path = tmp_path / "filled.csv"
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(rows + _fill_sheet_rows(rows[0], EXAMPLES))
        path.write_text(buf.getvalue(), encoding="utf-8")
    else:
        wb = openpyxl.load_workbook(io.BytesIO(to_xlsx(spec, rows=10)))
        ws = wb["Hồ sơ"]
        head = [c.value for c in ws[1]]
        start = ws.max_row + 1
        for i, row in enumerate(_fill_sheet_rows(head, EXAMPLES)):
            for j, v in enumerate(row, start=1):
                if v != "":
                    ws.cell(row=start + i, column=j, value=v)
        path = tmp_path / "filled.xlsx"
        wb.save(path)
    result = run.run_batch(str(path), ruleset=RS, jobs=1)
    if hasattr(result, "model_dump"):
        result = result.model_dump(mode="json")
    assert result["errors"] == [], result["errors"]
    got = {u["code"]: u["tiers"] for u in result["units"]}
    for ex in EXAMPLES:
        o = evaluate_file(str(ex), ruleset=RS)
        code = o.unit.code
        assert got[code]["standard"] == o.tier("standard").status, code
