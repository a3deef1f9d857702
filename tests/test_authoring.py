"""Authoring workbooks: export -> (person edits) -> import, exact round trips, cell-addressed errors, provenance."""

from __future__ import annotations

import datetime as dt
import glob
import os
import shutil
import subprocess
import sys

import openpyxl
import pytest
import yaml

from ntm.authoring import layout as L
from ntm.authoring.content import content_hash
from ntm.authoring.workbook_export import export
from ntm.authoring.workbook_import import read_workbook, write_yaml
from ntm.criteria.loader import load_ruleset_file, shipped_paths
from ntm.criteria.overlay import Overlay, load_overlay
from ntm.criteria.validation import validate
from ntm.criteria.yamlsrc import load
from ntm.errors import NtmInputError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE_RULESETS = [p for p in sorted(glob.glob(os.path.join(ROOT, "tests", "fixtures", "*.yaml")))
                    if not p.endswith(".cases.yaml") and "ruleset" in os.path.basename(p)]
OVERLAYS = sorted(glob.glob(os.path.join(ROOT, "examples", "overlays", "*.yaml")))
EXAMPLE_OVERLAY = os.path.join(ROOT, "examples", "overlays", "tinh-minh-hoa.yaml")  # on vn-2021-2025
CASE_OVERLAYS = sorted(glob.glob(os.path.join(ROOT, "ntm", "rulesets", "*", "tests", "overlays", "*.yaml")))
RULESETS = list(shipped_paths().values()) + FIXTURE_RULESETS


def _env(tmp_path):
    return {**os.environ, "NTM_CACHE_DIR": str(tmp_path / "cache"), "COLUMNS": "200"}


def cli(tmp_path, *args):
    return subprocess.run([sys.executable, "-m", "ntm", *args], capture_output=True, text=True, cwd=tmp_path,
                          env=_env(tmp_path), timeout=300)


def _overlay_model(path):
    ov = validate(Overlay, load(path))
    from ntm.criteria.loader import load_ruleset

    return load_overlay(path, load_ruleset(ov.overlay.ruleset).ruleset).overlay


def problems(err: NtmInputError) -> list[str]:
    return [p.render() for p in err.problems]


class Sheet:
    """The indicators sheet as a person sees it: rows found by tier and code, columns by header."""

    def __init__(self, path, sheet=L.SHEET_INDICATORS):
        self.path = path
        self.wb = openpyxl.load_workbook(path)
        self.ws = self.wb[sheet]
        self.col = {c.value: c.column for c in self.ws[1] if c.value}

    def row(self, tier, code, nth=0):
        hits = [r for r in range(2, self.ws.max_row + 1)
                if self.ws.cell(r, self.col["Mức"]).value == tier and self.ws.cell(r, self.col["Mã chỉ tiêu"]).value == code]
        return hits[nth]

    def set(self, r, header, value):
        self.ws.cell(r, self.col[header]).value = value

    def get(self, r, header):
        return self.ws.cell(r, self.col[header]).value

    def addr(self, r, header):
        from openpyxl.utils import get_column_letter

        return f"{self.ws.title}!{get_column_letter(self.col[header])}{r}"

    def save(self, path=None):
        self.wb.save(path or self.path)
        return path or self.path


def verify(s: Sheet, r, value, who="Trần Thị Kiểm Tra", on=dt.date(2026, 11, 30), page="12"):
    s.set(r, "Mọi vùng", value)
    s.set(r, "Tình trạng", "đã đối chiếu")
    s.set(r, "Ghi chú nguồn", "test: read in the official text")
    s.set(r, "Nguồn: văn bản", "318/QĐ-TTg")
    s.set(r, "Nguồn: mục", s.get(r, "Mã chỉ tiêu"))
    s.set(r, "Nguồn: trang", page)
    s.set(r, "Người đối chiếu", who)
    s.set(r, "Ngày đối chiếu", on)


@pytest.fixture(scope="module")
def book21(tmp_path_factory):
    d = tmp_path_factory.mktemp("book21")
    path = str(d / "vn-2021-2025.xlsx")
    export("vn-2021-2025", path)
    return path


def fresh(book, tmp_path, name="b.xlsx"):
    p = str(tmp_path / name)
    shutil.copy(book, p)
    return p


