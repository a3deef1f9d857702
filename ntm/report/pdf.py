"""The appraisal report (or a batch report) as an A4 PDF a council can sign and file.

Why fpdf2 with a bundled font: it is pure Python from PyPI, so `pip install` alone makes PDFs on a fresh machine
(WeasyPrint needs Debian's pango, Chromium's print-to-PDF a browser); the DejaVu Sans fonts shipped in
ntm/report/fonts cover Vietnamese and are embedded (subset) in every file. The same outcome gives the same bytes:
fixed creation date, no random ids.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ntm.report.document import Block, Document, appraisal, batch, nfc
from ntm.report.words import pick, w

FONTS = Path(__file__).with_name("fonts")
FIXED = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
FILL = {"fail": (255, 235, 238), "not_met": (255, 235, 238), "crit-not_met": (255, 224, 228),
        "crit-met": (240, 244, 240), "crit-indeterminate": (238, 238, 238), "missing": (245, 245, 245),
        "indeterminate": (245, 245, 245)}
HEAD_FILL = (230, 236, 244)


def render_pdf(outcome, lang: str = "vi") -> bytes:
    """The appraisal report of one Outcome as PDF bytes (A4, fonts embedded, page numbers, signature block)."""
    return write(appraisal(outcome, lang))


def render_batch_pdf(doc: dict, lang: str = "vi") -> bytes:
    """The province summary of a batch document as PDF bytes."""
    return write(batch(doc, lang))


def write(d: Document) -> bytes:
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    class Page(FPDF):
        def header(self) -> None:
            self.set_font("DejaVu", "", 7.5)
            self.set_text_color(90, 90, 90)
            half = (self.w - self.l_margin - self.r_margin) / 2
            self.cell(half, 4, nfc(d.header_left)[:90], align="L")
            self.cell(half, 4, nfc(d.header_right)[:90], align="R", new_x="LMARGIN", new_y="NEXT")
            self.set_draw_color(200, 200, 200)
            self.line(self.l_margin, self.get_y() + 0.5, self.w - self.r_margin, self.get_y() + 0.5)
            self.ln(3)
            self.set_text_color(0, 0, 0)

        def footer(self) -> None:
            self.set_y(-11)
            self.set_font("DejaVu", "", 7)
            self.set_text_color(110, 110, 110)
            width = self.w - self.l_margin - self.r_margin
            self.cell(width * 0.8, 4, nfc(d.footer)[:160], align="L")
            self.cell(width * 0.2, 4, pick(("Trang {n}/{{nb}}", "Page {n} of {{nb}}"), d.lang).format(n=self.page_no()),
                      align="R")
            self.set_text_color(0, 0, 0)

    pdf = Page(orientation="P", unit="mm", format="A4")
    pdf.set_margins(12, 12, 12)
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_creation_date(FIXED)
    pdf.set_title(nfc(d.title))
    pdf.set_creator("ntm-rules")
    pdf.set_lang(d.lang)
    pdf.alias_nb_pages()
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    for b in d.blocks:
        _block(pdf, b, d.lang, width, FontFace)
    return bytes(pdf.output())


def _para(pdf, text: str, size: float, bold: bool = False, fill=None, color=(0, 0, 0), h: float | None = None):
    pdf.set_font("DejaVu", "B" if bold else "", size)
    pdf.set_text_color(*color)
    if fill:
        pdf.set_fill_color(*fill)
    pdf.multi_cell(0, h or size * 0.5, nfc(text), fill=bool(fill), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)


def _block(pdf, b: Block, lang: str, width: float, FontFace) -> None:
    if b.kind == "h1":
        _para(pdf, b.text, 14, bold=True, h=7)
        pdf.ln(1)
    elif b.kind == "h2":
        if pdf.get_y() > pdf.h - 40:
            pdf.add_page()
        pdf.ln(2)
        _para(pdf, b.text, 11, bold=True, h=5.5)
        pdf.set_draw_color(180, 180, 180)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
        pdf.ln(1.5)
    elif b.kind == "h3":
        _para(pdf, b.text, 9.5, bold=True)
    elif b.kind == "p":
        _para(pdf, b.text, 8.5, h=4.2)
        pdf.ln(0.5)
    elif b.kind == "note":
        _para(pdf, b.text, 7.5, color=(85, 85, 85), h=3.8)
        pdf.ln(0.5)
    elif b.kind in ("warn", "danger"):
        fill = (255, 243, 224) if b.kind == "warn" else (255, 235, 238)
        _para(pdf, b.text, 8.5, bold=b.kind == "danger", fill=fill, h=4.4)
        pdf.ln(1)
    elif b.kind in ("kv", "table"):
        _table(pdf, b, width, FontFace)
    elif b.kind == "signature":
        _signature(pdf, lang, width)


def _table(pdf, b: Block, width: float, FontFace) -> None:
    size = 8 if b.kind == "kv" else 7
    pdf.set_font("DejaVu", "", size)
    total = sum(b.widths) or 1
    widths = tuple(width * x / total for x in b.widths)
    heading = FontFace(emphasis="BOLD", fill_color=HEAD_FILL)
    pdf.set_fill_color(255, 255, 255)
    with pdf.table(col_widths=widths, width=width, line_height=size * 0.47, text_align="LEFT",
                   first_row_as_headings=bool(b.headers), headings_style=heading, repeat_headings=1,
                   borders_layout="ALL" if b.kind == "table" else "HORIZONTAL_LINES",
                   padding=0.8) as table:
        if b.headers:
            row = table.row()
            for h in b.headers:
                row.cell(nfc(h))
        for i, cells in enumerate(b.rows):
            status = b.status[i] if i < len(b.status) else ""
            fill = FILL.get(status)
            bold = status.startswith("crit-")
            style = FontFace(emphasis="BOLD" if bold else None, fill_color=fill) if (fill or bold) else None
            row = table.row()
            for j, c in enumerate(cells):
                if b.kind == "kv" and j == 0:
                    row.cell(nfc(c), style=FontFace(color=(85, 85, 85)))
                else:
                    row.cell(nfc(c), style=style)
    pdf.ln(1.5)


def _signature(pdf, lang: str, width: float) -> None:
    """The council's block: place and date line, then chair and secretary with room to sign."""
    if pdf.get_y() > pdf.h - 70:
        pdf.add_page()
    pdf.ln(4)
    _para(pdf, w("signatures", lang), 10, bold=True, h=5)
    pdf.ln(1)
    pdf.set_font("DejaVu", "", 8.5)
    place = pick(("……………, ngày …… tháng …… năm ……", "……………, date ……………………"), lang)
    pdf.cell(width, 5, place, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    cols = [w("sign_secretary", lang), w("sign_member", lang), w("sign_chair", lang)]
    cw = width / len(cols)
    y = pdf.get_y()
    for k, name in enumerate(cols):
        pdf.set_xy(pdf.l_margin + k * cw, y)
        pdf.set_font("DejaVu", "B", 9)
        pdf.cell(cw, 5, name.upper() if lang == "vi" else name, align="C")
        pdf.set_xy(pdf.l_margin + k * cw, y + 5)
        pdf.set_font("DejaVu", "", 7.5)
        pdf.cell(cw, 4, w("sign_hint", lang), align="C")
        pdf.set_draw_color(150, 150, 150)
        pdf.line(pdf.l_margin + k * cw + 8, y + 32, pdf.l_margin + (k + 1) * cw - 8, y + 32)
    pdf.set_xy(pdf.l_margin, y + 36)
