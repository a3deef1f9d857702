"""The appraisal report (or a batch report) as a Word .docx a council can edit, sign and file (python-docx).

The same blocks as the PDF (ntm.report.document). A4 portrait, the unit and ruleset in the page header, page
numbers (a PAGE field) in the footer, the council's signature block last. Byte-stable: fixed document dates and
fixed zip entry times, so the same outcome gives the same file.
"""

from __future__ import annotations

import datetime as dt
import io

from ntm.report.document import Block, Document, appraisal, batch, nfc
from ntm.report.words import pick, w

FILL = {"fail": "FFEBEE", "not_met": "FFEBEE", "crit-not_met": "FFE0E4", "crit-met": "F0F4F0",
        "crit-indeterminate": "EEEEEE", "missing": "F5F5F5", "indeterminate": "F5F5F5"}
HEAD_FILL = "E6ECF4"
FIXED = dt.datetime(2000, 1, 1)


def render_docx(outcome, lang: str = "vi") -> bytes:
    """The appraisal report of one Outcome as .docx bytes."""
    return write(appraisal(outcome, lang))


def render_batch_docx(doc: dict, lang: str = "vi") -> bytes:
    """The province summary of a batch document as .docx bytes."""
    return write(batch(doc, lang))


def write(d: Document) -> bytes:
    import docx
    from docx.enum.section import WD_ORIENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt

    doc = docx.Document()
    sec = doc.sections[0]
    sec.orientation = WD_ORIENT.PORTRAIT
    sec.page_width, sec.page_height = Mm(210), Mm(297)
    sec.left_margin = sec.right_margin = Mm(15)
    sec.top_margin, sec.bottom_margin = Mm(15), Mm(15)
    normal = doc.styles["Normal"]
    normal.font.name = "DejaVu Sans"
    normal.font.size = Pt(9)
    _east_asia_font(normal, "DejaVu Sans")
    cp = doc.core_properties
    cp.title = nfc(d.title)
    cp.author = "ntm-rules"
    cp.language = d.lang
    cp.created = cp.modified = FIXED
    cp.last_printed = FIXED
    cp.revision = 1

    head = sec.header.paragraphs[0]
    head.text = nfc(f"{d.header_left}\t\t{d.header_right}")
    _size(head, 7.5)
    foot = sec.footer.paragraphs[0]
    foot.text = nfc(d.footer) + "\t"
    _size(foot, 7)
    _page_field(foot, d.lang)
    foot.alignment = WD_ALIGN_PARAGRAPH.LEFT
    width = sec.page_width - sec.left_margin - sec.right_margin
    for b in d.blocks:
        _block(doc, b, d.lang, width)
    buf = io.BytesIO()
    doc.save(buf)
    from ntm.batch.outputs import _stable_zip

    return _stable_zip(buf.getvalue(), FIXED)


def _east_asia_font(style, name: str) -> None:
    from docx.oxml.ns import qn

    rpr = style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(fonts)
    for k in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(k), name)


def _size(p, pt: float, bold: bool = False) -> None:
    from docx.shared import Pt

    for r in p.runs:
        r.font.size = Pt(pt)
        r.font.bold = bold or None


