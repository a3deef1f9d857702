"""The schema holds shapes the shipped rulesets do not use: the 2026–2030 shape (thresholds by commune group,
no district level) and a provincial village set. Both are TEST FIXTURES (invented values), evaluated through the
engine like any ruleset, checked by `rulesets check`, with case files run by `rulesets test`."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from ntm.casefile import load_cases, run_case
from ntm.criteria.casetests import case_ruleset, find_case_files
from ntm.criteria.check import check
from ntm.criteria.loader import load_ruleset
from ntm.engine.evaluate import evaluate_file

HERE = os.path.join(os.path.dirname(__file__), "fixtures")
SHAPE_2026 = os.path.join(HERE, "ruleset-2026-shape.yaml")
VILLAGE = os.path.join(HERE, "village-ruleset.yaml")
COMMUNE_G2 = os.path.join(HERE, "xa-nhom-2-2027.yaml")
VILLAGE_DOSSIER = os.path.join(HERE, "thon-vi-du.yaml")


def _tier(outcome, tid):
    return next(t for t in outcome.tiers if t.id == tid)


def _ind(tier, code):
    return next(i for c in tier.criteria for i in c.indicators if i.code == code)


@pytest.mark.parametrize("path", [SHAPE_2026, VILLAGE])
def test_fixtures_are_labelled_as_such(path):
    with open(path, encoding="utf-8") as fh:
        head = fh.read(400)
    assert "TEST FIXTURE" in head and "NOT THE" in head.upper()


@pytest.mark.parametrize("path", [SHAPE_2026, VILLAGE])
def test_fixtures_pass_check_without_warnings(path):
    rep = check(path)
    assert rep.findings == [], [f.render() for f in rep.findings]


def test_2026_shape_holds_commune_groups_and_no_district_level():
    rs = load_ruleset(SHAPE_2026).ruleset
    assert rs.region_kind == "commune_group"
    assert [r.id for r in rs.regions] == ["G1", "G2", "G3"]
    assert [ls.level for ls in rs.levels] == ["commune"]
    assert rs.level("district") is None
    assert (rs.effective.start, rs.effective.end) == (dt.date(2026, 1, 1), dt.date(2030, 12, 31))
    assert [t.id for t in rs.level("commune").tiers] == ["standard", "advanced"]


def test_2026_shape_group_2_passes_what_group_1_fails(tmp_path):
    g2 = evaluate_file(COMMUNE_G2, ruleset=SHAPE_2026)
    assert g2.ruleset.id == "fixture-2026-shape"
    std = _tier(g2, "standard")
    assert std.status == "met" and std.region == "G2"
    assert _ind(std, "2").status == "pass"
    # the same commune, in group 1: income 75 is below the group-1 threshold
    with open(COMMUNE_G2, encoding="utf-8") as fh:
        text = fh.read()
    assert "region: G2" in text
    g1_path = tmp_path / "g1.yaml"
    g1_path.write_text(text.replace("region: G2", "region: G1"), encoding="utf-8")
    g1 = evaluate_file(str(g1_path), ruleset=SHAPE_2026)
    std1 = _tier(g1, "standard")
    assert std1.status == "not_met"
    income = _ind(std1, "2")
    assert income.status == "fail"
    cond = income.conditions[0]
    assert float(cond.threshold) > float(cond.observed) >= float(_ind(std, "2").conditions[0].threshold)


def test_2026_shape_district_dossier_is_refused(tmp_path):
    from ntm.errors import NtmInputError

    p = tmp_path / "h.yaml"
    p.write_text("unit: {level: district, code: H1, name: Huyện, region: G1}\nassessment: {date: 2027-01-01}\n"
                 "facts: {}\n", encoding="utf-8")
    with pytest.raises(NtmInputError) as e:
        evaluate_file(str(p), ruleset=SHAPE_2026)
    assert "no criteria for level 'district'" in e.value.render()


def test_village_ruleset_through_the_engine():
    rs = load_ruleset(VILLAGE).ruleset
    assert [ls.level for ls in rs.levels] == ["village"]
    tiers = {t.id: t for t in rs.level("village").tiers}
    assert tiers["model_village"].requires == "ntm_village"
    o = evaluate_file(VILLAGE_DOSSIER, ruleset=VILLAGE)
    assert o.unit.level == "village"
    assert _tier(o, "ntm_village").status == "met"
    model = _tier(o, "model_village")
    assert model.status == "not_met"
    assert _ind(model, "4").status == "fail"


def _fixture_cases():
    out = []
    for rs_path in (SHAPE_2026, VILLAGE):
        for path in find_case_files(rs_path):
            cf, _ = load_cases(path)
            out += [pytest.param(cf, case, path, id=f"{os.path.basename(path)}::{case.name}") for case in cf.cases]
    return out


FIXTURE_CASES = _fixture_cases()


def test_fixture_case_files_are_found():
    assert {os.path.basename(p.values[2]) for p in FIXTURE_CASES} == {
        "ruleset-2026-shape.cases.yaml", "village-ruleset.cases.yaml"}
    assert len(FIXTURE_CASES) >= 8


@pytest.mark.parametrize("cf, case, path", FIXTURE_CASES)
def test_fixture_case(cf, case, path):
    result = run_case(cf, case, path, case_ruleset(cf.ruleset, path))
    assert result.failures == []
