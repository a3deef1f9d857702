"""Renderers of outcomes and batch documents. The printable documents are here for every interface (CLI, web):
`render_pdf(outcome, lang) -> bytes` and `render_docx(outcome, lang) -> bytes` (their libraries load on first use)."""


def render_pdf(outcome, lang: str = "vi") -> bytes:
    """The appraisal report of one Outcome as an A4 PDF (fonts embedded, page numbers, signature block)."""
    from ntm.report.pdf import render_pdf as run

    return run(outcome, lang)


def render_docx(outcome, lang: str = "vi") -> bytes:
    """The appraisal report of one Outcome as a Word .docx."""
    from ntm.report.docx import render_docx as run

    return run(outcome, lang)


def render_batch_pdf(doc: dict, lang: str = "vi") -> bytes:
    from ntm.report.pdf import render_batch_pdf as run

    return run(doc, lang)


def render_batch_docx(doc: dict, lang: str = "vi") -> bytes:
    from ntm.report.docx import render_batch_docx as run

    return run(doc, lang)
