"""`ntm serve` in a real browser: Debian's chromium driven by Playwright (no browser download). The test starts the
server on a free loopback port and stops it; it fills the form, uploads a dossier, reads the tiers, runs a
what-if, uploads a batch, and checks that no two text boxes of a result row overlap at 1280 and 390 px."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ntm.engine.evaluate import evaluate_file

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "examples"
OVERLAY = str(EX / "overlays" / "tinh-minh-hoa.yaml")
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed")

# every text box of a row, as the page lays it out: the rectangle of each cell's rendered text (a Range over the
# cell's contents, so text that spills out of its cell is measured where it is drawn)
OVERLAPS_JS = """
(sel) => {
  const out = [];
  const rows = document.querySelectorAll(sel);
  for (const row of rows) {
    const boxes = [];
    for (const cell of row.querySelectorAll(':scope > .cell')) {
      const r = document.createRange();
      r.selectNodeContents(cell);
      for (const rect of r.getClientRects()) {
        if (rect.width > 0.5 && rect.height > 0.5) boxes.push([cell.className, rect]);
      }
    }
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
      const [ci, a] = boxes[i], [cj, b] = boxes[j];
      if (ci === cj) continue;
      const ox = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      const oy = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      if (ox > 1 && oy > 1) out.push(`${row.dataset.indicator || row.dataset.fact}: ${ci} overlaps ${cj}`);
    }
  }
  return {rows: rows.length, overlaps: out};
}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    port = _free_port()
    env = {**os.environ, "NTM_REGISTER": str(tmp / "reg.sqlite")}
    env.pop("NTM_FAULT", None)
    proc = subprocess.Popen([sys.executable, "-m", "ntm", "serve", "--port", str(port), "--overlay", OVERLAY,
                             "--workers", "1"], cwd=tmp, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/api/v1/rulesets", timeout=2)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail("ntm serve exited: " + proc.stderr.read().decode(errors="replace"))
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    pg = ctx.new_page()
    pg.set_default_timeout(20_000)
    yield pg
    ctx.close()


def shots_dir() -> Path:
    d = Path(os.environ.get("NTM_SHOTS") or (Path(os.environ.get("TMPDIR", "/tmp")) / "ntm-web-shots"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def tiers_on(page) -> dict[str, str]:
    return {r.get_attribute("data-tier"): r.get_attribute("data-status")
            for r in page.locator("#tiers tr.tier-row").all()}


def upload_dossier(page, server, path: Path, overlay: bool = True) -> None:
    page.goto(server + "/")
    page.set_input_files("#upload-file", str(path))
    if overlay:
        page.select_option("#upload-overlay", "tinh-minh-hoa")
    page.click("#upload-submit")
    page.wait_for_selector("#tiers")


def test_upload_shows_the_engines_tiers_and_links(page, server):
    path = EX / "xa-thieu-hai-tieu-chi.yaml"
    upload_dossier(page, server, path)
    want = evaluate_file(str(path), overlay=OVERLAY)
    expected = {t.id: t.status for t in want.tiers}
    if want.recognition:
        expected[want.recognition.id] = want.recognition.status
    assert tiers_on(page) == expected
    assert page.locator("#warn-illustrative").is_visible()
    assert page.locator("#warn-provisional").is_visible()
    rows = page.locator("#tier-standard .ind-row")
    assert sorted(r.get_attribute("data-indicator") for r in rows.all()) == ["10", "17.6"]
    assert "còn thiếu 5,8" in page.locator('#tier-standard .ind-row[data-indicator="10"]').inner_text()
    # the same outcome as JSON, byte for byte, and as the printable report
    from ntm.engine.evaluate import to_json

    key = page.url.rstrip("/").rsplit("/", 1)[1]
    with urllib.request.urlopen(f"{server}/r/{key}/json") as r:
        assert r.read() == to_json(want).encode("utf-8")
    href = page.locator("#link-html").get_attribute("href")
    with urllib.request.urlopen(server + href) as r:
        assert "<html" in r.read().decode("utf-8")
    page.screenshot(path=str(shots_dir() / "result-1280.png"))


def test_form_keeps_what_was_typed_and_shows_errors_beside_fields(page, server):
    page.goto(server + "/")
    page.select_option("#ruleset", "vn-2021-2025")
    page.select_option("#overlay", "tinh-minh-hoa")
    page.select_option("#region", "ĐNB")
    page.fill("#year", "2024")
    page.click("#open-form")
    page.wait_for_selector("#dossier-form")
    page.fill("#u-code", "99900")
    page.fill("#u-name", "Xã Thử Nghiệm")
    page.fill("#a-date", "2024-10-20")
    page.fill("#f\\.income_per_capita", "sáu mươi")
    page.fill("#ev\\.income_per_capita", "Báo cáo 12/BC-UBND")
    page.fill("#f\\.multidim_poverty_rate_pct", "61,2")  # a Vietnamese decimal comma is a number
    page.click("#form-submit")
    page.wait_for_selector("#form-errors")
    err = page.locator("#row-income_per_capita .field-errors").inner_text()
    assert "cần một số" in err and "sáu mươi" in err  # the page's language
    assert page.input_value("#f\\.income_per_capita") == "sáu mươi"
    assert page.input_value("#ev\\.income_per_capita") == "Báo cáo 12/BC-UBND"
    assert page.input_value("#u-name") == "Xã Thử Nghiệm"
    assert page.input_value("#f\\.multidim_poverty_rate_pct") == "61,2"
    page.fill("#f\\.income_per_capita", "61,2")
    page.fill("#f\\.multidim_poverty_rate_pct", "150")
    page.click("#form-submit")
    page.wait_for_selector("#form-errors")
    assert "nằm ngoài khoảng hợp lệ" in page.locator("#row-multidim_poverty_rate_pct .field-errors").inner_text()
    assert page.locator("#row-income_per_capita .field-errors").count() == 0
    page.fill("#f\\.multidim_poverty_rate_pct", "1,5")
    page.click("#form-submit")
    page.wait_for_selector("#tiers")
    # the page shows what the engine decides for the same dossier
    import datetime as dt

    from ntm.criteria.yamlsrc import Source
    from ntm.web import service

    data = {"unit": {"level": "commune", "code": "99900", "name": "Xã Thử Nghiệm", "region": "ĐNB", "flags": []},
            "assessment": {"date": dt.date(2024, 10, 20)},
            "facts": {"income_per_capita": {"evidence": {"document": "Báo cáo 12/BC-UBND"}, "value": 61.2},
                      "multidim_poverty_rate_pct": 1.5}}
    want = service.outcome(service.Request(Source(data, {}, "form"), "vn-2021-2025", OVERLAY))
    got = tiers_on(page)
    assert got == {t.id: t.status for t in want.tiers + ([want.recognition] if want.recognition else [])}
    ten = page.locator('#tier-standard .ind-row[data-indicator="10"]')
    assert ten.count() == 1 and "61,2" in ten.inner_text()


def test_whatif_flips_the_tier_immediately(page, server):
    upload_dossier(page, server, EX / "xa-thieu-hai-tieu-chi.yaml")
    page.click("#link-whatif")
    page.wait_for_selector("#whatif-form")
    page.fill("#w\\.income_per_capita", "70")
    row = page.locator('#whatif-tiers tr[data-tier="standard"]')
    row.wait_for()
    assert row.get_attribute("data-after") == "not_met"  # 17.6 still fails
    page.fill("#w\\.solid_waste_treated_pct", "85")
    page.wait_for_selector('#whatif-tiers tr[data-tier="standard"][data-after="met"]')
    assert page.locator('#whatif-tiers tr[data-tier="standard"]').get_attribute("data-before") == "not_met"
    page.fill("#w\\.solid_waste_treated_pct", "abc")
    page.wait_for_selector("#whatif-errors")
    assert "abc" in page.locator("#whatif-errors").inner_text()
    page.screenshot(path=str(shots_dir() / "whatif-1280.png"))


def test_batch_upload_with_progress_and_summary(page, server):
    src = EX / "batch" / "xa-tinh-minh-hoa.csv"
    page.goto(server + "/batch")
    page.set_input_files("#batch-file", str(src))
    page.select_option("#batch-overlay", "tinh-minh-hoa")
    page.click("#batch-submit")
    page.wait_for_selector("#batch-status")
    page.wait_for_selector('#batch-status[data-finished="yes"]', timeout=60_000)
    rows = len(src.read_text(encoding="utf-8").splitlines()) - 1
    assert int(page.inner_text("#n-units")) + int(page.inner_text("#n-errors")) >= 1
    assert int(page.inner_text("#n-units")) == rows
    assert page.locator("figure.chart svg").count() >= 2
    page.screenshot(path=str(shots_dir() / "batch-1280.png"), full_page=True)


@pytest.mark.parametrize("width", [1280, 390])
def test_result_rows_never_overlap(browser, server, width):
    ctx = browser.new_context(viewport={"width": width, "height": 900})
    pg = ctx.new_page()
    try:
        upload_dossier(pg, server, EX / "xa-thieu-hai-tieu-chi.yaml")
        res = pg.evaluate(OVERLAPS_JS, ".ind-row")
        assert res["rows"] > 10
        assert res["overlaps"] == []
        assert pg.evaluate("document.documentElement.scrollWidth") <= width + 1  # no sideways scrolling
        pg.locator("#tier-advanced").screenshot(path=str(shots_dir() / f"result-advanced-{width}.png"))
        pg.goto(pg.url + "?lang=en")
        pg.wait_for_selector("#tiers")
        assert "Standard NTM commune" in pg.inner_text("#tiers")
        assert pg.evaluate(OVERLAPS_JS, ".ind-row")["overlaps"] == []
        pg.goto(server + "/?lang=vi")
    finally:
        ctx.close()
