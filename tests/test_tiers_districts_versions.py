"""Advanced and model communes, districts built from their communes, recognition conditions, dated versions
and provincial overlays that add content — all decided through the engine."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ntm.engine.evaluate import evaluate_file
from ntm.errors import NtmInputError

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "examples"
OVERLAY = str(EX / "overlays" / "tinh-minh-hoa.yaml")


def cond(outcome, tier, code, k=0):
    t = outcome.tier(tier) if tier != "recognition" else outcome.recognition
    return next(i for c in t.criteria for i in c.indicators if i.code == code).conditions[k]


def test_model_commune_meets_all_three_tiers_with_the_overlay():
    o = evaluate_file(str(EX / "xa-kieu-mau.yaml"), overlay=OVERLAY)
    assert [(t.id, t.status) for t in o.tiers] == [("standard", "met"), ("advanced", "met"), ("model", "met")]
    assert o.summary.highest_tier == "model" and o.summary.recognition == "met"
    # advanced income = 1.1 × standard (ĐNB 2024: 67), model = 1.1 × advanced, both as references, not copies
    adv, model = cond(o, "advanced", "10"), cond(o, "model", "2")
    assert adv.threshold == 73.7 and model.threshold == 81.07
    assert "1.1 × standard 10" in adv.provenance.note and "1.1 × advanced 10" in model.provenance.note
    # the provincial indicator added by the overlay is part of the advanced tier
    assert cond(o, "advanced", "17.90").status == "pass"


def test_advanced_tier_is_honestly_indeterminate_without_provincial_values(tmp_path):
    text = (EX / "xa-kieu-mau.yaml").read_text(encoding="utf-8").replace("  waste_sorted_at_source_pct: 63.5", "")
    p = tmp_path / "d.yaml"
    p.write_text(text, encoding="utf-8")
    o = evaluate_file(str(p))
    adv = o.tier("advanced")
    assert adv.status == "indeterminate"
    missing = {m.indicator: m for m in adv.missing_thresholds}
    assert missing["1.1"].set_by == "province" and missing["2"].set_by == "national"
    assert "Appendix II" in cond(o, "advanced", "2").provenance.note
    assert o.tier("model").status == "indeterminate"


def test_income_just_below_the_model_threshold_fails_only_the_model_tier(tmp_path):
    text = (EX / "xa-kieu-mau.yaml").read_text(encoding="utf-8").replace("value: 88.71", "value: 81.06")
    p = tmp_path / "d.yaml"
    p.write_text(text, encoding="utf-8")
    o = evaluate_file(str(p), overlay=OVERLAY)
    assert [t.status for t in o.tiers] == ["met", "met", "not_met"]
    assert o.tier("model").unmet_criteria == ["2"]


def test_model_needs_at_least_one_outstanding_field(tmp_path):
    text = (EX / "xa-kieu-mau.yaml").read_text(encoding="utf-8")
    text = text.replace("outstanding_tourism: {value: true", "outstanding_tourism: {value: false")
    p = tmp_path / "d.yaml"
    p.write_text(text + "  outstanding_culture: false\n", encoding="utf-8")
    o = evaluate_file(str(p), overlay=OVERLAY)
    assert o.tier("model").status == "indeterminate"  # 5 fields still unknown: not failed, not met
    full = text + "".join(f"  outstanding_{f}: false\n" for f in (
        "production", "education", "culture", "landscape_environment", "security_order", "digital_transformation"))
    p.write_text(full, encoding="utf-8")
    o = evaluate_file(str(p), overlay=OVERLAY)
    assert o.tier("model").status == "not_met" and o.tier("model").unmet_criteria == ["4"]


def test_district_is_judged_on_its_communes():
    o = evaluate_file(str(EX / "huyen-vi-du.yaml"), overlay=OVERLAY)
    # 320 App. I: 100% of communes NTM is a condition of the district tier itself (criterion 0), not only of
    # recognition; the 9 district criteria are met
    assert o.tier("standard").status == "not_met" and o.tier("standard").criteria_met == 9
    assert o.tier("standard").unmet_criteria == ["0"]
    assert o.summary.recognition == "met" and o.summary.communes_holding_back == ["99002"]
    share = cond(o, "standard", "0.1")
    assert share.observed == 80 and share.threshold == 100 and share.status == "fail"
    by_code = {c.code: c for c in o.communes}
    assert by_code["99004"].highest_tier == "model" and by_code["99004"].source == "dossier"
    assert by_code["99006"].decision_number == "877/QĐ-UBND" and by_code["99006"].highest_tier == "advanced"


def district(tmp_path, communes: str, facts: str = "") -> str:
    p = tmp_path / "h.yaml"
    p.write_text(textwrap.dedent("""\
        unit: {level: district, code: "1", name: H, region: ĐNB}
        assessment: {date: 2024-11-05}
        communes:
        """) + communes + "facts:\n" + (facts or "  district_satisfaction_pct: 95\n"), encoding="utf-8")
    for name in ("xa-dat-chuan.yaml", "xa-thieu-hai-tieu-chi.yaml"):
        (tmp_path / name).write_text((EX / name).read_text(encoding="utf-8"), encoding="utf-8")
    return str(p)


@pytest.mark.parametrize("communes,facts,needle", [
    ("  - {code: '9', name: X, status: standard}\n", "", "needs the recognition decision"),
    ("  - {code: '9', name: X}\n", "", "either the commune's dossier"),
    ("  - {code: '99001', name: X, dossier: xa-dat-chuan.yaml}\n  - {code: '99001', name: X, status: none}\n", "",
     "listed twice"),
    ("  - {code: '123', name: X, dossier: xa-dat-chuan.yaml}\n", "", "but the district lists commune 123"),
    ("  - {code: '99001', name: X, dossier: xa-dat-chuan.yaml}\n", "  communes_standard_count: 1\n",
     "computed from the communes list"),
    ("  - {code: '99001', name: X, dossier: missing.yaml}\n", "", "cannot read"),
])
def test_district_dossier_mistakes(tmp_path, communes, facts, needle):
    path = district(tmp_path, communes, facts)
    with pytest.raises(NtmInputError) as ei:
        evaluate_file(path, overlay=OVERLAY)
    assert needle in ei.value.render()


def test_special_district_without_communes_exists_from_211(tmp_path):
    p = tmp_path / "dao.yaml"
    p.write_text(textwrap.dedent("""\
        unit: {level: district, code: "755", name: Huyện đảo Ví Dụ, region: ĐNB, flags: [no_communes]}
        assessment: {date: 2024-09-01}
        facts:
          district_plan_met: true
          essential_infrastructure_projects: 2
          district_road_standard_maintained_pct: 100
          tree_lined_roads: true
          district_satisfaction_pct: 91
          district_no_construction_debt: true
          district_security_safe: true
        """), encoding="utf-8")
    o = evaluate_file(str(p))
    assert [t.id for t in o.tiers] == ["special_standard"]
    assert o.tier("special_standard").status == "indeterminate"  # 2.2 tree-lined roads: set by the province
    assert [m.indicator for m in o.tier("special_standard").missing_thresholds] == ["2.2"]
    assert o.recognition.id == "recognition_special" and o.recognition.status == "met"
    before = evaluate_file(str(p), as_of=dt.date(2024, 2, 1))  # App. V did not exist yet
    assert before.tiers == [] and before.ruleset.version_in_force == "2022.1"


@pytest.mark.parametrize("as_of,version,fact", [
    (dt.date(2023, 6, 1), "2022.1", "security_not_complicated"),
    (dt.date(2024, 3, 3), "2024.1", "security_not_complicated"),
    (dt.date(2024, 3, 7), "2024.2", "security_order_safe"),
])
def test_dated_versions_and_security_wording(as_of, version, fact):
    o = evaluate_file(str(EX / "xa-dat-chuan.yaml"), overlay=OVERLAY, as_of=as_of)
    assert o.ruleset.version_in_force == version and o.ruleset.as_of == as_of
    assert cond(o, "recognition", "4.1d").fact == fact


def test_as_of_changes_the_income_year_only_through_the_dossier(tmp_path):
    """--as-of picks rules and versions; the income table row is the assessment year's."""
    o = evaluate_file(str(EX / "xa-dat-chuan.yaml"), overlay=OVERLAY, as_of=dt.date(2025, 6, 1))
    assert cond(o, "standard", "10").threshold == 67  # ĐNB 2024 (the dossier's year), not 2025's 71