# ---- exact round trips -------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", RULESETS, ids=lambda p: os.path.basename(os.path.dirname(p)) + "/" + os.path.basename(p))
def test_every_ruleset_round_trips_exactly(path, tmp_path):
    """Every shipped ruleset (whatever ships, including ones added later) and each fixture: export, import,
    write YAML: the same content hash, the YAML passes `ntm rulesets check`, and loads to the same model."""
    rs = load_ruleset_file(path).ruleset
    book = str(tmp_path / "r.xlsx")
    info = export(path, book)
    assert info["content_sha256"] == content_hash(rs)
    imp = read_workbook(book)
    assert imp.kind == "ruleset"
    assert content_hash(imp.model) == content_hash(rs)
    assert imp.model.model_dump() == rs.model_dump()
    out = str(tmp_path / "r.yaml")
    write_yaml(imp, book, out)
    again = load_ruleset_file(out).ruleset
    assert content_hash(again) == content_hash(rs)
    from ntm.criteria.check import check

    assert not check(out).errors


@pytest.mark.parametrize("path", OVERLAYS + CASE_OVERLAYS, ids=lambda p: os.path.relpath(p, ROOT))
def test_overlays_round_trip_exactly(path, tmp_path):
    ov = _overlay_model(path)
    book = str(tmp_path / "o.xlsx")
    export(None, book, overlay=path)
    imp = read_workbook(book)
    assert imp.kind == "overlay"
    assert content_hash(imp.model) == content_hash(ov)
    out = str(tmp_path / "o.yaml")
    write_yaml(imp, book, out)
    assert "overlay" in yaml.safe_load(open(out, encoding="utf-8"))
    assert content_hash(_overlay_model(out)) == content_hash(ov)


def _odd_ruleset(tmp_path) -> str:
    """vn-2021-2025 with shapes no column holds: by_region over by_year, a note on a table, a source with an
    appendix, a criterion group, a condition label and an integral float."""
    data = yaml.safe_load(open(shipped_paths()["vn-2021-2025"], encoding="utf-8"))
    crit = data["levels"][0]["tiers"][0]["criteria"][1]  # 2 Giao thông
    regions = [r["id"] for r in data["regions"]]
    cond = crit["indicators"][1]["conditions"][0]
    cond["threshold"] = {"note": "a table with its own note",
                         "by_region": {r: {"by_year": {2024: {"value": 80, "status": "provisional", "note": "x"},
                                                       2025: {"value": 85.0, "status": "provisional", "note": "y"}}}
                                       for r in regions}}
    cond["label"] = {"vi": "nhãn", "en": "label"}
    crit["group"] = {"vi": "Hạ tầng", "en": "Infrastructure"}
    th = crit["indicators"][0]["conditions"][0]["threshold"]
    th.update({"status": "verified", "source": {"document": "318/QĐ-TTg", "appendix": "I", "item": "2.1", "page": "3"},
               "verified_by": "A", "verified_on": dt.date(2026, 1, 2)})
    th.pop("note", None)
    data["facts"][0]["description"] = {"vi": "mô tả\nhai dòng", "en": "two\nlines"}
    data["facts"][1]["unit"] = "=SUM(A1:A2)"  # text that looks like a formula stays text
    p = tmp_path / "odd.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return str(p)


def test_shapes_without_columns_round_trip_through_yaml_cells(tmp_path):
    path = _odd_ruleset(tmp_path)
    rs = load_ruleset_file(path).ruleset
    book = str(tmp_path / "odd.xlsx")
    export(path, book)
    s = Sheet(book)
    r = s.row("standard", "2.2")
    assert "by_year" in s.get(r, "YAML bổ sung") and s.get(r, "TDMNPB") is None  # not table-shaped: YAML
    assert "group" in s.get(s.row("standard", "2.1"), "YAML bổ sung")
    imp = read_workbook(book)
    assert content_hash(imp.model) == content_hash(rs)


LIBREOFFICE = shutil.which("libreoffice") or shutil.which("soffice")
# Writer alone (installed for the .docx check) cannot open a workbook: the round trip needs Calc's library
HAS_CALC = LIBREOFFICE is not None and any(
    os.path.exists(os.path.join(d, "libsclo.so"))
    for d in (os.path.dirname(os.path.realpath(LIBREOFFICE)), "/usr/lib/libreoffice/program"))


