"""The HTML report's layout measured in a real headless Chromium (Debian's package): at 1280 px and at 390 px
the observed value, threshold and gap of a failing row stay inside their own cells and apart, badges stay in
their column, and the printed report is A4 and short. Terminal views fit 80 columns."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ntm.engine.evaluate import evaluate_file
from ntm.report import html

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "examples"
OVERLAY = str(EX / "overlays" / "tinh-minh-hoa.yaml")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

# measures text boxes (Range rects: what a reader sees), not cell boxes (a table never overlaps its cells)
PROBE = """<script>
window.addEventListener('load', () => {
  const box = (el) => { const r = document.createRange(); r.selectNodeContents(el);
    const rs = [...r.getClientRects()]; if (!rs.length) return null;
    return {l: Math.min(...rs.map(x => x.left)), r: Math.max(...rs.map(x => x.right)),
            t: Math.min(...rs.map(x => x.top)), b: Math.max(...rs.map(x => x.bottom))}; };
  const cell = (el) => { const r = el.getBoundingClientRect(); return {l: r.left, r: r.right, t: r.top, b: r.bottom}; };
  const rows = [...document.querySelectorAll('table.ind tr.fail')].map(tr => ['obs', 'thr', 'gap'].map(k => {
    const td = tr.querySelector('td.' + k); return {k, text: box(td), cell: cell(td)}; }));
  const badges = [...document.querySelectorAll('td .badge')].map(b => ({b: cell(b), cell: cell(b.closest('td'))}));
  const out = document.createElement('pre'); out.id = 'probe';
  out.textContent = JSON.stringify({rows, badges, width: document.documentElement.scrollWidth,
                                    viewport: window.innerWidth});
  document.body.appendChild(out); });
</script>"""


def _chromium(tmp_path, *args) -> subprocess.CompletedProcess:
    flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
             f"--user-data-dir={tmp_path / 'profile'}"]
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120, check=False)


def _inside(a, b, slack=1.0) -> bool:
    return a["l"] >= b["l"] - slack and a["r"] <= b["r"] + slack and a["t"] >= b["t"] - slack and \
        a["b"] <= b["b"] + slack


def _apart(a, b) -> bool:
    return a["r"] <= b["l"] + 0.5 or b["r"] <= a["l"] + 0.5 or a["b"] <= b["t"] + 0.5 or b["b"] <= a["t"] + 0.5


@pytest.fixture(scope="module")
def short2():
    return evaluate_file(str(EX / "xa-thieu-hai-tieu-chi.yaml"), overlay=OVERLAY)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium package is not installed (apt-get install chromium)")
@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_failing_row_cells_do_not_overlap(tmp_path, short2, width, lang):
    page = html.render(short2, lang).replace("</body>", PROBE + "</body>")
    f = tmp_path / "p.html"
    f.write_text(page, encoding="utf-8")
    r = _chromium(tmp_path, f"--window-size={width},900", "--virtual-time-budget=5000", "--dump-dom", f.as_uri())
    assert r.returncode == 0, r.stderr[-2000:]
    m = re.search(r'<pre id="probe">(.*?)</pre>', r.stdout, re.S)
    assert m, r.stdout[-2000:]
    data = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert data["rows"], "the failing rows were not found"
    for row in data["rows"]:
        for c in row:
            assert c["text"] is not None and _inside(c["text"], c["cell"]), (width, c)  # no text spills out
        for i in range(len(row)):
            for j in range(i + 1, len(row)):
                assert _apart(row[i]["text"], row[j]["text"]), (width, row[i], row[j])
    assert data["badges"] and all(_inside(b["b"], b["cell"]) for b in data["badges"]), width
    assert data["width"] <= data["viewport"] + 1, "the page scrolls sideways"


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium package is not installed (apt-get install chromium)")
def test_printed_report_is_a4_and_compact(tmp_path, short2):
    import pypdf

    f = tmp_path / "p.html"
    f.write_text(html.render(short2, "vi"), encoding="utf-8")
    out = tmp_path / "p.pdf"
    r = _chromium(tmp_path, f"--print-to-pdf={out}", "--no-pdf-header-footer", f.as_uri())
    assert r.returncode == 0 and out.exists(), r.stderr[-2000:]
    pages = pypdf.PdfReader(str(out)).pages
    assert abs(float(pages[0].mediabox.width) - 595.3) < 2 and abs(float(pages[0].mediabox.height) - 841.9) < 2
    assert len(pages) <= 18, len(pages)  # it was 27 Letter pages before the print stylesheet


def _views():
    from ntm.report.terminal import render

    for name in ("xa-thieu-hai-tieu-chi.yaml", "xa-dat-chuan.yaml", "huyen-vi-du.yaml"):
        o = evaluate_file(str(EX / name), overlay=OVERLAY)
        for lang in ("vi", "en"):
            yield f"{name}-{lang}", (lambda c, o=o, lang=lang: render(o, c, lang))


def test_terminal_views_fit_80_columns():
    from rich.console import Console

    from ntm.batch.outputs import render_table
    from ntm.batch.run import run_batch

    doc = run_batch(str(EX / "batch" / "xa-tinh-minh-hoa.csv"), overlay=OVERLAY, jobs=1, isolate=False)
    views = list(_views()) + [(f"batch-{lg}", (lambda c, lg=lg: render_table(doc, c, lg))) for lg in ("vi", "en")]
    for name, draw in views:
        con = Console(record=True, width=80, file=io.StringIO(), highlight=False, markup=False, emoji=False)
        draw(con)
        lines = con.export_text().splitlines()
        assert len(lines) > 10
        long = [x for x in lines if len(x) > 80]
        assert not long, (name, long[:3])


def test_cli_console_is_not_forced_wide():
    from ntm.cli import console

    assert console(80).width == 80 and console(200).width == 200