def test_overlay_additions_are_checked(tmp_path):
    base = Path(OVERLAY).read_text(encoding="utf-8")
    clash = base.replace("  - id: waste_sorted_at_source_pct", "  - id: income_per_capita")
    (tmp_path / "o1.yaml").write_text(clash, encoding="utf-8")
    with pytest.raises(NtmInputError) as ei:
        evaluate_file(str(EX / "xa-kieu-mau.yaml"), overlay=str(tmp_path / "o1.yaml"))
    assert "redefines national fact" in ei.value.render()
    newcrit = base.replace('    criterion: "17"\n', '    criterion: "20"\n')
    (tmp_path / "o2.yaml").write_text(newcrit, encoding="utf-8")
    with pytest.raises(NtmInputError) as ei:
        evaluate_file(str(EX / "xa-kieu-mau.yaml"), overlay=str(tmp_path / "o2.yaml"))
    assert "give criterion_name" in ei.value.render()


def test_district_loosening_is_refused(tmp_path):
    text = Path(OVERLAY).read_text(encoding="utf-8") + textwrap.dedent("""\
        """)
    text = text.replace("thresholds:\n", textwrap.dedent("""\
        thresholds:
          - level: district
            tier: recognition
            indicator: "4.1c"
            threshold: {value: 85, status: verified, note: looser than 90}
            citation: {document: 99/QĐ-UBND-minh-hoa}
        """), 1)
    (tmp_path / "o.yaml").write_text(text, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "ntm.cli", "evaluate", str(EX / "huyen-vi-du.yaml"), "--overlay",
                           str(tmp_path / "o.yaml")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "looser than the national >= 90" in proc.stderr


def test_district_json_and_table_through_the_cli():
    args = [sys.executable, "-m", "ntm.cli", "evaluate", str(EX / "huyen-vi-du.yaml"), "--overlay", OVERLAY]
    table = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert table.returncode == 0 and "99002" in table.stdout and "chưa đạt chuẩn" in table.stdout
    data = json.loads(subprocess.run(args + ["-f", "json"], capture_output=True, text=True, timeout=120).stdout)
    assert data["summary"]["communes_holding_back"] == ["99002"]
    assert data["ruleset"]["version_in_force"] == "2024.2"


def test_a_2018_dossier_is_judged_by_the_2016_2020_rules():
    o = evaluate_file(str(EX / "xa-2018.yaml"))
    assert o.ruleset.id == "vn-2016-2020" and o.ruleset.as_of.year == 2018
    assert o.tier("standard").status == "met"
    # the same evidence judged "as of" a 2023 date uses the 318 rules, and says which version
    with pytest.raises(NtmInputError):
        evaluate_file(str(EX / "xa-2018.yaml"), as_of=dt.date(2023, 1, 1))  # 1980-only facts are refused by 318


def test_terminal_rows_keep_tiers_apart_when_numbers_mean_different_things():
    proc = subprocess.run([sys.executable, "-m", "ntm.cli", "evaluate", str(EX / "xa-kieu-mau.yaml"), "--overlay",
                           OVERLAY], capture_output=True, text=True, timeout=120)
    lines = proc.stdout.splitlines()
    # App. I criterion 5 is "Trường học", App. II criterion 5 is "Giáo dục": two rows, not one
    assert any(" 5  Trường học" in ln for ln in lines) and any(" 5  Giáo dục" in ln for ln in lines)