@pytest.mark.skipif(not HAS_CALC, reason="LibreOffice Calc is not installed (apt-get install libreoffice-calc)")
def test_round_trip_after_libreoffice_resave(book21, tmp_path):
    """A workbook opened and saved by LibreOffice (types, dates, validations re-written) reads back exactly."""
    ov_book = str(tmp_path / "ov.xlsx")
    export(None, ov_book, overlay=EXAMPLE_OVERLAY)
    out = tmp_path / "lo"
    out.mkdir()
    for src in (book21, ov_book):
        subprocess.run([LIBREOFFICE, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo-profile",
                        "--convert-to", "xlsx", "--outdir", str(out), src], check=True, capture_output=True,
                       timeout=240)
    rs = load_ruleset_file(shipped_paths()["vn-2021-2025"]).ruleset
    assert content_hash(read_workbook(str(out / os.path.basename(book21))).model) == content_hash(rs)
    assert content_hash(read_workbook(str(out / "ov.xlsx")).model) == content_hash(_overlay_model(EXAMPLE_OVERLAY))


def test_worked_example_script(book21, tmp_path):
    """examples/authoring/verify_two_values.py edits the workbook as a person would; the import takes it."""
    src = fresh(book21, tmp_path)
    out = str(tmp_path / "v.xlsx")
    r = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "authoring", "verify_two_values.py"), src, out],
                       capture_output=True, text=True, env=_env(tmp_path), timeout=120)
    assert r.returncode == 0, r.stderr
    rs = read_workbook(out).model
    got = {}
    for c in rs.levels[0].tiers[0].criteria:
        for ind in c.indicators:
            th = ind.conditions[0].threshold
            if th.status == "verified" and th.verified_by:
                got[ind.code] = (th.value, th.verified_by, th.source.render())
    assert got == {"12.1": (96, "Nguyễn Văn Minh Họa (ví dụ)", "318/QĐ-TTg, mục 12.1, tr. 7"),
                   "15.1": (95, "Nguyễn Văn Minh Họa (ví dụ)", "318/QĐ-TTg, mục 15.1, tr. 9")}


def test_overlay_source_must_be_a_listed_document(tmp_path):
    book = str(tmp_path / "o.xlsx")
    export(None, book, overlay=EXAMPLE_OVERLAY)
    s = Sheet(book)
    r = next(r for r in range(2, s.ws.max_row + 1) if s.get(r, "Mã chỉ tiêu") == "15.1")
    s.set(r, "Tình trạng", "đã đối chiếu")
    s.set(r, "Nguồn: văn bản", "77/QĐ-UBND")
    s.set(r, "Nguồn: mục", "15.1")
    s.set(r, "Nguồn: URL", "https://example.invalid/77")
    s.set(r, "Người đối chiếu", "B")
    s.set(r, "Ngày đối chiếu", dt.date(2026, 1, 5))
    s.save()
    with pytest.raises(NtmInputError) as e:
        read_workbook(book)
    assert problems(e.value) == [f"{s.addr(r, 'Nguồn: văn bản')}: unknown document '77/QĐ-UBND' — "
                                 f"list it on sheet {L.SHEET_DOCS}"]


def test_overlay_rows_show_the_national_indicator_read_only(tmp_path):
    book = str(tmp_path / "o.xlsx")
    export(None, book, overlay=EXAMPLE_OVERLAY)
    s = Sheet(book)
    r = next(r for r in range(2, s.ws.max_row + 1) if s.get(r, "Mã chỉ tiêu") == "15.1")
    assert s.get(r, "Loại dòng") == "sửa ngưỡng"
    assert s.get(r, "Chỉ số") == "health_insurance_pct" and s.get(r, "Nội dung chỉ tiêu").startswith("Tỷ lệ")
    assert s.get(r, "Mọi vùng") == 95
    s.set(r, "Chỉ số", "other_fact")
    s.save()
    with pytest.raises(NtmInputError) as e:
        read_workbook(book)
    assert problems(e.value)[0].startswith(f"{s.addr(r, 'Chỉ số')}: an overlay cannot change the national fact "
                                           "of standard 15.1; this cell only shows it")


# ---- through the command line ------------------------------------------------------------------------------

