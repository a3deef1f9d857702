"""Small inline SVG charts (no JavaScript, no external assets): the HTML report works offline and prints.

Every number is formatted with fixed precision and every label is escaped, so the same data gives the same bytes.
"""

from __future__ import annotations

from html import escape

PALETTE = {"met": "#2e7d32", "not_met": "#c62828", "indeterminate": "#9e9e9e", "standard": "#2e7d32",
           "advanced": "#1565c0", "model": "#6a1b9a", "none": "#bdbdbd", "bar": "#1565c0"}


def _n(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _svg(width: float, height: float, title: str, body: list[str]) -> str:
    return (f'<svg role="img" width="{_n(width)}" height="{_n(height)}" '
            f'viewBox="0 0 {_n(width)} {_n(height)}" font-family="sans-serif" font-size="12">'
            f"<title>{escape(title)}</title>" + "".join(body) + "</svg>")


def hbars(items: list[tuple[str, int]], title: str, *, width: int = 640, color: str = PALETTE["bar"],
          suffix: str = "") -> str:
    """Horizontal bars, one per (label, value): readable with long Vietnamese labels."""
    label_w, row_h, pad = 170, 24, 8
    top = max((v for _, v in items), default=0) or 1
    scale = (width - label_w - 60) / top
    body = []
    for i, (label, value) in enumerate(items):
        y = pad + i * row_h
        w = value * scale
        body.append(f'<text x="{label_w - 6}" y="{_n(y + 15)}" text-anchor="end">{escape(str(label))}</text>')
        body.append(f'<rect x="{label_w}" y="{_n(y + 3)}" width="{_n(w)}" height="16" fill="{color}"/>')
        body.append(f'<text x="{_n(label_w + w + 4)}" y="{_n(y + 15)}">{value}{escape(suffix)}</text>')
    return _svg(width, pad * 2 + row_h * max(len(items), 1), title, body)


def columns(items: list[tuple[str, int]], title: str, *, width: int = 640, height: int = 200,
            color: str = PALETTE["bar"]) -> str:
    """Vertical columns (a histogram over ordered categories, e.g. criteria met 0..19)."""
    left, bottom, top_pad = 30, 24, 16
    n = max(len(items), 1)
    top = max((v for _, v in items), default=0) or 1
    slot = (width - left - 8) / n
    plot_h = height - bottom - top_pad
    body = [(f'<line x1="{left}" y1="{_n(height - bottom)}" x2="{width - 4}" y2="{_n(height - bottom)}" '
             'stroke="#555"/>')]
    for i, (label, value) in enumerate(items):
        h = value / top * plot_h
        x = left + i * slot
        y = height - bottom - h
        body.append(f'<rect x="{_n(x + 2)}" y="{_n(y)}" width="{_n(max(slot - 4, 1))}" height="{_n(h)}" '
                    f'fill="{color}"/>')
        if value:
            body.append(f'<text x="{_n(x + slot / 2)}" y="{_n(y - 3)}" text-anchor="middle">{value}</text>')
        body.append(f'<text x="{_n(x + slot / 2)}" y="{_n(height - 8)}" text-anchor="middle">'
                    f'{escape(str(label))}</text>')
    return _svg(width, height, title, body)


def stacked(rows: list[tuple[str, dict[str, int]]], segments: list[tuple[str, str]], title: str, *,
            width: int = 640) -> str:
    """One horizontal bar per row split into segments (key, legend label), scaled to the row's total."""
    label_w, row_h, pad = 170, 24, 8
    plot_w = width - label_w - 50
    body = []
    x, ly = label_w, 4
    for key, name in segments:  # legend, wrapped onto more lines when the names are long
        step = 24 + 7 * len(name)
        if x + step > width and x > label_w:
            x, ly = label_w, ly + 18
        body.append(f'<rect x="{_n(x)}" y="{ly}" width="12" height="12" fill="{PALETTE.get(key, "#777")}"/>')
        body.append(f'<text x="{_n(x + 16)}" y="{ly + 10}">{escape(name)}</text>')
        x += step
    legend_h = ly + 18
    for i, (label, counts) in enumerate(rows):
        y = legend_h + pad + i * row_h
        total = sum(counts.get(k, 0) for k, _ in segments) or 1
        body.append(f'<text x="{label_w - 6}" y="{_n(y + 15)}" text-anchor="end">{escape(str(label))}</text>')
        x = float(label_w)
        for key, _name in segments:
            v = counts.get(key, 0)
            if not v:
                continue
            w = v / total * plot_w
            body.append(f'<rect x="{_n(x)}" y="{_n(y + 3)}" width="{_n(w)}" height="16" '
                        f'fill="{PALETTE.get(key, "#777")}"><title>{escape(str(label))}: {v}</title></rect>')
            if w >= 16:
                body.append(f'<text x="{_n(x + w / 2)}" y="{_n(y + 15)}" text-anchor="middle" fill="#fff">{v}</text>')
            x += w
        body.append(f'<text x="{_n(label_w + plot_w + 4)}" y="{_n(y + 15)}">{sum(counts.values())}</text>')
    return _svg(width, legend_h + pad * 2 + row_h * max(len(rows), 1), title, body)
