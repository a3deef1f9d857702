"""Threshold resolution: the concrete numbers that apply to one unit (region, special rule, year, overlay).

Both the engine compiler and the reference evaluator consume the resolved form, so a decision never depends
on how the YAML happened to be written, and every resolved value still knows where it came from.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from ntm.criteria.model import Citation, Ruleset, Text, Threshold
from ntm.criteria.overlay import LoadedOverlay
from ntm.errors import NtmInputError

QUANTUM = Decimal("0.000001")


@dataclass(frozen=True)
class Provenance:
    status: str  # verified | provisional | missing
    note: str | None
    set_by: str  # national | province
    source: str  # "national" or "overlay <id>"
    verified_by: str | None = None  # who checked the value against the text, when and where (if recorded)
    verified_on: dt.date | None = None
    read_in: str | None = None  # the value's source: document, item, page or URL

    def as_dict(self) -> dict:
        return {"status": self.status, "note": self.note, "set_by": self.set_by, "source": self.source}


@dataclass(frozen=True)
class RThreshold:
    value: Decimal | bool | None
    provenance: Provenance
    reason: str | None = None  # why there is no value


@dataclass(frozen=True)
class RCondition:
    index: int
    fact: str
    op: str
    threshold: RThreshold
    label: Text | None
    citation: Citation  # overlay citation when the value came from an overlay


@dataclass(frozen=True)
class RIndicator:
    tier: str
    criterion: str
    code: str
    label: Text
    unit: str | None
    conditions: tuple[RCondition, ...]
    required: int
    applies_if: str | None
    citation: Citation


@dataclass(frozen=True)
class RCriterion:
    tier: str
    number: str
    name: Text
    indicators: tuple[RIndicator, ...]


@dataclass(frozen=True)
class RTier:
    id: str
    label: Text
    kind: str
    requires: str | None
    region: str
    region_reason: str | None
    citation: Citation
    criteria: tuple[RCriterion, ...]


@dataclass(frozen=True, eq=False)
class Resolved:
    """Everything a decision depends on besides the evidence."""

    ruleset_id: str
    ruleset_version: str
    level: str
    region: str
    year: int
    flags: tuple[str, ...]
    tiers: tuple[RTier, ...]
    overlay_id: str | None = None
    fact_types: dict[str, str] = field(default_factory=dict)
    as_of: dt.date | None = None
    version: str | None = None  # the dated version (amendment) in force on as_of

    def tier(self, tid: str) -> RTier:
        return next(t for t in self.tiers if t.id == tid)


def pick(th: Threshold, region: str, year: int) -> tuple[Threshold | None, str | None]:
    """Walk by_year / by_region to the value cell for this unit; (None, reason) when the table has no cell."""
    cur = th
    while True:
        if cur.by_year is not None:
            if year not in cur.by_year:
                years = sorted(cur.by_year)
                return None, (f"no threshold for assessment year {year} "
                              f"(the table covers {years[0]}–{years[-1]}); it is not borrowed from another year")
            cur = cur.by_year[year]
        elif cur.by_region is not None:
            if region not in cur.by_region:
                return None, f"no threshold for region {region}"
            cur = cur.by_region[region]
        else:
            return cur, None


def applied_region(rs: Ruleset, tier: str, region: str, flags: tuple[str, ...],
                   level: str = "commune") -> tuple[str, str | None]:
    for rule in rs.region_rules:
        if rule.level == level and tier in rule.tiers and any(all(f in flags for f in group) for group in rule.when_flags_any):
            if rule.use_region != region:
                return rule.use_region, f"{rule.id}: {rule.label.vi} ({rule.citation.render()})"
            return region, None
    return region, None


def _quantise(v: Decimal, op: str) -> Decimal:
    """Thresholds are exact to 1e-6; a computed one (a ref times a factor) is rounded in the strict direction."""
    q = v.quantize(QUANTUM, rounding=ROUND_CEILING if op in (">=", ">") else ROUND_FLOOR)
    return q.normalize() if q != q.to_integral_value() else q.to_integral_value()


def _resolve_threshold(rs, th: Threshold, op: str, region: str, year: int, flags, seen, source="national",
                       level: str = "commune") -> RThreshold:
    cell, reason = pick(th, region, year)
    if cell is None:
        return RThreshold(None, Provenance("missing", reason, "national", source), reason)
    if cell.ref is not None:
        ref = cell.ref
        key = (ref.tier, ref.indicator, ref.condition)
        if key in seen:
            raise NtmInputError.single(f"threshold references form a cycle through {ref.tier} {ref.indicator}")
        target_tier = next(t for t in rs.level(level).tiers if t.id == ref.tier)
        target_ind = next(i for c in target_tier.criteria for i in c.indicators if i.code == ref.indicator)
        t_region, _ = applied_region(rs, ref.tier, region, flags, level)
        target = _resolve_threshold(rs, target_ind.conditions[ref.condition].threshold,
                                    target_ind.conditions[ref.condition].op, t_region, year, flags, seen | {key}, source,
                                    level)
        factor = Decimal(str(ref.factor))
        desc = f"{factor} × {ref.tier} {ref.indicator} threshold"
        if target.value is None or isinstance(target.value, bool):
            return RThreshold(None, Provenance("missing", f"{desc}, which has no value: {target.reason}",
                                               target.provenance.set_by, source), f"{desc}: {target.reason}")
        value = _quantise(target.value * factor, op)
        note = f"{desc} ({target.value}): {target.provenance.note or target.provenance.status}"
        return RThreshold(value, Provenance(target.provenance.status, note, target.provenance.set_by, source))
    if cell.value is None:
        reason = ("set by the province (no national value)" if cell.set_by == "province"
                  else "no value known for this threshold")
        return RThreshold(None, Provenance("missing", cell.note, cell.set_by, source), reason)
    value = cell.value if isinstance(cell.value, bool) else Decimal(str(cell.value))
    return RThreshold(value, Provenance(cell.status, cell.note, cell.set_by, source, cell.verified_by,
                                        cell.verified_on, cell.source.render() if cell.source else None))


def in_force(eff, as_of: dt.date | None) -> bool:
    if eff is None or as_of is None:
        return True
    return eff.start <= as_of and (eff.end is None or as_of <= eff.end)


def version_on(rs: Ruleset, as_of: dt.date | None) -> str:
    """The id of the latest dated version starting on or before as_of (the ruleset's own version if none)."""
    if as_of is None or not rs.versions:
        return rs.version
    started = [v for v in rs.versions if v.start <= as_of]
    return max(started, key=lambda v: v.start).id if started else rs.version


_RESOLVED: dict[tuple, tuple[Ruleset, object, Resolved]] = {}
_RESOLVED_MAX = 512


def _epoch(rs: Ruleset, as_of: dt.date) -> tuple:
    """What about as_of matters: which dated tiers, indicators and versions are in force (not the day)."""
    dated = [t.effective for ls in rs.levels for t in ls.tiers if t.effective]
    dated += [i.effective for ls in rs.levels for t in ls.tiers for c in t.criteria for i in c.indicators
              if i.effective]
    return (version_on(rs, as_of),) + tuple(in_force(e, as_of) for e in dated)


def resolve(rs: Ruleset, level: str, region: str, year: int, flags: tuple[str, ...] = (),
            overlay: LoadedOverlay | None = None, as_of: dt.date | None = None) -> Resolved:
    """Memoised: a batch of communes shares a handful of (region, year, flags) variants, each compiled once."""
    if as_of is None:
        as_of = dt.date(year, 12, 31)
    flags = tuple(sorted(set(flags)))
    key = (id(rs), level, region, year, flags, id(overlay), _epoch(rs, as_of))
    hit = _RESOLVED.get(key)
    if hit is not None and hit[0] is rs and hit[1] is overlay:
        res = hit[2]
        if res.as_of == as_of:
            return res
        # same rules in force, another day: share the compiled form, report the day asked for
        return Resolved(res.ruleset_id, res.ruleset_version, res.level, res.region, res.year, res.flags, res.tiers,
                        res.overlay_id, res.fact_types, as_of, res.version)
    res = _resolve(rs, level, region, year, flags, overlay, as_of)
    if len(_RESOLVED) >= _RESOLVED_MAX:
        _RESOLVED.clear()
    _RESOLVED[key] = (rs, overlay, res)
    return res


def _province_fills(overlay: LoadedOverlay | None, level: str, tier: str) -> bool:
    """An overlay that adds indicators to a tier replaces the tier's provincial placeholders (51/2025 Annex II)."""
    return overlay is not None and any(a.level == level and a.tier == tier for a in overlay.overlay.indicators)


def _resolve(rs: Ruleset, level: str, region: str, year: int, flags: tuple[str, ...],
             overlay: LoadedOverlay | None, as_of: dt.date) -> Resolved:
    ls = rs.level(level)
    if ls is None:
        raise NtmInputError.single(f"ruleset {rs.id} has no criteria for level '{level}'", field="unit.level",
                                   expected="one of " + ", ".join(x.level for x in rs.levels))
    applicable = {t.id for t in ls.tiers
                  if all(f in flags for f in t.when_flags) and not any(f in flags for f in t.unless_flags)
                  and in_force(t.effective, as_of)}
    tiers = []
    for t in ls.tiers:
        if t.id not in applicable or (t.requires and t.requires not in applicable):
            continue
        t_region, why = applied_region(rs, t.id, region, flags, level)
        crits = []
        for c in t.criteria:
            inds = []
            for ind in c.indicators:
                if not in_force(ind.effective, as_of):
                    continue
                if ind.provincial_placeholder and _province_fills(overlay, level, t.id):
                    continue
                conds = []
                for k, cond in enumerate(ind.conditions):
                    th = _resolve_threshold(rs, cond.threshold, cond.op, t_region, year, flags, frozenset(),
                                            level=level)
                    citation = ind.citation
                    ov = overlay.override_for(level, t.id, ind.code, k) if overlay else None
                    if ov is not None:
                        local = _resolve_threshold(rs, ov.threshold, cond.op, t_region, year, flags, frozenset(),
                                                   source=f"overlay {overlay.overlay.overlay.id}", level=level)
                        if local.value is not None:
                            th, citation = local, ov.citation
                    conds.append(RCondition(k, cond.fact, cond.op, th, cond.label, citation))
                inds.append(RIndicator(t.id, c.number, ind.code, ind.label, ind.unit, tuple(conds), ind.required,
                                       ind.applies_if.fact if ind.applies_if else None, ind.citation))
            if inds:
                crits.append(RCriterion(t.id, c.number, c.name, tuple(inds)))
        tiers.append(RTier(t.id, t.label, t.kind, t.requires, t_region, why, t.citation, tuple(crits)))
    return Resolved(rs.id, rs.version, level, region, year, flags, tuple(tiers),
                    overlay.overlay.overlay.id if overlay else None,
                    {f.id: f.type for f in rs.facts}, as_of, version_on(rs, as_of))
