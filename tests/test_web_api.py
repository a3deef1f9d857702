"""`ntm serve`'s HTTP API through the framework's test client: the same bytes as the CLI, 4xx errors that say
where and what, token protection, records, batch, and crash/hang isolation of the engine workers."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from ntm.errors import NtmInputError
from ntm.web.app import create_app
from ntm.web.config import WebConfig, overlay_entries

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "examples"
OVERLAY = EX / "overlays" / "tinh-minh-hoa.yaml"
SHORT2 = EX / "xa-thieu-hai-tieu-chi.yaml"


def cli(*args) -> tuple[int, str]:
    from typer.testing import CliRunner

    from ntm.cli import app

    r = CliRunner().invoke(app, [str(a) for a in args])
    if isinstance(r.exception, NtmInputError):
        return 2, r.exception.render()
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise r.exception
    return r.exit_code, r.stdout


def make(tmp_path, **kw) -> TestClient:
    cfg = WebConfig(register=str(tmp_path / "reg.sqlite"), overlays=overlay_entries([str(OVERLAY)]),
                    workers=kw.pop("workers", 0), **kw)
    # these tests compare with the CLI's words (English); tests/test_web_language.py checks the Vietnamese default
    return TestClient(create_app(cfg), headers={"Accept-Language": "en"})


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with make(tmp_path_factory.mktemp("web")) as c:
        yield c


def as_json_mapping(path: Path) -> dict:
    """The dossier as a JSON client sends it (dates as text)."""
    return json.loads(json.dumps(yaml.safe_load(path.read_text(encoding="utf-8")), default=str))


@pytest.mark.parametrize("name,overlay", [("xa-thieu-hai-tieu-chi.yaml", True), ("xa-dat-chuan.yaml", False),
                                          ("xa-kieu-mau.yaml", True), ("xa-2018.yaml", False),
                                          ("xa-dac-biet-kho-khan-dnb.yaml", False)])
def test_evaluate_is_byte_identical_to_the_cli(client, name, overlay):
    args = ["evaluate", EX / name, "--format", "json"] + (["--overlay", OVERLAY] if overlay else [])
    code, want = cli(*args)
    assert code == 0
    extra = {"overlay": "tinh-minh-hoa"} if overlay else {}
    as_text = client.post("/api/v1/evaluate", json={"dossier_text": (EX / name).read_text(encoding="utf-8"),
                                                    "dossier_name": name, **extra})
    assert as_text.status_code == 200, as_text.text
    assert as_text.headers["content-type"].startswith("application/json")
    assert as_text.content == want.encode("utf-8")
    as_obj = client.post("/api/v1/evaluate", json={"dossier": as_json_mapping(EX / name), **extra})
    assert as_obj.status_code == 200, as_obj.text
    assert as_obj.content == want.encode("utf-8")


def test_uploaded_overlay_text_gives_the_same_bytes_as_the_overlay_file(client):
    _, want = cli("evaluate", SHORT2, "--overlay", OVERLAY, "--format", "json")
    r = client.post("/api/v1/evaluate", json={"dossier_text": SHORT2.read_text(encoding="utf-8"),
                                              "overlay_text": OVERLAY.read_text(encoding="utf-8")})
    assert r.status_code == 200
    assert r.content == want.encode("utf-8")


def test_as_of_and_tier_options_match_the_cli(client):
    _, want = cli("evaluate", SHORT2, "--as-of", "2024-12-31", "--tier", "standard", "--format", "json")
    r = client.post("/api/v1/evaluate", json={"dossier_text": SHORT2.read_text(encoding="utf-8"),
                                              "as_of": "2024-12-31", "tier": "standard"})
    assert r.content == want.encode("utf-8")


def problems(r) -> list[dict]:
    body = r.json()
    assert set(body) == {"error", "lang", "message", "problems"} and body["lang"] == "en"
    return body["problems"]


def test_bad_yaml_is_a_422_with_file_and_line(client):
    r = client.post("/api/v1/evaluate", json={"dossier_text": "unit:\n  code: [1,\n", "dossier_name": "xa.yaml"})
    assert r.status_code == 422
    p = problems(r)[0]
    assert p["file"] == "xa.yaml" and isinstance(p["line"], int)
    assert "not valid YAML" in p["message"]


def test_unknown_fact_names_the_field_and_suggests_the_id(client):
    d = as_json_mapping(SHORT2)
    d["facts"]["income_per_capit"] = 70
    r = client.post("/api/v1/evaluate", json={"dossier": d})
    assert r.status_code == 422
    p = next(x for x in problems(r) if x.get("field") == "facts.income_per_capit")
    assert "unknown fact" in p["message"] and "income_per_capita" in p["hint"]
    # the message is the CLI's, word for word
    path = Path(os.environ.get("TMPDIR", "/tmp")) / "ntm-web-api-unknown.yaml"
    path.write_text(yaml.safe_dump(yaml.safe_load(SHORT2.read_text(encoding="utf-8")) | {"facts": d["facts"]},
                                   allow_unicode=True), encoding="utf-8")
    try:
        code, msg = cli("evaluate", path)
    finally:
        path.unlink()
    assert code == 2
    assert f"facts.income_per_capit: {p['message']} — {p['hint']}" in msg


def test_value_out_of_range_says_what_was_expected(client):
    d = as_json_mapping(SHORT2)
    d["facts"]["income_per_capita"] = -5
    r = client.post("/api/v1/evaluate", json={"dossier": d})
    assert r.status_code == 422
    p = next(x for x in problems(r) if x.get("field") == "facts.income_per_capita")
    assert "outside the valid range" in p["message"] and p["expected"]


@pytest.mark.parametrize("body,field,expect", [
    ({"dossier": {"unit": {}}, "ruleset": "vn-2021-2052"}, "ruleset", "vn-2021-2025"),
    ({"dossier_text": "a: 1", "overlay": "tinh-khac"}, "overlay", "tinh-minh-hoa"),
    ({}, "dossier", "either dossier"),
    ({"dossier": {}, "dossier_text": "x"}, "dossier", "either dossier"),
    ({"dossier": {"unit": {}}, "bogus": 1}, "bogus", None),
    ({"dossier": [1, 2]}, "dossier", None),
    ({"dossier": {"unit": {}}, "as_of": "2024-13-45"}, "as_of", None),
])
def test_request_errors_are_422_json_with_the_field(client, body, field, expect):
    r = client.post("/api/v1/evaluate", json=body)
    assert r.status_code == 422, r.text
    ps = problems(r)
    hit = [p for p in ps if p.get("field") == field]
    assert hit, ps
    if expect:
        assert expect in json.dumps(hit, ensure_ascii=False)


def test_malformed_json_body_is_a_422(client):
    r = client.post("/api/v1/evaluate", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert problems(r)


def test_a_district_may_not_name_server_files(client):
    r = client.post("/api/v1/evaluate", json={"dossier_text": (EX / "huyen-vi-du.yaml").read_text(encoding="utf-8"),
                                              "dossier_name": "huyen.yaml"})
    assert r.status_code == 422
    p = problems(r)[0]
    assert p["field"].startswith("communes[") and p["field"].endswith(".dossier")
    assert "cannot refer to commune dossier files" in p["message"]


def test_body_over_the_limit_is_413(tmp_path):
    with make(tmp_path, max_upload=10_000) as c:
        r = c.post("/api/v1/evaluate", json={"dossier_text": "x" * 20_000})
        assert r.status_code == 413
        assert problems(r)[0]["expected"].startswith("at most")


def test_whatif_flips_standard_when_both_gaps_close(client):
    r = client.post("/api/v1/whatif", json={"dossier_text": SHORT2.read_text(encoding="utf-8"), "overlay":
                                            "tinh-minh-hoa", "changes": {"income_per_capita": 70,
                                                                         "solid_waste_treated_pct": 85}})
    assert r.status_code == 200, r.text
    doc = r.json()
    s = doc["scenarios"][0]
    assert "standard" in s["tiers_gained"]
    base = {t["tier"]: t["status"] for t in doc["baseline"]["tiers"]}
    assert base["standard"] == "not_met"
    r = client.post("/api/v1/whatif", json={"dossier_text": SHORT2.read_text(encoding="utf-8"),
                                            "changes": {"no_such_fact": 1}})
    assert r.status_code == 422 and problems(r)[0]["field"] == "changes.no_such_fact"


def test_plan_is_byte_identical_to_the_cli(client):
    costs = EX / "costs" / "chi-phi-minh-hoa.yaml"
    code, want = cli("plan", SHORT2, "--target", "standard", "--overlay", OVERLAY, "--costs", costs, "-f", "json")
    assert code == 0
    r = client.post("/api/v1/plan", json={"dossier_text": SHORT2.read_text(encoding="utf-8"), "overlay":
                                          "tinh-minh-hoa", "target": "standard",
                                          "costs_text": costs.read_text(encoding="utf-8")})
    assert r.status_code == 200, r.text
    assert r.content == want.encode("utf-8")
    assert r.json()["plan"]["verification"]["reaches_target"] is True
    r = client.post("/api/v1/plan", json={"dossier_text": SHORT2.read_text(encoding="utf-8"), "target": "standrd"})
    assert r.status_code == 422


def test_record_then_verify_reproduces_and_an_edit_is_tampered(client):
    r = client.post("/api/v1/record", json={"dossier_text": SHORT2.read_text(encoding="utf-8"),
                                            "overlay": "tinh-minh-hoa"})
    assert r.status_code == 200, r.text
    assert int(r.headers["X-Register-Seq"]) >= 1
    rec = r.json()
    v = client.post("/api/v1/verify", json={"record": rec})
    assert v.status_code == 200 and v.json()["status"] == "REPRODUCED"
    rec["outcome"]["summary"]["highest_tier"] = "model"
    v = client.post("/api/v1/verify", json={"record": rec})
    assert v.json()["status"] == "TAMPERED"


def test_records_are_signed_with_the_council_key(tmp_path):
    from ntm.audit.keys import generate

    priv, pub, _ = generate(str(tmp_path / "council"))
    with make(tmp_path, key=priv, signer="Hội đồng thẩm định (ví dụ)") as c:
        rec = c.post("/api/v1/record", json={"dossier_text": SHORT2.read_text(encoding="utf-8"),
                                             "add_to_register": False}).json()
    assert rec["signature"]["signer"] == "Hội đồng thẩm định (ví dụ)"
    code, out = cli("verify", _write(tmp_path / "r.json", json.dumps(rec, ensure_ascii=False)), "--trusted-key", pub)
    assert code == 0 and "TÁI LẬP ĐÚNG" in out  # verify speaks Vietnamese by default (REPRODUCED with --lang en)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_batch_upload_gives_the_cli_document(client, tmp_path):
    src = EX / "batch" / "xa-tinh-minh-hoa.csv"
    code, want = cli("batch", src, "--overlay", OVERLAY, "--format", "json", "--no-isolation")
    assert code in (0, 1)
    with open(src, "rb") as fh:
        r = client.post("/api/v1/batch", files={"file": ("xa-tinh-minh-hoa.csv", fh, "text/csv")},
                        data={"overlay": "tinh-minh-hoa"})
    assert r.status_code == 200, r.text
    got, exp = r.json(), json.loads(want)
    assert got["input"]["path"] == "xa-tinh-minh-hoa.csv"
    got.pop("input"), exp.pop("input")
    assert got == exp
    r = client.post("/api/v1/batch", files={"file": ("notes.txt", b"hello", "text/plain")})
    assert r.status_code == 422 and problems(r)[0]["field"] == "file"


def test_batch_row_limit(tmp_path):
    src = EX / "batch" / "xa-tinh-minh-hoa.csv"
    with make(tmp_path, max_rows=3) as c, open(src, "rb") as fh:
        r = c.post("/api/v1/batch", files={"file": ("p.csv", fh, "text/csv")}, data={"overlay": "tinh-minh-hoa"})
    assert r.status_code == 422
    p = problems(r)[0]
    assert "this server takes at most 3" in p["message"] and p["file"] == "p.csv"


def test_catalogue_schema_and_openapi(client):
    cat = client.get("/api/v1/rulesets").json()
    assert {"vn-2021-2025", "vn-2016-2020"} <= {r["id"] for r in cat["rulesets"]}
    assert cat["overlays"] == [{"id": "tinh-minh-hoa"}]
    for kind in ("dossier", "outcome", "overlay", "ruleset", "whatif", "plan"):
        _, want = cli("schema", kind)
        assert client.get(f"/api/v1/schema/{kind}").content == want.encode("utf-8")
    spec = client.get("/openapi.json").json()
    for path in ("/api/v1/evaluate", "/api/v1/whatif", "/api/v1/plan", "/api/v1/batch", "/api/v1/verify",
                 "/api/v1/rulesets"):
        assert path in spec["paths"]
    ok = spec["paths"]["/api/v1/evaluate"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "/api/v1/schema/outcome"}
    assert "422" in spec["paths"]["/api/v1/evaluate"]["post"]["responses"]
    # nothing is fetched from the internet: the stock docs pages (CDN scripts) are off
    assert client.get("/docs").status_code == 404


def test_token_protection(tmp_path):
    token = "s3cret-token-for-the-test-0123456789"
    (tmp_path / "tok").write_text(token + "\n")
    from ntm.web.config import read_token

    with make(tmp_path, token=read_token(str(tmp_path / "tok"))) as c:
        body = {"dossier_text": SHORT2.read_text(encoding="utf-8")}
        r = c.post("/api/v1/evaluate", json=body)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert problems(r)[0]["field"] == "Authorization"
        assert c.post("/api/v1/evaluate", json=body, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.post("/api/v1/evaluate", json=body, headers={"Authorization": f"Bearer {token}"}).status_code == 200
        page = c.get("/", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
        assert c.get("/static/style.css").status_code == 200
        bad = c.post("/login", data={"token": "nope", "next": "/"}, follow_redirects=False)
        assert bad.status_code == 401
        good = c.post("/login", data={"token": token, "next": "//evil.example/"}, follow_redirects=False)
        assert good.status_code == 303 and good.headers["location"] == "/"
        assert c.get("/").status_code == 200  # the cookie now carries the token
    (tmp_path / "short").write_text("abc\n")
    with pytest.raises(NtmInputError, match="too short"):
        read_token(str(tmp_path / "short"))


def test_engine_crash_fails_only_its_request(tmp_path, monkeypatch):
    """NTM_FAULT makes the engine worker segfault on unit 99002 (the batch's test hook, read only in workers)."""
    monkeypatch.setenv("NTM_FAULT", "crash:99002")
    ok_text = (EX / "xa-kieu-mau.yaml").read_text(encoding="utf-8")
    with make(tmp_path, workers=1, timeout=120.0) as c:
        r = c.post("/api/v1/evaluate", json={"dossier_text": SHORT2.read_text(encoding="utf-8")})
        assert r.status_code == 500 and r.json()["error"] == "engine_crashed"
        assert "signal 11" in r.json()["message"]
        again = c.post("/api/v1/evaluate", json={"dossier_text": ok_text, "overlay": "tinh-minh-hoa"})
        assert again.status_code == 200
        _, want = cli("evaluate", EX / "xa-kieu-mau.yaml", "--overlay", OVERLAY, "-f", "json")
        assert again.content == want.encode("utf-8")


def test_engine_hang_is_a_504(tmp_path, monkeypatch):
    monkeypatch.setenv("NTM_FAULT", "hang:99002")
    with make(tmp_path, workers=1, timeout=2.0) as c:
        r = c.post("/api/v1/evaluate", json={"dossier_text": SHORT2.read_text(encoding="utf-8")})
        assert r.status_code == 504 and r.json()["error"] == "timeout"


def test_isolated_workers_survive_crashes_and_hangs():
    import time as _time

    from ntm.web.isolation import EngineCrashed, EngineTimeout, Isolated

    iso = Isolated(1, timeout=30.0)
    try:
        assert iso.call(sum, [1, 2, 3]) == 6
        with pytest.raises(EngineCrashed, match="signal 6"):
            iso.call(os.abort)
        assert iso.call(sum, [4, 5]) == 9
        with pytest.raises(EngineTimeout):
            iso.call(_time.sleep, 60, timeout=1.0)
        assert iso.call(sum, [1]) == 1
        assert iso.workers == 1
        with pytest.raises(NtmInputError, match="the message"):
            iso.call(_raise_input_error)
    finally:
        iso.close()


def _raise_input_error():
    raise NtmInputError.single("the message", field="x", expected="y")


def test_cross_site_posts_and_foreign_host_names_are_refused(tmp_path):
    body = {"dossier_text": SHORT2.read_text(encoding="utf-8")}
    with make(tmp_path, allowed_hosts=("127.0.0.1", "localhost")) as c:
        c.base_url = "http://127.0.0.1:8000"
        assert c.post("/api/v1/evaluate", json=body).status_code == 200
        r = c.post("/api/v1/evaluate", json=body, headers={"Origin": "http://evil.example"})
        assert r.status_code == 403 and problems(r)[0]["field"] == "Origin"
        assert c.post("/api/v1/evaluate", json=body, headers={"Origin": "http://127.0.0.1:8000"}).status_code == 200
        assert c.get("/", headers={"Host": "rebound.example"}).status_code == 400


def test_a_page_upload_over_the_limit_is_an_html_page(tmp_path):
    with make(tmp_path, max_upload=10_000) as c:
        r = c.post("/upload", files={"file": ("big.yaml", b"x" * 20_000)})
        assert r.status_code == 413 and "text/html" in r.headers["content-type"]
        assert "giới hạn" in r.text and "limit" not in r.text  # one language: the page's
        r = c.post("/upload?lang=en", files={"file": ("big.yaml", b"x" * 20_000)})
        assert r.status_code == 413 and "the limit is" in r.text and "giới hạn" not in r.text
