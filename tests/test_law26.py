"""The 2026–2030 law: vn-2026-2030 (51/2025), commune groups, the modern tier, date selection, merged communes
and `ntm merge` — through the library and through real processes."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ntm.criteria.dossier import Observation, dossier_from_source
from ntm.criteria.loader import load_ruleset, load_ruleset_file, ruleset_for_date
from ntm.criteria.model import GroupPrecedence
from ntm.criteria.yamlsrc import Source
from ntm.engine import groups as G
from ntm.engine import law26
from ntm.engine.evaluate import Inputs, evaluate, evaluate_file, gather, to_json
from ntm.errors import NtmInputError

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "examples"
MERGED = EX / "merged"
PARTS = [str(MERGED / f"xa-cu-{x}.yaml") for x in "abc"]
OV26 = str(EX / "overlays" / "tinh-minh-hoa-2026.yaml")
RS26 = load_ruleset("vn-2026-2030")

PLAIN = {"adjacent_existing_urban": False, "oriented_to_urbanise": False, "agriculture_share_pct": 40,
         "oriented_new_urban_area": False, "ethnic_mountain_area": 0}


def ntm(*args, check=None, cwd=ROOT):
    proc = subprocess.run([sys.executable, "-m", "ntm.cli", *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd)
    assert "Traceback" not in proc.stderr, proc.stderr
    if check is not None:
        assert proc.returncode == check, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    return proc


def write(tmp_path, name, data) -> str:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return str(p)


def commune(facts=None, date="2026-06-30", region=None, **extra):
    unit = {"level": "commune", "code": "T01", "name": "Xã Thử"}
    if region:
        unit["region"] = region
    return {"unit": unit, "assessment": {"date": dt.date.fromisoformat(date)}, "facts": dict(facts or {}), **extra}


# ---- the ruleset ---------------------------------------------------------------------------------------------

def test_ruleset_holds_what_is_known_of_51_2025():
    rs = RS26.ruleset
    doc = next(d for d in rs.documents if d.id == "51/2025/QĐ-TTg")
    assert (doc.number, str(doc.date), str(rs.effective.start)) == ("51/2025/QĐ-TTg", "2025-12-29", "2026-02-15")
    std = rs.level("commune").tiers[0]
    assert [c.number for c in std.criteria] == [str(i) for i in range(1, 11)]
    assert std.criteria[6].name.vi == "Khoa học công nghệ và chuyển đổi số"
    assert std.criteria[9].name.en == "Access to law, security and defence"
    assert [r.id for r in rs.regions] == ["G1", "G2", "G3"] and rs.region_kind == "commune_group"
    assert {t.id for t in rs.level("commune").tiers} == {"standard", "modern"}
    assert rs.level("district") is None  # no districts after 2025-07-01


def test_no_threshold_is_guessed():
    """The reference knows no group threshold: every threshold of the shipped set is null (status missing)."""
    from ntm.criteria.model import _walk_thresholds, iter_indicators

    cells = [th for *_, ind in iter_indicators(RS26.ruleset) for c in ind.conditions
             for _, th in _walk_thresholds(c.threshold, ()) if th.by_region is None]
    assert cells and all(th.value is None and th.status == "missing" and th.note for th in cells)


def test_check_and_provenance_cli():
    ntm("rulesets", "check", "vn-2026-2030", "--strict", check=0)
    out = ntm("rulesets", "provenance", "vn-2026-2030", check=0).stdout
    assert "criterion_1_met" in out and "2b" in out


def test_outcome_says_how_much_of_annex_i_is_transcribed(tmp_path):
    o = evaluate_file(write(tmp_path, "d.yaml", commune(PLAIN)))
    (a1, a2) = o.transcription
    assert (a1.transcribed, a1.indicators_in_law, a1.complete) == (0, 47, False)
    assert "0 of 47 indicators' thresholds transcribed for G2" in a1.text.en
    assert "ntm rulesets export vn-2026-2030 --format xlsx" in a1.text.en
    assert "0/47" in a1.text.vi and not a2.complete
    term = ntm("evaluate", write(tmp_path, "e.yaml", commune(PLAIN)), check=0).stdout
    assert "CHƯA ĐẦY ĐỦ" in term and "0/47" in term


def test_transcription_count_is_computed_not_written(tmp_path):
    """Give two placeholder indicators a value in a copy of the ruleset: the outcome counts 2 of 47."""
    data = yaml.safe_load(open(RS26.path, encoding="utf-8"))
    crit = data["levels"][0]["tiers"][0]["criteria"]
    for c in crit[:2]:
        c["indicators"][0]["conditions"][0]["threshold"] = {"value": True, "status": "provisional",
                                                            "note": "test value"}
    rs_path = write(tmp_path, "rs.yaml", data)
    o = evaluate_file(write(tmp_path, "d.yaml", commune(PLAIN)), ruleset=rs_path)
    assert o.transcription[0].transcribed == 2 and "2 of 47" in o.transcription[0].text.en


def test_standard_is_indeterminate_and_never_met_by_placeholders(tmp_path):
    facts = dict(PLAIN, **{f"criterion_{i}_met": True for i in range(1, 11)})
    o = evaluate_file(write(tmp_path, "d.yaml", commune(facts)))
    assert [(t.id, t.status) for t in o.tiers] == [("standard", "indeterminate"), ("modern", "indeterminate")]
    assert o.summary.tiers_met == []


# ---- date selection -------------------------------------------------------------------------------------------

def test_date_selection_switches_on_2026_02_15(tmp_path):
    assert ruleset_for_date(__import__("datetime").date(2026, 2, 15)).ruleset.id == "vn-2026-2030"
    assert ruleset_for_date(__import__("datetime").date(2026, 2, 14)).ruleset.id == "vn-2021-2025"
    new = write(tmp_path, "new.yaml", commune(PLAIN, date="2026-02-15"))
    assert evaluate_file(new).ruleset.id == "vn-2026-2030"
    old = json.loads(ntm("evaluate", str(EX / "xa-dat-chuan.yaml"), "-f", "json", check=0).stdout)
    assert old["ruleset"]["id"] == "vn-2021-2025" and old["commune_group"] is None


def test_as_of_reproduces_an_older_decision(tmp_path):
    d = yaml.safe_load(open(EX / "xa-dat-chuan.yaml", encoding="utf-8"))
    d["assessment"] = {"date": dt.date(2026, 3, 1)}
    p = write(tmp_path, "d.yaml", d)
    # by default a 2026 assessment is judged by the 2026 set, which has no socio-economic regions...
    with pytest.raises(NtmInputError, match="unknown region 'ĐNB'"):
        evaluate_file(p)
    # ...while --as-of picks the 2021–2025 set for an audit of the earlier rules
    o = json.loads(ntm("evaluate", p, "--as-of", "2025-12-31", "-f", "json", check=0).stdout)
    assert (o["ruleset"]["id"], o["unit"]["region"], o["commune_group"]) == ("vn-2021-2025", "ĐNB", None)
    assert o["transcription"] == [] and o["ruleset"]["as_of"] == "2025-12-31"


def test_record_of_a_2026_decision_verifies(tmp_path):
    d = write(tmp_path, "d.yaml", commune(dict(PLAIN, ethnic_mountain_area=3)))
    rec = str(tmp_path / "r.json")
    ntm("evaluate", d, "--record", rec, "-f", "json", check=0)
    out = ntm("verify", rec)
    assert out.returncode == 0 and "REPRODUCED" in out.stdout, out.stdout + out.stderr
    assert json.load(open(rec, encoding="utf-8"))["outcome"]["commune_group"]["group"] == "G3"


# ---- commune groups -------------------------------------------------------------------------------------------

def _obs(facts: dict) -> dict:
    return {k: Observation(v if isinstance(v, bool) else Fraction(str(v)), "value", None) for k, v in facts.items()}


group_facts = st.fixed_dictionaries({}, optional={
    "adjacent_existing_urban": st.booleans(), "oriented_to_urbanise": st.booleans(),
    "oriented_new_urban_area": st.booleans(),
    "agriculture_share_pct": st.sampled_from([0, 9.999999, 10, 10.000001, 50, 100]),
    "ethnic_mountain_area": st.integers(0, 3)})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(group_facts, st.sampled_from([("G3", "G1"), ("G1", "G3")]))
def test_group_engine_agrees_with_oracle(facts, order):
    cg = RS26.ruleset.commune_groups
    comp = G.compile_groups(cg, order)
    from ntm.engine import sideline

    engine = sideline.run(comp, sideline.evidence(list(comp.facts_used), _obs(facts))).verdict
    assert engine == G.reference(cg, order, _obs(facts))
    # and the law, stated independently of both
    g1 = ((facts.get("adjacent_existing_urban") and facts.get("oriented_to_urbanise"))
          or (facts.get("agriculture_share_pct") is not None and facts["agriculture_share_pct"] < 10)
          or facts.get("oriented_new_urban_area"))
    g3 = facts.get("ethnic_mountain_area", 0) >= 2
    complete = len(facts) == 5
    if complete:
        want = ("G3" if order[0] == "G3" else "G1") if g1 and g3 else "G1" if g1 else "G3" if g3 else "G2"
        assert engine[("group",)] == want


def test_precedence_is_data_and_a_province_can_reverse_it(tmp_path):
    facts = dict(PLAIN, ethnic_mountain_area=2, oriented_new_urban_area=True)
    d = write(tmp_path, "d.yaml", commune(facts))
    o = evaluate_file(d)
    assert (o.commune_group.group, o.commune_group.by_precedence, o.commune_group.precedence_source) == (
        "G3", True, "national")
    assert o.commune_group.precedence_status == "provisional" and "G3 > G1" in o.commune_group.reason.en
    ov = yaml.safe_load(open(OV26, encoding="utf-8"))
    ov["commune_groups"]["precedence"]["order"] = ["G1", "G3"]
    ovp = write(tmp_path, "ov.yaml", ov)
    o2 = evaluate_file(d, overlay=ovp)
    assert o2.commune_group.group == "G1" and o2.commune_group.decided_by == "g1_new_urban_area"
    assert o2.commune_group.precedence_source == "overlay tinh-minh-hoa-2026"
    assert all(t.region == "G1" for t in o2.tiers)


def test_bad_precedence_override_is_refused(tmp_path):
    ov = yaml.safe_load(open(OV26, encoding="utf-8"))
    ov["commune_groups"]["precedence"]["order"] = ["G1"]
    p = ntm("evaluate", write(tmp_path, "d.yaml", commune(PLAIN)), "--overlay", write(tmp_path, "ov.yaml", ov),
            check=2)
    assert "must rank exactly the groups G1, G3" in p.stderr


def test_stated_group_contradicted_by_facts_exits_2_with_line(tmp_path):
    d = write(tmp_path, "d.yaml", commune(dict(PLAIN, ethnic_mountain_area=3), region="G1"))
    p = ntm("evaluate", d, check=2)
    assert "d.yaml:" in p.stderr and "unit.region states G1, but the facts place the commune in G3" in p.stderr
    assert "g3_ethnic_mountain_area_ii_iii" in p.stderr


def test_group_rule_data_is_checked(tmp_path):
    data = yaml.safe_load(open(RS26.path, encoding="utf-8"))
    data["commune_groups"]["rules"][0]["conditions"][0]["fact"] = "no_such_fact"
    data["commune_groups"]["precedence"]["order"] = ["G3"]
    with pytest.raises(NtmInputError) as e:
        load_ruleset_file(write(tmp_path, "rs.yaml", data))
    text = e.value.render()
    assert "unknown fact 'no_such_fact'" in text and "group 'G1' is missing from the order" in text


# ---- the modern NTM commune --------------------------------------------------------------------------------------

def test_modern_tier_waits_for_the_province_then_uses_its_criteria(tmp_path):
    facts = dict(PLAIN, modern_provincial_criteria_met=True)
    o = evaluate_file(write(tmp_path, "d.yaml", commune(facts)))
    modern = o.tier("modern")
    assert modern.status == "indeterminate" and modern.missing_thresholds[0].set_by == "province"
    facts.pop("modern_provincial_criteria_met")
    facts.update(modern_online_public_services_pct=90, modern_smart_villages=0)
    o2 = evaluate_file(write(tmp_path, "e.yaml", commune(facts)), overlay=OV26)
    m2 = o2.tier("modern")
    codes = [i.code for c in m2.criteria for i in c.indicators]
    assert codes == ["1.1", "1.2"]  # the placeholder is replaced
    assert m2.status == "not_met" and m2.criteria[0].indicators[1].status == "fail"
    assert o2.overlay.illustrative and o2.transcription[1].complete


# ---- merged communes ----------------------------------------------------------------------------------------------

def merged_doc(parts, facts=None):
    return commune(dict(PLAIN, **(facts or {})), merged_from=parts)


DEC = {"number": "1/QĐ-UBND", "date": dt.date(2024, 1, 2)}


def test_merged_commune_keeps_the_lowest_recognised_level(tmp_path):
    parts = [{"code": "A", "name": "Xã A", "status": "model", "decision": DEC},
             {"code": "B", "name": "Xã B", "status": "standard", "decision": DEC},
             {"code": "C", "name": "Xã C", "status": "advanced", "decision": DEC}]
    m = evaluate_file(write(tmp_path, "m.yaml", merged_doc(parts))).merged
    assert (m.status, m.decided, m.provenance) == ("standard", True, "provisional")
    assert m.parts_missing_recognition == [] and "provisional" in m.text.en


def test_missing_recognition_is_flagged_and_leaves_the_status_open(tmp_path):
    parts = [{"code": "A", "name": "Xã A", "status": "model", "decision": DEC},
             {"code": "B", "name": "Xã B", "status": "advanced"},  # no decision
             {"code": "C", "name": "Xã C"}]
    m = evaluate_file(write(tmp_path, "m.yaml", merged_doc(parts))).merged
    assert m.status is None and not m.decided and m.parts_missing_recognition == ["B", "C"]
    assert (m.lowest_possible, m.highest_possible) == ("none", "model")  # B's unproven claim bounds nothing
    assert "without its recognition decision" in m.parts[1].note
    term = ntm("evaluate", write(tmp_path, "n.yaml", merged_doc(parts)), "--lang", "en", check=0).stdout
    assert "MISSING RECOGNITION" in term and "recognition missing for: B, C" in term


def test_a_part_not_recognised_decides_none_even_with_others_missing(tmp_path):
    parts = [{"code": "A", "name": "Xã A", "status": "none"}, {"code": "B", "name": "Xã B"}]
    m = evaluate_file(write(tmp_path, "m.yaml", merged_doc(parts))).merged
    assert (m.status, m.decided, m.parts_missing_recognition) == ("none", True, ["B"])


def test_a_part_given_by_its_own_pre_merger_dossier(tmp_path):
    import shutil

    shutil.copy(EX / "xa-thieu-hai-tieu-chi.yaml", tmp_path / "cu.yaml")  # fails the 2021–2025 standard tier
    parts = [{"code": "A", "name": "Xã A", "status": "model", "decision": DEC},
             {"code": "99002", "name": "Xã cũ", "dossier": "cu.yaml"}]
    m = evaluate_file(write(tmp_path, "m.yaml", merged_doc(parts))).merged
    assert m.status == "none" and m.parts[1].source == "dossier" and "vn-2021-2025" in m.parts[1].note
    parts[1]["code"] = "OTHER"
    with pytest.raises(NtmInputError, match="not part OTHER"):
        evaluate_file(write(tmp_path, "n.yaml", merged_doc(parts)))


@settings(max_examples=120, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)).map(lambda t: (min(t), max(t))),
                min_size=2, max_size=12))
def test_merged_status_engine_agrees_with_oracle(bounds):
    v, _ = law26.merged_verdict(bounds, 3)
    assert v == law26.merged_reference(bounds, 3)


def test_bad_merged_parts_are_clear_errors(tmp_path):
    for parts, msg in [([{"code": "A", "name": "A", "status": "gold", "decision": DEC},
                         {"code": "B", "name": "B", "status": "none"}], "unknown level 'gold'"),
                       ([{"code": "A", "name": "A", "status": "none"}], "at least two communes"),
                       ([{"code": "A", "name": "A", "status": "none"}, {"code": "A", "name": "A2", "status": "none"}],
                        "part A is listed twice")]:
        p = ntm("evaluate", write(tmp_path, "m.yaml", merged_doc(parts)), check=2)
        assert msg in p.stderr and "m.yaml:" in p.stderr


# ---- ntm merge -------------------------------------------------------------------------------------------------------

RECOGNISED = ["--recognised", "A01=model:1234/QĐ-UBND:2024-12-20", "--recognised",
              "B02=standard:567/QĐ-UBND:2022-11-30", "--recognised", "C03=advanced:890/QĐ-UBND:2023-12-15"]


def test_merge_example_is_hand_checked(tmp_path):
    out = tmp_path / "merged.yaml"
    p = ntm("merge", *PARTS, "-o", str(out), "--code", "M001", "--name", "Xã Phú Bình (mới)", *RECOGNISED, check=0)
    assert "6 fact(s) combined" in p.stderr
    doc = yaml.safe_load(out.read_text(encoding="utf-8"))
    f = doc["facts"]
    # sums: 4200+3100+5300; 1530.5+980.25+2210; 12.4+8.6+15.0; 9.1+5.2+9.0
    assert f["population"]["value"] == 12600 and f["natural_area_ha"]["value"] == 4720.75
    assert f["commune_road_km"]["value"] == 36 and f["commune_road_tree_lined_km"]["value"] == 23.3
    # weighted by population: (62.5·4200 + 58·3100 + 66·5300) / 12600 = 792100/12600 = 62.865079…
    assert f["income_per_capita"]["value"] == 62.865079
    # (94·4200 + 91.5·3100 + 96.2·5300) / 12600 = 1188310/12600 = 94.310317…
    assert f["health_insurance_pct"]["value"] == 94.310317
    assert "rounded to 6 decimals" in f["income_per_capita"]["note"]
    # the tree-lined share is not written: it is recombined from the summed km at evaluation (23.3/36)
    assert "commune_road_tree_lined_pct" not in f
    needs = {n["fact"]: n["reason"] for n in doc["needs_own_evidence"]}
    assert set(needs) == {"adjacent_existing_urban", "agriculture_share_pct", "households",
                          "multidim_poverty_rate_pct", "centre_architecture_rule", "transport_meets_plan_maintained"}
    assert "C03 give no households" in needs["multidim_poverty_rate_pct"]
    # evidence references of the parts are kept
    inc = f["income_per_capita"]["from_parts"]
    assert inc[0]["evidence"]["document"] == "Báo cáo điều tra thu nhập 2025" and inc[0]["base"] == 4200
    assert [m["status"] for m in doc["merged_from"]] == ["model", "standard", "advanced"]
    # the shipped example is exactly what the command writes (the notes name the parts' paths from the output)
    assert [m["note"] for m in doc["merged_from"]][0].endswith("xa-cu-a.yaml")
    shipped = yaml.safe_load((MERGED / "xa-moi.yaml").read_text(encoding="utf-8"))
    for x in (shipped, doc):
        for m in x["merged_from"]:
            m.pop("note")
    assert shipped == doc


def test_merged_example_evaluates_with_group_and_status():
    o = json.loads(ntm("evaluate", str(MERGED / "xa-moi-bo-sung.yaml"), "-f", "json", check=0).stdout)
    assert o["merged"]["status"] == "standard" and o["commune_group"]["decided_by"] == "default"
    obs = {c["fact"]: c for t in o["tiers"] for cr in t["criteria"] for i in cr["indicators"] for c in i["conditions"]}
    assert obs["commune_road_tree_lined_pct"]["observed"] == float(Fraction(233, 360) * 100).__round__(6)
    assert obs["commune_road_tree_lined_pct"]["given_as"] == "ratio"


def test_merge_library_weighting_edge_cases(tmp_path):
    from ntm.criteria.merging import merge_dossiers

    a = write(tmp_path, "a.yaml", {"unit": {"level": "commune", "code": "A", "name": "A"},
                                   "assessment": {"date": dt.date(2026, 6, 30)},
                                   "facts": {"population": 0, "income_per_capita": 50, "commune_road_tree_lined_pct": 40}})
    b = write(tmp_path, "b.yaml", {"unit": {"level": "commune", "code": "B", "name": "B"},
                                   "assessment": {"date": dt.date(2026, 6, 30)},
                                   "facts": {"population": 0, "income_per_capita": 60,
                                             "commune_road_km": 10, "commune_road_tree_lined_km": 5}})
    res = merge_dossiers([a, b], code="M", name="M", out_path=str(tmp_path / "m.yaml"))
    needs = dict(res.needs_evidence)
    assert "adds up to 0" in needs["income_per_capita"]
    assert "give the share without" in needs["commune_road_tree_lined_pct"]
    assert "A give no value" in needs["commune_road_km"]


@pytest.mark.parametrize("case", ["one", "dup", "unknown_fact", "district", "dates", "exists", "recognised"])
def test_merge_bad_parts_exit_2_and_write_nothing(tmp_path, case):
    out = tmp_path / "m.yaml"
    parts = list(PARTS)
    extra = []
    if case == "one":
        parts = parts[:1]
    elif case == "dup":
        parts = [parts[0], parts[0]]
    elif case == "unknown_fact":
        d = yaml.safe_load(open(parts[1], encoding="utf-8"))
        d["facts"]["incme_per_capita"] = 3
        parts[1] = write(tmp_path, "b.yaml", d)
    elif case == "district":
        d = yaml.safe_load(open(parts[1], encoding="utf-8"))
        d["unit"]["level"] = "district"
        parts[1] = write(tmp_path, "b.yaml", d)
    elif case == "dates":
        d = yaml.safe_load(open(parts[1], encoding="utf-8"))
        d["assessment"]["date"] = dt.date(2026, 7, 31)
        parts[1] = write(tmp_path, "b.yaml", d)
    elif case == "exists":
        out.write_text("keep me", encoding="utf-8")
    elif case == "recognised":
        extra = ["--recognised", "A01=model:2024-12-20"]
    p = ntm("merge", *parts, "-o", str(out), "--code", "M", "--name", "M", *extra, check=2)
    assert p.stderr.startswith("error:")
    want = {"one": "at least two", "dup": "given twice", "unknown_fact": "did you mean 'income_per_capita'",
            "district": "must be a commune", "dates": "different dates", "exists": "not overwriting",
            "recognised": "is not a recognition"}[case]
    assert want in p.stderr
    if case == "exists":
        assert out.read_text(encoding="utf-8") == "keep me"
    else:
        assert not out.exists()


def test_facts_shared_between_shipped_rulesets_keep_one_label_and_unit():
    """Batch tables name facts by their Vietnamese label across every shipped ruleset: a shared id must agree."""
    from ntm.criteria.loader import all_shipped

    seen: dict = {}
    for lr in all_shipped():
        for f in lr.ruleset.facts:
            key = (f.label.vi, f.unit, f.type)
            assert seen.setdefault(f.id, key) == key, (lr.ruleset.id, f.id)


def test_merged_commune_assessed_in_late_2025_uses_the_2021_2025_set(tmp_path):
    d = yaml.safe_load(open(EX / "xa-dat-chuan.yaml", encoding="utf-8"))
    d["assessment"] = {"date": dt.date(2025, 10, 1)}
    d["merged_from"] = [{"code": "A", "name": "Xã A", "status": "advanced", "decision": DEC},
                        {"code": "B", "name": "Xã B", "status": "standard", "decision": DEC}]
    o = evaluate_file(write(tmp_path, "m.yaml", d))
    assert (o.ruleset.id, o.merged.status) == ("vn-2021-2025", "standard")
    d["assessment"] = {"date": dt.date(2025, 6, 30)}
    p = ntm("evaluate", write(tmp_path, "n.yaml", d), check=2)
    assert "before the merger took effect (2025-07-01)" in p.stderr


def test_the_2026_case_overlay_is_the_example_overlay():
    fixture = ROOT / "ntm" / "rulesets" / "vn-2026-2030" / "tests" / "overlays" / "tinh-minh-hoa-2026.yaml"
    assert yaml.safe_load(fixture.read_text(encoding="utf-8")) == yaml.safe_load(open(OV26, encoding="utf-8"))


def test_library_merge_is_what_the_cli_writes(tmp_path):
    import ntm as lib

    res = lib.merge(PARTS, code="M001", name="Xã Phú Bình (mới)", recognised=RECOGNISED[1::2], relative_to=MERGED)
    assert res.dossier == yaml.safe_load((MERGED / "xa-moi.yaml").read_text(encoding="utf-8"))


def test_record_of_a_merged_commune_embeds_the_part_dossier_and_verifies(tmp_path):
    import shutil

    shutil.copy(EX / "xa-thieu-hai-tieu-chi.yaml", tmp_path / "cu.yaml")
    parts = [{"code": "A", "name": "Xã A", "status": "model", "decision": DEC},
             {"code": "99002", "name": "Xã cũ", "dossier": "cu.yaml"}]
    d = write(tmp_path, "m.yaml", merged_doc(parts))
    rec = tmp_path / "r.json"
    ntm("evaluate", d, "--record", str(rec), "-f", "json", check=0)
    (tmp_path / "cu.yaml").unlink()  # the record alone reproduces the decision
    out = ntm("verify", str(rec))
    assert out.returncode == 0 and "REPRODUCED" in out.stdout, out.stdout + out.stderr
    assert json.loads(rec.read_text(encoding="utf-8"))["outcome"]["merged"]["status"] == "none"


def test_batch_of_2026_communes_places_each_group_without_a_region_column(tmp_path):
    csv = tmp_path / "b.csv"
    csv.write_text("mã xã,tên xã,ngày đánh giá,adjacent_existing_urban,oriented_to_urbanise,agriculture_share_pct,"
                   "oriented_new_urban_area,ethnic_mountain_area\n"
                   "X1,Xã Một,2026-06-30,không,không,40,không,3\nX2,Xã Hai,2026-06-30,có,có,40,không,0\n"
                   "X3,Xã Ba,2026-06-30,không,không,40,không,0\n", encoding="utf-8")
    doc = json.loads(ntm("batch", str(csv), "--no-isolation", "-f", "json", check=0).stdout)
    assert [(u["code"], u["region"]) for u in doc["units"]] == [("X1", "G3"), ("X2", "G1"), ("X3", "G2")]