def test_cli_export_import_check_diff_evaluate(tmp_path):
    r = cli(tmp_path, "rulesets", "export", "vn-2021-2025", "--format", "xlsx", "-o", "b.xlsx")
    assert r.returncode == 0, r.stderr
    s = Sheet(str(tmp_path / "b.xlsx"))
    row = s.row("standard", "12.1")
    verify(s, row, 96)
    verify(s, s.row("standard", "15.1"), 90)  # checked, and the text says what the set already had
    s.save()
    r = cli(tmp_path, "rulesets", "import", "b.xlsx", "-o", "v.yaml")
    assert r.returncode == 0, r.stderr
    assert "wrote v.yaml: ruleset vn-2021-2025" in r.stdout
    assert cli(tmp_path, "rulesets", "check", "v.yaml").returncode == 0
    d = cli(tmp_path, "rulesets", "diff", "vn-2021-2025", "v.yaml", "-f", "json")
    assert d.returncode == 0, d.stderr
    import json

    changes = [c for c in json.loads(d.stdout)["changes"] if c["kind"] == "threshold"]
    assert [(c["indicator"], c["a"], c["b"], c["direction"]) for c in changes] == [("12.1", 90, 96, "stricter"),
                                                                                  ("15.1", 90, 90, "unchanged")]
    assert changes[1]["provenance"]["b"] == "verified"
    assert changes[0]["provenance"]["a"] == "provisional" and changes[0]["provenance"]["b"] == "verified"
    assert changes[0]["provenance"]["checked_b"] == {"by": "Trần Thị Kiểm Tra", "on": "2026-11-30",
                                                     "read_in": "318/QĐ-TTg, mục 12.1, tr. 12"}
    text = cli(tmp_path, "rulesets", "diff", "vn-2021-2025", "v.yaml").stdout
    assert "12.1 (regular_job_pct)" in text and "Trần Thị Kiểm Tra" in text
    ev = cli(tmp_path, "evaluate", os.path.join(ROOT, "examples", "xa-dat-chuan.yaml"), "--ruleset", "v.yaml",
             "--overlay", EXAMPLE_OVERLAY, "-f", "json")
    out = json.loads(ev.stdout)
    std = next(t for t in out["tiers"] if t["id"] == "standard")
    assert std["status"] == "not_met"  # 95.1 % regular jobs no longer reaches the corrected 96 %
    prov = cli(tmp_path, "rulesets", "provenance", "v.yaml", "-f", "json")
    who = {v["verified_by"]: v["values"] for v in json.loads(prov.stdout)["verifiers"]}
    assert who["Trần Thị Kiểm Tra"] == 2 and who[None] >= 1


def test_cli_overlay_export_and_import(tmp_path):
    r = cli(tmp_path, "rulesets", "export", "--overlay", EXAMPLE_OVERLAY, "-o", "o.xlsx")
    assert r.returncode == 0, r.stderr
    r = cli(tmp_path, "rulesets", "import", "o.xlsx", "-o", "o.yaml")
    assert r.returncode == 0, r.stderr
    assert "overlay tinh-minh-hoa" in r.stdout
    assert cli(tmp_path, "rulesets", "check", "o.yaml").returncode == 0


def test_cli_never_overwrites(tmp_path, book21):
    (tmp_path / "x.xlsx").write_text("mine")
    r = cli(tmp_path, "rulesets", "export", "vn-2021-2025", "-o", "x.xlsx")
    assert r.returncode == 2 and "file exists" in r.stderr
    assert (tmp_path / "x.xlsx").read_text() == "mine"
    (tmp_path / "y.yaml").write_text("mine")
    r = cli(tmp_path, "rulesets", "import", book21, "-o", "y.yaml")
    assert r.returncode == 2 and (tmp_path / "y.yaml").read_text() == "mine"


# ---- bad workbooks: every mistake at its cell, exit 2, nothing written ----------------------------------------

def _bad(book21, tmp_path, edit):
    p = fresh(book21, tmp_path)
    wb = openpyxl.load_workbook(p)
    where = edit(wb)
    wb.save(p)
    r = cli(tmp_path, "rulesets", "import", p, "-o", "out.yaml")
    assert r.returncode == 2, r.stdout + r.stderr
    assert not (tmp_path / "out.yaml").exists()
    assert "Traceback" not in r.stderr
    return r.stderr, where


def _ind(wb, tier, code, header, value):
    s = Sheet.__new__(Sheet)
    s.wb, s.ws = wb, wb[L.SHEET_INDICATORS]
    s.col = {c.value: c.column for c in s.ws[1] if c.value}
    r = s.row(tier, code)
    s.set(r, header, value)
    return s.addr(r, header)


