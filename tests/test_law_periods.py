"""The law's dates and the tiers' own conditions (#15, "Law"): rules applied outside their period, districts
after their abolition, the NTM district tier of 320 App. I, the special rule for the advanced tier, province
completion (321), and the messages that name units and documents. Every decision goes through the engine; the
reference evaluator must agree."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ntm.criteria.dossier import observations
from ntm.engine import oracle
from ntm.engine.evaluate import evaluate, evaluate_file, gather, resolved_for
from ntm.engine.run import run_engine
from ntm.errors import NtmInputError

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "examples"
OVERLAY = str(EX / "overlays" / "tinh-minh-hoa.yaml")
COMMUNES = ("xa-dat-chuan.yaml", "xa-thieu-hai-tieu-chi.yaml", "xa-kieu-mau.yaml")


def ntm(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "ntm", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "COLUMNS": "200"})


def moved(tmp_path, name: str, date: str) -> str:
    text = (EX / name).read_text(encoding="utf-8")
    text = re.sub(r"(?m)^  date: \d{4}-\d{2}-\d{2}", f"  date: {date}", text, count=1)
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return str(p)


def cond(o, tier, code, k=0):
    t = o.tier(tier) if tier != "recognition" else o.recognition
    return next(i for c in t.criteria for i in c.indicators if i.code == code).conditions[k]


# ---------------------------------------------------------------- rules outside their period

def test_ruleset_outside_its_period_says_so_in_json_and_the_outcome(tmp_path):
    p = moved(tmp_path, "xa-dat-chuan.yaml", "2026-06-01")
    o = evaluate_file(p, ruleset="vn-2021-2025")
    assert o.ruleset.in_force is False and o.ruleset.effective_to == dt.date(2026, 2, 14)
    assert [w.code for w in o.warnings] == ["ruleset_not_in_force"]
    assert "2026-06-01" in o.warnings[0].text.en and "2026-02-14" in o.warnings[0].text.vi
    inside = evaluate_file(str(EX / "xa-dat-chuan.yaml"))
    assert inside.warnings == [] and inside.ruleset.in_force is True


@pytest.mark.parametrize("fmt,needle", [("table", "Cảnh báo"), ("json", "ruleset_not_in_force"),
                                        ("markdown", "⚠ **Cảnh báo")])
def test_every_output_carries_the_warning(tmp_path, fmt, needle):
    p = moved(tmp_path, "xa-dat-chuan.yaml", "2026-06-01")
    r = ntm("evaluate", p, "--ruleset", "vn-2021-2025", "-f", fmt)
    assert r.returncode == 0, r.stderr
    assert needle in r.stdout and "2026-02-14" in r.stdout


def test_html_report_and_record_carry_the_warning(tmp_path):
    p = moved(tmp_path, "xa-dat-chuan.yaml", "2026-06-01")
    html = tmp_path / "r.html"
    r = ntm("report", p, "--ruleset", "vn-2021-2025", "-o", str(html))
    assert r.returncode == 0, r.stderr
    page = html.read_text(encoding="utf-8")
    assert 'id="ruleset-not-in-force"' in page and "2026-02-14" in page
    rec = tmp_path / "rec.json"
    r = ntm("evaluate", p, "--ruleset", "vn-2021-2025", "--record", str(rec), "-f", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(rec.read_text(encoding="utf-8"))
    assert data["outcome"]["warnings"][0]["code"] == "ruleset_not_in_force"
    assert data["outcome"]["ruleset"]["in_force"] is False
    v = ntm("verify", str(rec))
    assert v.returncode == 0, v.stdout + v.stderr


def test_require_does_not_succeed_on_rules_not_in_force(tmp_path):
    inside = ntm("evaluate", str(EX / "xa-dat-chuan.yaml"), "--overlay", OVERLAY, "--require", "standard")
    assert inside.returncode == 0, inside.stderr
    p = moved(tmp_path, "xa-dat-chuan.yaml", "2026-06-01")
    # the same evidence meets the tier, but under rules no longer in force: no silent success
    r = ntm("evaluate", p, "--ruleset", "vn-2021-2025", "--overlay", OVERLAY, "--require", "standard", "-f", "json")
    assert r.returncode == 2
    assert "not in force on 2026-06-01" in r.stderr and "--require" in r.stderr
    assert json.loads(r.stdout)["warnings"][0]["code"] == "ruleset_not_in_force"  # the output is still written
    # --as-of outside the period of the named ruleset: the same
    r = ntm("evaluate", str(EX / "xa-dat-chuan.yaml"), "--ruleset", "vn-2021-2025", "--as-of", "2021-12-31",
            "--require", "standard")
    assert r.returncode == 2 and "not in force on 2021-12-31" in r.stderr


# ---------------------------------------------------------------- districts after 2025-07-01

def district_copy(tmp_path, date: str | None = None) -> str:
    for name in COMMUNES:
        (tmp_path / name).write_text((EX / name).read_text(encoding="utf-8"), encoding="utf-8")
    text = (EX / "huyen-vi-du.yaml").read_text(encoding="utf-8")
    if date:
        text = text.replace("  date: 2024-11-05", f"  date: {date}")
    p = tmp_path / "huyen.yaml"
    p.write_text(text, encoding="utf-8")
    return str(p)


@pytest.mark.parametrize("date", ["2025-07-01", "2025-12-01", "2026-06-01"])
def test_district_after_abolition_is_a_clear_error(tmp_path, date):
    p = district_copy(tmp_path, date)
    r = ntm("evaluate", p, "--overlay", OVERLAY)
    assert r.returncode == 2, r.stdout
    assert "2025-07-01" in r.stderr and "two-tier local government" in r.stderr
    assert "--audit-past" in r.stderr and "Traceback" not in r.stderr


def test_the_district_end_date_is_data_in_the_ruleset():
    from ntm.criteria.loader import load_ruleset

    ls = load_ruleset("vn-2021-2025").ruleset.level("district")
    assert ls.effective.end == dt.date(2025, 6, 30)
    assert "2025-07-01" in ls.end_note.en
    assert load_ruleset("vn-2021-2025").ruleset.level("commune").effective is None


def test_district_as_of_after_abolition_is_refused_and_audit_past_allows_it(tmp_path):
    with pytest.raises(NtmInputError) as ei:
        evaluate_file(str(EX / "huyen-vi-du.yaml"), overlay=OVERLAY, as_of=dt.date(2025, 9, 1))
    assert "--audit-past" in ei.value.render() and ei.value.problems[0].field == "--as-of"
    o = evaluate_file(str(EX / "huyen-vi-du.yaml"), overlay=OVERLAY, as_of=dt.date(2025, 9, 1), audit_past=True)
    assert [w.code for w in o.warnings] == ["level_not_in_force"]
    assert "--audit-past" in o.warnings[0].text.en and "2025-07-01" in o.warnings[0].text.en
    # before the end date nothing changes
    assert evaluate_file(str(EX / "huyen-vi-du.yaml"), overlay=OVERLAY).warnings == []


def test_audit_past_after_both_periods_uses_the_last_district_rules_and_says_so(tmp_path):
    p = district_copy(tmp_path, "2026-06-01")
    r = ntm("evaluate", p, "--overlay", OVERLAY, "--audit-past", "-f", "json")
    assert r.returncode == 0, r.stderr
    o = json.loads(r.stdout)
    assert o["ruleset"]["id"] == "vn-2021-2025"
    assert {w["code"] for w in o["warnings"]} == {"ruleset_not_in_force", "level_not_in_force"}
    r = ntm("evaluate", p, "--overlay", OVERLAY, "--audit-past", "--require", "standard")
    assert r.returncode == 2


def test_audit_past_record_reproduces(tmp_path):
    p = district_copy(tmp_path, "2025-08-01")
    rec = tmp_path / "rec.json"
    r = ntm("evaluate", p, "--overlay", OVERLAY, "--audit-past", "--record", str(rec))
    assert r.returncode == 0, r.stderr
    data = json.loads(rec.read_text(encoding="utf-8"))
    assert data["inputs"]["audit_past"] is True
    v = ntm("verify", str(rec))
    assert v.returncode == 0, v.stdout + v.stderr


# ---------------------------------------------------------------- the NTM district tier (320 App. I)

def district(tmp_path, communes: str, facts: str = "", extra: str = "", date: str = "2024-11-05") -> str:
    p = tmp_path / "h.yaml"
    body = textwrap.dedent(f"""\
        unit: {{level: district, code: "1", name: H, region: ĐNB}}
        assessment: {{date: {date}}}
        communes:
        """) + communes + extra + "facts:\n" + (facts or "  district_satisfaction_pct: 95\n") + "".join(
        f"  {k}: true\n" for k in ("dist_c1_met", "dist_c3_met", "dist_c4_met", "dist_c5_met", "dist_c6_met",
                                   "dist_c7_met", "dist_c8_met", "dist_c9_met", "bus_station_planned",
                                   "bus_station_class_iv")) + "".join(
        f"  {k}: 100\n" for k in ("communes_with_car_road_to_district_pct", "district_road_hardened_pct",
                                  "district_road_maintained_pct", "district_road_planned_grade_pct"))
    p.write_text(body, encoding="utf-8")
    return str(p)


def declared(n: int, status="standard", sat=85, start=0, date="2023-05-01") -> str:
    return "".join(f"  - {{code: 'c{i}', name: Xã {i}, status: {status}, satisfaction_pct: {sat}, "
                   f"decision: {{number: {i}/QĐ-UBND, date: {date}}}}}\n" for i in range(start, start + n))


NO_TOWNSHIPS = "townships: []\n"


def test_nineteen_of_twenty_communes_do_not_make_an_ntm_district(tmp_path):
    communes = declared(17) + declared(2, "advanced", start=17) + "  - {code: c19, name: Xã Chậm, status: none, satisfaction_pct: 85}\n"
    o = evaluate_file(district(tmp_path, communes, extra=NO_TOWNSHIPS), overlay=OVERLAY)
    std = o.tier("standard")
    assert std.status == "not_met" and "0" in std.unmet_criteria
    share = cond(o, "standard", "0.1")
    assert share.observed == 95 and share.threshold == 100 and share.status == "fail"
    assert share.provenance.status == "verified" and "320/QĐ-TTg" in share.citation.text
    assert o.summary.communes_holding_back == ["c19"]
    back = next(c for c in o.communes if c.code == "c19")
    assert back.holding_back and "not recognised" in back.holding_back_reasons[0].en
    # all twenty NTM, two advanced (10%), satisfaction fine: the tier is met
    ok = declared(18) + declared(2, "advanced", start=18)
    o = evaluate_file(district(tmp_path, ok, extra=NO_TOWNSHIPS), overlay=OVERLAY)
    assert o.tier("standard").status == "met" and o.summary.communes_holding_back == []


def test_ten_percent_advanced_is_a_condition_of_the_district_tier(tmp_path):
    o = evaluate_file(district(tmp_path, declared(19) + declared(1, "advanced", start=19), extra=NO_TOWNSHIPS), overlay=OVERLAY)
    c = cond(o, "standard", "0.2")
    assert (c.observed, c.threshold, c.status) == (5, 10, "fail") and o.tier("standard").status == "not_met"


def test_every_township_must_be_a_civilised_urban_area(tmp_path):
    towns = ("townships:\n  - {code: t1, name: Thị trấn A, civilised: true}\n"
             "  - {code: t2, name: Thị trấn B, civilised: false}\n")
    o = evaluate_file(district(tmp_path, declared(9) + declared(1, "advanced", start=9), extra=towns), overlay=OVERLAY)
    c = cond(o, "standard", "0.3")
    assert (c.observed, c.status) == (50, "fail") and o.tier("standard").status == "not_met"
    assert [t.code for t in o.townships if t.holding_back] == ["t2"]
    none = evaluate_file(district(tmp_path, declared(9) + declared(1, "advanced", start=9), extra=NO_TOWNSHIPS), overlay=OVERLAY)
    ind = next(i for cr in none.tier("standard").criteria for i in cr.indicators if i.code == "0.3")
    assert ind.status == "not_applicable" and none.tier("standard").status == "met"
    # townships neither listed nor declared: honestly undecided
    unknown = evaluate_file(district(tmp_path, declared(9) + declared(1, "advanced", start=9)), overlay=OVERLAY)
    assert unknown.tier("standard").status == "indeterminate"
    assert "district_has_townships" in unknown.tier("standard").missing_evidence


def test_satisfaction_ninety_in_the_district_and_eighty_in_every_commune(tmp_path):
    communes = declared(8) + declared(1, "advanced", start=8) + declared(1, "standard", sat=79.9, start=9)
    o = evaluate_file(district(tmp_path, communes, extra=NO_TOWNSHIPS), overlay=OVERLAY)
    low = cond(o, "standard", "0.4", 1)
    assert (low.observed, low.threshold, low.status) == (79.9, 80, "fail")
    assert o.summary.communes_holding_back == ["c9"]
    assert "79.9% below 80%" in next(c for c in o.communes if c.code == "c9").holding_back_reasons[0].en
    o = evaluate_file(district(tmp_path, declared(9) + declared(1, "advanced", start=9), extra=NO_TOWNSHIPS,
                               facts="  district_satisfaction_pct: 89.9\n"), overlay=OVERLAY)
    assert cond(o, "standard", "0.4", 0).status == "fail" and o.tier("standard").status == "not_met"


def test_a_commune_satisfaction_comes_from_its_dossier(tmp_path):
    p = district_copy(tmp_path)
    o = evaluate_file(p, overlay=OVERLAY)
    by = {c.code: c for c in o.communes}
    assert by["99001"].satisfaction_pct == 92.4 and by["99005"].satisfaction_pct == 86.4
    assert cond(o, "standard", "0.4", 1).observed == 86.4
    # one commune without a figure: the condition is undecided and the commune is named
    text = Path(p).read_text(encoding="utf-8").replace("    satisfaction_pct: 86.4\n", "")
    Path(p).write_text(text, encoding="utf-8")
    o = evaluate_file(p, overlay=OVERLAY)
    assert cond(o, "standard", "0.4", 1).status == "missing"
    assert any("no residents' satisfaction" in r.en for r in next(c for c in o.communes if c.code == "99005").holding_back_reasons)


def test_a_commune_recognised_under_the_old_set_does_not_count(tmp_path):
    communes = declared(9) + declared(1, "advanced", start=9, date="2021-05-01")
    o = evaluate_file(district(tmp_path, communes, extra=NO_TOWNSHIPS), overlay=OVERLAY)
    assert cond(o, "standard", "0.1").observed == 90
    assert "under the set in force before 2022-03-08" in next(c for c in o.communes if c.code == "c9").holding_back_reasons[0].en


def test_example_district_names_the_commune_holding_it_back():
    o = evaluate_file(str(EX / "huyen-vi-du.yaml"), overlay=OVERLAY)
    assert o.tier("standard").status == "not_met" and o.tier("standard").unmet_criteria == ["0"]
    assert o.summary.communes_holding_back == ["99002"]
    assert o.recognition.status == "met"
    r = ntm("evaluate", str(EX / "huyen-vi-du.yaml"), "--overlay", OVERLAY)
    assert "Xã Tân Lộc" in r.stdout and "chưa đạt chuẩn nông thôn mới" in r.stdout


@pytest.mark.parametrize("extra,facts,needle", [
    (NO_TOWNSHIPS, "  district_satisfaction_pct: 95\n  townships_count: 1\n", "computed from the townships list"),
    ("", "  district_satisfaction_pct: 95\n  communes_satisfaction_min_pct: 90\n", "computed from the communes list"),
    ("townships:\n  - {code: t, name: A, civilised: true}\n  - {code: t, name: B, civilised: true}\n", "", "listed twice"),
])
def test_district_list_mistakes(tmp_path, extra, facts, needle):
    with pytest.raises(NtmInputError) as ei:
        evaluate_file(district(tmp_path, declared(3), facts, extra), overlay=OVERLAY)
    assert needle in ei.value.render()


# ---------------------------------------------------------------- the special rule, advanced tier too

REGIONAL_ADVANCED = """\
overlay:
  id: vung-nang-cao
  title: {vi: Ngưỡng thu nhập xã nâng cao theo vùng (thử), en: Regional advanced income (test)}
  province: Tỉnh Thử
  ruleset: vn-2021-2025
  illustrative: true
  documents:
    - {id: T, number: T/QĐ-UBND, date: 2022-06-01, title: {vi: t, en: t}}
