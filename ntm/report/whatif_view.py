"""Terminal and Markdown views of what-if and compare results: one list of blocks, two renderers."""

from __future__ import annotations

from dataclasses import dataclass

from ntm.engine.compare import CompareResult
from ntm.engine.whatif import ScenarioOut, WhatIfResult
from ntm.report.i18n import fmt_num, w
from ntm.report.words import WHATIF_WORDS as WORDS

MARK = {"met": "✅", "not_met": "❌", "indeterminate": "❔", "pass": "✅", "fail": "❌", "missing": "⏳",
        "not_applicable": "➖", None: "∅"}


def t(key: str, lang: str) -> str:
    vi, en = WORDS[key]
    return en if lang == "en" else vi


def _side(side, lang: str) -> str:
    """A compare side in the view's language (the JSON keeps its own English description)."""
    parts = [f"{w('ruleset', lang).lower()} {side.ruleset or '(' + t('in_force', lang) + ')'}",
             f"{w('overlay', lang).lower()} {side.overlay or t('no_overlay', lang)}"]
    if side.as_of:
        parts.append(f"{t('as_of', lang)} {side.as_of.isoformat()}")
    return ", ".join(parts)


def _compare_summary(r, names, lang: str) -> str:
    from ntm.engine.compare import _LEVEL_WORD

    parts = []
    for c in r.counts:
        lw = _LEVEL_WORD.get(c.level, ("đơn vị", "unit(s)"))[lang == "en"]
        tn = names(c.level, c.tier)
        if c.lost:
            parts.append(f"{c.lost} {lw} mất mức {tn}" if lang == "vi" else f"{c.lost} {lw} lose {tn}")
        if c.gained:
            parts.append(f"{c.gained} {lw} đạt thêm mức {tn}" if lang == "vi" else f"{c.gained} {lw} gain {tn}")
        for n, side in ((c.only_a, "A"), (c.only_b, "B")):
            if n:
                parts.append(f"{n} {lw}: mức {tn} chỉ có theo phía {side}" if lang == "vi"
                             else f"{n} {lw}: tier {tn} exists only under side {side}")
        if c.other_changes:
            parts.append(f"{c.other_changes} {lw} đổi trạng thái khác ở mức {tn}" if lang == "vi"
                         else f"{c.other_changes} {lw} change status otherwise on {tn}")
    if not parts:
        return _L(r.summary, lang)
    if r.units_with_errors:
        parts.append(f"{r.units_with_errors} hồ sơ không đánh giá được ở một phía" if lang == "vi"
                     else f"{r.units_with_errors} dossier(s) could not be evaluated on one side")
    return "; ".join(parts)


@dataclass
class Block:
    kind: str  # "h1" | "h2" | "p" | "table"
    text: str = ""
    headers: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()


def _L(label, lang: str) -> str:
    return label.en if lang == "en" else label.vi


def _st(status, lang: str) -> str:
    if status is None:
        return t("absent", lang)
    return f"{MARK.get(status, '')} {w(status, lang)}".strip()


def _val(v, unit: str, lang: str) -> str:
    if v is None:
        return "∅"
    if isinstance(v, bool):
        return fmt_num(v, lang)
    return fmt_num(v, lang) + ("%" if unit == "%" else f" {unit}")


def _u(c, lang: str) -> str:
    return c.unit_en if lang == "en" else c.unit


def _gap(g, lang: str) -> str:
    return "—" if g is None else fmt_num(g, lang)


