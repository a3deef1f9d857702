"""The web pages through the test client: Vietnamese first, English by the switch; forms that keep what was typed
and put the CLI's message beside the field; uploads (dossier, filled template); the printable report; plan;
the register (record, list, show, verify, download)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ntm.engine.evaluate import evaluate_file
from ntm.web.app import create_app
from ntm.web.config import WebConfig, overlay_entries

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "examples"
OVERLAY = EX / "overlays" / "tinh-minh-hoa.yaml"
SHORT2 = EX / "xa-thieu-hai-tieu-chi.yaml"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pages")
    cfg = WebConfig(register=str(tmp / "reg.sqlite"), overlays=overlay_entries([str(OVERLAY)]), workers=0)
    with TestClient(create_app(cfg)) as c:
        yield c


def upload(client, path: Path, overlay: str = "tinh-minh-hoa", **extra):
    with open(path, "rb") as fh:
        return client.post("/upload", files={"file": (path.name, fh.read())},
                           data={"ruleset": "auto", "overlay": overlay, **extra}, follow_redirects=False)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_home_is_vietnamese_and_switches_to_english(client):
    r = client.get("/")
    assert r.status_code == 200 and 'lang="vi"' in r.text and "Mở biểu mẫu hồ sơ" in r.text
    r = client.get("/?lang=en")
    assert 'lang="en"' in r.text and "Open the dossier form" in r.text
    assert r.cookies.get("ntm_lang") == "en" or "ntm_lang=en" in r.headers.get("set-cookie", "")
    assert 'lang="en"' in client.get("/batch").text  # the choice sticks
    client.get("/?lang=vi")
    assert 'lang="vi"' in client.get("/batch").text


def test_no_asset_comes_from_the_internet(client):
    html = client.get("/").text
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html)
    js = client.get("/static/htmx.min.js")
    assert js.status_code == 200 and b"htmx" in js.content[:200]
    assert "default-src 'self'" in client.get("/").headers["content-security-policy"]


def test_form_shows_labels_units_ranges_thresholds_and_evidence_fields(client):
    r = client.get("/form", params={"ruleset": "vn-2021-2025", "region": "ĐNB", "year": "2024",
                                    "overlay": "tinh-minh-hoa"})
    assert r.status_code == 200
    row = re.search(r'id="row-income_per_capita".*?</div>\s*</div>', r.text, re.DOTALL)
    html = r.text[r.text.index('id="row-income_per_capita"'):]
    html = html[:html.index('id="row-', 10)]
    assert "Thu nhập bình quân đầu người" in html and "triệu đồng/người/năm" in html
    assert 'name="ev.income_per_capita"' in html
    from ntm.templates.spec import build_spec

    spec = build_spec("vn-2021-2025", "commune", "ĐNB", 2024, (), str(OVERLAY))
    income = next(x for x in spec.rows if x.fact.id == "income_per_capita")
    need = next(n for n in income.needs if n.tier == "standard")
    value = need.thresholds[0][1]
    from ntm.report.i18n import fmt_num

    assert f"Đạt chuẩn {need.indicator}: ≥ {fmt_num(float(value) if value % 1 else int(value), 'vi')}" in text_of(html)
    assert row is not None


def test_form_errors_beside_the_field_and_nothing_lost(client):
    params = {"ruleset": "vn-2021-2025", "region": "ĐNB", "year": "2024", "level": "commune", "overlay": "",
              "u.code": "99900", "u.name": "Xã Thử", "a.date": "2024-02-30",
              "f.income_per_capita": "1.234,5", "ev.income_per_capita": "BC 1/UBND",
              "f.alley_km": "10", "f.alley_hardened_km": "12"}
    r = client.post("/form", data=params)
    assert r.status_code == 422
    assert 'value="1.234,5"' in r.text and 'value="BC 1/UBND"' in r.text and 'value="Xã Thử"' in r.text
    inc = r.text[r.text.index('id="row-income_per_capita"'):]
    inc = inc[:inc.index('id="row-', 10)]
    assert "không rõ nghĩa hoặc sai dạng" in inc  # the page is Vietnamese, so is the message beside the field
    date = r.text[r.text.index('id="a-date"'):][:600]
    assert "không phải một ngày" in date and "YYYY-MM-DD" in date
    # the next problems are the dossier model's, the same words as the CLI's
    params.update({"f.income_per_capita": "61,2", "a.date": "2024-10-20"})
    r = client.post("/form", data=params)
    assert r.status_code == 422
    alley = r.text[r.text.index('id="row-alley_km"'):]
    assert "lớn hơn" in alley[:3000]


def test_upload_bad_yaml_keeps_choices_and_says_where(client, tmp_path):
    bad = tmp_path / "xa-loi.yaml"
    bad.write_text("unit:\n  code: [1,\n", encoding="utf-8")
    r = upload(client, bad, as_of="2024-12-31")
    assert r.status_code == 422
    assert "xa-loi.yaml:" in r.text and "không phải YAML/JSON hợp lệ" in r.text
    assert 'value="2024-12-31"' in r.text
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    r = upload(client, other)
    assert r.status_code == 422 and "loại tệp không được hỗ trợ" in r.text


def test_result_page_and_its_json_and_printable_versions(client):
    r = upload(client, SHORT2)
    assert r.status_code == 303
    url = r.headers["location"]
    page = client.get(url)
    want = evaluate_file(str(SHORT2), overlay=str(OVERLAY))
    for t in want.tiers:
        assert f'data-tier="{t.id}" data-status="{t.status}"' in page.text
    assert "MINH HỌA" in page.text and "tạm tính" in page.text
    from ntm.engine.evaluate import to_json
    from ntm.report.html import render

    assert client.get(url + "/json").content == to_json(want).encode("utf-8")
    rep = client.get(url + "/report", params={"format": "html", "lang": "en"})
    assert rep.content == render(want, "en").encode("utf-8")
    assert client.get(url + "/report", params={"format": "rtf"}).status_code == 404
    assert client.get("/r/0000000000000000deadbeef").status_code == 404


def test_a_filled_template_of_many_communes_is_evaluated_whole(client):
    r = upload(client, EX / "batch" / "xa-tinh-minh-hoa.csv")
    assert r.status_code == 303 and r.headers["location"].startswith("/batch/")  # every row: tests/test_web_gaps.py


def test_plan_page_with_a_cost_file(client):
    url = upload(client, SHORT2).headers["location"]
    assert "Kế hoạch" in client.get(url + "/plan").text
    costs = (EX / "costs" / "chi-phi-minh-hoa.yaml").read_bytes()
    r = client.post(url + "/plan", data={"target": "standard", "fixed": ""},
                    files={"costs": ("chi-phi.yaml", costs)})
    assert r.status_code == 200
    assert 'id="plan-result"' in r.text and 'data-fact="income_per_capita"' in r.text
    assert 'id="plan-total"' in r.text
    r = client.post(url + "/plan", data={"target": "standard", "fixed": "income_per_capit"})
    assert r.status_code == 422 and "income_per_capita" in r.text


def test_record_register_show_verify_download(client, tmp_path):
    url = upload(client, SHORT2).headers["location"]
    r = client.post(url + "/record", follow_redirects=False)
    assert r.status_code == 303
    entry = r.headers["location"]
    listing = client.get("/register").text
    assert "Xã Tân Lộc" in listing
    shown = client.get(entry, params={"verify": "1"}).text
    assert 'data-status="REPRODUCED"' in shown
    chain = client.get("/register", params={"check": "1"}).text
    assert 'id="chain-ok"' in chain
    rec = client.get(entry + "/download")
    assert rec.headers["content-disposition"].startswith("attachment")
    data = json.loads(rec.content)
    data["outcome"]["summary"]["highest_tier"] = "model"
    v = client.post("/verify", files={"file": ("sua.json", json.dumps(data).encode())})
    assert v.status_code == 200 and 'data-status="TAMPERED"' in v.text
    v = client.post("/verify", files={"file": ("rec.json", b"not json")})
    assert v.status_code == 422 and "rec.json" in v.text


def test_batch_page_rejects_a_non_workbook_and_keeps_choices(client):
    r = client.post("/batch", files={"file": ("a.txt", b"x")}, data={"overlay": "tinh-minh-hoa", "as_of": "2024-05-01"})
    assert r.status_code == 422 and "loại tệp không được hỗ trợ" in r.text and 'value="2024-05-01"' in r.text


def test_whatif_without_scripts_returns_the_whole_page_with_the_values_typed(client):
    url = upload(client, SHORT2).headers["location"]
    page = client.get(url + "/whatif").text
    assert 'name="w.income_per_capita"' in page and 'value="61,2"' in page
    form = {"w.income_per_capita": "70", "w.solid_waste_treated_pct": "85"}
    full = client.post(url + "/whatif", data=form)
    assert 'id="whatif-form"' in full.text and 'value="70"' in full.text
    assert 'data-tier="standard" data-before="not_met" data-after="met"' in full.text
    frag = client.post(url + "/whatif", data=form, headers={"HX-Request": "true"})
    assert 'id="whatif-form"' not in frag.text and 'data-after="met"' in frag.text
    bad = client.post(url + "/whatif", data={"w.income_per_capita": "nhiều"}, headers={"HX-Request": "true"})
    assert 'id="whatif-errors"' in bad.text and "nhiều" in bad.text


def test_result_page_of_a_2026_merged_commune_says_what_is_not_transcribed(client):
    r = upload(client, EX / "merged" / "xa-moi-bo-sung.yaml", overlay="")
    assert r.status_code == 303, r.text[:2000]
    page = client.get(r.headers["location"]).text
    assert 'id="warn-transcription-1"' in page and "0/47" in page
    assert 'id="commune-group"' in page and "Nhóm 2" in page
    assert 'id="merged-status"' in page and "Xã đạt chuẩn nông thôn mới" in page and "A01" in page


def test_form_for_2026_without_a_group_places_it_from_the_facts(client):
    params = {"ruleset": "vn-2026-2030", "region": "", "year": "2026", "level": "commune", "overlay": "",
              "u.code": "T26", "u.name": "Xã Thử", "a.date": "2026-06-30",
              "f.adjacent_existing_urban": "không", "f.oriented_to_urbanise": "không",
              "f.oriented_new_urban_area": "không", "f.agriculture_share_pct": "40", "f.ethnic_mountain_area": "3"}
    r = client.post("/form", data=params, follow_redirects=False)
    assert r.status_code == 303, text_of(r.text)[:1500]
    page = client.get(r.headers["location"]).text
    assert 'id="commune-group"' in page and "g3_ethnic_mountain_area_ii_iii" in page