thresholds:
  - tier: advanced
    indicator: "10"
    threshold:
      by_region:
        TDMNPB: {value: 50, status: verified, note: test}
        ĐNB: {value: 80, status: verified, note: test}
    citation: {document: T}
"""


def test_special_rule_applies_to_the_advanced_tier_with_a_regional_overlay(tmp_path):
    ov = tmp_path / "ov.yaml"
    ov.write_text(REGIONAL_ADVANCED, encoding="utf-8")
    d = tmp_path / "x.yaml"
    d.write_text((EX / "xa-dac-biet-kho-khan-dnb.yaml").read_text(encoding="utf-8").replace(
        "value: 47.5", "value: 60"), encoding="utf-8")
    o = evaluate_file(str(d), overlay=str(ov))
    adv = o.tier("advanced")
    assert adv.region == "TDMNPB" and "318/QĐ-TTg" in adv.region_reason
    c = cond(o, "advanced", "10")
    assert c.threshold == 50 and c.status == "pass"  # on ĐNB's 80 it would fail
    plain = tmp_path / "y.yaml"
    plain.write_text(d.read_text(encoding="utf-8").replace("  flags: [especially_difficult]\n", ""), encoding="utf-8")
    o2 = evaluate_file(str(plain), overlay=str(ov))
    assert o2.tier("advanced").region == "ĐNB" and cond(o2, "advanced", "10").threshold == 80


def test_special_rule_tiers_are_data():
    from ntm.criteria.loader import load_ruleset

    rule = load_ruleset("vn-2021-2025").ruleset.region_rules[0]
    assert rule.tiers == ["standard", "advanced"]


# ---------------------------------------------------------------- province completion (321)

def province_copy(tmp_path) -> str:
    district_copy(tmp_path)
    (tmp_path / "huyen-vi-du.yaml").write_text((EX / "huyen-vi-du.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    p = tmp_path / "tinh.yaml"
    p.write_text((EX / "tinh-vi-du.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    return str(p)


def test_example_province_is_held_back_by_its_district():
    o = evaluate_file(str(EX / "tinh-vi-du.yaml"), overlay=OVERLAY)
    assert [t.id for t in o.tiers] == ["completed"] and o.tier("completed").status == "not_met"
    assert o.tier("completed").unmet_criteria == ["1"]
    assert o.summary.districts_holding_back == ["990"]
    c = cond(o, "completed", "1.1")
    assert (c.observed, c.threshold, c.status) == (75, 100, "fail") and c.provenance.status == "verified"
    assert cond(o, "completed", "1.3").observed == 25 and cond(o, "completed", "1.2").status == "pass"
    assert cond(o, "completed", "2.1").status == "pass"
    by = {d.code: d for d in o.districts}
    assert by["990"].source == "dossier" and by["990"].status == "none" and by["994"].kind == "town"


def test_province_completes_when_every_district_is_ntm(tmp_path):
    p = province_copy(tmp_path)
    text = Path(p).read_text(encoding="utf-8").replace(
        "  - {code: \"990\", name: Huyện Ví Dụ, dossier: huyen-vi-du.yaml}\n",
        "  - {code: \"990\", name: Huyện Ví Dụ, status: standard, decision: {number: 1/QĐ-TTg, date: 2025-03-01}}\n")
    Path(p).write_text(text, encoding="utf-8")
    o = evaluate_file(p)
    assert o.tier("completed").status == "met" and o.summary.districts_holding_back == []
    # the satisfaction condition is versioned: after 125/QĐ-TTg (15/01/2025) the 90% is provisional
    sat = cond(o, "completed", "5")
    assert sat.threshold == 90 and sat.provenance.status == "provisional" and "125/QĐ-TTg" in sat.provenance.note
    assert o.summary.decided_by_provisional
    before = evaluate_file(p, as_of=dt.date(2024, 12, 31))
    assert cond(before, "completed", "5").provenance.status == "verified"
    # 40% of communes advanced, 20% of districts advanced, 100% of towns completed
    for old, new, code in (("value: 27,", "value: 25,", "2.1"), ("status: advanced", "status: standard", "1.3"),
                           ("status: completed", "status: none", "1.2")):
        Path(p).write_text(text.replace(old, new).replace(
            "  - {code: \"990\", name: Huyện Ví Dụ, dossier: huyen-vi-du.yaml}\n",
            "  - {code: \"990\", name: Huyện Ví Dụ, status: standard, decision: {number: 1/QĐ-TTg, date: 2025-03-01}}\n"),
            encoding="utf-8")
        o = evaluate_file(p)
        assert o.tier("completed").status == "not_met" and cond(o, "completed", code).status == "fail", code


def test_province_communes_list_gives_the_commune_counts(tmp_path):
    p = province_copy(tmp_path)
    text = Path(p).read_text(encoding="utf-8")
    text = re.sub(r"(?m)^  province_communes_(advanced_)?count: .*\n", "", text)
    communes = ("communes:\n  - {code: '99001', name: Xã A, dossier: xa-dat-chuan.yaml}\n"
                "  - {code: '99004', name: Xã B, dossier: xa-kieu-mau.yaml}\n"
                "  - {code: 'k1', name: Xã C, status: advanced, decision: {number: 3/QĐ-UBND, date: 2024-01-02}}\n")
    Path(p).write_text(text.replace("facts:\n", communes + "facts:\n"), encoding="utf-8")
    o = evaluate_file(p, overlay=OVERLAY)
    c = cond(o, "completed", "2.1")
    assert c.observed == pytest.approx(200 / 3, abs=1e-6) and c.status == "pass"
    assert o.summary.communes_holding_back == []
    bad = text.replace("facts:\n", communes + "facts:\n  province_communes_count: 3\n")
    Path(p).write_text(bad, encoding="utf-8")
    with pytest.raises(NtmInputError) as ei:
        evaluate_file(p, overlay=OVERLAY)
    assert "computed from the communes list" in ei.value.render()


@pytest.mark.parametrize("entry,needle", [
    ("  - {code: '995', name: X, kind: town, status: advanced, decision: {number: '1', date: 2024-01-01}}\n", "a town's declared status"),
    ("  - {code: '995', name: X, status: standard}\n", "needs the recognition decision"),
    ("  - {code: '991', name: X, status: none}\n", "listed twice"),
    ("  - {code: '999', name: X, dossier: huyen-vi-du.yaml}\n", "but the province lists district 999"),
])
def test_province_list_mistakes(tmp_path, entry, needle):
    p = province_copy(tmp_path)
    text = Path(p).read_text(encoding="utf-8").replace("facts:\n", "", 1)
    text = text.replace("\n  # Xã của tỉnh", "\n" + entry.rstrip("\n") + "\nfacts:\n  # Xã của tỉnh", 1)
    Path(p).write_text(text, encoding="utf-8")
    with pytest.raises(NtmInputError) as ei:
        evaluate_file(p, overlay=OVERLAY)
    assert needle in ei.value.render()


def test_province_record_embeds_districts_and_their_communes_and_reproduces(tmp_path):
    p = province_copy(tmp_path)
    rec = tmp_path / "rec.json"
    r = ntm("evaluate", p, "--overlay", OVERLAY, "--record", str(rec))
    assert r.returncode == 0, r.stderr
    data = json.loads(rec.read_text(encoding="utf-8"))
    assert {"huyen-vi-du.yaml", "xa-dat-chuan.yaml", "xa-kieu-mau.yaml"} <= set(data["inputs"]["communes"])
    v = ntm("verify", str(rec))
    assert v.returncode == 0, v.stdout + v.stderr


@pytest.mark.parametrize("path", ["tinh-vi-du.yaml", "huyen-vi-du.yaml"])
def test_engine_and_oracle_agree_on_the_new_levels(path):
    inp = gather(str(EX / path), overlay=OVERLAY)
    o = evaluate(inp)
    d = inp.dossier.dossier
    from ntm.engine.evaluate import district_communes, district_townships, province_members

    extra = {}
    if d.unit.level == "district":
        extra |= district_communes(inp, None)[1] | district_townships(d)[1]
    else:
        extra |= province_members(inp, None)[1]
    known = inp.ruleset.ruleset.fact_map()
    obs = observations(inp.dossier, inp.ruleset.ruleset, {k: v for k, v in extra.items() if k in known})
    res = resolved_for(inp)
    assert run_engine(res, obs).verdict == oracle.evaluate(res, obs)
    assert {t.id: t.status for t in o.tiers} == {t.id: oracle.evaluate(res, obs).get(("tier", t.id), "indeterminate")
                                                  for t in o.tiers}


# ---------------------------------------------------------------- messages

def test_income_typed_in_vnd_gets_a_hint(tmp_path):
    d = tmp_path / "x.yaml"
    d.write_text(re.sub(r"(?m)^  income_per_capita: .*$", "  income_per_capita: 61200000",
                        (EX / "xa-dat-chuan.yaml").read_text(encoding="utf-8")), encoding="utf-8")
    r = ntm("evaluate", str(d))
    assert r.returncode == 2 and "61200000 looks like VND: 61.2 million?" in r.stderr


def test_the_vnd_hint_follows_the_unit_not_the_fact_id():
    from ntm.criteria.dossier import unit_scale_hint
    from ntm.criteria.model import Fact
    from fractions import Fraction as F

    def fact(unit, unit_en=None):
        return Fact.model_validate({"id": "budget", "label": {"vi": "b", "en": "b"}, "type": "money", "unit": unit,
                                    "unit_en": unit_en, "level": "commune", "range": {"min": 0, "max": 100000}})
    assert unit_scale_hint(fact("nghìn đồng/người"), F(61_200_000), F(0), F(100000)) == \
        "61200000 looks like VND: 61200 thousand? (nghìn đồng/người)"
    assert "2.5 billion" in unit_scale_hint(fact("tỷ đồng"), F(2_500_000_000), F(0), F(100000))
    assert unit_scale_hint(fact("m²/người"), F(61_200_000), F(0), F(100000)) is None
    assert unit_scale_hint(fact("triệu đồng"), F(10**15), F(0), F(100000)) is None  # not a plain scale slip


def test_missing_threshold_summary_names_its_document(tmp_path):
    text = (EX / "xa-kieu-mau.yaml").read_text(encoding="utf-8").replace("  waste_sorted_at_source_pct: 63.5", "")
    p = tmp_path / "d.yaml"
    p.write_text(text, encoding="utf-8")
    o = evaluate_file(str(p))
    m = {x.indicator: x for x in o.tier("advanced").missing_thresholds}
    assert "318/QĐ-TTg" in m["1.1"].document and "PL II" in m["1.1"].document
    for fmt in ("table", "markdown"):
        r = ntm("evaluate", str(p), "-f", fmt, "--lang", "en")
        line = next(ln for ln in r.stdout.splitlines() if ln.lstrip().startswith("No threshold"))
        assert "318/QĐ-TTg" in line, line


@pytest.mark.parametrize("level,extra,needle", [
    ("commune", "districts:\n  - {code: '1', name: X, status: none}\n", "a commune dossier has no 'districts' list"),
    ("province", "townships: []\n", "a province dossier has no 'townships' list"),
    ("village", "communes:\n  - {code: '1', name: X, status: none}\n", "a village dossier has no 'communes' list"),
])
def test_lists_belong_to_their_level(tmp_path, level, extra, needle):
    p = tmp_path / "u.yaml"
    p.write_text(f"unit: {{level: {level}, code: '1', name: U, region: ĐNB}}\nassessment: {{date: 2024-05-01}}\n"
                 + extra + "facts: {}\n", encoding="utf-8")
    r = ntm("evaluate", str(p), "--ruleset", "vn-2021-2025")
    assert r.returncode == 2 and needle in r.stderr, r.stderr


def test_library_api_takes_audit_past(tmp_path):
    import ntm as lib

    p = district_copy(tmp_path, "2025-08-01")
    with pytest.raises(NtmInputError) as ei:
        lib.evaluate(p, overlay=OVERLAY)
    assert "--audit-past" in ei.value.render()
    o = lib.evaluate(p, overlay=OVERLAY, audit_past=True)
    assert [w.code for w in o.warnings] == ["level_not_in_force"]
