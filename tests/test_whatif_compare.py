"""`ntm whatif` and `ntm compare`: every answer must equal what the engine says when the dossier (or the rules)
really are different, evaluated from scratch; bad input ends in exit 2 with file:line."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ntm.cli import main
from ntm.engine.compare import Side, compare
from ntm.engine.evaluate import evaluate_file, gather
from ntm.engine.outcome import Label
from ntm.engine.whatif import Scenario, load_scenarios, scenario_from_options, whatif

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "examples"
OVERLAY = str(EX / "overlays" / "tinh-minh-hoa.yaml")
TWO_SHORT = str(EX / "xa-thieu-hai-tieu-chi.yaml")
MODEL = str(EX / "xa-kieu-mau.yaml")
GOOD = str(EX / "xa-dat-chuan.yaml")
SCENARIOS = str(EX / "scenarios" / "xa-thieu-hai-tieu-chi.yaml")


def run_cli(*args) -> tuple[int, str, str]:
    """The real entry point in-process (same error handling as the console script)."""
    err, out = io.StringIO(), io.StringIO()
    code, old = 0, sys.argv
    sys.argv = ["ntm", *args]
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            try:
                main()
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else 1
    finally:
        sys.argv = old
    assert "Traceback" not in err.getvalue()
    return code, out.getvalue(), err.getvalue()


def edited_copy(tmp_path: Path, changes: dict, src: str = TWO_SHORT, name: str = "edited.yaml") -> str:
    """The dossier as a user would have edited it by hand: facts replaced (None: removed)."""
    data = yaml.safe_load(Path(src).read_text(encoding="utf-8"))
    for fid, value in changes.items():
        if value is None:
            data["facts"].pop(fid, None)
        else:
            data["facts"][fid] = value
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return str(p)


def statuses(o) -> dict:
    """Every decision of an outcome: tiers, criteria, indicators (with observed values and gaps)."""
    d = {}
    for t in list(o.tiers) + ([o.recognition] if o.recognition else []):
        d[(t.id,)] = t.status
        for c in t.criteria:
            d[(t.id, c.number)] = c.status
            for k, i in enumerate(c.indicators):
                d[(t.id, c.number, i.code, k)] = (i.status, tuple((x.observed, x.gap) for x in i.conditions))
    return d


def check_against_edit(sc_out, base, edited) -> None:
    """The scenario's reported differences are exactly the differences between two from-scratch evaluations."""
    b, e = statuses(base), statuses(edited)
    assert sc_out.after.summary == edited.summary
    assert [(x.tier, x.status, x.criteria_met) for x in sc_out.after.tiers] == [
        (t.id, t.status, t.criteria_met) for t in edited.tiers]
    tiers = {k[0]: (b[k], e[k]) for k in b if len(k) == 1 and b[k] != e[k]}
    assert {x.tier: (x.before, x.after) for x in sc_out.tiers_changed} == tiers
    assert set(sc_out.tiers_gained) == {t for t, (x, y) in tiers.items() if y == "met"}
    assert set(sc_out.tiers_lost) == {t for t, (x, y) in tiers.items() if x == "met"}
    crits = {k: (b[k], e[k]) for k in b if len(k) == 2 and b[k] != e[k]}
    assert {(f.tier, f.number): (f.before, f.after) for f in sc_out.criteria_flipped} == crits
    inds = {(k[0], k[2]) for k in b if len(k) == 4 and b[k] != e[k]}
    assert {(i.tier, i.code) for i in sc_out.indicators_changed} == inds
    for i in sc_out.indicators_changed:
        k = next(k for k in e if len(k) == 4 and k[0] == i.tier and k[2] == i.code and k[1] == i.criterion)
        assert e[k][0] == i.after and b[k][0] == i.before


@pytest.fixture(scope="module")
def inputs():
    return gather(TWO_SHORT, overlay=OVERLAY)