def test_bad_value_type(book21, tmp_path):
    err, where = _bad(book21, tmp_path, lambda wb: _ind(wb, "standard", "2.1", "Mọi vùng", "≥ 80"))
    assert f'{where}: "≥ 80" is not a number' in err
    assert "comparison goes in column So sánh" in err


def test_unknown_fact(book21, tmp_path):
    err, where = _bad(book21, tmp_path, lambda wb: _ind(wb, "standard", "1.1", "Chỉ số", "no_such_fact"))
    assert f"{where}: unknown fact 'no_such_fact'" in err


def test_bad_operator(book21, tmp_path):
    err, where = _bad(book21, tmp_path, lambda wb: _ind(wb, "standard", "4.2", "So sánh", ">>"))
    assert f'{where}: ">>" is not allowed here (expected one of ≥, ≤, >, <, =, đạt)' in err


def test_verified_without_verifier(book21, tmp_path):
    def edit(wb):
        s = Sheet.__new__(Sheet)
        s.wb, s.ws = wb, wb[L.SHEET_INDICATORS]
        s.col = {c.value: c.column for c in s.ws[1] if c.value}
        r = s.row("standard", "15.1")
        verify(s, r, 95)
        s.set(r, "Người đối chiếu", None)
        return s.addr(r, "Người đối chiếu")
    err, where = _bad(book21, tmp_path, edit)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert f"{where}: a value marked verified must name its source and who verified it and when" in err


def test_verified_needs_source_and_page_or_url(book21, tmp_path):
    def edit(wb):
        s = Sheet.__new__(Sheet)
        s.wb, s.ws = wb, wb[L.SHEET_INDICATORS]
        s.col = {c.value: c.column for c in s.ws[1] if c.value}
        r = s.row("standard", "15.1")
        s.set(r, "Tình trạng", "đã đối chiếu")  # a status flipped to verified, nothing else
        return [s.addr(r, h) for h in ("Nguồn: văn bản", "Nguồn: mục", "Nguồn: trang", "Người đối chiếu",
                                       "Ngày đối chiếu")]
    err, where = _bad(book21, tmp_path, edit)
    for cell in where:
        assert f"{cell}: a value marked verified" in err


def test_url_instead_of_page_is_enough(book21, tmp_path):
    p = fresh(book21, tmp_path)
    s = Sheet(p)
    r = s.row("standard", "15.1")
    verify(s, r, 95, page=None)
    s.set(r, "Nguồn: URL", "https://vanban.chinhphu.vn/example")
    s.save()
    imp = read_workbook(p)
    th = imp.model.levels[0].tiers[0].criteria[14].indicators[0].conditions[0].threshold
    assert (th.value, th.status, th.source.url, th.verified_by) == (95, "verified", "https://vanban.chinhphu.vn/example",
                                                                     "Trần Thị Kiểm Tra")


def test_verified_in_the_future(book21, tmp_path):
    def edit(wb):
        s = Sheet.__new__(Sheet)
        s.wb, s.ws = wb, wb[L.SHEET_INDICATORS]
        s.col = {c.value: c.column for c in s.ws[1] if c.value}
        r = s.row("standard", "15.1")
        verify(s, r, 95, on=dt.date.today() + dt.timedelta(days=30))
        return s.addr(r, "Ngày đối chiếu")
    err, where = _bad(book21, tmp_path, edit)
    assert f"{where}: " in err and "is in the future" in err


def test_changed_legacy_verified_value_needs_full_provenance(tmp_path):
    """2016–2020 values were verified before verifiers were recorded: unchanged they import as they are; a
    changed one must name its source and verifier."""
    book = str(tmp_path / "r16.xlsx")
    export("vn-2016-2020", book)
    s = Sheet(book)
    r = s.row("standard", "14.2")
    assert s.get(r, "Tình trạng") == "đã đối chiếu" and s.get(r, "TDMNPB") == 70
    s.set(r, "TDMNPB", 71)
    s.save()
    with pytest.raises(NtmInputError) as e:
        read_workbook(book)
    msgs = problems(e.value)
    assert any(m.startswith(s.addr(r, "Người đối chiếu") + ": a value marked verified") for m in msgs)


