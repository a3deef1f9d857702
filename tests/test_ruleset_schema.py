"""Ruleset authoring: mistakes are caught with file:line, and the schema holds every shape the law needs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from ntm.criteria.loader import load_ruleset_file
from ntm.criteria.resolve import resolve
from ntm.errors import NtmInputError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

MINI = textwrap.dedent("""\
    id: mini
    version: "1"
    title: {vi: Thử, en: Test}
    effective: {from: 2022-01-01, to: 2025-12-31}
    documents:
      - {id: D, number: D/1, date: 2022-01-01, title: {vi: d, en: d}}
    regions:
      - {id: A, label: {vi: a, en: a}}
      - {id: B, label: {vi: b, en: b}}
    unit_flags:
      - {id: hard, label: {vi: khó, en: hard}}
    region_rules:
      - id: hard_uses_a
        label: {vi: x, en: x}
        use_region: A
        tiers: [standard]
        when_flags_any: [[hard]]
        citation: {document: D, article: "1"}
    facts:
      - {id: income, label: {vi: tn, en: inc}, type: money, unit: M, level: commune, range: {min: 0, max: 1000}}
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
                    conditions:
                      - fact: income
                        op: ">="
                        threshold:
                          by_year:
                            2022:
                              by_region:
                                A: {value: 40, status: verified}
                                B: {value: 50, status: provisional, note: check}
                    citation: {document: D, item: "1.1"}
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
                        threshold:
                          ref: {tier: standard, indicator: "1.1", factor: 1.1}
                    citation: {document: D, item: "1.1"}
                  - code: "1.2"
                    label: {vi: lĩnh vực, en: field}
                    at_least: 1
                    conditions:
                      - {fact: ok, op: is_true, threshold: {value: true, status: verified}}
                      - {fact: income, op: ">=", threshold: {value: 100, status: verified}}
                    citation: {document: D, item: "1.2"}
    """)


def write(tmp_path, text, name="ruleset.yaml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return str(p)


def problems(tmp_path, text):
    with pytest.raises(NtmInputError) as ei:
        load_ruleset_file(write(tmp_path, text))
    return ei.value.problems


def test_mini_ruleset_loads_and_resolves(tmp_path):
    rs = load_ruleset_file(write(tmp_path, MINI)).ruleset
    res = resolve(rs, "commune", "B", 2022)
    std = res.tier("standard").criteria[0].indicators[0].conditions[0].threshold
    adv = res.tier("advanced").criteria[0].indicators[0].conditions[0].threshold
    assert std.value == 50 and std.provenance.status == "provisional"
    assert adv.value == 55 and adv.provenance.status == "provisional"  # a ref inherits the weaker provenance
    assert "1.1 × standard 1.1" in adv.provenance.note


def test_special_rule_changes_region_only_for_its_tiers(tmp_path):
    rs = load_ruleset_file(write(tmp_path, MINI)).ruleset
    res = resolve(rs, "commune", "B", 2022, ("hard",))
    assert res.tier("standard").region == "A" and res.tier("standard").region_reason
    assert res.tier("advanced").region == "B"
    # the advanced ref follows the standard tier's *applied* region: 1.1 × 40
    assert res.tier("advanced").criteria[0].indicators[0].conditions[0].threshold.value == 44


def test_year_outside_table_is_indeterminate_not_borrowed(tmp_path):
    rs = load_ruleset_file(write(tmp_path, MINI)).ruleset
    th = resolve(rs, "commune", "A", 2023).tier("standard").criteria[0].indicators[0].conditions[0].threshold
    assert th.value is None and "2023" in th.reason and "not borrowed" in th.reason


@pytest.mark.parametrize("old,new,needles", [
    ("type: money", "type: mony", ["facts[0].type", "did you mean 'money'"]),
    ("op: \">=\"\n", "op: \"=>\"\n", ["'=>' is not allowed"]),
    ("code: \"1.2\"", "code: 1.2", ["code", "quotes"]),
    ("- fact: income\n", "- fact: incme\n", ["unknown fact 'incme'"]),
    ("B: {value: 50, status: provisional, note: check}", "C: {value: 50, status: provisional, note: check}",
     ["unknown region 'C'"]),
    ("B: {value: 50, status: provisional, note: check}", "B: {value: 50, status: provisional}", ["needs a note"]),
    ("requires: standard", "requires: advanced", ["cycle"]),
    ("requires: standard", "requires: standrd", ["unknown tier 'standrd'"]),
    ("- code: \"1.2\"", "- code: \"1.1\"", ["defined twice"]),
    ("{value: 100, status: verified}", "{value: 5000, status: verified}", ["outside the fact's range"]),
    ("{fact: ok, op: is_true", "{fact: ok, op: \">=\"", ["does not fit boolean"]),
    ("at_least: 1", "at_least: 3", ["at_least 3 is more than"]),
    ("ref: {tier: standard, indicator: \"1.1\", factor: 1.1}", "ref: {tier: standard, indicator: \"9.9\", factor: 1.1}",
     ["ref points to missing"]),
    ("use_region: A", "use_region: Z", ["unknown region 'Z'"]),
    ("when_flags_any: [[hard]]", "when_flags_any: [[herd]]", ["unknown unit flag 'herd'"]),
])
def test_author_mistakes_point_at_the_line(tmp_path, old, new, needles):
    assert old in MINI, old
    text = MINI.replace(old, new, 1)
    probs = problems(tmp_path, text)
    rendered = "\n".join(p.render() for p in probs)
    for n in needles:
        assert n in rendered, rendered
    assert all(p.line for p in probs), rendered
    changed_line = next(i for i, (a, b) in enumerate(zip(MINI.splitlines(), text.splitlines()), 1) if a != b)
    assert any(abs(p.line - changed_line) <= 3 for p in probs), (changed_line, rendered)


def test_schema_export_is_valid_json_schema():
    for kind in ("ruleset", "dossier", "overlay", "outcome", "whatif", "plan"):
        proc = subprocess.run([sys.executable, "-m", "ntm.cli", "schema", kind], capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 0, proc.stderr
        doc = json.loads(proc.stdout)
        assert doc["$schema"].endswith("2020-12/schema")
        assert "properties" in doc


def test_result_schemas_validate_what_the_cli_prints():
    """`ntm schema outcome|whatif|plan` describe the JSON that evaluate, whatif and plan print (other programs
    can check what they receive)."""
    import jsonschema

    ex = os.path.join(ROOT, "examples")
    ov = os.path.join(ex, "overlays", "tinh-minh-hoa.yaml")
    runs = {
        "outcome": ["evaluate", os.path.join(ex, "xa-kieu-mau.yaml"), "--overlay", ov],
        "whatif": ["whatif", os.path.join(ex, "xa-thieu-hai-tieu-chi.yaml"), "--overlay", ov, "--scenario",
                   os.path.join(ex, "scenarios", "xa-thieu-hai-tieu-chi.yaml")],
        "plan": ["plan", os.path.join(ex, "huyen-vi-du.yaml"), "-t", "standard", "--overlay", ov, "--costs",
                 os.path.join(ex, "costs", "chi-phi-minh-hoa.yaml")],
    }
    for kind, args in runs.items():
        schema = json.loads(subprocess.run([sys.executable, "-m", "ntm", "schema", kind], capture_output=True,
                                           text=True, check=True, cwd=ROOT).stdout)
        out = subprocess.run([sys.executable, "-m", "ntm", *args, "-f", "json"], capture_output=True, text=True,
                             cwd=ROOT, check=False)
        assert out.returncode == 0, out.stderr
        data = json.loads(out.stdout)
        jsonschema.validate(data, schema)
        data["unexpected"] = True
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(data, schema)


def test_ruleset_schema_validates_the_shipped_ruleset():
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    from ntm.criteria.loader import shipped_paths
    from ntm.criteria.model import Ruleset

    schema = Ruleset.model_json_schema(by_alias=True)
    for path in shipped_paths().values():
        with open(path, encoding="utf-8") as fh:
            data = json.loads(json.dumps(yaml.safe_load(fh), default=str))
        _stringify_keys(data)
        jsonschema.validate(data, schema)


def _stringify_keys(obj):
    if isinstance(obj, dict):
        for k in list(obj):
            _stringify_keys(obj[k])
    elif isinstance(obj, list):
        for v in obj:
            _stringify_keys(v)


def test_ruleset_cache_is_transparent_and_tolerates_damage(tmp_path, monkeypatch):
    """Validated rulesets are cached as JSON by content hash; a damaged cache entry is ignored, not trusted."""
    from ntm.criteria import loader

    monkeypatch.setenv("NTM_CACHE_DIR", str(tmp_path / "cache"))
    path = write(tmp_path, MINI)
    first = loader._load_cached.__wrapped__(path, 0, 0)
    entry = loader._cache_path(first.sha256)
    assert (tmp_path / "cache").is_dir() and open(entry, encoding="utf-8").read().partition("\n")[2].startswith("{")
    again = loader._load_cached.__wrapped__(path, 0, 0)
    assert again.ruleset == first.ruleset and again.sha256 == first.sha256
    with open(entry, "w", encoding="utf-8") as fh:
        fh.write('{"id": "tampered"')
    third = loader._load_cached.__wrapped__(path, 0, 0)
    assert third.ruleset == first.ruleset
    # an edited ruleset has a new hash, so it can never be served from an old entry
    edited = write(tmp_path, MINI.replace('version: "1"', 'version: "2"'), "edited.yaml")
    assert loader._load_cached.__wrapped__(edited, 0, 0).ruleset.version == "2"
