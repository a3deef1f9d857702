"""`ntm plan`: minimal plans re-evaluated by the engine, exact k-of-n choices and budget selection (checked
against brute force), unpurchasable conditions, --fixed, districts, folders, targets, bad input, determinism."""

from __future__ import annotations

import copy
import itertools
import json
import os
import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ntm.criteria.dossier import Observation
from ntm.criteria.model import Citation, Fact, Text
from ntm.criteria.resolve import (
    Provenance,
    RCondition,
    RCriterion,
    Resolved,
    RIndicator,
    RThreshold,
    RTier,
)
from ntm.engine import oracle
from ntm.engine.evaluate import evaluate, gather
from ntm.engine.plan import Planner, plan_unit, plan_values
from ntm.engine.plan_budget import select
from ntm.engine.plan_costs import (
    CostEntry,
    CostInfo,
    CostLabel,
    CostModel,
    LoadedCosts,
    load_costs,
    price,
)
from ntm.engine.plan_group import plan_group

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "examples"
OVERLAY = str(EX / "overlays" / "tinh-minh-hoa.yaml")
COSTS = str(EX / "costs" / "chi-phi-minh-hoa.yaml")
TARGETS = str(EX / "targets" / "muc-tieu-minh-hoa.yaml")
TWO_SHORT = str(EX / "xa-thieu-hai-tieu-chi.yaml")
MODEL = str(EX / "xa-kieu-mau.yaml")
DISTRICT = str(EX / "huyen-vi-du.yaml")