def whatif_blocks(r: WhatIfResult, lang: str = "vi") -> list[Block]:
    u = r.unit
    lines = r.baseline.tiers + ([r.baseline.recognition] if r.baseline.recognition else [])
    names = {x.tier: _L(x.label, lang) for x in lines}
    blocks = [Block("h1", f"{u.name} ({u.code}) — {t('whatif', lang)}")]
    head = f"{w('ruleset', lang)}: {r.ruleset.id} ({w('version_in_force', lang)} {r.ruleset.version_in_force})"
    if r.overlay:
        head += f"; {w('overlay', lang)}: {r.overlay.id}" + (f" ({w('illustrative', lang)})" if r.overlay.illustrative else "")
    blocks.append(Block("p", head))
    cols = (w("tier", lang), t("baseline", lang)) + tuple(s.id for s in r.scenarios)
    rows = []
    base_lines = r.baseline.tiers + ([r.baseline.recognition] if r.baseline.recognition else [])
    for k, bl in enumerate(base_lines):
        cells = [_L(bl.label, lang), f"{_st(bl.status, lang)} ({bl.criteria_met}/{bl.criteria_total})"]
        for s in r.scenarios:
            al = (s.after.tiers + ([s.after.recognition] if s.after.recognition else []))[k]
            mark = " ←" if al.status != bl.status else ""
            cells.append(f"{_st(al.status, lang)} ({al.criteria_met}/{al.criteria_total}){mark}")
        rows.append(tuple(cells))
    blocks.append(Block("h2", t("tiers_compare", lang)))
    blocks.append(Block("table", headers=cols, rows=tuple(rows)))
    # criteria that flip in any scenario: one row each, every scenario's status side by side
    flipped: dict[tuple[str, str], dict] = {}
    for s in r.scenarios:
        for f in s.criteria_flipped:
            row = flipped.setdefault((f.tier, f.number), {"name": f.name, "before": f.before})
            row[s.id] = f.after
    if flipped:
        blocks.append(Block("h2", t("criteria_flipped", lang)))
        rows = []
        for (tier, num), row in flipped.items():
            cells = [f"{names.get(tier, tier)} · {num}. {_L(row['name'], lang)}", _st(row["before"], lang)]
            cells += [_st(row.get(s.id, row["before"]), lang) + (" ←" if s.id in row else "") for s in r.scenarios]
            rows.append(tuple(cells))
        blocks.append(Block("table", headers=(w("criterion", lang), t("baseline", lang)) + tuple(s.id for s in r.scenarios),
                            rows=tuple(rows)))
    for s in r.scenarios:
        blocks += _scenario_blocks(s, lang, names)
    return blocks


def _scenario_blocks(s: ScenarioOut, lang: str, names: dict | None = None) -> list[Block]:
    names = names or {}
    blocks = [Block("h2", f"{t('scenario', lang)} {s.id}: {_L(s.label, lang)}")]
    rows = tuple((f"{c.fact} — {_L(c.label, lang)}" + (f" {t('derived', lang)}" if c.derived else ""),
                  _val(c.before, _u(c, lang), lang), _val(c.after, _u(c, lang), lang)) for c in s.changes)
    if rows:
        blocks.append(Block("table", headers=(t("fact", lang), t("before", lang), t("after", lang)), rows=rows))
    if s.tiers_gained:
        blocks.append(Block("p", f"{t('gained', lang)}: {', '.join(names.get(x, x) for x in s.tiers_gained)}"))
    if s.tiers_lost:
        blocks.append(Block("p", f"{t('lost', lang)}: {', '.join(names.get(x, x) for x in s.tiers_lost)}"))
    if not (s.tiers_changed or s.criteria_flipped or s.indicators_changed):
        blocks.append(Block("p", t("no_change", lang)))
        return blocks
    rows = []
    for i in s.indicators_changed:
        detail = "; ".join(
            f"{c.fact}: {_val(c.observed_before, _u(c, lang), lang)} → {_val(c.observed_after, _u(c, lang), lang)}"
            f" ({t('gap', lang)} {_gap(c.gap_before, lang)} → {_gap(c.gap_after, lang)})" for c in i.conditions)
        rows.append((names.get(i.tier, i.tier), f"{i.code} {_L(i.label, lang)}", f"{_st(i.before, lang)} → {_st(i.after, lang)}", detail))
    if rows:
        blocks.append(Block("table", headers=(w("tier", lang), w("indicator", lang), w("result", lang), t("detail", lang)),
                            rows=tuple(rows)))
    return blocks


