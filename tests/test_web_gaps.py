"""The last gaps of the web app (#13): errors in the page's language beside their field, a filled template of
many communes evaluated whole, plans for districts and provinces on the web, batch row errors in one language."""

from __future__ import annotations

import csv
import re
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ntm.web.app import create_app
from ntm.web.config import WebConfig, overlay_entries

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "examples"
OVERLAY = EX / "overlays" / "tinh-minh-hoa.yaml"
SHORT2 = EX / "xa-thieu-hai-tieu-chi.yaml"

# words of English error text; none is a Vietnamese word, an id or a unit
ENGLISH = re.compile(r"\b(the|is|not|expected|unknown|got|must|file|required|number|give|field|row|column|did you "
                     r"mean|choose|upload|valid|outside|larger|already|empty|missing|wrong|too|allowed|no such)\b",
                     re.I)
# Vietnamese letters that English text never has (user data, such as column headers, is left out before checking)
VIETNAMESE = re.compile(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]|\b(cần|nhận được|dòng|cột)\b",
                        re.I)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gaps")
    cfg = WebConfig(register=str(tmp / "reg.sqlite"), overlays=overlay_entries([str(OVERLAY)]), workers=0)
    with TestClient(create_app(cfg)) as c:
        yield c


def text_of(html: str) -> str:
    import html as h

    return h.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def errors_in(html: str) -> list[str]:
    """The texts of the error lists a page shows (beside fields, on top, or on the error page)."""
    out = []
    for m in re.finditer(r'<ul class="(?:field-errors|problems)"[^>]*>(.*?)</ul>', html, re.S):
        out += [text_of(li).strip() for li in re.findall(r"<li>(.*?)</li>", m.group(1), re.S)]
    return out


# ---------------------------------------------------------------- 1. errors in the page's language


FORM = {"ruleset": "vn-2021-2025", "region": "ĐNB", "year": "2024", "level": "commune", "overlay": "",
        "u.code": "99900", "u.name": "Xã Thử", "a.date": "2024-02-30", "f.income_per_capita": "1.234,5",
        "f.multidim_poverty_rate_pct": "abc", "f.commune_culture_house": "maybe"}


def _no_english(msgs):
    assert msgs
    for m in msgs:
        m = re.sub(r"[\w.-]+\.(?:ya?ml|json|csv|xlsx|txt)\b", "", m)  # the user's file names
        assert not ENGLISH.search(m), m


def _no_vietnamese(msgs):
    assert msgs
    for m in msgs:
        m = re.sub(r"\b[A-ZĐ]{2,}\b", "", m.replace("có/không", ""))  # region ids and the literal cell words
        assert not VIETNAMESE.search(m), m


def test_form_errors_are_vietnamese_beside_their_fields(client):
    r = client.post("/form", data=FORM)
    assert r.status_code == 422
    _no_english(errors_in(r.text))
    row = r.text[r.text.index('id="row-multidim_poverty_rate_pct"'):]
    row = row[:row.index('id="row-', 10)]
    assert "cần một số" in text_of(row)  # beside the field it concerns
    date = r.text[r.text.index('id="a-date"'):][:600]
    assert "không phải một ngày" in date


def test_form_errors_are_english_on_the_english_page(client):
    r = client.post("/form?lang=en", data=FORM)
    assert r.status_code == 422
    msgs = errors_in(r.text)
    _no_vietnamese(msgs)
    assert any("expected a number" in m for m in msgs) and any("is not a date" in m for m in msgs)
    client.get("/?lang=vi")


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_upload_and_choice_errors_follow_the_page_language(client, lang, tmp_path):
    q = "?lang=en" if lang == "en" else "?lang=vi"
    check = _no_vietnamese if lang == "en" else _no_english
    bad = tmp_path / "xa-loi.yaml"
    bad.write_text("unit:\n  code: [1,\n", encoding="utf-8")
    cases = [
        client.post("/upload" + q, files={"file": ("xa-loi.yaml", bad.read_bytes())}, data={"ruleset": "auto"}),
        client.post("/upload" + q, files={"file": ("notes.txt", b"hello")}, data={"ruleset": "auto"}),
        client.post("/upload" + q, data={"ruleset": "no-such-ruleset"}),
        client.post("/upload" + q, files={"file": ("x.yaml", SHORT2.read_bytes())},
                    data={"ruleset": "vn-2021-2025", "overlay": "nope"}),
        client.get("/form" + q + "&ruleset=vn-2021-2025&region=XX&year=2024"),
        client.post("/batch" + q, files={"file": ("a.txt", b"x")}),
        client.post("/batch" + q, data={}),
        client.post("/verify" + q, files={"file": ("rec.json", b"not json")}),
        client.get("/no/such/page" + q),
        client.get("/r/0000000000000000deadbeef/report" + q),
    ]
    for r in cases:
        assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
        msgs = errors_in(r.text)
        check(msgs)
    client.get("/?lang=vi")