def test_income_at_threshold_equals_editing_the_dossier(inputs, tmp_path):
    base = evaluate_file(TWO_SHORT, overlay=OVERLAY)
    cond = next(c for cr in base.tier("standard").criteria for i in cr.indicators for c in i.conditions
                if c.fact == "income_per_capita")
    assert cond.status == "fail"  # the example is short on income: the scenario lifts it exactly to the threshold
    sc = scenario_from_options([f"income_per_capita={cond.threshold}"], [], inputs.ruleset.ruleset)
    r = whatif(inputs, [sc])
    edited = evaluate_file(edited_copy(tmp_path, {"income_per_capita": cond.threshold}), overlay=OVERLAY)
    s = r.scenarios[0]
    check_against_edit(s, base, edited)
    assert ("standard", "10") in {(f.tier, f.number) for f in s.criteria_flipped}
    ch = {c.fact: c for c in s.changes}
    assert ch["income_per_capita"].before == cond.observed and ch["income_per_capita"].after == cond.threshold
    income = next(i for i in s.indicators_changed if i.tier == "standard" and i.code == "10")
    assert income.conditions[0].gap_before == cond.gap and income.conditions[0].gap_after is None
    assert r.baseline.summary == base.summary


def test_two_scenarios_from_a_file(inputs, tmp_path):
    f = tmp_path / "sc.yaml"
    f.write_text("scenarios:\n"
                 "  - id: a\n    label: {vi: Thu nhập, en: Income}\n    set: {income_per_capita: 70, solid_waste_treated_pct: 95}\n"
                 "  - id: b\n    set: {alley_hardened_km: 31.2}\n    unset: [ocop_product]\n", encoding="utf-8")
    scs = load_scenarios(str(f), inputs.ruleset.ruleset)
    assert [s.id for s in scs] == ["a", "b"] and scs[0].label.en == "Income" and scs[1].label.vi == "b"
    r = whatif(inputs, scs)
    base = evaluate_file(TWO_SHORT, overlay=OVERLAY)
    for s, ch in zip(r.scenarios, [{"income_per_capita": 70, "solid_waste_treated_pct": 95},
                                  {"alley_hardened_km": 31.2, "ocop_product": None}]):
        check_against_edit(s, base, evaluate_file(edited_copy(tmp_path, ch, name=f"{s.id}.yaml"), overlay=OVERLAY))
    # the share computed from the changed part is reported as a derived change
    derived = {c.fact: c for c in r.scenarios[1].changes}
    assert derived["alley_hardened_pct"].derived and derived["alley_hardened_pct"].after == 100
    assert derived["ocop_product"].after is None and not derived["ocop_product"].derived


