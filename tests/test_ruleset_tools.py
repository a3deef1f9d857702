"""`ntm rulesets check | test | diff | provenance`: the tools rule authors and auditors use."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap

import pytest

from ntm.criteria import provenance as prov
from ntm.criteria.check import check
from ntm.criteria.diff import diff, direction, load_side
from ntm.criteria.loader import load_ruleset, shipped_paths
from ntm.criteria.model import _walk_thresholds, iter_indicators

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OVERLAY = os.path.join(ROOT, "examples", "overlays", "tinh-minh-hoa.yaml")
FIXTURES = os.path.join(ROOT, "tests", "fixtures")


def run_cli(*args, cwd=ROOT):
    """A real process: exit codes and stderr exactly as a user sees them (slow on a busy machine: used sparingly)."""
    p = subprocess.run([sys.executable, "-m", "ntm", *args], check=False, capture_output=True, text=True, cwd=cwd,
                       timeout=120)
    return p.returncode, p.stdout, p.stderr


def cli(*args):
    """In-process, with main()'s mapping of bad input to exit code 2 (NtmInputError -> 2 and its message)."""
    from typer.testing import CliRunner

    from ntm.cli import app
    from ntm.errors import NtmInputError

    res = CliRunner().invoke(app, list(args))
    if isinstance(res.exception, NtmInputError):
        return 2, res.stdout, res.exception.render()
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    return res.exit_code, res.stdout, ""


# ---- a small ruleset the broken variants are made from --------------------------------------------------------

BASE = textwrap.dedent("""\
    id: mini
    version: "1"
    title: {vi: Thử, en: Test}
    effective: {from: 2022-01-01, to: 2025-12-31}
    documents:
      - {id: D, number: D/1, date: 2022-01-01, title: {vi: d, en: d}}
    regions:
      - {id: A, label: {vi: a, en: a}}
      - {id: B, label: {vi: b, en: b}}
    facts:
      - {id: income, label: {vi: tn, en: inc}, type: money, unit: M, level: commune, range: {min: 0, max: 1000}}
      - {id: water, label: {vi: n, en: w}, type: percent, unit: "%", level: commune, range: {min: 0, max: 100}}
      - {id: ok, label: {vi: ok, en: ok}, type: boolean, unit: "-", level: commune}
    levels:
      - level: commune
        tiers:
          - id: standard
            label: {vi: chuẩn, en: standard}
            citation: {document: D}
            criteria:
              - number: "1"
                name: {vi: thu nhập, en: income}
                indicators:
                  - code: "1.1"
                    label: {vi: tn, en: inc}
                    unit: M
                    conditions:
                      - fact: income
                        op: ">="
                        threshold:
                          by_year:
                            2022:
                              by_region:
                                A: {value: 40, status: verified}
                                B: {value: 50, status: provisional, note: check}
                            2023:
                              by_region:
                                A: {value: 42, status: verified}
                                B: {value: 52, status: provisional, note: check}
                    citation: {document: D, item: "1.1"}
                  - code: "1.2"
                    label: {vi: nước, en: water}
                    unit: "%"
                    conditions:
                      - fact: water
                        op: ">="
                        threshold: {value: 80, status: verified}
                    citation: {document: D, item: "1.2"}
              - number: "2"
                name: {vi: ok, en: ok}
                indicators:
                  - code: "2"
                    label: {vi: ok, en: ok}
                    conditions:
                      - fact: ok
                        op: is_true
                        threshold: {value: true, status: missing, note: not transcribed, value: null}
                    citation: {document: D, item: "2"}
          - id: advanced
            label: {vi: nâng cao, en: advanced}
            requires: standard
            citation: {document: D}
            criteria:
              - number: "1"
                name: {vi: thu nhập, en: income}
                indicators:
                  - code: "1.1"
                    label: {vi: tn, en: inc}
                    conditions:
                      - fact: income
                        op: ">="
                        threshold: {ref: {tier: standard, indicator: "1.1", factor: 1.1}}
                    citation: {document: D, item: "1.1"}
    """).replace("{value: true, status: missing, note: not transcribed, value: null}",
                 "{value: null, status: missing, note: not transcribed}")