def test_ruleset_and_overlay_errors_beside_their_field_on_the_home_page(client):
    r = client.post("/upload?lang=vi", files={"file": ("x.yaml", SHORT2.read_bytes())},
                    data={"ruleset": "vn-2021-2025", "overlay": "nope"})
    assert r.status_code == 422 and "máy chủ không có quy định của tỉnh 'nope'" in text_of(r.text)
    r = client.get("/form?lang=vi&ruleset=vn-2021-2025&region=XX&year=2024")
    region = r.text[r.text.index('name="region"'):][:2000]
    assert "vùng 'XX' không có" in text_of(region)


API_CASES = [
    ("/api/v1/evaluate", {"dossier_text": "unit:\n  code: [1,\n", "dossier_name": "xa.yaml"}, 422, None),
    ("/api/v1/evaluate", {"dossier_text": SHORT2.read_text(encoding="utf-8"), "ruleset": "vn-2021"}, 422, "ruleset"),
    ("/api/v1/evaluate", {"dossier_text": SHORT2.read_text(encoding="utf-8"), "overlay": "x"}, 422, "overlay"),
    ("/api/v1/evaluate", {"dossier": {"unit": {"code": "1", "name": "X", "level": "commune", "region": "ĐNB"},
                                      "assessment": {"year": 2024}, "facts": {"income_per_capita": 1e9}}},
     422, "facts.income_per_capita"),
    ("/api/v1/evaluate", {"dosier": {}}, 422, "dosier"),
    ("/api/v1/whatif", {"dossier_text": SHORT2.read_text(encoding="utf-8"), "changes": {"no_such_fact": 1}}, 422,
     "changes.no_such_fact"),
    ("/api/v1/nothing-here", {}, 404, "path"),
]


@pytest.mark.parametrize("lang,how", [("vi", None), ("vi", "header"), ("en", "header"), ("en", "query")])
def test_api_errors_carry_message_field_and_language(client, lang, how):
    for path, body, status, field in API_CASES:
        headers = {"Accept-Language": f"{lang},en;q=0.5" if lang == "vi" else "en-GB,vi;q=0.3"} if how == "header" \
            else {}
        url = path + (f"?lang={lang}" if how == "query" else "")
        r = client.post(url, json=body, headers=headers)
        assert r.status_code == status, (path, r.text)
        doc = r.json()
        assert doc["lang"] == lang and doc["message"] and doc["problems"]
        if field:
            assert any(p.get("field") == field for p in doc["problems"]), doc
        msgs = [doc["message"]] + [p["message"] for p in doc["problems"]]
        msgs += [p[k] for p in doc["problems"] for k in ("expected", "hint") if p.get(k)]
        (_no_english if lang == "vi" else _no_vietnamese)(msgs)


def test_api_too_large_in_the_request_language(tmp_path):
    cfg = WebConfig(register=str(tmp_path / "r.sqlite"), workers=0, max_upload=10_000)
    with TestClient(create_app(cfg)) as c:
        r = c.post("/api/v1/evaluate", content=b"x" * 20_000, headers={"content-type": "application/json"})
        assert r.status_code == 413 and r.json()["lang"] == "vi" and "quá lớn" in r.json()["message"]
        r = c.post("/api/v1/evaluate?lang=en", content=b"x" * 20_000, headers={"content-type": "application/json"})
        assert r.status_code == 413 and "too large" in r.json()["message"]
        assert r.json()["problems"][0]["field"] == "file"


# ---------------------------------------------------------------- 2. a filled template of many communes


def _finished(client, url: str) -> str:
    for _ in range(300):
        page = client.get(url).text
        if 'data-finished="yes"' in page:
            return page
        time.sleep(0.1)
    raise AssertionError("the batch did not finish")


