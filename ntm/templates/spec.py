"""What a fillable template says about each fact: label, unit, valid range and the thresholds that apply.

Thresholds come from `resolve` (region, year, flags, overlay), so a template never restates the rules by hand:
an officer sees exactly the numbers the engine will compare the filled values with.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

from ntm.criteria.loader import LoadedRuleset, load_ruleset
from ntm.criteria.model import Fact, Ruleset, Threshold
from ntm.criteria.overlay import LoadedOverlay, load_overlay, merge
from ntm.criteria.resolve import resolve
from ntm.errors import NtmInputError, did_you_mean
from ntm.report.i18n import OPS, fmt_num

# unit columns of a multi-unit sheet (the `ntm batch` input contract)
UNIT_COLUMNS = ("code", "name", "district", "province", "region", "flags", "assessment_date")
# district facts computed from the communes list: never typed in by hand
COMPUTED = {"communes_count", "communes_standard_count", "communes_advanced_count", "communes_model_count"}


@dataclass(frozen=True)
class Need:
    """One condition that tests a fact: which tier/indicator, the operator and the threshold per region."""

    tier: str
    criterion: str
    indicator: str
    op: str
    thresholds: tuple[tuple[str, object, str], ...]  # (region, value or None, provenance status)


@dataclass(frozen=True)
class FactRow:
    fact: Fact
    criterion: str | None  # the first criterion that uses the fact (for grouping)
    criterion_name: str | None
    needs: tuple[Need, ...]
    parts_of: str | None  # this fact is a part of a computed share (km of road, ...)
    tier: str | None = None  # the tier of that criterion


@dataclass(frozen=True)
class Spec:
    ruleset: LoadedRuleset
    overlay: LoadedOverlay | None
    level: str
    regions: tuple[str, ...]
    year: int
    flags: tuple[str, ...]
    rows: tuple[FactRow, ...]


def fold(s: str) -> str:
    """Accent-less, case-less form for hints: 'DNB' and 'dong nam bo' still find ĐNB."""
    s = unicodedata.normalize("NFD", s.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in s if not unicodedata.combining(c)).casefold().strip()


def _years(th: Threshold):
    if th.by_year:
        yield from th.by_year
        for sub in th.by_year.values():
            yield from _years(sub)
    for sub in (th.by_region or {}).values():
        yield from _years(sub)


def default_year(rs: Ruleset) -> int:
    """The latest assessment year the ruleset's year tables cover (deterministic: never today's date)."""
    last = rs.effective.end.year if rs.effective.end else rs.effective.start.year
    years = {y for ls in rs.levels for t in ls.tiers for c in t.criteria for i in c.indicators
             for cond in i.conditions for y in _years(cond.threshold)}
    inside = [y for y in years if rs.effective.start.year <= y <= last]
    return max(inside) if inside else last


def threshold_text(op: str, value, unit: str, lang: str = "vi") -> str:
    if op == "is_true":
        return ("phải đạt (có)" if lang == "vi" else "must be true") if value in (True, None) else "= " + fmt_num(value, lang)
    if value is None:
        return "—"
    v = fmt_num(value if isinstance(value, bool) else _num(value), lang)
    return f"{OPS.get(op, op)} {v}{'%' if unit == '%' else ' ' + unit}"


def _num(d):
    return int(d) if d == d.to_integral_value() else float(d)


def build_spec(ruleset: str, level: str = "commune", region: str | None = None, year: int | None = None,
               flags: tuple[str, ...] = (), overlay: str | None = None) -> Spec:
    """Validate the options and collect, per fact of the level, every condition that tests it."""
    lr = load_ruleset(ruleset)
    rs = lr.ruleset
    levels = [ls.level for ls in rs.levels]
    if level not in levels:
        raise NtmInputError.single(f"ruleset {rs.id} has no criteria for level '{level}'", field="--level",
                                   expected="one of " + ", ".join(levels), hint=did_you_mean(level, levels))
    region_ids = [r.id for r in rs.regions]
    region = unicodedata.normalize("NFC", region.strip()) if region is not None else None
    if region is not None and region not in region_ids:
        labels = {fold(r.label.vi): r.id for r in rs.regions} | {fold(r.label.en): r.id for r in rs.regions}
        labels |= {fold(r.id): r.id for r in rs.regions}
        hint = (f"did you mean '{labels[fold(region)]}'?" if fold(region) in labels
                else did_you_mean(region, region_ids))
        raise NtmInputError.single(f"unknown region '{region}'", field="--region",
                                   expected="one of " + ", ".join(region_ids), hint=hint)
    flag_ids = [f.id for f in rs.unit_flags]
    for fl in flags:
        if fl not in flag_ids:
            raise NtmInputError.single(f"unknown flag '{fl}'", field="--flag", expected="one of " + ", ".join(flag_ids),
                                       hint=did_you_mean(fl, flag_ids))
    lo = load_overlay(overlay, rs) if overlay else None
    if lo is not None and (lo.overlay.facts or lo.overlay.indicators):
        rs = merge(rs, lo.overlay)
        lr = LoadedRuleset(rs, lr.path, lr.sha256)
    if year is None:
        year = default_year(rs)
    elif not 1990 <= year <= 2100:
        raise NtmInputError.single(f"year {year} is out of range", field="--year", expected="1990..2100")
    regions = (region,) if region else tuple(region_ids)
    as_of = dt.date(year, 12, 31)
    resolved = [resolve(rs, level, r, year, tuple(flags), lo, as_of) for r in regions]
    needs: dict[str, list[Need]] = {}
    first: dict[str, tuple[str, str, str]] = {}
    base = resolved[0]
    for ti, tier in enumerate(base.tiers):
        for ci, crit in enumerate(tier.criteria):
            for ii, ind in enumerate(crit.indicators):
                for k, cond in enumerate(ind.conditions):
                    cells = []
                    for r, res in zip(regions, resolved):
                        rc = res.tiers[ti].criteria[ci].indicators[ii].conditions[k]
                        cells.append((r, rc.threshold.value, rc.threshold.provenance.status))
                    needs.setdefault(cond.fact, []).append(
                        Need(tier.id, crit.number, ind.code, cond.op, tuple(cells)))
                    first.setdefault(cond.fact, (crit.number, crit.name.vi, tier.id))
                if ind.applies_if:
                    first.setdefault(ind.applies_if, (crit.number, crit.name.vi, tier.id))
    parts = {}
    for f in rs.facts:
        if f.ratio_of:
            parts[f.ratio_of.numerator] = parts[f.ratio_of.denominator] = f.id
    rows = []
    for f in rs.facts:
        if f.level != level or f.id in COMPUTED:
            continue
        owner = first.get(f.id) or first.get(parts.get(f.id, ""))
        rows.append(FactRow(f, owner[0] if owner else None, owner[1] if owner else None,
                            tuple(needs.get(f.id, ())), parts.get(f.id), owner[2] if owner else None))
    # grouped by criterion (in the order the rules first use them), catalogue order inside a group
    order = {(t, c): k for k, (c, _, t) in enumerate(dict.fromkeys(first.values()))}

    def group(r: FactRow) -> int:
        owner = first.get(r.fact.id) or first.get(r.parts_of or "")
        return order[(owner[2], owner[0])] if owner else len(order)

    rows.sort(key=group)
    return Spec(lr, lo, level, regions, year, tuple(sorted(flags)), tuple(rows))


def range_text(f: Fact, lang: str = "vi") -> str:
    if f.type == "boolean":
        return "có/không (true/false)" if lang == "vi" else "true/false"
    return f"{fmt_num(f.range.min, lang)}..{fmt_num(f.range.max, lang)}"


def needs_text(row: FactRow, region: str, lang: str = "vi") -> str:
    """'standard 10: ≥ 71 triệu đồng/người/năm (tạm tính); advanced 10: ≥ 78,1 …' for one region."""
    out = []
    for n in row.needs:
        for r, value, status in n.thresholds:
            if r != region:
                continue
            th = threshold_text(n.op, value, row.fact.unit, lang)
            tag = {"provisional": " (tạm tính)" if lang == "vi" else " (provisional)",
                   "missing": " (chưa có ngưỡng)" if lang == "vi" else " (no threshold)"}.get(status, "")
            out.append(f"{n.tier} {n.indicator}: {th}{tag}")
    if row.parts_of and not out:
        out.append(f"dùng để tính {row.parts_of}" if lang == "vi" else f"used to compute {row.parts_of}")
    return "; ".join(out)
