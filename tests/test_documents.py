"""Documents a council can file: the PDF and Word reports (looked at through their text positions, fonts and
pages), and the word catalogue they share with every other renderer."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest

from ntm.engine.evaluate import evaluate_file
from ntm.report import render_docx, render_pdf
from ntm.report import words as W

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "examples"
OVERLAY = str(EX / "overlays" / "tinh-minh-hoa.yaml")
A4 = (595.28, 841.89)


@pytest.fixture(scope="module")
def short2():
    return evaluate_file(str(EX / "xa-thieu-hai-tieu-chi.yaml"), overlay=OVERLAY)


@pytest.fixture(scope="module")
def pdf_vi(short2):
    return render_pdf(short2, "vi")


# ------------------------------------------------------------------------------------------------ words


def test_natural_key_orders_codes_and_never_raises():
    codes = ["4.1b", "17.10", "4.1", "2", "10", "17.6", "4.1c", "4", "17.90"]
    assert sorted(codes, key=W.natural_key) == ["2", "4", "4.1", "4.1b", "4.1c", "10", "17.6", "17.10", "17.90"]
    sorted(["a", "1", "1a", "a1", "1.a.2", "", "x-1"], key=W.natural_key)  # mixed kinds compare without error


def test_terminal_view_sorts_mixed_codes(short2):
    """The table view used to crash (exit 3) on provisional codes '4.1' beside '4.1b'."""
    from rich.console import Console

    from ntm.engine.outcome import ProvisionalUse
    from ntm.report.terminal import render

    tiers = list(short2.tiers)
    extra = [ProvisionalUse(indicator=c, condition=0, threshold=1, note="x") for c in ("4.1b", "4.1", "10")]
    tiers[0] = tiers[0].model_copy(update={"provisional_thresholds": extra, "decided_by_provisional": True})
    o = short2.model_copy(update={"tiers": tiers})
    con = Console(record=True, width=80, file=io.StringIO())
    render(o, con, "en")
    assert "4.1, 4.1b, 10" in con.export_text().replace("\n", " ")


def test_one_number_format_per_language():
    assert W.fmt_num(1234567.5, "vi") == "1.234.567,5" and W.fmt_num(1234567.5, "en") == "1,234,567.5"
    assert W.fmt_num(12000, "vi") == "12.000" and W.fmt_num(0.82, "vi") == "0,82"
    assert W.fmt_num(2 / 3, "en", 2) == "0.67" and W.fmt_num(-1.5, "en", sign=True) == "-1.5"
    assert W.fmt_num(1.5, "en", sign=True) == "+1.5" and W.fmt_num(True, "vi") == "Có"


def test_a_gap_is_never_shown_as_zero():
    assert W.fmt_gap(0.004, "en") == "0.004" and W.fmt_gap(5.8, "vi") == "5,8" and W.fmt_gap(19.873, "en") == "19.87"
    assert "0 million" not in W.gap_phrase(0.0001, ">=", "triệu đồng/người/năm", "en")
    assert W.gap_phrase(0, ">", "%", "en") == "equal to the threshold; must be above it"
    from ntm.engine.outcome import gap_text

    assert gap_text(0.003, ">=", "triệu đồng/người/năm", "million VND/person/year").en == \
        "short by 0.003 million VND/person/year"


def test_shares_are_rounded_to_what_the_threshold_needs():
    assert W.observed_text(93.269231, "%", "vi", 90, ">=") == "93,3%"
    assert W.observed_text(79.996, "%", "en", 80, ">=") == "79.996%"  # never shown as 80 while it fails ≥ 80
    assert W.observed_text(80, "%", "en", 80, ">=") == "80%"
    assert W.observed_text(61.2, "triệu đồng/người/năm", "en") == "61.2 million VND/person/year"


def test_unit_catalogue_agrees_with_the_rulesets():
    import yaml

    for f in (ROOT / "ntm" / "rulesets").glob("*/ruleset.yaml"):
        for fact in yaml.safe_load(f.read_text(encoding="utf-8"))["facts"]:
            if fact.get("unit_en"):
                assert W.UNITS_EN.get(fact["unit"]) == fact["unit_en"], (f.name, fact["id"])


@pytest.mark.parametrize("text,level,want", [("đạt-chuẩn", "commune", "standard"), ("nâng-cao", "commune", "advanced"),
                                             ("kiểu-mẫu", "commune", "model"), ("dat chuan", "district", "standard"),
                                             ("Advanced", "commune", "advanced"), ("model", "commune", "model")])
def test_vietnamese_tier_names_from_the_ruleset_labels(text, level, want):
    from ntm.commands.tiernames import resolve_tier
    from ntm.criteria.loader import load_ruleset

    assert resolve_tier(text, load_ruleset("vn-2021-2025").ruleset, level, "--require") == want


# ------------------------------------------------------------------------------------------------- PDF


def test_pdf_is_a4_with_embedded_fonts_and_bounded_length(pdf_vi, short2):
    import pypdf

    assert pdf_vi[:5] == b"%PDF-" and render_pdf(short2, "vi") == pdf_vi  # byte-stable
    r = pypdf.PdfReader(io.BytesIO(pdf_vi))
    assert 2 <= len(r.pages) <= 10
    for page in r.pages:
        assert abs(float(page.mediabox.width) - A4[0]) < 1 and abs(float(page.mediabox.height) - A4[1]) < 1
        fonts = page["/Resources"]["/Font"]
        for ref in fonts.values():
            font = ref.get_object()
            desc = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            assert "/FontFile2" in desc and "DejaVu" in str(font["/BaseFont"])  # embedded TrueType subset


def test_pdf_pages_have_header_page_number_and_signature_block(pdf_vi, short2):
    import pdfplumber

    with pdfplumber.open(io.BytesIO(pdf_vi)) as pdf:
        n = len(pdf.pages)
        for i, page in enumerate(pdf.pages, start=1):
            top = page.crop((0, 0, page.width, 40)).extract_text() or ""
            bottom = page.crop((0, page.height - 40, page.width, page.height)).extract_text() or ""
            assert short2.unit.name in top and short2.ruleset.id in top, top
            assert f"Trang {i}/{n}" in bottom, bottom
            for ch in page.chars:  # nothing drawn outside the page's margins
                assert ch["x0"] >= 25 and ch["x1"] <= page.width - 25, ch["text"]
        last = pdf.pages[-1].extract_text()
        assert "CHỦ TỊCH HỘI ĐỒNG" in last and "THƯ KÝ" in last and "(ký, ghi rõ họ tên)" in last


def test_pdf_failing_row_cells_do_not_overlap(pdf_vi):
    """The observed value, threshold and gap of the failing income indicator sit side by side, left to right."""
    import pdfplumber

    with pdfplumber.open(io.BytesIO(pdf_vi)) as pdf:
        for page in pdf.pages:
            words = page.extract_words()
            obs = [w for w in words if w["text"] == "61,2"]
            if not obs:
                continue
            row = obs[0]
            same = [w for w in words if abs(w["top"] - row["top"]) < 3]
            thr = next(w for w in same if w["text"] == "67")
            gap = next(w for w in same if w["text"] == "thiếu")
            assert row["x1"] < thr["x0"] and thr["x1"] < gap["x0"], (row, thr, gap)
            return
    pytest.fail("the failing income row was not found")


def test_pdf_in_english_and_for_a_batch(short2, tmp_path):
    import pypdf

    en = " ".join(" ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(render_pdf(short2, "en"))).pages)
                  .split())
    assert "APPRAISAL REPORT" in en and "Page 1 of" in en and "short by 5.8 million VND/person/year" in en
    from ntm.cli import app
    from typer.testing import CliRunner

    out = tmp_path / "b.pdf"
    r = CliRunner().invoke(app, ["report", str(EX / "batch" / "xa-tinh-minh-hoa.csv"), "--overlay", OVERLAY,
                                 "-f", "pdf", "-o", str(out)], env={"NTM_PROJECT": "none", "SOURCE_DATE_EPOCH": "0"})
    assert r.exit_code == 0, r.output
    text = " ".join(" ".join(p.extract_text() for p in pypdf.PdfReader(str(out)).pages).split())
    for s in ("TỔNG HỢP ĐÁNH GIÁ", "vn-2021-2025", "MINH HỌA", "ngưỡng tạm tính", "Ngày lập", "1970-01-01",
              "Tỉnh Minh Họa", "dòng 8"):
        assert s in text, s
    assert out.stat().st_mode & 0o644 == 0o644


PDFTOPPM = shutil.which("pdftoppm")


@pytest.mark.skipif(PDFTOPPM is None, reason="pdftoppm (poppler-utils) is not installed")
def test_pdf_pages_render_to_images(pdf_vi, tmp_path):
    (tmp_path / "r.pdf").write_bytes(pdf_vi)
    subprocess.run([PDFTOPPM, "-r", "40", "-png", str(tmp_path / "r.pdf"), str(tmp_path / "p")], check=True,
                   timeout=120)
    pngs = sorted(tmp_path.glob("p-*.png"))
    assert len(pngs) >= 2 and all(p.read_bytes()[:4] == b"\x89PNG" and p.stat().st_size > 5000 for p in pngs)


# ------------------------------------------------------------------------------------------------ DOCX


def test_docx_structure(short2):
    import docx

    data = render_docx(short2, "vi")
    assert data == render_docx(short2, "vi")  # byte-stable
    d = docx.Document(io.BytesIO(data))
    sec = d.sections[0]
    assert abs(sec.page_width.mm - 210) < 1 and abs(sec.page_height.mm - 297) < 1
    assert short2.unit.name in sec.header.paragraphs[0].text and "vn-2021-2025" in sec.header.paragraphs[0].text
    assert "PAGE" in sec.footer._element.xml and "NUMPAGES" in sec.footer._element.xml
    cells = [c.text for t in d.tables for row in t.rows for c in row.cells]
    assert "còn thiếu 5,8 triệu đồng/người/năm" in cells and "CHỦ TỊCH HỘI ĐỒNG" in cells
    head = d.tables[2].rows[0]
    assert "w:tblHeader" in head._tr.xml  # the indicator table repeats its header row on every page


SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed")
def test_docx_opens_in_libreoffice(short2, tmp_path):
    import pypdf

    src = tmp_path / "r.docx"
    src.write_bytes(render_docx(short2, "vi"))
    r = subprocess.run([SOFFICE, "--headless", f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}",
                        "--convert-to", "pdf", "--outdir", str(tmp_path), str(src)], capture_output=True, text=True,
                       timeout=300, check=False)
    out = tmp_path / "r.pdf"
    if not out.exists() and "could not be loaded" in r.stdout + r.stderr:
        pytest.skip("LibreOffice Writer is not installed (apt-get install libreoffice-writer)")
    assert out.exists(), r.stdout + r.stderr
    pages = pypdf.PdfReader(str(out)).pages
    text = "\n".join(p.extract_text() for p in pages)
    assert 2 <= len(pages) <= 10 and short2.unit.name in text and "Trang 1/" in text
