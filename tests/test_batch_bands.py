"""Criteria bands and the tier ladder of a batch summary come from the ruleset, not from Python constants."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from ntm.batch.run import run_batch
from ntm.criteria.loader import load_ruleset
from ntm.criteria.model import consistency_errors

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures"
SHAPE = FIX / "ruleset-2026-shape.yaml"


def _folder(tmp_path: Path, incomes: list[float]) -> Path:
    base = yaml.safe_load((FIX / "xa-nhom-2-2027.yaml").read_text(encoding="utf-8"))
    d = tmp_path / "xa"
    d.mkdir()
    for i, inc in enumerate(incomes):
        doc = {**base, "unit": {**base["unit"], "code": f"T{i}"}, "facts": {**base["facts"], "income_per_capita": inc}}
        (d / f"x{i}.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return d


def test_a_ruleset_without_bands_counts_each_number_of_criteria(tmp_path):
    """3 of 3 criteria is the top of a 3-criteria ruleset, never "< 5" (the 19-criteria grouping)."""
    doc = run_batch(str(_folder(tmp_path, [75, 75, 60])), ruleset=str(SHAPE), isolate=False)
    bands = doc["summary"]["bands"]
    assert list(bands) == ["3", "2", "1", "0"]
    assert bands == {"3": 2, "2": 1, "1": 0, "0": 0}
    assert "<5" not in bands
    assert doc["summary"]["avg_criteria_met"] == 2.67


def test_declared_bands_are_used_and_checked(tmp_path):
    data = yaml.safe_load(SHAPE.read_text(encoding="utf-8"))
    commune = next(ls for ls in data["levels"] if ls["level"] == "commune")
    commune["criteria_bands"] = {"tier": "standard", "bands": [{"id": "đủ 3", "min": 3},
                                                               {"id": "dưới 3", "min": 0, "max": 2}]}
    path = tmp_path / "rs.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    doc = run_batch(str(_folder(tmp_path, [75, 60, 60])), ruleset=str(path), isolate=False)
    assert doc["summary"]["bands"] == {"đủ 3": 1, "dưới 3": 2}
    # bands must cover 0..N exactly once, for a tier of the level
    from ntm.criteria.model import Ruleset

    def errors(bands, tier="standard"):
        commune["criteria_bands"] = {"tier": tier, "bands": bands}
        return [m for _, m in consistency_errors(Ruleset.model_validate(data, strict=False))]

    assert any("not covered: [2]" in m for m in errors([{"id": "a", "min": 3}, {"id": "b", "min": 0, "max": 1}]))
    assert any("covered twice: [2]" in m for m in errors([{"id": "a", "min": 2}, {"id": "b", "min": 0, "max": 2}]))
    assert any("not a tier" in m for m in errors([{"id": "a", "min": 0}], tier="no_such_tier"))
    assert not errors([{"id": "a", "min": 0}])


def test_shipped_19_criteria_rulesets_declare_the_published_bands():
    for rid in ("vn-2016-2020", "vn-2021-2025"):
        cb = load_ruleset(rid).ruleset.level("commune").criteria_bands
        assert cb is not None and cb.tier == "standard"
        assert [b.id for b in cb.bands] == ["19", "15-18", "10-14", "5-9", "<5"]


def test_the_batch_tier_order_is_the_rulesets(tmp_path):
    doc = run_batch(str(_folder(tmp_path, [75])), ruleset=str(SHAPE), isolate=False)
    rs = load_ruleset(str(SHAPE)).ruleset
    ladder = [t.id for t in rs.level("commune").tiers if t.kind == "tier"]
    assert [t for t in doc["summary"]["tiers"] if t in ladder] == ladder
    shutil.rmtree(tmp_path / "xa")