def compare_blocks(r: CompareResult, lang: str = "vi") -> list[Block]:
    from ntm.report.tierlabels import name, tier_labels

    labels = tier_labels(sorted({s.ruleset for u in r.units for s in (u.a, u.b) if s is not None}))

    def tn(level, tid):
        return name(labels, level, tid, lang)

    varies = WORDS["varies"][r.varies][lang == "en"]
    blocks = [Block("h1", f"{t('compare', lang)} ({varies}): A = {_side(r.a, lang)}; B = {_side(r.b, lang)}"),
              Block("p", f"{t('summary', lang)}: {_compare_summary(r, tn, lang)}")]
    rows = []
    for u in r.units:
        unit_name = f"{u.name} ({u.code})" if u.code else "—"
        if u.error_a or u.error_b:
            side = "A" if u.error_a else "B"
            errs = u.error_a or u.error_b
            more = f" (+{len(errs) - 1})" if len(errs) > 1 else ""
            rows.append((u.path, unit_name, f"{t('error', lang)} ({side}): {errs[0]}{more}"))
        elif not u.changed:
            rows.append((u.path, unit_name, "="))
        else:
            rows.append((u.path, unit_name, "; ".join(f"{tn(u.level, d.tier)}: {_st(d.a, lang)} → {_st(d.b, lang)}"
                                                  for d in u.tiers)))
    blocks.append(Block("table", headers=(t("unit_col", lang), w("unit", lang), t("changed_tiers", lang)),
                        rows=tuple(rows)))
    for u in r.units:
        if not u.changed:
            continue
        blocks.append(Block("h2", f"{u.path} — {u.name} ({u.code}): {t('why', lang)}"))
        rows = []
        for d in u.tiers:
            if not d.why:
                rows.append((tn(u.level, d.tier), "—", _st(d.a, lang), _st(d.b, lang), "", ""))
            for x in d.why:
                rows.append((tn(u.level, d.tier), f"{x.code} {_L(x.label, lang)}", _st(x.a, lang), _st(x.b, lang),
                             ", ".join(x.rule_a) or "∅", ", ".join(x.rule_b) or "∅"))
        blocks.append(Block("table", headers=(w("tier", lang), w("indicator", lang), "A", "B", "A: " + w("threshold", lang),
                                              "B: " + w("threshold", lang)), rows=tuple(rows)))
    dropped = [(u.path, side, ", ".join(s.dropped_facts)) for u in r.units for side, s in (("A", u.a), ("B", u.b))
               if s is not None and s.dropped_facts]
    if dropped:
        blocks.append(Block("h2", t("dropped", lang)))
        blocks.append(Block("table", headers=(t("unit_col", lang), "", t("fact", lang)), rows=tuple(dropped)))
    return blocks


def _md(s: str) -> str:
    """Titles and cells hold user text (unit names, scenario labels): literal Markdown, one line."""
    from ntm.report.inert import md_safe

    return md_safe(s)


def to_markdown(blocks: list[Block]) -> str:
    out: list[str] = []
    for b in blocks:
        if b.kind == "h1":
            out += [f"# {_md(b.text)}", ""]
        elif b.kind == "h2":
            out += [f"## {_md(b.text)}", ""]
        elif b.kind == "p":
            out += [b.text, ""]
        else:
            out.append("| " + " | ".join(_md(h) for h in b.headers) + " |")
            out.append("|" + "---|" * len(b.headers))
            out += ["| " + " | ".join(_md(c) for c in row) + " |" for row in b.rows]
            out.append("")
    return "\n".join(out)


def to_console(blocks: list[Block], con) -> None:
    from rich.table import Table
    from rich.text import Text

    for b in blocks:
        if b.kind == "h1":
            con.print(Text(b.text, style="bold"))
        elif b.kind == "h2":
            con.print()
            con.print(Text(b.text, style="bold underline"))
        elif b.kind == "p":
            con.print(Text(b.text))
        else:
            tab = Table(header_style="bold", show_lines=False)
            for h in b.headers:
                tab.add_column(h)
            for row in b.rows:
                tab.add_row(*[Text(c) for c in row])
            con.print(tab)