def ntm(*args, check=None):
    proc = subprocess.run([sys.executable, "-m", "ntm", *args], check=False, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert "Traceback" not in proc.stderr, proc.stderr
    if check is not None:
        assert proc.returncode == check, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    return proc


def run(capsys, *args, check=None):
    """The CLI in-process, through main() (exit codes 2/3 included): fast enough to run many cases."""
    from ntm.cli import main

    argv = sys.argv
    sys.argv = ["ntm", *args]
    code = 0
    try:
        main()
    except SystemExit as e:
        code = e.code or 0
    finally:
        sys.argv = argv
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    if check is not None:
        assert code == check, (code, out[-2000:], err[-2000:])
    return subprocess.CompletedProcess(args, code, out, err)


def _costs(inp):
    return load_costs(COSTS, inp.ruleset.ruleset)


@pytest.fixture(scope="module")
def two_short():
    return gather(TWO_SHORT, overlay=OVERLAY)


# ------------------------------------------------------------------ one commune


def test_standard_plan_reaches_the_target_through_the_engine(two_short):
    p = plan_unit(two_short, "standard")
    assert p.current == {"standard": "not_met"}
    assert {c.fact: c.target for c in p.changes} == {"income_per_capita": 67, "solid_waste_treated_pct": 80}
    assert p.status == "reachable" and p.verification.reaches_target
    # independent check: the planned values, applied by the caller, make the engine say met
    o = evaluate(two_short, extra=plan_values(p))
    assert o.tier("standard").status == "met"


@pytest.mark.parametrize("tier", ["advanced", "model"])
def test_advanced_and_model_plans_re_evaluate_to_met(two_short, tier):
    p = plan_unit(two_short, tier, costs=_costs(two_short))
    assert p.verification.evaluated and p.verification.reaches_target, p.verification
    assert all(v == "met" for v in p.verification.tiers.values())
    # income is needed by standard, advanced (and model): changed once, to the highest requirement, never priced
    inc = [c for c in p.changes if c.fact == "income_per_capita"]
    assert len(inc) == 1 and inc[0].pricing == "not_purchasable" and inc[0].cost is None
    assert len(inc[0].needed_by) >= 2 and inc[0].target > 67
    assert p.status == "conditional" and p.conditions == ["income_per_capita"]
    assert set(p.to_measure) <= {c.fact for c in p.changes if c.observed is None}


def test_unpurchasable_income_is_a_condition_and_the_rest_is_priced(two_short):
    p = plan_unit(two_short, "standard", costs=_costs(two_short))
    by = {c.fact: c for c in p.changes}
    assert by["income_per_capita"].pricing == "not_purchasable"
    assert by["solid_waste_treated_pct"].pricing == "priced"
    # 95 per percentage point × (80 − 71.5)
    assert Fraction(str(by["solid_waste_treated_pct"].cost)) == 95 * (Fraction(80) - Fraction("71.5"))
    assert p.total_cost == by["solid_waste_treated_pct"].cost and p.cost_complete


def test_fixed_fact_makes_the_target_unreachable_and_says_which(two_short):
    p = plan_unit(two_short, "standard", fixed=frozenset({"income_per_capita"}))
    assert p.status == "unreachable" and not p.verification.reaches_target
    assert [(b.kind, b.fact) for b in p.blockers] == [("fixed", "income_per_capita")]
    # fixing a fact the plan does not need changes nothing
    q = plan_unit(two_short, "standard", fixed=frozenset({"regular_job_pct"}))
    assert q.status == "reachable"


def test_missing_province_threshold_blocks_the_plan_honestly():
    inp = gather(TWO_SHORT)  # without the overlay, 12.3 has no value (set by the province)
    p = plan_unit(inp, "standard")
    assert p.status == "blocked_by_missing_threshold"
    assert any(b.kind == "missing_threshold" and b.indicator == "standard:12.3" for b in p.blockers)
    assert p.verification.tiers["standard"] == "indeterminate" and not p.verification.reaches_target


def test_already_met_plan_is_empty():
    p = plan_unit(gather(MODEL, overlay=OVERLAY), "model")
    assert p.status == "already_met" and p.changes == [] and p.verification.reaches_target


def test_cheapest_of_the_outstanding_fields_is_chosen(tmp_path):
    """Model 4 needs 1 of 7 outstanding fields: with all false, the cheapest in the cost model (culture) wins."""
    data = yaml.safe_load(Path(MODEL).read_text(encoding="utf-8"))
    for f in ("outstanding_production", "outstanding_education", "outstanding_culture", "outstanding_tourism",
              "outstanding_landscape_environment", "outstanding_security_order", "outstanding_digital_transformation"):
        data["facts"][f] = False
    path = tmp_path / "xa.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    inp = gather(str(path), overlay=OVERLAY)
    p = plan_unit(inp, "model", costs=_costs(inp))
    assert [c.fact for c in p.changes] == ["outstanding_culture"] and p.total_cost == 1200
    assert p.choices[0].chosen_facts == ["outstanding_culture"] and p.verification.reaches_target
    # without a cost model: one change either way; the tie goes to the lowest condition code (production, #0)
    q = plan_unit(inp, "model")
    assert [c.fact for c in q.changes] == ["outstanding_production"]


def test_ratio_fact_is_priced_by_its_parts_when_the_share_has_no_price():
    from ntm.criteria.loader import load_ruleset

    rs = load_ruleset("vn-2021-2025").ruleset
    fact = rs.fact_map()["alley_hardened_pct"]
    obs = {"alley_km": Observation(Fraction(40), "value", None),
           "alley_hardened_km": Observation(Fraction(30), "value", None),
           "alley_hardened_pct": Observation(Fraction(75), "ratio", None)}
    model = CostModel(cost_model=CostInfo(id="t", title=CostLabel(vi="t", en="t"), currency="VND"),
                      costs={"alley_hardened_km": CostEntry(per_unit=10)})
    pr = price(LoadedCosts(model, "t.yaml", "0"), fact, Fraction(75), Fraction(80), obs)
    assert pr.kind == "priced" and pr.cost == 10 * Fraction(5, 100) * 40  # 2 km to harden × 10
    # a price for the share itself wins
    model2 = CostModel(cost_model=model.cost_model, costs={**model.costs, "alley_hardened_pct": CostEntry(per_unit=3)})
    assert price(LoadedCosts(model2, "t.yaml", "0"), fact, Fraction(75), Fraction(80), obs).cost == 15


# ------------------------------------------------------------------ k of n: exact against brute force


def _fact(fid):
    return Fact(id=fid, label=Text(vi=fid, en=fid), type="percent", unit="%", level="commune",
                range={"min": 0, "max": 100})


def _cond(i, fid, op, t):
    return RCondition(i, fid, op, RThreshold(Fraction(t), Provenance("verified", None, "national", "national")),
                      None, Citation(document="test"))


def _satisfy_cost(observed, reqs, per_unit):
    """Brute-force cost of one fact: scan every value 0..100 that passes all requirements, pick the nearest."""
    best = None
    for v in range(101):
        if all(v >= t if op == ">=" else v <= t for op, t in reqs):
            d = abs(v - observed)
            best = d if best is None or d < best else best
    return None if best is None else best * per_unit


case = st.integers(1, 5).flatmap(lambda n: st.tuples(
    st.just(n), st.integers(1, n),
    st.lists(st.tuples(st.integers(0, 3), st.sampled_from([">=", "<="]), st.integers(0, 100)), min_size=n, max_size=n),
    st.lists(st.tuples(st.integers(0, 3), st.sampled_from([">=", "<="]), st.integers(0, 100)), max_size=2),
    st.lists(st.integers(0, 100), min_size=4, max_size=4),
    st.lists(st.integers(0, 9), min_size=4, max_size=4)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case)
def test_k_of_n_choice_equals_brute_force(c):
    n, k, alts, mandatory, observed, prices = c
    fids = [f"f{j}" for j in range(4)]
    alt_ind = RIndicator("t", "1", "1", Text(vi="a", en="a"), None,
                         tuple(_cond(i, fids[f], op, t) for i, (f, op, t) in enumerate(alts)), k, None,
                         Citation(document="x"))
    man_ind = RIndicator("t", "2", "2", Text(vi="b", en="b"), None,
                         tuple(_cond(i, fids[f], op, t) for i, (f, op, t) in enumerate(mandatory)),
                         len(mandatory), None, Citation(document="x"))
    inds = (alt_ind,) + ((man_ind,) if mandatory else ())
    tier = RTier("t", Text(vi="t", en="t"), "tier", None, "R", None, Citation(document="x"),
                 tuple(RCriterion("t", ind.criterion, Text(vi="c", en="c"), (ind,)) for ind in inds))
    res = Resolved("r", "1", "commune", "R", 2024, (), (tier,))
    obs = {f: Observation(Fraction(v), "value", None) for f, v in zip(fids, observed)}
    model = CostModel(cost_model=CostInfo(id="t", title=CostLabel(vi="t", en="t"), currency="VND"),
                      costs={f: CostEntry(per_unit=p) for f, p in zip(fids, prices)})
    best = Planner(res, obs, {f: _fact(f) for f in fids}, ["t"], LoadedCosts(model, "t", "0")).best()

    brute = None
    for combo in itertools.combinations(range(n), k):
        reqs = {f: [] for f in fids}
        for f, op, t in [alts[i] for i in combo] + list(mandatory):
            reqs[fids[f]].append((op, t))
        costs = [_satisfy_cost(observed[j], reqs[f], prices[j]) for j, f in enumerate(fids)]
        if None in costs:
            continue
        total = sum(costs)
        brute = total if brute is None or total < brute else brute
    if brute is None:
        assert best.key[0] > 0  # the planner also finds no feasible choice
        return
    assert best.key[0] == 0 and best.key[4] == brute
    # the chosen values really pass (oracle cross-check on the synthetic resolved rules)
    planned = dict(obs)
    for f, (v, _, _) in best.targets.items():
        planned[f] = Observation(Fraction(v), "value", None)
    assert oracle.evaluate(res, planned)[("tier", "t")] == "met"


# ------------------------------------------------------------------ budget: exact against brute force


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 50), max_size=9), st.integers(0, 150))
def test_budget_selection_maximises_the_count(costs, budget):
    items = [(f"{i:03d}", Fraction(c)) for i, c in enumerate(costs)]
    chosen, spent = select(items, Fraction(budget))
    assert spent <= budget and spent == sum(dict(items)[c] for c in chosen)
    best = max((r for r in range(len(items) + 1) for s in itertools.combinations(items, r)
                if sum(x[1] for x in s) <= budget), default=0)
    assert len(chosen) == best


