"""`ntm report`: self-contained HTML/Markdown reports of one unit or a batch, checked in a real headless Chromium."""

from __future__ import annotations

import copy
import csv
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ntm.engine.evaluate import evaluate, evaluate_file, gather, to_json
from ntm.errors import NtmInputError
from ntm.report import batch_html, batch_md, html

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "examples"
OVERLAY = str(EX / "overlays" / "tinh-minh-hoa.yaml")
HOSTILE = "<script>alert(1)</script>"
EXTERNAL = re.compile(r"""(?:src|href|url)\s*[=(]\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


def run(*args):
    """In-process CLI; returns (exit code, output); an NtmInputError is exit 2 as main() makes it."""
    from typer.testing import CliRunner

    from ntm.cli import app

    r = CliRunner().invoke(app, list(args))
    if isinstance(r.exception, NtmInputError):
        return 2, r.exception.render()
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise r.exception
    return r.exit_code, r.output


@pytest.fixture(scope="module")
def short2():
    """The commune short of two criteria, with the illustrative overlay (provisional + illustrative warnings)."""
    return evaluate_file(str(EX / "xa-thieu-hai-tieu-chi.yaml"), overlay=OVERLAY)


def batch_doc(outcomes, errors=(), compare=None) -> dict:
    """A "ntm-batch/1" document built from real engine outcomes (the shape `ntm batch --format json` writes)."""
    units, tiers_sum, districts = [], {}, {}
    for row, o in enumerate(outcomes, start=2):
        tiers = {t.id: t.status for t in o.tiers}
        units.append({
            "row": row, "code": o.unit.code, "name": o.unit.name, "district": o.unit.district, "region": o.unit.region,
            "status": "ok", "highest_tier": o.summary.highest_tier, "tiers": tiers,
            "criteria": {t.id: {"met": t.criteria_met, "total": t.criteria_total, "unmet": t.unmet_criteria,
                                "undecided": t.undecided_criteria} for t in o.tiers},
            "failed_indicators": {t.id: [i.code for c in t.criteria for i in c.indicators if i.status == "fail"]
                                  for t in o.tiers},
            "decided_by_provisional": o.summary.decided_by_provisional})
        for tid, st in tiers.items():
            tiers_sum.setdefault(tid, {"met": 0, "not_met": 0, "indeterminate": 0})[st] += 1
        d = districts.setdefault(o.unit.district, {"district": o.unit.district, "units": 0, "tiers": {}, "_met": []})
        d["units"] += 1
        d["_met"].append(o.tier("standard").criteria_met)
        for tid, st in tiers.items():
            d["tiers"][tid] = d["tiers"].get(tid, 0) + (st == "met")
    n = len(units)
    for x in tiers_sum.values():
        x["pct"] = round(100 * x["met"] / n, 2)
    met = [u["criteria"]["standard"]["met"] for u in units]
    bands = {"19": 0, "15-18": 0, "10-14": 0, "5-9": 0, "<5": 0}
    for m in met:
        bands["19" if m == 19 else "15-18" if m >= 15 else "10-14" if m >= 10 else "5-9" if m >= 5 else "<5"] += 1
    ds = []
    for d in districts.values():
        ms = d.pop("_met")
        ds.append({**d, "avg_criteria_met": round(sum(ms) / len(ms), 2)})
    return {
        "schema": "ntm-batch/1", "input": "tinh.csv",
        "ruleset": {"id": outcomes[0].ruleset.id, "version": outcomes[0].ruleset.version,
                    "sha256": outcomes[0].ruleset.sha256},
        "overlay": None, "units": units, "errors": list(errors),
        "summary": {"units": n + len(errors), "evaluated": n, "errors": len(errors), "tiers": tiers_sum,
                    "bands": bands, "avg_criteria_met": round(sum(met) / n, 2),
                    "most_failed_criteria": [{"tier": "standard", "number": "10", "name": {"vi": "Thu nhập",
                                                                                          "en": "Income"}, "count": 1}],
                    "most_failed_indicators": [{"tier": "standard", "code": "17.6",
                                                "label": {"vi": "Chất thải rắn", "en": "Solid waste"}, "count": 1}],
                    "priority": [{"code": "99002", "name": "Xã Tân Lộc (ví dụ)", "tier": "standard",
                                  "missing_criteria": ["10", "17"], "distance": 2}],
                    "districts": ds},
        "compare": compare,
    }


@pytest.fixture(scope="module")
def batch(short2):
    others = [evaluate_file(str(EX / f), overlay=OVERLAY)
              for f in ("xa-dat-chuan.yaml", "xa-kieu-mau.yaml", "xa-dac-biet-kho-khan-dnb.yaml")]
    errors = [{"row": 9, "code": "99999", "file": None, "reason": f"row 9, column income_per_capita: {HOSTILE}"}]
    return batch_doc([short2, *others], errors)


# ---------------------------------------------------------------------------------------------- commune HTML

def test_commune_html_has_every_criterion_values_and_warnings(short2):
    page = html.render(short2)
    assert page.startswith("<!DOCTYPE html>") and '<html lang="vi">' in page
    for tier in short2.tiers:
        for cr in tier.criteria:
            assert f'id="tier-{tier.id}-c{cr.number}"' in page, (tier.id, cr.number)
            for ind in cr.indicators:
                assert f"<b>{ind.code}</b>" in page
    assert 'id="provisional-warning"' in page and "ngưỡng tạm tính" in page
    assert 'id="illustrative"' in page and "MINH HỌA" in page
    income = next(c for cr in short2.tier("standard").criteria for i in cr.indicators for c in i.conditions
                  if c.fact == "income_per_capita")
    assert income.gap_text.vi in page and income.citation.text in page
    assert "Báo cáo 118/BC-UBND" in page  # the evidence reference
    assert short2.ruleset.sha256 in page and short2.overlay.sha256 in page
    assert "Thiếu minh chứng" in page  # advanced tier: missing evidence list


def test_english_labels(short2):
    vi, en = html.render(short2, "vi"), html.render(short2, "en")
    assert '<html lang="en">' in en and "Appraisal report" in en and "Legal basis" in en
    assert "Báo cáo thẩm định" not in en and "Căn cứ" not in en
    assert "Căn cứ" in vi
    code, out = run("report", str(EX / "xa-dat-chuan.yaml"), "--lang", "en")
    assert code == 0 and "Appraisal report" in out


def test_hostile_text_is_escaped(tmp_path):
    d = yaml.safe_load((EX / "xa-thieu-hai-tieu-chi.yaml").read_text(encoding="utf-8"))
    d["unit"]["name"] = HOSTILE
    d["unit"]["district"] = '"><img src=x onerror=alert(2)>'
    d["facts"]["income_per_capita"]["evidence"]["document"] = HOSTILE
    p = tmp_path / "hostile.yaml"
    p.write_text(yaml.safe_dump(d, allow_unicode=True), encoding="utf-8")
    code, page = run("report", str(p))
    assert code == 0
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_deterministic_and_same_from_outcome_json(tmp_path, short2):
    a = html.render(short2)
    assert a == html.render(evaluate_file(str(EX / "xa-thieu-hai-tieu-chi.yaml"), overlay=OVERLAY))
    oj = tmp_path / "o.json"
    oj.write_text(to_json(short2), encoding="utf-8")
    out1, out2 = tmp_path / "a.html", tmp_path / "b.html"
    assert run("report", str(oj), "-o", str(out1))[0] == 0
    assert run("report", str(EX / "xa-thieu-hai-tieu-chi.yaml"), "--overlay", OVERLAY, "-o", str(out2))[0] == 0
    assert out1.read_bytes() == out2.read_bytes() == a.encode("utf-8")
    assert not EXTERNAL.search(a) and "<script" not in a and "@import" not in a


def test_recognition_conditions_shown_separately():
    inp = gather(str(EX / "xa-dat-chuan.yaml"), overlay=OVERLAY)
    o = evaluate(inp, extra={"no_construction_debt": False})
    assert o.tier("standard").status == "met" and o.summary.recognition == "not_met"  # the premise
    page = html.render(o)
    assert 'id="recognition-needed"' in page and "để được công nhận còn cần" in page
    ok = html.render(evaluate(inp))
    assert 'id="recognition-needed"' not in ok


def test_district_html_shows_who_holds_it_back():
    o = evaluate_file(str(EX / "huyen-vi-du.yaml"), overlay=OVERLAY)
    page = html.render(o)
    back = [c for c in o.communes if c.holding_back]
    assert back and 'id="holding-back"' in page
    for c in o.communes:
        assert c.code in page
    assert all(c.name in page.split('id="holding-back"')[1] for c in back)


def test_markdown_format(short2, tmp_path):
    oj = tmp_path / "o.json"
    oj.write_text(to_json(short2), encoding="utf-8")
    code, out = run("report", str(oj), "-f", "md")
    assert code == 0 and out.startswith("# ") and "| 10 Thu nhập" in out


# ------------------------------------------------------------------------------------------------ batch

def test_batch_html_contains_counts_charts_and_errors(batch, tmp_path):
    p = tmp_path / "batch.json"
    p.write_text(json.dumps(batch, ensure_ascii=False), encoding="utf-8")
    code, page = run("report", str(p))
    assert code == 0
    s = batch["summary"]
    assert re.search(rf'id="card-units"><b>{s["units"]}</b>', page)
    assert re.search(rf'id="card-evaluated"><b>{s["evaluated"]}</b>', page)
    assert re.search(rf'id="card-errors"><b>{s["errors"]}</b>', page)
    met = s["tiers"]["standard"]["met"]
    assert re.search(rf"<td>Đạt chuẩn NTM</td><td class=\"num\">{met}</td>", page)
    assert page.count("<svg") >= 3  # bands, histogram, districts (+ most failed)
    for u in batch["units"]:
        assert u["code"] in page
    for d in s["districts"]:
        assert d["district"] in page
    assert "<script" not in page  # a Vietnamese page shows an unknown reason as a Vietnamese message
    code, en = run("report", str(p), "--lang", "en")
    assert code == 0 and "&lt;script&gt;" in en and "<script" not in en  # the error reason, as recorded, is escaped
    assert 'id="trend"' not in page
    assert not EXTERNAL.search(page)
    assert page == batch_html.render(json.loads(p.read_text(encoding="utf-8")))  # deterministic


def test_batch_trend_section_and_english(batch):
    doc = copy.deepcopy(batch)
    doc["compare"] = {"previous": "2023.json", "avg_criteria_delta": 0.75,
                      "gained": [{"code": "99001", "name": "Xã Hòa Phú (ví dụ)", "tier": "standard"}],
                      "lost": [], "tiers_delta": {"standard": 1, "advanced": 0, "model": -1}}
    page = batch_html.render(doc, "en")
    assert 'id="trend"' in page and "2023.json" in page and "+0.75" in page and "Gained (1)" in page
    assert "Units" in page and "Số đơn vị" not in page
    md = batch_md.render(doc)
    assert "## So sánh với lần trước" in md and "+0,75" in md


def test_batch_renderers_survive_missing_keys():
    for doc in ({"schema": "ntm-batch/1"}, {"schema": "ntm-batch/1", "units": [{"code": "1"}], "summary": {
            "tiers": {"standard": {}}, "districts": [{}], "priority": [{}], "most_failed_criteria": [{}]}}):
        assert "<h1>" in batch_html.render(doc)
        assert batch_md.render(doc).startswith("# ")


def test_batch_markdown(batch):
    md = batch_md.render(batch)
    assert f"- Số đơn vị: {batch['summary']['units']}" in md
    assert "| Đạt chuẩn NTM |" in md and "<script" not in md
    en = batch_md.render(batch, "en")  # the reason as recorded (a Vietnamese page says it in Vietnamese)
    assert "&lt;script&gt;" in en and "<script" not in en


def test_bad_report_inputs(tmp_path):
    p = tmp_path / "x.json"
    p.write_text('{"schema": "ntm-other/9"}', encoding="utf-8")
    assert run("report", str(p))[0] == 2
    p.write_text('{"schema": "ntm-outcome/1", "unit": 3}', encoding="utf-8")
    assert run("report", str(p))[0] == 2
    r = subprocess.run([sys.executable, "-m", "ntm", "report", str(tmp_path / "nope.yaml")], capture_output=True,
                       text=True, timeout=60, check=False)
    assert r.returncode == 2 and "no such file" in r.stderr and "Traceback" not in r.stderr


def test_officer_flow_template_to_batch_report(tmp_path):
    """Fill the sheet template, then one command gives the province report (needs `ntm batch`)."""
    pytest.importorskip("ntm.batch.run", reason="ntm batch is not installed")
    from ntm.templates.spec import build_spec
    from ntm.templates.writers import to_csv

    rows = list(csv.reader(io.StringIO(to_csv(build_spec("vn-2021-2025", "commune", None, 2024)))))
    head = rows[0]
    data = []
    for i, ex in enumerate(["xa-thieu-hai-tieu-chi.yaml", "xa-dat-chuan.yaml"] * 3):
        d = yaml.safe_load((EX / ex).read_text(encoding="utf-8"))
        vals = {"code": f"{d['unit']['code']}{i}", "name": d["unit"]["name"], "district": d["unit"]["district"],
                "region": d["unit"]["region"], "year": "2024"}
        for k, v in d["facts"].items():
            v = v["value"] if isinstance(v, dict) else v
            vals[k] = ("có" if v else "không") if isinstance(v, bool) else str(v)
        data.append([vals.get(h, "") for h in head])
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows + data)
    src = tmp_path / "tinh.csv"
    src.write_text(buf.getvalue(), encoding="utf-8")
    out = tmp_path / "tinh.html"
    code, msg = run("report", str(src), "-r", "vn-2021-2025", "--overlay", OVERLAY, "-o", str(out))
    assert code == 0, msg
    page = out.read_text(encoding="utf-8")
    assert 'id="card-units"><b>6</b>' in page and 'id="card-errors"><b>0</b>' in page
    assert re.search(r"<td>Xã đạt chuẩn nông thôn mới</td><td class=\"num\">3</td>", page)  # the ruleset label


# ------------------------------------------------------------------------------------------------ Chromium

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium package is not installed (apt-get install chromium)")
@pytest.mark.parametrize("kind", ["commune", "batch"])
def test_page_renders_in_headless_chromium(tmp_path, kind, short2, batch):
    page = html.render(short2) if kind == "commune" else batch_html.render(batch)
    assert not EXTERNAL.search(page)
    f = tmp_path / f"{kind}.html"
    f.write_text(page, encoding="utf-8")
    flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
             f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", f.as_uri()], capture_output=True, text=True, timeout=60,
                         check=False)
    assert dom.returncode == 0, dom.stderr[-2000:]
    if kind == "commune":
        assert "Xã Tân Lộc (ví dụ)" in dom.stdout and 'id="provisional-warning"' in dom.stdout
        assert 'id="tier-standard-c19"' in dom.stdout
    else:
        assert 'id="card-units"' in dom.stdout and "<svg" in dom.stdout and "Huyện Ví Dụ" in dom.stdout
    shot = tmp_path / f"{kind}.png"
    r = subprocess.run([CHROMIUM, *flags, f"--screenshot={shot}", "--window-size=1280,2000", "--hide-scrollbars",
                        f.as_uri()], capture_output=True, text=True, timeout=60,
                         check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
