"""The command line as users run it: real processes, the shipped examples, exit codes, byte-identical JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "examples"
OVERLAY = str(EX / "overlays" / "tinh-minh-hoa.yaml")
GOOD = str(EX / "xa-dat-chuan.yaml")
TWO_SHORT = str(EX / "xa-thieu-hai-tieu-chi.yaml")
SPECIAL = str(EX / "xa-dac-biet-kho-khan-dnb.yaml")


def ntm(*args, env=None, check=None):
    e = dict(os.environ)
    e.update(env or {})
    proc = subprocess.run([sys.executable, "-m", "ntm.cli", *args], capture_output=True, text=True, env=e,
                          timeout=120, cwd=ROOT)
    assert "Traceback" not in proc.stderr, proc.stderr
    if check is not None:
        assert proc.returncode == check, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    return proc


def outcome(*args):
    return json.loads(ntm("evaluate", *args, "-f", "json", check=0).stdout)


def test_standard_met_with_overlay_and_indeterminate_without():
    with_overlay = outcome(GOOD, "--overlay", OVERLAY)
    std = with_overlay["tiers"][0]
    assert std["id"] == "standard" and std["status"] == "met" and std["criteria_met"] == 19
    assert with_overlay["overlay"]["id"] == "tinh-minh-hoa" and with_overlay["overlay"]["illustrative"] is True
    assert len(with_overlay["overlay"]["sha256"]) == 64

    without = outcome(GOOD)["tiers"][0]
    assert without["status"] == "indeterminate"
    assert without["unmet_criteria"] == [] and without["undecided_criteria"] == ["12"]
    assert [m["indicator"] for m in without["missing_thresholds"]] == ["12.3"]
    assert without["missing_thresholds"][0]["set_by"] == "province"


def test_two_criteria_short_with_gaps_and_citations():
    o = outcome(TWO_SHORT, "--overlay", OVERLAY)
    std = o["tiers"][0]
    assert std["status"] == "not_met" and std["unmet_criteria"] == ["10", "17"] and std["criteria_met"] == 17
    inds = {i["code"]: i for c in std["criteria"] for i in c["indicators"]}
    income = inds["10"]["conditions"][0]
    assert income["status"] == "fail" and income["observed"] == 61.2 and income["threshold"] == 67
    assert income["gap"] == 5.8 and income["gap_text"]["en"] == "short by 5.8 million VND/person/year"
    assert income["citation"]["document"] == "318/QĐ-TTg" and income["provenance"]["status"] == "provisional"
    assert income["evidence"]["document"] == "Báo cáo 118/BC-UBND"
    waste = inds["17.6"]["conditions"][0]
    assert waste["status"] == "fail" and waste["gap"] == 8.5
    assert inds["13.4"]["status"] == "not_applicable"
    assert std["decided_by_provisional"] is True and o["summary"]["decided_by_provisional"] is True


def test_especially_difficult_commune_uses_tdmnpb_thresholds():
    o = outcome(SPECIAL, "--overlay", OVERLAY)
    std = o["tiers"][0]
    assert std["status"] == "met" and std["region"] == "TDMNPB" and "318/QĐ-TTg" in std["region_reason"]
    assert o["unit"]["region"] == "ĐNB"
    inds = {i["code"]: i for c in std["criteria"] for i in c["indicators"]}
    assert inds["10"]["conditions"][0]["threshold"] == 45  # TDMNPB 2024, not ĐNB's 67


def test_table_report_is_vietnamese_by_default_and_english_on_request():
    vi = ntm("evaluate", TWO_SHORT, "--overlay", OVERLAY, check=0).stdout
    assert "Chưa đạt" in vi and "còn thiếu 5,8 triệu đồng/người/năm" in vi and "Tiêu chí 10" in vi
    assert "Cảnh báo" in vi  # provisional thresholds decided this
    en = ntm("evaluate", TWO_SHORT, "--overlay", OVERLAY, "--lang", "en", check=0).stdout
    assert "Not met" in en and "short by 5.8 million VND/person/year" in en


def test_markdown_report_lists_every_indicator():
    md = ntm("evaluate", GOOD, "--overlay", OVERLAY, "-f", "markdown", check=0).stdout
    assert md.startswith("# Xã Hòa Phú")
    for code in ("1.1", "2.4", "9.1", "12.3", "17.10", "19.2"):
        assert f"| {code} " in md, code


def test_require_sets_the_exit_code():
    ntm("evaluate", GOOD, "--overlay", OVERLAY, "--require", "standard", check=0)
    ntm("evaluate", TWO_SHORT, "--overlay", OVERLAY, "--require", "standard", check=1)
    ntm("evaluate", GOOD, "--require", "standard", check=1)  # indeterminate is not met


def test_json_is_byte_identical_across_hash_seeds_and_locales():
    outs = set()
    for seed, loc in (("0", "C.UTF-8"), ("1", "C.UTF-8"), ("12345", "POSIX"), ("random", "en_US.UTF-8")):
        p = ntm("evaluate", TWO_SHORT, "--overlay", OVERLAY, "-f", "json", "--trace",
                env={"PYTHONHASHSEED": seed, "LC_ALL": loc, "LANG": loc, "PYTHONIOENCODING": "utf-8"}, check=0)
        outs.add(p.stdout)
    assert len(outs) == 1
    trace = json.loads(outs.pop())["engine"]["trace"]
    assert trace[0] == "begin" and "tier|standard|fail|10" in trace


def test_trace_is_the_ordered_engine_firing_list():
    o = outcome(GOOD, "--overlay", OVERLAY, "--trace")
    assert o["engine"]["name"] == "durable-rules" and o["engine"]["version"] == "2.0.28"
    assert o["engine"]["firings"] == len(o["engine"]["trace"])
    trace = o["engine"]["trace"]
    assert "tier|standard|met" in trace
    # chaining order: every standard indicator decision precedes the tier decision that joins them
    assert max(i for i, r in enumerate(trace) if r.startswith("ind|standard|")) < trace.index("tier|standard|met")


def test_version_and_rulesets_commands():
    assert "ntm-rules" in ntm("--version", check=0).stdout
    listing = ntm("rulesets", "list", check=0).stdout
    assert "vn-2021-2025" in listing
    show = ntm("rulesets", "show", "vn-2021-2025", "--region", "ĐNB", "--year", "2024", check=0).stdout
    assert "17.10" in show and "67" in show
    data = json.loads(ntm("rulesets", "show", "vn-2021-2025", "-f", "json", check=0).stdout)
    assert len(data["sha256"]) == 64 and data["ruleset"]["id"] == "vn-2021-2025"
    bad = ntm("rulesets", "show", "vn-2021-2025", "--region", "DNB", check=2)
    assert "did you mean 'ĐNB'" in bad.stderr or "ĐNB" in bad.stderr


def test_output_to_file(tmp_path):
    target = tmp_path / "o.md"
    ntm("evaluate", GOOD, "-f", "markdown", "-o", str(target), check=0)
    assert target.read_text(encoding="utf-8").startswith("# Xã Hòa Phú")


def test_loosening_overlay_is_refused(tmp_path):
    text = Path(OVERLAY).read_text(encoding="utf-8").replace("value: 95", "value: 85")
    bad = tmp_path / "loose.yaml"
    bad.write_text(text, encoding="utf-8")
    p = ntm("evaluate", GOOD, "--overlay", str(bad), check=2)
    assert "looser than the national >= 90" in p.stderr and "loose.yaml:" in p.stderr


def test_overlay_for_another_ruleset_is_refused(tmp_path):
    text = Path(OVERLAY).read_text(encoding="utf-8").replace("ruleset: vn-2021-2025", "ruleset: vn-2016-2020")
    bad = tmp_path / "other.yaml"
    bad.write_text(text, encoding="utf-8")
    p = ntm("evaluate", GOOD, "--overlay", str(bad), check=2)
    assert "overlay is for ruleset 'vn-2016-2020'" in p.stderr


def test_library_api_matches_cli():
    from ntm.engine.evaluate import evaluate_file, to_json

    o = evaluate_file(GOOD, overlay=OVERLAY)
    assert o.tier("standard").status == "met"
    assert to_json(o) == ntm("evaluate", GOOD, "--overlay", OVERLAY, "-f", "json", check=0).stdout


@pytest.mark.parametrize("path", [GOOD, TWO_SHORT, SPECIAL])
def test_every_example_evaluates(path):
    ntm("evaluate", path, check=0)