# ------------------------------------------------------------------ districts, folders, targets


def test_district_plan_lifts_the_commune_holding_it_back():
    inp = gather(DISTRICT, overlay=OVERLAY)
    gp, _ = plan_group(DISTRICT, "standard", costs=_costs(inp), overlay=OVERLAY)
    assert gp.needed == gp.communes_total == 5 and gp.at_target == 4
    assert gp.must_lift == ["99002"] and gp.lift_cost == 807.5
    assert gp.district.verification.reaches_target
    assert gp.district.verification.tiers == {"standard": "met", "recognition": "met"}
    lifted = next(c for c in gp.communes if c.code == "99002")
    assert lifted.plan.verification.reaches_target and lifted.conditions == ["income_per_capita"]


@pytest.fixture(scope="module")
def province(tmp_path_factory):
    """A small 'province' folder: three commune dossiers with different shortfalls."""
    d = tmp_path_factory.mktemp("tinh")
    base = yaml.safe_load(Path(TWO_SHORT).read_text(encoding="utf-8"))
    for code, waste, income in (("A1", 71.5, 70), ("B2", 78.0, 70), ("C3", 60.0, 61.2)):
        data = copy.deepcopy(base)
        data["unit"]["code"], data["unit"]["name"] = code, f"Xã {code}"
        data["facts"]["solid_waste_treated_pct"] = waste
        data["facts"]["income_per_capita"] = {"value": income}
        (d / f"{code}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    shutil.copy(EX / "xa-dat-chuan.yaml", d / "D4.yaml")
    return d


def test_folder_budget_buys_the_most_communes_cheapest_first(province):
    inp = gather(str(province / "A1.yaml"), overlay=OVERLAY)
    gp, _ = plan_group(str(province), "standard", costs=_costs(inp), overlay=OVERLAY, budget=Fraction(1000))
    costs = {c.code: c.total_cost for c in gp.communes}
    assert costs["B2"] == 95 * 2 and costs["A1"] == 807.5 and costs["99001"] == 0
    assert gp.budget.selected == ["B2", "A1"] and gp.budget.spent == 997.5 and gp.budget.remaining == 2.5
    assert gp.budget.reaching_target == 3
    assert gp.budget.not_buyable == {"C3": "conditional"}  # income: money cannot buy it
    assert [c.code for c in gp.communes] == ["99001", "B2", "A1", "C3"]  # met, then reachable cheapest first


def test_targets_report_the_gap_and_the_cheapest_communes(province):
    from ntm.engine.plan_targets import load_targets

    inp = gather(str(province / "A1.yaml"), overlay=OVERLAY)
    gp, _ = plan_group(str(province), "standard", costs=_costs(inp), overlay=OVERLAY,
                       targets=load_targets(TARGETS, inp.ruleset.ruleset))
    std = next(g for g in gp.targets.tiers if g.tier == "standard")
    assert (std.want, std.have, std.gap) == (5, 1, 4) and std.cheapest == ["B2", "A1", "C3"] and not std.closable
    below = {m.code: m for m in gp.targets.min_criteria}
    assert set(below) == {"C3"}  # A1 and B2 meet 18 of 19; C3 fails income and waste (17)
    # waste (priced) is bought before income (money cannot buy it); the engine confirms 18 after
    assert below["C3"].cheapest_criteria == ["17"] and below["C3"].criteria_met_after == 18


# ------------------------------------------------------------------ the command line


def test_cli_json_is_deterministic_and_says_the_target_is_reached(capsys):
    args = ["plan", TWO_SHORT, "--target", "advanced", "--overlay", OVERLAY, "--costs", COSTS, "-f", "json"]
    a, b = ntm(*args, check=0).stdout, run(capsys, *args, check=0).stdout  # another process, same bytes
    assert a == b
    doc = json.loads(a)
    assert doc["schema"] == "ntm-plan/1" and doc["kind"] == "unit"
    assert doc["plan"]["verification"]["reaches_target"] is True
    assert doc["source"]["illustrative_costs"] is True


def test_cli_table_is_vietnamese_by_default_and_english_on_request(capsys):
    vi = run(capsys, "plan", TWO_SHORT, "--target", "standard", "--overlay", OVERLAY, "--costs", COSTS, check=0).stdout
    en = run(capsys, "plan", TWO_SHORT, "--target", "standard", "--overlay", OVERLAY, "--costs", COSTS, "--lang", "en",
             check=0).stdout
    assert "Tổng chi phí" in vi and "không mua được" in vi
    assert "Total cost" in en and "not purchasable" in en


def test_cli_district_budget_and_markdown(capsys):
    out = run(capsys, "plan", DISTRICT, "--target", "standard", "--overlay", OVERLAY, "--costs", COSTS, "--budget", "900",
              "-f", "markdown", check=0).stdout
    assert out.startswith("# ") and "99002" in out


def test_bad_cost_file_names_file_line_and_suggests(capsys, tmp_path):
    bad = tmp_path / "costs.yaml"
    bad.write_text("cost_model: {id: x, title: {vi: a, en: b}, currency: VND}\ncosts:\n"
                   "  solid_waste_treated_pc: {per_unit: 3}\n  income_per_capita: {per_unit: many}\n", encoding="utf-8")
    p = run(capsys, "plan", TWO_SHORT, "--target", "standard", "--costs", str(bad), check=2)
    assert f"{bad}:4" in p.stderr and "per_unit" in p.stderr
    bad.write_text("cost_model: {id: x, title: {vi: a, en: b}, currency: VND}\ncosts:\n"
                   "  solid_waste_treated_pc: {per_unit: 3}\n", encoding="utf-8")
    p = run(capsys, "plan", TWO_SHORT, "--target", "standard", "--costs", str(bad), check=2)
    assert f"{bad}:3" in p.stderr and "did you mean 'solid_waste_treated_pct'" in p.stderr


def test_bad_options_are_input_errors(capsys, tmp_path):
    assert "did you mean 'advanced'" in run(capsys, "plan", TWO_SHORT, "--target", "advancd", check=2).stderr
    assert "--budget" in run(capsys, "plan", TWO_SHORT, "--target", "standard", "--budget", "5", check=2).stderr
    assert "--fixed" in run(capsys, "plan", TWO_SHORT, "--target", "standard", "--fixed", "incom_per_capita", check=2).stderr
    assert "not an amount" in run(capsys, "plan", DISTRICT, "--target", "standard", "--budget", "lots", check=2).stderr
    assert "needs a cost model" in run(capsys, "plan", DISTRICT, "--target", "standard", "--budget", "9",
                                       check=2).stderr
    tg = tmp_path / "t.yaml"
    tg.write_text("targets: {id: x, title: {vi: a, en: b}}\ncommunes_at_least:\n  standrd: 3\n", encoding="utf-8")
    p = run(capsys, "plan", DISTRICT, "--target", "standard", "--targets", str(tg), check=2)
    assert f"{tg}:3" in p.stderr and "did you mean 'standard'" in p.stderr


def test_output_file_is_not_overwritten_without_force(capsys, tmp_path):
    out = tmp_path / "plan.json"
    out.write_text("keep", encoding="utf-8")
    run(capsys, "plan", TWO_SHORT, "--target", "standard", "--overlay", OVERLAY, "-f", "json", "-o", str(out), check=2)
    assert out.read_text(encoding="utf-8") == "keep"
    run(capsys, "plan", TWO_SHORT, "--target", "standard", "--overlay", OVERLAY, "-f", "json", "-o", str(out), "--force",
        check=0)
    assert json.loads(out.read_text(encoding="utf-8"))["plan"]["status"] == "reachable"
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".ntm-")]