def test_duplicate_code(book21, tmp_path):
    err, where = _bad(book21, tmp_path, lambda wb: _ind(wb, "standard", "6.2", "Mã chỉ tiêu", "6.1"))
    assert f"{where}: indicator 6.1 is defined twice in tier 'standard'" in err


def test_deleted_sheet(book21, tmp_path):
    def edit(wb):
        del wb[L.SHEET_FACTS]
        return f"{L.SHEET_FACTS}!A1"
    err, where = _bad(book21, tmp_path, edit)
    assert f"{where}: the sheet '{L.SHEET_FACTS}' is missing from the workbook" in err
    assert len(err.strip().splitlines()) == 1, err  # no cascade of unknown facts


def test_renamed_header(book21, tmp_path):
    def edit(wb):
        ws = wb[L.SHEET_INDICATORS]
        for c in ws[1]:
            if c.value == "Ghi chú nguồn":
                c.value = "Ghi chu"
                return f"{L.SHEET_INDICATORS}!{c.column_letter}1"
    err, where = _bad(book21, tmp_path, edit)
    assert f'{where}: unknown column "Ghi chu"' in err and "did you mean 'Ghi chú nguồn'" in err
    assert f'{L.SHEET_INDICATORS}!A1: column "Ghi chú nguồn" is missing' in err


def test_bad_fact_sheet_cells(book21, tmp_path):
    def edit(wb):
        ws = wb[L.SHEET_FACTS]
        hdr = {c.value: c.column_letter for c in ws[1]}
        r = next(r for r in range(2, ws.max_row + 1) if ws[f"{hdr['Kiểu']}{r}"].value == "percent")
        ws[f"{hdr['Nhỏ nhất']}{r}"] = "abc"
        ws[f"{hdr['Kiểu']}{r}"] = "percentage"
        return [f"{L.SHEET_FACTS}!{hdr['Nhỏ nhất']}{r}", f"{L.SHEET_FACTS}!{hdr['Kiểu']}{r}"]
    err, where = _bad(book21, tmp_path, edit)
    assert f'{where[0]}: "abc" is not a number' in err
    assert f'{where[1]}: "percentage" is not allowed here' in err and "did you mean 'percent'" in err


def test_all_mistakes_in_one_run(book21, tmp_path):
    def edit(wb):
        return [_ind(wb, "standard", "2.1", "Mọi vùng", "≥ 80"), _ind(wb, "standard", "1.1", "Chỉ số", "nope"),
                _ind(wb, "standard", "4.2", "So sánh", ">>"), _ind(wb, "standard", "6.2", "Mã chỉ tiêu", "6.1"),
                _ind(wb, "standard", "7", "Ngày đối chiếu", "hôm qua"), _ind(wb, "standard", "9.1", "Năm", "x")]
    err, where = _bad(book21, tmp_path, edit)
    for cell in where:
        assert f"{cell}: " in err, (cell, err)
    assert len(err.strip().splitlines()) == len(where), err


def test_not_a_workbook(tmp_path):
    (tmp_path / "x.xlsx").write_text("not a zip")
    r = cli(tmp_path, "rulesets", "import", "x.xlsx", "-o", "o.yaml")
    assert r.returncode == 2 and "cannot read the workbook" in r.stderr and "Traceback" not in r.stderr


def test_rows_of_one_condition_keep_their_rules(book21, tmp_path):
    """A region given twice, and a value for every region beside region values, are refused at the cell."""
    p = fresh(book21, tmp_path)
    s = Sheet(p)
    r = s.row("standard", "2.2")  # two rows: TDMNPB, then the other regions
    s.set(r + 1, "TDMNPB", 85)
    r2 = s.row("standard", "3.1")
    s.set(r2, "Mọi vùng", 80)
    s.save()
    with pytest.raises(NtmInputError) as e:
        read_workbook(p)
    msgs = problems(e.value)
    assert any(m.startswith(s.addr(r + 1, "TDMNPB") + ": region TDMNPB is given twice") for m in msgs)
    assert any(m.startswith(s.addr(r2, "TDMNPB") + ": a value for every region") for m in msgs)