def test_a_filled_template_of_many_rows_evaluates_every_row(client, tmp_path):
    from ntm.batch.run import run_batch

    src = EX / "batch" / "xa-tinh-minh-hoa.csv"
    with open(src, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    small = tmp_path / "ba-xa.csv"
    with open(small, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows[:4])  # the header and three communes
    want = run_batch(str(small), overlay=str(OVERLAY), isolate=False)
    assert want["summary"]["units"] == 3
    r = client.post("/upload?lang=vi", files={"file": ("ba-xa.csv", small.read_bytes())},
                    data={"ruleset": "auto", "overlay": "tinh-minh-hoa"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/batch/")
    page = _finished(client, r.headers["location"] + "/status")
    assert re.search(r'id="n-units">3<', page)
    for tid, counts in want["summary"]["tiers"].items():
        row = re.search(rf'<tr data-tier="{tid}">(.*?)</tr>', page, re.S).group(1)
        nums = [int(x) for x in re.findall(r'class="num">(\d+)<', row)]
        assert nums == [counts["met"], counts["not_met"], counts["indeterminate"]], tid
    for code in [r[0] for r in rows[1:4]]:  # every row is in the downloadable result
        assert code in client.get(r.headers["location"] + "/download?format=json").text


def test_a_filled_template_of_one_row_is_still_one_appraisal(client, tmp_path):
    src = EX / "batch" / "xa-tinh-minh-hoa.csv"
    with open(src, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    one = tmp_path / "mot-xa.csv"
    with open(one, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows[:2])
    r = client.post("/upload", files={"file": ("mot-xa.csv", one.read_bytes())},
                    data={"ruleset": "auto", "overlay": "tinh-minh-hoa"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/r/")
    assert rows[1][0] in client.get(r.headers["location"]).text


# ---------------------------------------------------------------- 4. batch row errors in one language


def _bad_rows_doc(tmp_path):
    import importlib.util

    from ntm.batch.run import run_batch

    spec = importlib.util.spec_from_file_location("test_batch_mod", ROOT / "tests" / "test_batch.py")
    tb = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tb)
    _, rows = tb._small_table([
        ("90002", {"income_per_capita": "abc"}), ("90003", {"multidim_poverty_rate_pct": "150"}), ("", {}),
        ("90005", {"region": "Dong Nam Bo"}), ("90006", {"income_per_capita": "1.234"}),
        ("90007", {"commune_culture_house": "maybe"}), ("90001", {}), ("90010", {"year": "20x4"}),
        ("90011", {"name": ""}), ("90012", {"income_per_capita": "12,3,4"}),
    ])
    return run_batch(tb.write_csv(tmp_path / "t.csv", rows), overlay=str(OVERLAY), isolate=False)


def _strip_headers(text: str, doc) -> str:
    """Column headers are the user's words: left out before looking for the other language."""
    return re.sub(r"(column|cột) \w+", "", text)


def test_batch_row_errors_of_every_kind_are_vietnamese(tmp_path):
    from ntm.batch.outputs import to_csv, to_xlsx
    from ntm.report.batch_html import render
    from ntm.report.words import row_error_text

    doc = _bad_rows_doc(tmp_path)
    assert len(doc["errors"]) >= 9
    vi = [row_error_text(e["reason"], "vi") for e in doc["errors"]]
    _no_english([_strip_headers(v, doc) for v in vi])
    assert all(v.startswith("dòng ") for v in vi)
    out = to_csv(doc, "vi")
    for v in vi:
        assert v in out
    html = render(doc, "vi")
    assert "is outside the valid range" not in html and "this field is required" not in html
    import io

    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(to_xlsx(doc, "vi")))
    cells = [str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value]
    assert "unknown region" not in " ".join(cells) and any("vùng 'Dong Nam Bo' không có" in c for c in cells)


def test_batch_row_errors_are_english_under_lang_en(tmp_path):
    from ntm.report.words import row_error_text

    doc = _bad_rows_doc(tmp_path)
    en = [row_error_text(e["reason"], "en") for e in doc["errors"]]
    _no_vietnamese([_strip_headers(v, doc) for v in en])
    assert any("million VND/person/year" in v for v in en)


def test_an_unknown_row_error_is_not_shown_half_translated():
    from ntm.report.words import row_error_text

    vi = row_error_text("row 4, column X: something new went wrong (expected a thing) — try again", "vi")
    assert vi.startswith("dòng 4, cột X: ") and not ENGLISH.search(vi.replace("cột X", "")), vi


# ---------------------------------------------------------------- 3. plans for a district and a province


def _declared(path: Path, key: str, tmp_path: Path) -> Path:
    """The example with every listed member declared (a dossier sent to the server names no other file)."""
    import datetime as dt

    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for i, m in enumerate(data[key]):
        if m.get("dossier"):
            m.pop("dossier")
            m["status"] = "standard" if i % 2 else "none" if key == "communes" else "standard"
            if m["status"] != "none":
                m["decision"] = {"number": f"{i}/QĐ-UBND", "date": dt.date(2024, 1, i + 1), "issuer": "UBND"}
    out = tmp_path / path.name
    out.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return out


def _cli_plan(path: Path, target: str) -> dict:
    import json

    from typer.testing import CliRunner

    from ntm.cli import app

    r = CliRunner().invoke(app, ["plan", str(path), "--target", target, "--overlay", str(OVERLAY), "-f", "json"])
    assert r.exit_code == 0, r.stdout
    return json.loads(r.stdout)


@pytest.mark.parametrize("example,key,target,kind", [("huyen-vi-du.yaml", "communes", "standard", "district"),
                                                     ("tinh-vi-du.yaml", "districts", "completed", "unit")])
def test_the_planner_takes_district_and_province_dossiers(client, tmp_path, example, key, target, kind):
    import json

    path = _declared(EX / example, key, tmp_path)
    want = _cli_plan(path, target)
    assert want["kind"] == kind
    r = client.post("/upload?lang=vi", files={"file": (path.name, path.read_bytes())},
                    data={"ruleset": "auto", "overlay": "tinh-minh-hoa"}, follow_redirects=False)
    assert r.status_code == 303, text_of(r.text)[:2000]
    url = r.headers["location"]
    page = client.get(url + "/plan")
    assert page.status_code == 200 and f'value="{target}"' in page.text
    r = client.post(url + "/plan", data={"target": target, "fixed": ""})
    assert r.status_code == 200, errors_in(r.text)
    assert 'id="plan-result"' in r.text
    if kind == "district":
        assert 'data-kind="district"' in r.text
        for line in want["plan"]["communes"]:
            assert f'data-code="{line["code"]}" data-status="{line["status"]}"' in r.text
    api = client.post("/api/v1/plan", json={"dossier_text": path.read_text(encoding="utf-8"),
                                            "dossier_name": path.name, "overlay": "tinh-minh-hoa", "target": target})
    assert api.status_code == 200, api.text
    got = api.json()
    assert json.dumps(got["plan"], sort_keys=True) == json.dumps(want["plan"], sort_keys=True)


# ---------------------------------------------------------------- 5. --tier filters the summary too


def _cli(*args) -> str:
    from typer.testing import CliRunner

    from ntm.cli import app

    r = CliRunner().invoke(app, [str(a) for a in args])
    assert r.exit_code == 0, r.stdout
    return r.stdout


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_evaluate_tier_names_no_other_tier_in_any_format(lang):
    import json

    from ntm.engine.evaluate import evaluate_file
    from ntm.report.document import appraisal  # the PDF and DOCX documents are drawn from it
    from ntm.report.html import render

    model = EX / "xa-kieu-mau.yaml"
    args = ["evaluate", model, "--overlay", OVERLAY, "--tier", "standard", "--lang", lang]
    full = json.loads(_cli("evaluate", model, "--overlay", OVERLAY, "-f", "json"))
    assert full["summary"]["highest_tier"] == "model"  # the filter has something to hide
    doc = json.loads(_cli(*args, "-f", "json"))
    kept = {t["id"] for t in doc["tiers"]}
    assert kept == {"standard"}
    assert set(doc["summary"]["tiers_met"]) <= kept and doc["summary"]["highest_tier"] == "standard"
    assert doc["summary"]["recognition"] is None and doc["recognition"] is None
    o = evaluate_file(str(model), overlay=str(OVERLAY), tier="standard")
    others = [t for t in full["tiers"] if t["id"] not in kept] + ([full["recognition"]] if full["recognition"] else [])
    names = [t["label"][lang] for t in others]
    for text in (_cli(*args), _cli(*args, "-f", "markdown"), render(o, lang), repr(appraisal(o, lang))):
        for n in names:
            assert n not in text, n
    html = render(o, lang)
    std = next(t["label"][lang] for t in doc["tiers"] if t["id"] == "standard")
    assert std in html