def _page_field(p, lang: str) -> None:
    """'Trang N/M' with Word's PAGE and NUMPAGES fields."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt

    def field(code: str) -> None:
        run = p.add_run()
        run.font.size = Pt(7)
        for kind, text in (("begin", None), (None, code), ("separate", None), (None, "1"), ("end", None)):
            if kind:
                el = OxmlElement("w:fldChar")
                el.set(qn("w:fldCharType"), kind)
            elif text == code:
                el = OxmlElement("w:instrText")
                el.set(qn("xml:space"), "preserve")
                el.text = f" {code} "
            else:
                el = OxmlElement("w:t")
                el.text = text
            run._r.append(el)

    before, between = ("Trang ", "/") if lang == "vi" else ("Page ", " of ")
    p.add_run(before).font.size = Pt(7)
    field("PAGE")
    p.add_run(between).font.size = Pt(7)
    field("NUMPAGES")


def _shade(cell, color: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tcpr = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), color)
    tcpr.append(shd)


def _repeat_header(row) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    trpr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    trpr.append(el)


def _para(doc, text: str, pt: float, bold: bool = False, color: str | None = None, shade: str | None = None):
    from docx.shared import Pt, RGBColor

    p = doc.add_paragraph()
    run = p.add_run(nfc(text))
    run.font.size = Pt(pt)
    run.font.bold = bold or None
    if color:
        run.font.color.rgb = RGBColor.from_string(color)
    p.paragraph_format.space_after = Pt(3)
    if shade:
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn

        ppr = p._p.get_or_add_pPr()
        shd = OxmlElement("w:shd")
        shd.set(qn("w:val"), "clear")
        shd.set(qn("w:color"), "auto")
        shd.set(qn("w:fill"), shade)
        ppr.append(shd)
    return p


def _block(doc, b: Block, lang: str, width) -> None:
    if b.kind == "h1":
        h = doc.add_heading(nfc(b.text), level=1)
        _size(h, 14, bold=True)
    elif b.kind == "h2":
        h = doc.add_heading(nfc(b.text), level=2)
        _size(h, 11, bold=True)
        h.paragraph_format.keep_with_next = True
    elif b.kind == "h3":
        _para(doc, b.text, 9.5, bold=True)
    elif b.kind == "p":
        _para(doc, b.text, 9)
    elif b.kind == "note":
        _para(doc, b.text, 7.5, color="555555")
    elif b.kind == "warn":
        _para(doc, b.text, 9, shade="FFF3E0")
    elif b.kind == "danger":
        _para(doc, b.text, 9, bold=True, shade="FFEBEE")
    elif b.kind in ("kv", "table"):
        _table(doc, b, width)
    elif b.kind == "signature":
        _signature(doc, lang)


def _table(doc, b: Block, width) -> None:
    from docx.shared import Pt

    ncols = len(b.widths) or (len(b.rows[0]) if b.rows else 1)
    t = doc.add_table(rows=0, cols=ncols)
    t.style = "Table Grid"
    t.autofit = False
    total = sum(b.widths) or 1
    widths = [int(width * x / total) for x in b.widths] or [int(width / ncols)] * ncols
    for j, col in enumerate(t.columns):  # the grid LibreOffice and Word lay out by
        col.width = widths[j]
    size = 8 if b.kind == "kv" else 7
    rows = ([(b.headers, "head")] if b.headers else []) + [
        (r, b.status[i] if i < len(b.status) else "") for i, r in enumerate(b.rows)]
    for cells, status in rows:
        row = t.add_row()
        if status == "head":
            _repeat_header(row)
        for j, text in enumerate(cells[:ncols]):
            c = row.cells[j]
            c.width = widths[j]
            p = c.paragraphs[0]
            run = p.add_run(nfc(text))
            run.font.size = Pt(size)
            run.font.bold = (status == "head" or status.startswith("crit-")) or None
            p.paragraph_format.space_after = Pt(0)
            fill = HEAD_FILL if status == "head" else FILL.get(status)
            if fill:
                _shade(c, fill)
    doc.add_paragraph().paragraph_format.space_after = Pt(2)


def _signature(doc, lang: str) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    h = _para(doc, w("signatures", lang), 10, bold=True)
    h.paragraph_format.keep_with_next = True
    h.paragraph_format.space_before = Pt(12)
    place = _para(doc, pick(("……………, ngày …… tháng …… năm ……", "……………, date ……………………"), lang), 9)
    place.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    place.paragraph_format.keep_with_next = True
    cols = [w("sign_secretary", lang), w("sign_member", lang), w("sign_chair", lang)]
    t = doc.add_table(rows=3, cols=len(cols))
    for j, name in enumerate(cols):
        for i, (text, pt, bold) in enumerate(((name.upper() if lang == "vi" else name, 9, True),
                                              (w("sign_hint", lang), 7.5, False), ("\n\n\n\n", 9, False))):
            p = t.cell(i, j).paragraphs[0]
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            r = p.add_run(text)
            r.font.size = Pt(pt)
            r.font.bold = bold or None
            p.paragraph_format.keep_with_next = i < 2