def test_strict_bounds_use_the_stated_step():
    from ntm.engine.plan import Req, fact_target

    pct = _fact("p")
    count = Fact(id="c", label=Text(vi="c", en="c"), type="count", unit="thôn", level="commune",
                 range={"min": 0, "max": 50})

    def req(f, op, t):
        return Req("t", "1", _cond(0, f, op, t))

    assert fact_target(pct, Fraction(10), [req("p", ">", 50)]) == (Fraction("50.01"), None)
    assert fact_target(pct, Fraction(90), [req("p", "<", 50)]) == (Fraction("49.99"), None)
    assert fact_target(count, Fraction(0), [req("c", ">", Fraction("2.5"))]) == (3, None)
    assert fact_target(count, Fraction(9), [req("c", "<", 3)]) == (2, None)
    assert fact_target(pct, Fraction(60), [req("p", ">=", 50), req("p", "<=", 55)]) == (55, None)
    assert fact_target(pct, None, [req("p", ">=", 80)]) == (80, None)  # a missing value: the least that passes
    assert fact_target(pct, Fraction(1), [req("p", ">=", 60), req("p", "<=", 40)])[1][0] == "contradictory"
    assert fact_target(count, Fraction(1), [req("c", ">=", 60)])[1][0] == "out_of_range"