def test_cli_scenario_file_table_json_markdown(tmp_path):
    code, out, err = run_cli("whatif", TWO_SHORT, "--overlay", OVERLAY, "--scenario", SCENARIOS, "-f", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["schema"] == "ntm-whatif/1" and len(doc["scenarios"]) == 4
    both = next(s for s in doc["scenarios"] if s["id"] == "thu-nhap-va-rac")
    assert "standard" in both["tiers_gained"] or doc["baseline"]["summary"]["highest_tier"] == "standard"
    code, table, _ = run_cli("whatif", TWO_SHORT, "--overlay", OVERLAY, "--scenario", SCENARIOS)
    assert code == 0 and "Hiện trạng" in table and "thu-nhap-67" in table
    code, md, _ = run_cli("whatif", TWO_SHORT, "--overlay", OVERLAY, "--scenario", SCENARIOS, "-f", "markdown",
                          "--lang", "en")
    assert code == 0 and "| Tier | Baseline |" in md and "Criteria that flip" in md
    dest = tmp_path / "w.json"
    assert run_cli("whatif", TWO_SHORT, "--set", "income_per_capita=70", "-f", "json", "-o", str(dest))[0] == 0
    code, _, err = run_cli("whatif", TWO_SHORT, "--set", "income_per_capita=70", "-f", "json", "-o", str(dest))
    assert code == 2 and "not overwriting" in err


def test_unset_and_empty_value_remove_evidence(inputs, tmp_path):
    base = evaluate_file(TWO_SHORT, overlay=OVERLAY)
    for sets, unsets in ((["ocop_product="], []), ([], ["ocop_product"])):
        r = whatif(inputs, [scenario_from_options(sets, unsets, inputs.ruleset.ruleset)])
        check_against_edit(r.scenarios[0], base,
                           evaluate_file(edited_copy(tmp_path, {"ocop_product": None}), overlay=OVERLAY))
        assert any(i.after == "missing" for i in r.scenarios[0].indicators_changed)


@pytest.mark.parametrize("args, needle", [
    (["--set", "income_per_capta=52"], "did you mean 'income_per_capita'"),
    (["--set", "income_per_capita=abc"], "--set income_per_capita: got 'abc'"),
    (["--set", "income_per_capita=52,3"], "use a dot for decimals"),
    (["--set", "income_per_capita=nan"], "not a finite number"),
    (["--set", "income_per_capita=inf"], "not a finite number"),
    (["--set", "solid_waste_treated_pct=150"], "outside the valid range"),
    (["--set", "temporary_houses=1.5"], "not a whole number"),
    (["--set", "ocop_product=maybe"], "expected true or false"),
    (["--set", "income_per_capita"], "expected FACT=VALUE"),
    (["--set", "alley_hardened_km=99"], "is larger than"),
    ([], "nothing to simulate"),
])
def test_bad_set_exits_2_with_a_clear_message(args, needle):
    code, _, err = run_cli("whatif", TWO_SHORT, *args)
    assert code == 2 and needle in err, err


@pytest.mark.parametrize("body, line, needle", [
    ("scenarios:\n  - id: a\n    sett: {income_per_capita: 52}\n", 3, "did you mean 'set'"),
    ("scenarios:\n  - id: a\n    set: {income_per_capita: 52}\n    label: 5\n", 4, "label"),
    ("scenarios:\n  - id: a\n    set:\n      income_per_capita: '52'\n", 4, "scenarios[0].set.income_per_capita"),
    ("scenarios:\n  - id: a\n    set:\n      income_per_capita: 50000\n", 4, "outside the valid range"),
    ("scenarios:\n  - id: a\n    set:\n      incom_per_capita: 52\n", 4, "did you mean 'income_per_capita'"),
    ("scenarios:\n  - id: a\n    set: {income_per_capita: 52}\n  - id: a\n    set: {ocop_product: true}\n", 4,
     "used twice"),
    ("scenarios: []\n", 1, "scenarios"),
])
def test_bad_scenario_file_exits_2_with_file_and_line(tmp_path, body, line, needle):
    f = tmp_path / "bad.yaml"
    f.write_text(body, encoding="utf-8")
    code, _, err = run_cli("whatif", TWO_SHORT, "--scenario", str(f))
    assert code == 2 and f"{f}:{line}:" in err and needle in err, err


def test_compare_overlay_vs_none_changes_advanced_and_model():
    r = compare([MODEL, GOOD], Side(), Side(overlay=OVERLAY), varies="overlay", drop_unknown=True)
    row = next(u for u in r.units if u.path == MODEL)
    changed = {d.tier: (d.a, d.b) for d in row.tiers}
    assert {"advanced", "model"} <= set(changed)
    # each side is exactly what `evaluate` says under that configuration
    with_ov = evaluate_file(MODEL, overlay=OVERLAY)
    assert row.b.tiers == {t.id: t.status for t in with_ov.tiers}
    assert changed["advanced"] == (row.a.tiers["advanced"], with_ov.tier("advanced").status)
    assert row.a.dropped_facts == ["waste_sorted_at_source_pct"] and row.b.dropped_facts == []
    why = {x.code: x for x in next(d for d in row.tiers if d.tier == "standard").why}
    assert why["15.1"].rule_a != why["15.1"].rule_b  # the province's stricter value shows as a changed threshold
    assert r.units_changed == 2 and any(c.tier == "advanced" and c.gained == 1 for c in r.counts)
    # without --drop-unknown-facts the provincial fact makes side A an error row, not a crash
    r2 = compare([MODEL], Side(), Side(overlay=OVERLAY), varies="overlay")
    assert r2.units[0].error_a and "waste_sorted_at_source_pct" in r2.units[0].error_a[0] and r2.units_with_errors == 1


def test_compare_two_dates_switches_the_security_condition(tmp_path):
    code, out, err = run_cli("compare", TWO_SHORT, GOOD, "--as-of", "2024-03-06", "--as-of", "2024-03-07",
                             "--overlay", OVERLAY, "-f", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["schema"] == "ntm-compare/1" and doc["varies"] == "as_of"
    for u in doc["units"]:
        before = evaluate_file(u["path"], overlay=OVERLAY, as_of=dt.date(2024, 3, 6))
        after = evaluate_file(u["path"], overlay=OVERLAY, as_of=dt.date(2024, 3, 7))
        assert u["a"]["recognition"] == before.recognition.status and u["b"]["recognition"] == after.recognition.status
        if before.recognition.status != after.recognition.status:
            rec = next(t for t in u["tiers"] if t["tier"] == "recognition")
            sec = next(x for x in rec["why"] if x["code"] == "4.1d")
            assert "security_not_complicated" in sec["rule_a"][0] and "security_order_safe" in sec["rule_b"][0]
    assert any(u["changed"] for u in doc["units"])


def test_compare_rulesets_error_rows_and_bad_options(tmp_path):
    code, out, err = run_cli("compare", str(EX), "--ruleset", "vn-2021-2025", "--ruleset", "vn-2016-2020",
                             "-f", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["units_total"] == len([p for p in EX.iterdir() if p.suffix in (".yaml", ".yml", ".json")])
    assert doc["units_with_errors"] >= 1 and all(u["error_a"] or u["error_b"] or u["a"] for u in doc["units"])
    code, out, err = run_cli("compare", TWO_SHORT, "--ruleset", "vn-2021-2025", "--ruleset", "vn-2016-2020",
                             "--drop-unknown-facts", "-f", "json")
    u = json.loads(out)["units"][0]
    assert code == 0 and u["b"]["ruleset"] == "vn-2016-2020" and "ocop_product" in u["b"]["dropped_facts"]
    only_a = {c["tier"] for c in json.loads(out)["counts"] if c["only_a"]}
    assert only_a == set(u["a"]["tiers"]) - set(u["b"]["tiers"]) | ({"recognition"} if u["b"]["recognition"] is None
                                                                    and u["a"]["recognition"] else set())
    for args, needle in [
        (["--ruleset", "vn-2021-2025"], "exactly two"),
        (["--ruleset", "a", "--ruleset", "b", "--overlay", "none", "--overlay", OVERLAY], "exactly two"),
        (["--ruleset", "vn-2021-2025", "--ruleset", "vn-2021-2025"], "the same"),
        (["--ruleset", "vn-2021-2052", "--ruleset", "vn-2016-2020"], "did you mean 'vn-2021-2025'"),
        (["--as-of", "2024-13-01", "--as-of", "2024-03-07"], "not a date"),
        (["--overlay", "none", "--overlay", str(tmp_path / "missing.yaml")], "cannot read"),
    ]:
        code, _, err = run_cli("compare", TWO_SHORT, *args)
        assert code == 2 and needle in err, (args, err)
    code, _, err = run_cli("compare", str(tmp_path), "--overlay", "none", "--overlay", OVERLAY)
    assert code == 2 and "no dossier files" in err


def test_json_is_byte_identical_run_to_run():
    """Another process (another hash seed) and this one give the same bytes."""
    args = ("whatif", TWO_SHORT, "--overlay", OVERLAY, "--scenario", SCENARIOS, "-f", "json")
    other = subprocess.run([sys.executable, "-m", "ntm", *args], capture_output=True, cwd=ROOT, timeout=120, check=False,
                           env={**os.environ, "PYTHONHASHSEED": "12345"}).stdout.decode("utf-8")
    assert other and other == run_cli(*args)[1] == run_cli(*args)[1]
    cargs = ("compare", TWO_SHORT, MODEL, "--overlay", "none", "--overlay", OVERLAY, "--drop-unknown-facts", "-f", "json")
    assert run_cli(*cargs)[1] == run_cli(*cargs)[1]


def test_every_scenario_runs_on_a_fresh_session(inputs):
    """Order does not matter: a scenario's result is the same alone, first or after others."""
    rs = inputs.ruleset.ruleset
    a = scenario_from_options(["income_per_capita=70"], [], rs, sid="a")
    b = scenario_from_options(["ocop_product=false"], [], rs, sid="b")
    alone = whatif(inputs, [b]).scenarios[0]
    after = whatif(inputs, [a, b, a]).scenarios[1]
    assert alone == after


_BASE_FACTS = yaml.safe_load(Path(TWO_SHORT).read_text(encoding="utf-8"))["facts"]


@st.composite
def single_change(draw):
    from ntm.criteria.loader import load_ruleset

    cat = load_ruleset("vn-2021-2025").ruleset.fact_map()
    fid = draw(st.sampled_from(sorted(f for f in _BASE_FACTS if cat[f].ratio_of is None and
                                      not any(x.ratio_of and f in (x.ratio_of.numerator, x.ratio_of.denominator)
                                              for x in cat.values()))))
    fact = cat[fid]
    if fact.type == "boolean":
        return fid, draw(st.sampled_from([True, False, None]))
    lo, hi = fact.range.min, fact.range.max
    if fact.type == "count":
        return fid, draw(st.integers(int(lo), int(min(hi, lo + 50))))
    value = draw(st.integers(int(lo * 10), int(min(hi, 200) * 10))) / 10
    return fid, draw(st.sampled_from([value, None])) if draw(st.integers(0, 9)) == 0 else value


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(change=single_change())
def test_random_single_fact_change_equals_an_edited_dossier(inputs, tmp_path, change):
    fid, value = change
    sc = Scenario("h", Label(vi="h", en="h"), {fid: value})
    r = whatif(inputs, [sc])
    base = evaluate_file(TWO_SHORT, overlay=OVERLAY)
    edited = evaluate_file(edited_copy(tmp_path, {fid: value}, name="h.yaml"), overlay=OVERLAY)
    check_against_edit(r.scenarios[0], base, edited)


def test_bench_whatif_reports_latency():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from bench_whatif import bench_whatif
    finally:
        sys.path.pop(0)
    res = bench_whatif(3, batches=1)
    assert res["n"] == 3 and res["per_call_cpu_ms_median"] > 0 and res["per_call_ms_median"] > 0 and res["target_ms"] == 10


def test_district_scenario_equals_editing_the_district_dossier(tmp_path):
    import shutil

    folder = tmp_path / "ex"
    shutil.copytree(EX, folder)
    district = str(folder / "huyen-vi-du.yaml")
    inp = gather(district, overlay=OVERLAY)
    sc = scenario_from_options(["dist_c3_met=không", "district_road_hardened_pct=80"], [], inp.ruleset.ruleset)
    r = whatif(inp, [sc])
    edited = edited_copy(folder, {"dist_c3_met": False, "district_road_hardened_pct": 80}, src=district,
                         name="huyen-sua.yaml")
    check_against_edit(r.scenarios[0], evaluate_file(district, overlay=OVERLAY), evaluate_file(edited, overlay=OVERLAY))
    assert r.scenarios[0].after.summary.communes_holding_back == r.baseline.summary.communes_holding_back
    code, _, err = run_cli("whatif", district, "--overlay", OVERLAY, "--set", "communes_standard_count=3")
    assert code == 2 and "computed from the district's communes" in err


def test_shipped_scenario_file_matches_edited_dossiers(tmp_path):
    inp = gather(TWO_SHORT, overlay=OVERLAY)
    scs = load_scenarios(SCENARIOS, inp.ruleset.ruleset)
    r = whatif(inp, scs)
    base = evaluate_file(TWO_SHORT, overlay=OVERLAY)
    for sc, out in zip(scs, r.scenarios):
        check_against_edit(out, base, evaluate_file(edited_copy(tmp_path, sc.changes, name=f"{sc.id}.yaml"),
                                                    overlay=OVERLAY))
