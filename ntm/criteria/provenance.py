"""`ntm rulesets provenance`: which thresholds are verified, provisional or missing — the transcription to-do list.

The unit counted is one *threshold*: one condition of one indicator. Its status is the weakest of its cells
(every region/year value it holds): missing < provisional < verified. A threshold defined by reference (319:
model income = 1.1 × advanced) has the status of what it refers to. The to-do list names each cell that is not
verified, grouped by status and note, with the document it must be checked against.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ntm.criteria.model import Ruleset, Threshold, _walk_thresholds, iter_indicators

STATUSES = ("verified", "provisional", "missing")
_RANK = {s: i for i, s in enumerate(STATUSES)}


@dataclass(frozen=True)
class Cell:
    where: str  # "" for a single value, else "ĐBSH" / "2024 ĐBSH"
    value: object  # number, true, None, or "1.1 × standard 10" for a reference
    status: str
    note: str | None
    set_by: str
    verified_by: str | None = None
    verified_on: str | None = None


@dataclass(frozen=True)
class Item:
    level: str
    tier: str
    criterion: str
    code: str
    condition: int
    fact: str
    op: str
    status: str  # the weakest cell
    cells: tuple[Cell, ...]
    citation: str
    document: str  # the document's number and date, as the ruleset lists it


def _weakest(statuses) -> str:
    return max(statuses, key=lambda s: _RANK[s], default="missing")


def _cells(rs: Ruleset, level: str, th: Threshold, seen: frozenset = frozenset()) -> list[Cell]:
    out = []
    for loc, node in _walk_thresholds(th, ()):
        if node.by_region is not None or node.by_year is not None:
            continue
        where = " ".join(str(p) for p in loc if p not in ("by_region", "by_year"))
        if node.ref is not None:
            r = node.ref
            desc = f"{r.factor} × {r.tier} {r.indicator}"
            target = _ref_target(rs, level, r)
            key = (r.tier, r.indicator, r.condition)
            if target is None or key in seen:
                out.append(Cell(where, desc, "missing", "reference to a missing threshold", "national"))
                continue
            status = _weakest(c.status for c in _cells(rs, level, target, seen | {key}))
            out.append(Cell(where, desc, status, f"follows {r.tier} {r.indicator}: verify that threshold", "national"))
            continue
        out.append(Cell(where, node.value, node.status or "missing", node.note, node.set_by, node.verified_by,
                        node.verified_on.isoformat() if node.verified_on else None))
    return out


def _ref_target(rs: Ruleset, level: str, ref) -> Threshold | None:
    ls = rs.level(level)
    tier = next((t for t in ls.tiers if t.id == ref.tier), None) if ls else None
    ind = next((i for c in tier.criteria for i in c.indicators if i.code == ref.indicator), None) if tier else None
    if ind is None or ref.condition >= len(ind.conditions):
        return None
    return ind.conditions[ref.condition].threshold


def items(rs: Ruleset) -> list[Item]:
    """Every threshold of the ruleset with its provenance, in ruleset order."""
    docs = {d.id: f"{d.number} ({d.date})" for d in rs.documents}
    out = []
    for _, ls, t, c, ind in iter_indicators(rs):
        for k, cond in enumerate(ind.conditions):
            cells = tuple(_cells(rs, ls.level, cond.threshold))
            out.append(Item(ls.level, t.id, c.number, ind.code, k, cond.fact, cond.op,
                            _weakest(x.status for x in cells), cells, ind.citation.render(),
                            docs.get(ind.citation.document, ind.citation.document)))
    return out


def counts(its: list[Item]) -> list[dict]:
    """Per (level, tier), in ruleset order: how many thresholds are verified / provisional / missing."""
    table: dict[tuple[str, str], dict] = {}
    for it in its:
        row = table.setdefault((it.level, it.tier), {"level": it.level, "tier": it.tier, "verified": 0,
                                                     "provisional": 0, "missing": 0, "total": 0,
                                                     "missing_set_by_province": 0})
        row[it.status] += 1
        if it.status == "missing" and all(c.set_by == "province" for c in it.cells if c.status == "missing"):
            row["missing_set_by_province"] += 1  # not a transcription gap: the province fills it (overlay)
        row["total"] += 1
    return list(table.values())


def todo(its: list[Item], status: str | None = None) -> list[dict]:
    """Rows of the to-do list: one per threshold and (status, note) group of its cells that are not verified."""
    rows = []
    for it in its:
        groups: dict[tuple, list[Cell]] = {}
        for cell in it.cells:
            if cell.status == "verified" or (status and cell.status != status):
                continue
            groups.setdefault((cell.status, cell.note or "", cell.set_by), []).append(cell)
        for (st, note, set_by), cells in groups.items():
            rows.append({"level": it.level, "tier": it.tier, "criterion": it.criterion, "indicator": it.code,
                         "condition": it.condition, "fact": it.fact, "op": it.op, "status": st, "set_by": set_by,
                         "values": [{"where": c.where, "value": c.value} for c in cells],
                         "note": note or None, "citation": it.citation, "document": it.document})
    return rows


def verifiers(its: list[Item]) -> list[dict]:
    """Verified values (cells written in the ruleset, not references) per person who checked them, most first;
    `verified_by: null` counts the values marked verified without naming who checked them."""
    table: dict[str | None, dict] = {}
    for it in its:
        for c in it.cells:
            if c.status != "verified" or " × " in str(c.value):
                continue
            row = table.setdefault(c.verified_by, {"verified_by": c.verified_by, "values": 0, "thresholds": set(),
                                                   "last_on": None})
            row["values"] += 1
            row["thresholds"].add((it.level, it.tier, it.code, it.condition))
            if c.verified_on and (row["last_on"] is None or c.verified_on > row["last_on"]):
                row["last_on"] = c.verified_on
    out = [{**r, "thresholds": len(r["thresholds"])} for r in table.values()]
    return sorted(out, key=lambda r: (r["verified_by"] is None, -r["values"], r["verified_by"] or ""))


def report(rs: Ruleset, status: str | None = None) -> dict:
    its = items(rs)
    rows = counts(its)
    total = {k: sum(r[k] for r in rows) for k in (*STATUSES, "total", "missing_set_by_province")}
    return {"ruleset": {"id": rs.id, "version": rs.version}, "counts": rows, "totals": total,
            "verifiers": verifiers(its), "todo": todo(its, status)}


def to_json(rep: dict) -> str:
    return json.dumps(rep, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n"


LABELS = {
    "level": ("Cấp", "Level"), "tier": ("Mức", "Tier"), "verified": ("Đã đối chiếu", "Verified"),
    "provisional": ("Tạm tính", "Provisional"), "missing": ("Thiếu", "Missing"), "total": ("Tổng", "Total"),
    "indicator": ("Chỉ tiêu", "Indicator"), "status": ("Tình trạng", "Status"), "values": ("Giá trị", "Values"),
    "check": ("Đối chiếu với", "Check against"), "note": ("Ghi chú", "Note"),
    "counts": ("Số ngưỡng theo tình trạng nguồn", "Thresholds by provenance"),
    "todo": ("Việc cần làm: ngưỡng cần đối chiếu hoặc còn thiếu", "To do: thresholds to check or still missing"),
    "province": ("do tỉnh quy định", "set by the province"),
    "missing_set_by_province": ("trong đó tỉnh quy định", "of which set by province"), "unknown": ("chưa rõ", "unknown"),
    "verifiers": ("Giá trị đã đối chiếu theo người đối chiếu", "Verified values by who checked them"),
    "verified_by": ("Người đối chiếu", "Verified by"), "values_n": ("Số giá trị", "Values"),
    "thresholds_n": ("Số ngưỡng", "Thresholds"), "last_on": ("Lần gần nhất", "Latest"),
    "not_named": ("(không ghi tên)", "(not named)"),
}


def _l(key: str, lang: str) -> str:
    vi, en = LABELS[key]
    return en if lang == "en" else vi


def _values(row: dict, lang: str) -> str:
    parts = []
    for v in row["values"]:
        val = v["value"]
        if val is None:
            val = _l("province" if row["set_by"] == "province" else "unknown", lang)
        elif val is True:
            val = "Đạt" if lang == "vi" else "Met"
        parts.append(f"{v['where']} {val}".strip())
    return "; ".join(parts)


def _status_word(s: str, lang: str) -> str:
    return _l(s, lang)


_COLS = ("verified", "provisional", "missing", "missing_set_by_province", "total")


def render_markdown(rep: dict, lang: str = "vi") -> str:
    L = lambda k: _l(k, lang)
    rs = rep["ruleset"]
    out = [f"# {rs['id']} v{rs['version']} — {L('counts')}", "",
           f"| {L('level')} | {L('tier')} | " + " | ".join(L(c) for c in _COLS) + " |",
           "|---|---|" + "---:|" * len(_COLS)]
    for r in rep["counts"]:
        out.append(f"| {r['level']} | {r['tier']} | " + " | ".join(str(r[c]) for c in _COLS) + " |")
    t = rep["totals"]
    out.append(f"| **{L('total')}** | | " + " | ".join(f"**{t[c]}**" for c in _COLS) + " |")
    out += ["", f"## {L('verifiers')}", "",
            f"| {L('verified_by')} | {L('values_n')} | {L('thresholds_n')} | {L('last_on')} |", "|---|---:|---:|---|"]
    for v in rep["verifiers"]:
        out.append(f"| {(v['verified_by'] or L('not_named')).replace('|', chr(92) + '|')} | {v['values']} | "
                   f"{v['thresholds']} | {v['last_on'] or ''} |")
    out += ["", f"## {L('todo')} ({len(rep['todo'])})", "",
            f"| {L('level')} | {L('tier')} | {L('indicator')} | {L('status')} | {L('values')} | {L('check')} | {L('note')} |",
            "|---|---|---|---|---|---|---|"]
    for r in rep["todo"]:
        cells = [r["level"], r["tier"], f"{r['indicator']} ({r['fact']})", _status_word(r["status"], lang),
                 _values(r, lang), f"{r['citation']} — {r['document']}", r["note"] or ""]
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(out) + "\n"


def render_table(rep: dict, console, lang: str = "vi") -> None:
    from rich.table import Table

    L = lambda k: _l(k, lang)
    rs = rep["ruleset"]
    t = Table(title=f"{rs['id']} v{rs['version']} — {L('counts')}", box=None, header_style="bold", pad_edge=False)
    cols = _COLS
    t.add_column(L("level"))
    t.add_column(L("tier"))
    for col in cols:
        t.add_column(L(col), justify="right")
    for r in rep["counts"]:
        t.add_row(r["level"], r["tier"], *(str(r[c]) for c in cols))
    t.add_row(L("total"), "", *(str(rep["totals"][c]) for c in cols))
    console.print(t)
    console.print()
    v = Table(title=L("verifiers"), box=None, header_style="bold", pad_edge=False)
    v.add_column(L("verified_by"))
    for col in ("values_n", "thresholds_n"):
        v.add_column(L(col), justify="right")
    v.add_column(L("last_on"))
    for r in rep["verifiers"]:
        v.add_row(r["verified_by"] or L("not_named"), str(r["values"]), str(r["thresholds"]), r["last_on"] or "")
    console.print(v)
    console.print()
    console.print(f"{L('todo')} ({len(rep['todo'])})")
    for r in rep["todo"]:  # one line per item: a table this wide wraps unreadably in a terminal
        console.print(f"- {r['level']}/{r['tier']} {r['indicator']} ({r['fact']}) [{_status_word(r['status'], lang)}]: "
                      f"{_values(r, lang)} — {L('check')}: {r['citation']} — {r['document']}"
                      + (f" — {r['note']}" if r["note"] else ""))