def write(tmp_path, text, name="rs.yaml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return str(p)


def line_of(text, needle, nth=0):
    """1-based line of the nth line containing needle (the test's own expectation, from the text it wrote)."""
    hits = [i + 1 for i, line in enumerate(text.splitlines()) if needle in line]
    return hits[nth]


def findings(rep, severity=None):
    return [f for f in rep.sorted() if severity is None or f.severity == severity]


def test_base_is_clean(tmp_path):
    rep = check(write(tmp_path, BASE))
    assert rep.findings == [], [f.render() for f in rep.findings]


# ---- check: clean on what ships --------------------------------------------------------------------------------

@pytest.mark.parametrize("ref", [*shipped_paths(), OVERLAY, os.path.join(FIXTURES, "ruleset-2026-shape.yaml"),
                                 os.path.join(FIXTURES, "village-ruleset.yaml")])
def test_check_is_clean_on_shipped_rulesets_and_example_overlay(ref):
    rep = check(ref)
    assert rep.errors == [] and rep.warnings == [], [f.render() for f in rep.findings]
    assert rep.stats


def test_check_cli_ok_line_and_exit_0():
    code, out, _ = cli("rulesets", "check", "vn-2021-2025")
    assert code == 0
    rs = load_ruleset("vn-2021-2025").ruleset
    n_ind = sum(1 for _ in iter_indicators(rs))
    assert out.startswith("OK:") and f"{len(rs.facts)} facts" in out and f"{n_ind} indicators" in out


# ---- check: each deliberate mistake, at its line --------------------------------------------------------------

def _dup_code(t):
    return t.replace('- code: "1.2"', '- code: "1.1"', 1), '- code: "1.1"', 1, "defined twice"


def _unknown_fact(t):
    return t.replace("- fact: water", "- fact: watre", 1), "- fact: watre", 0, "unknown fact 'watre'"


def _drop_line(t, needle):
    lines = t.splitlines(keepends=True)
    return "".join(line for line in lines if needle not in line)


def _missing_region(t):
    return _drop_line(t, "B: {value: 52"), "by_region:", 1, "no value for region B"


def _unit_mismatch(t):
    return t.replace("unit: M\n", 'unit: "%"\n', 1), 'unit: "%"', 1, "is in '%' but its fact 'income' is in 'M'"


def _percent_150(t):
    return t.replace("threshold: {value: 80, status: verified}", "threshold: {value: 150, status: verified}"), \
        "value: 150", 0, "outside the fact's range"


def _bool_op_on_money(t):
    return re.sub(r'(- fact: income\n\s+)op: ">="', r"\1op: is_true", t, count=1), "op: is_true", 0, \
        "does not fit money fact"


def _tier_cycle(t):
    t = re.sub(r"( +)(label: \{vi: chuẩn, en: standard\}\n)", r"\1\2\1requires: advanced\n", t, count=1)
    return t, "requires: advanced", 0, "cycle"


def _year_gap(t):
    t = t.replace("2023:\n", "2024:\n", 1)
    return t, "by_year:", 0, "by_year skips 2023"


def _ref_unknown(t):
    return t.replace('indicator: "1.1", factor: 1.1', 'indicator: "9.9", factor: 1.1'), 'indicator: "9.9"', 0, \
        "ref points to missing"


BROKEN = {"duplicate code": _dup_code, "unknown fact": _unknown_fact, "missing region value": _missing_region,
          "unit mismatch": _unit_mismatch, "percent threshold 150": _percent_150,
          "boolean op on a money fact": _bool_op_on_money, "tier cycle": _tier_cycle, "by_year gap": _year_gap,
          "ref to an unknown indicator": _ref_unknown}


@pytest.mark.parametrize("name", list(BROKEN))
def test_check_reports_each_mistake_at_its_line(tmp_path, name):
    text, needle, nth, msg = BROKEN[name](BASE)
    assert text != BASE
    path = write(tmp_path, text)
    rep = check(path)
    hits = [f for f in rep.errors if msg in f.message]
    assert hits, [f.render() for f in rep.findings]
    assert hits[0].line == line_of(text, needle, nth), hits[0].render()
    assert hits[0].file == path
    assert hits[0].render().startswith(f"{path}:{hits[0].line}: error: ")
    if name == "unknown fact":
        assert hits[0].hint == "did you mean 'water'?"


def test_unused_fact_is_a_warning_with_its_line(tmp_path):
    text = BASE.replace("levels:\n", "  - {id: spare, label: {vi: s, en: s}, type: count, unit: x, level: commune, "
                        "range: {min: 0, max: 9}}\nlevels:\n", 1)
    rep = check(write(tmp_path, text))
    assert rep.errors == []
    (w,) = rep.warnings
    assert "'spare' is never used" in w.message and w.line == line_of(text, "id: spare")


def test_province_set_region_table_may_have_holes(tmp_path):
    text = BASE.replace("threshold: {value: 80, status: verified}",
                        "threshold: {by_region: {A: {value: null, status: missing, set_by: province, note: tỉnh}}}")
    assert check(write(tmp_path, text)).findings == []


def test_ref_cycle_is_reported(tmp_path):
    text = BASE.replace('{ref: {tier: standard, indicator: "1.1", factor: 1.1}}', '{ref: {tier: advanced, indicator: "1.1"}}')
    rep = check(write(tmp_path, text))
    (e,) = [f for f in rep.errors if "cycle" in f.message]
    assert "advanced 1.1 → advanced 1.1" in e.message and e.line == line_of(text, "{ref: {tier: advanced")


def test_all_problems_at_once_sorted_by_line(tmp_path):
    text, *_ = _unknown_fact(BASE)
    text, *_ = _year_gap(text)
    text, *_ = _tier_cycle(text)
    rep = check(write(tmp_path, text))
    assert len(rep.errors) >= 3
    lines = [f.line for f in rep.sorted()]
    assert lines == sorted(lines)


def test_schema_errors_are_findings_with_lines(tmp_path):
    text = BASE.replace("unit: M\n", "unitt: M\n", 1)
    rep = check(write(tmp_path, text))
    (e,) = rep.errors
    assert "unknown field 'unitt'" in e.message and e.line == line_of(text, "unitt:")
    assert "did you mean 'unit'" in (e.hint or "")


def test_check_exit_codes_and_json(tmp_path):
    bad = write(tmp_path, _unknown_fact(BASE)[0], "bad.yaml")
    code, out, err = run_cli("rulesets", "check", bad)
    assert code == 2 and f"{bad}:{line_of(_unknown_fact(BASE)[0], 'fact: watre')}: error:" in out
    assert "Traceback" not in out + err
    warn_text = BASE.replace("levels:\n", "  - {id: spare, label: {vi: s, en: s}, type: count, unit: x, "
                             "level: commune, range: {min: 0, max: 9}}\nlevels:\n", 1)
    warn = write(tmp_path, warn_text, "warn.yaml")
    code, out, _ = cli("rulesets", "check", warn)
    assert code == 0 and "warning" in out
    code, out, _ = cli("rulesets", "check", warn, "--strict")
    assert code == 1
    code, out, _ = cli("rulesets", "check", bad, "-f", "json")
    doc = json.loads(out)
    assert code == 2 and doc["ok"] is False and doc["errors"] >= 1
    assert all({"severity", "message", "file", "line"} <= set(f) for f in doc["findings"])


def test_check_unreadable_inputs_exit_2(tmp_path):
    code, _, err = cli("rulesets", "check", str(tmp_path / "nope.yaml"))
    assert code == 2 and "no such file" in err
    code, out, _ = cli("rulesets", "check", write(tmp_path, "id: a\nversion: '1'\nid: b\n", "y.yaml"))
    assert code == 2 and "y.yaml:3: error: duplicate key 'id'" in out


# ---- check: overlays -----------------------------------------------------------------------------------------

OVERLAY_BASE = textwrap.dedent("""\
    overlay:
      id: thu
      title: {vi: t, en: t}
      province: Tỉnh Thử
      ruleset: vn-2021-2025
      documents:
        - {id: QD, number: QD/1, date: 2023-01-01, title: {vi: q, en: q}}
    thresholds:
      - tier: standard
        indicator: "15.1"
        threshold: {value: 95, status: verified, note: raised}
        citation: {document: QD}
    """)


def test_overlay_loosening_and_unknown_region_are_reported(tmp_path):
    assert check(write(tmp_path, OVERLAY_BASE, "ov.yaml")).findings == []
    text = OVERLAY_BASE.replace("threshold: {value: 95, status: verified, note: raised}",
                                "threshold: {by_region: {TN: {value: 80, status: verified, note: lower}, "
                                "TNN: {value: 99, status: verified, note: typo}}}")
    rep = check(write(tmp_path, text, "ov2.yaml"))
    msgs = [f.render() for f in rep.errors]
    assert any("looser than the national" in m for m in msgs), msgs
    unknown = [f for f in rep.errors if "unknown region 'TNN'" in f.message]
    assert unknown and unknown[0].line == line_of(text, "TNN") and "did you mean 'TN'" in unknown[0].hint


def test_overlay_unknown_tier_and_base(tmp_path):
    text = OVERLAY_BASE.replace("  - tier: standard", "  - tier: standrd")
    rep = check(write(tmp_path, text, "ov.yaml"))
    (e,) = rep.errors
    assert "no tier 'standrd'" in e.message and e.line == line_of(text, "tier: standrd")
    text = OVERLAY_BASE.replace("ruleset: vn-2021-2025", "ruleset: vn-2021-2052")
    rep = check(write(tmp_path, text, "ov3.yaml"))
    assert rep.errors and rep.errors[0].line == line_of(text, "ruleset: vn-2021-2052")


# ---- test --------------------------------------------------------------------------------------------------------

def test_test_command_passes_on_shipped_rulesets():
    """Every shipped case file, a slice of each (all of them run as pytest items via conftest.py, and below)."""
    for rid, path in shipped_paths().items():
        code, out, _ = cli("rulesets", "test", rid, "--only", "DHNTB")
        assert code == 0, out
        assert " passed, 0 failed" in out and not out.startswith("0 passed")
        tests_dir = os.path.join(os.path.dirname(path), "tests")
        for case_file in os.listdir(tests_dir):
            if case_file.endswith(".yaml"):  # fixtures (tests/overlays/) are not case files
                assert case_file in out


@pytest.mark.slow
def test_test_command_passes_on_every_shipped_case():
    for rid in shipped_paths():
        code, out, _ = cli("rulesets", "test", rid)
        assert code == 0 and " passed, 0 failed" in out, out


def test_test_command_reports_a_mismatch(tmp_path):
    src = os.path.join(FIXTURES, "village-ruleset.cases.yaml")
    with open(src, encoding="utf-8") as fh:
        text = fh.read()
    text = text.replace("ruleset: village-ruleset.yaml", f"ruleset: {os.path.join(FIXTURES, 'village-ruleset.yaml')}")
    text = text.replace("tiers: {ntm_village: met, model_village: met}", "tiers: {ntm_village: met, model_village: not_met}")
    path = write(tmp_path, text, "cases.yaml")
    code, out, _ = cli("rulesets", "test", path)
    assert code == 1
    assert "FAIL model village met" in out and "tier model_village: expected not_met, got met" in out
    assert "3 passed, 1 failed" in out
    code, out, _ = cli("rulesets", "test", path, "-f", "json")
    doc = json.loads(out)
    assert (doc["passed"], doc["failed"]) == (3, 1)


def test_test_command_bad_case_file_exits_2(tmp_path):
    path = write(tmp_path, "ruleset: vn-2021-2025\ncases:\n  - name: x\n    unit: {regoin: TN}\n    year: 2024\n"
                 "    expect: {}\n", "bad-cases.yaml")
    code, _, err = run_cli("rulesets", "test", path)
    assert code == 2 and "regoin" in err and "Traceback" not in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = cli("rulesets", "test", str(empty))
    assert code == 2 and "no test case files" in err


def test_test_finds_cases_beside_a_ruleset_file_and_in_a_folder(tmp_path):
    from ntm.criteria.casetests import find_case_files

    assert [os.path.basename(p) for p in find_case_files(os.path.join(FIXTURES, "village-ruleset.yaml"))] == [
        "village-ruleset.cases.yaml"]
    assert len(find_case_files(FIXTURES)) == 2  # the fixture folder: case files only, not the rulesets
    shutil.copy(os.path.join(FIXTURES, "village-ruleset.cases.yaml"), tmp_path / "c.yaml")
    assert find_case_files(str(tmp_path)) == [str(tmp_path / "c.yaml")]


# ---- diff ----------------------------------------------------------------------------------------------------------

def test_direction_is_op_aware():
    assert direction(">=", 40, 45) == "stricter" and direction(">=", 45, 40) == "looser"
    assert direction("<=", 25, 20) == "stricter" and direction("<", 20, 25) == "looser"
    assert direction(">=", None, 5) == "set" and direction(">=", 5, None) == "unset"
    assert direction("is_true", True, True) == "unchanged" and direction("==", 1, 2) == "changed"


def test_diff_2016_2020_vs_2021_2025():
    doc = diff(load_side("vn-2016-2020"), load_side("vn-2021-2025"))
    kinds = {(c["kind"], c.get("tier"), c.get("indicator")) for c in doc["changes"]}
    assert ("indicator_added", "standard", "12.1") in kinds
    assert ("indicator_removed", "standard", "12") in kinds
    assert ("tier_added", "advanced", None) in kinds
    income = [c for c in doc["changes"] if c["kind"] == "threshold" and c["indicator"] == "10"
              and c["tier"] == "standard"]
    regions = sorted(r for c in income for r in c["regions"])
    assert regions == sorted(r.id for r in load_ruleset("vn-2021-2025").ruleset.regions)
    for c in income:
        assert c["b"] > c["a"] and c["direction"] == "stricter"
    assert doc["summary"]["indicators_added"] == sum(c["kind"] == "indicator_added" for c in doc["changes"])


def test_diff_with_overlay_shows_raised_thresholds_as_stricter():
    doc = diff(load_side("vn-2021-2025"), load_side(OVERLAY))
    rows = [c for c in doc["changes"] if c["kind"] == "threshold" and c["indicator"] == "15.1"]
    assert rows and all(c["direction"] == "stricter" and c["b"] > c["a"] for c in rows)
    assert all(c["provenance"]["source_b"] == "overlay tinh-minh-hoa" for c in rows)
    assert doc["summary"]["thresholds"]["looser"] == 0  # an overlay may never loosen
    set_rows = [c for c in doc["changes"] if c.get("direction") == "set" and c["indicator"] == "12.3"]
    assert set_rows and set_rows[0]["a"] is None and set_rows[0]["b"] == 30
    assert ("indicator_added", "17.90") in {(c["kind"], c.get("indicator")) for c in doc["changes"]}
    # the same through --overlay on B
    same = diff(load_side("vn-2021-2025"), load_side("vn-2021-2025", OVERLAY))
    assert same["changes"] == doc["changes"]


def test_diff_versions_inside_one_ruleset():
    doc = diff(load_side("vn-2021-2025@2022.1", year=2024), load_side("vn-2021-2025@2024.2", year=2024))
    added = {(c["level"], c.get("tier"), c.get("indicator")) for c in doc["changes"] if c["kind"] == "indicator_added"}
    assert ("commune", "recognition", "4.1d") in added
    assert doc["summary"]["thresholds"]["stricter"] == 0  # same year: the amendment adds, it does not re-number
    assert (doc["a"]["version"], doc["b"]["version"]) == ("2022.1", "2024.2")


def test_diff_cli_json_is_deterministic_and_table_is_vietnamese(tmp_path):
    code, out1, _ = cli("rulesets", "diff", "vn-2016-2020", "vn-2021-2025", "-f", "json")
    code2, out2, _ = cli("rulesets", "diff", "vn-2016-2020", "vn-2021-2025", "-f", "json")
    assert code == code2 == 0 and out1 == out2
    json.loads(out1)
    code, out, _ = cli("rulesets", "diff", "vn-2021-2025", OVERLAY)
    assert code == 0 and "chặt hơn" in out and "Chỉ tiêu mới" in out
    code, out, _ = cli("rulesets", "diff", "vn-2021-2025", OVERLAY, "--lang", "en")
    assert "stricter" in out and "Indicator added" in out
    code, _, err = cli("rulesets", "diff", "vn-2021-2025@2099.9", "vn-2021-2025")
    assert code == 2 and "no version '2099.9'" in err


# ---- provenance ------------------------------------------------------------------------------------------------

def _expected_counts(rs):
    """Direct count over the model: a condition's status is the weakest of its cells, a ref takes its target's."""
    rank = {"verified": 0, "provisional": 1, "missing": 2}
    conds = []  # a list: the same code may return in a later dated wording
    for _, ls, t, _, ind in iter_indicators(rs):
        for k, c in enumerate(ind.conditions):
            conds.append(((ls.level, t.id, ind.code, k), c.threshold))

    def target(key):  # like the resolver: the first indicator with that code
        return next(th for k, th in conds if k == key)

    def statuses(level, th):
        out = []
        for _, node in _walk_thresholds(th, ()):
            if node.ref is not None:
                out += statuses(level, target((level, node.ref.tier, node.ref.indicator, node.ref.condition)))
            elif node.by_region is None and node.by_year is None:
                out.append(node.status)
        return out

    exp = {}
    for (level, tier, _, _), th in conds:
        worst = max(statuses(level, th), key=rank.get)
        row = exp.setdefault((level, tier), {"verified": 0, "provisional": 0, "missing": 0})
        row[worst] += 1
    return exp


@pytest.mark.parametrize("ref", [*shipped_paths(), os.path.join(FIXTURES, "ruleset-2026-shape.yaml")])
def test_provenance_counts_equal_a_direct_count(ref):
    rs = load_ruleset(ref).ruleset
    rep = prov.report(rs)
    got = {(r["level"], r["tier"]): {s: r[s] for s in prov.STATUSES} for r in rep["counts"]}
    assert got == _expected_counts(rs)
    n_conditions = sum(len(i.conditions) for *_, i in iter_indicators(rs))
    assert rep["totals"]["total"] == n_conditions


def test_provenance_todo_lists_every_unverified_cell_with_its_document():
    rs = load_ruleset("vn-2021-2025").ruleset
    rep = prov.report(rs)
    doc_numbers = {d.number for d in rs.documents}
    assert rep["todo"] and all(r["status"] in ("provisional", "missing") for r in rep["todo"])
    assert all(any(n in r["document"] for n in doc_numbers) for r in rep["todo"])
    only_missing = prov.report(rs, "missing")["todo"]
    assert only_missing and all(r["status"] == "missing" for r in only_missing)
    # 12.3 is left to the province: listed as missing, set by the province
    row = next(r for r in only_missing if r["tier"] == "standard" and r["indicator"] == "12.3")
    assert row["set_by"] == "province"


def test_provenance_cli_formats(tmp_path):
    code, out, _ = cli("rulesets", "provenance", "vn-2021-2025", "-f", "json")
    doc = json.loads(out)
    assert code == 0 and doc["totals"]["total"] == sum(r["total"] for r in doc["counts"])
    code, out, _ = cli("rulesets", "provenance", "vn-2021-2025", "-f", "markdown", "--lang", "en")
    assert code == 0 and "| Level | Tier | Verified | Provisional | Missing |" in out
    code, out, _ = cli("rulesets", "provenance", "vn-2016-2020")
    assert code == 0 and "Đã đối chiếu" in out and "Việc cần làm" in out
    target = tmp_path / "p.md"
    assert cli("rulesets", "provenance", "vn-2016-2020", "-f", "markdown", "-o", str(target))[0] == 0
    code, _, err = cli("rulesets", "provenance", "vn-2016-2020", "-f", "markdown", "-o", str(target))
    assert code == 2 and "not overwriting" in err