def test_declared_commune_without_dossier_needs_one(tmp_path):
    district = yaml.safe_load(Path(DISTRICT).read_text(encoding="utf-8"))
    for c in district["communes"]:
        if "dossier" in c:  # beside the district file: a dossier may only name files in its own folder
            (tmp_path / c["dossier"]).write_bytes((EX / c["dossier"]).read_bytes())
    district["communes"].append({"code": "99007", "name": "Xã Mới (ví dụ)", "status": "none"})
    path = tmp_path / "huyen.yaml"
    path.write_text(yaml.safe_dump(district, allow_unicode=True), encoding="utf-8")
    inp = gather(str(path), overlay=OVERLAY)
    gp, _ = plan_group(str(path), "standard", costs=_costs(inp), overlay=OVERLAY, budget=Fraction(10**6))
    line = next(c for c in gp.communes if c.code == "99007")
    assert line.status == "needs_dossier" and line.plan is None
    assert gp.budget.not_buyable == {"99002": "conditional", "99007": "needs_dossier"}
    # 6 communes, 100% must be standard: two are short, only one has evidence to plan → the district cannot get there
    assert gp.needed == 6 and gp.must_lift == ["99002"]
    assert gp.district.status == "unreachable" and not gp.district.verification.reaches_target
    assert [b.fact for b in gp.district.blockers] == ["communes_standard_pct"]
    assert "computed from the communes" in gp.district.blockers[0].message.en