def test_a_row_added_at_the_bottom_joins_its_criterion(book21, tmp_path):
    """A person appends a new indicator under the last row: it goes into criterion 19 of the standard tier."""
    p = fresh(book21, tmp_path)
    s = Sheet(p)
    r = s.ws.max_row + 1
    for h, v in {"Cấp": "commune", "Mức": "standard", "Tiêu chí": "19", "Mã chỉ tiêu": "19.3",
                 "Nội dung chỉ tiêu": "Chỉ tiêu thử", "Nội dung (en)": "A test indicator", "Điều kiện số": 1,
                 "Chỉ số": "security_order_safe", "So sánh": "đạt", "Mọi vùng": "Đạt", "Tình trạng": "tạm tính",
                 "Ghi chú nguồn": "test row", "Căn cứ: văn bản": "318/QĐ-TTg"}.items():
        s.set(r, h, v)
    s.save()
    rs = read_workbook(p).model
    crit = [c for c in rs.levels[0].tiers[0].criteria if c.number == "19"]
    assert len(crit) == 1 and [i.code for i in crit[0].indicators] == ["19.1", "19.2", "19.3"]
    assert crit[0].indicators[-1].conditions[0].threshold.value is True


# ---- what a person sees ------------------------------------------------------------------------------------

def test_workbook_layout(book21):
    wb = openpyxl.load_workbook(book21)
    assert wb.sheetnames == [L.SHEET_GUIDE, L.SHEET_INFO, L.SHEET_DOCS, L.SHEET_VERSIONS, L.SHEET_REGIONS,
                             L.SHEET_FLAGS, L.SHEET_RULES, L.SHEET_FACTS, L.SHEET_TIERS, L.SHEET_INDICATORS,
                             L.SHEET_YAML]
    ws = wb[L.SHEET_INDICATORS]
    headers = [c.value for c in ws[1]]
    for h in ("Mức", "Tiêu chí", "Tên tiêu chí", "Mã chỉ tiêu", "Nội dung chỉ tiêu", "Nội dung (en)", "Chỉ số",
              "So sánh", "Đơn vị", "Mọi vùng", "TDMNPB", "ĐBSCL", "Căn cứ: văn bản", "Tình trạng", "Ghi chú nguồn",
              "Nguồn: trang", "Người đối chiếu", "Ngày đối chiếu"):
        assert h in headers, h
    assert ws.freeze_panes == "G2"
    for name in wb.sheetnames[1:]:
        assert wb[name].freeze_panes is not None, name
    # a drop-down on every closed list
    lists = {}
    for dv in ws.data_validations.dataValidation:
        for rng in str(dv.sqref).split():
            lists[rng.split(":")[0].rstrip("0123456789")] = dv.formula1
    col = {c.value: c.column_letter for c in ws[1]}
    assert "đã đối chiếu" in lists[col["Tình trạng"]] and "≥" in lists[col["So sánh"]]
    assert lists[col["Chỉ số"]] == f"'{L.SHEET_FACTS}'!$A$2:$A$2000"
    assert lists[col["Mức"]].startswith(f"'{L.SHEET_TIERS}'!$B$2")
    assert "commune" in lists[col["Cấp"]] and "quốc gia" in lists[col["Quy định bởi"]]
    assert ws.column_dimensions[col["Nội dung chỉ tiêu"]].width >= 40
    assert ws.column_dimensions[col["_dấu"]].hidden
    facts = wb[L.SHEET_FACTS]
    fcol = {c.value: c.column_letter for c in facts[1]}
    fl = {str(dv.sqref).split(":")[0].rstrip("0123456789"): dv.formula1 for dv in facts.data_validations.dataValidation}
    assert "percent" in fl[fcol["Kiểu"]]


def test_one_row_per_provenance_group(book21):
    """Income (10) varies by year and its regional values differ in provenance: one row per year and group."""
    s = Sheet(book21)
    rows = [r for r in range(2, s.ws.max_row + 1)
            if s.get(r, "Mức") == "standard" and s.get(r, "Mã chỉ tiêu") == "10"]
    years = [s.get(r, "Năm") for r in rows]
    assert sorted(set(years)) == [2022, 2023, 2024, 2025]
    first = rows[0]
    assert s.get(first, "TDMNPB") == 39 and s.get(first, "Tình trạng") == "tạm tính"
    assert "weak source" in s.get(first, "Ghi chú nguồn")
    assert s.get(first, "Nội dung chỉ tiêu") and s.get(rows[1], "Nội dung chỉ tiêu") is None
