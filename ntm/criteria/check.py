"""`ntm rulesets check`: every problem in a ruleset or overlay at once, each with file:line, for rule authors.

The loader stops a bad ruleset at the door; an author fixing one needs the whole list, plus the things that are
legal but suspicious (a fact nothing tests, a region table with a hole). Errors make a ruleset unusable or
wrong; warnings are worth a look. Schema and cross-reference checks are the loader's own (`validate`,
`consistency_errors`, the overlay loader), so `check` never accepts what loading would refuse.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field

from ntm.criteria.model import (
    Ruleset,
    Threshold,
    _walk_thresholds,
    consistency_errors,
    iter_indicators,
)
from ntm.criteria.validation import field_path, validate
from ntm.criteria.yamlsrc import Source, parse, read_text
from ntm.errors import NtmInputError, Problem, did_you_mean

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Finding:
    severity: str  # error | warning
    message: str
    file: str
    line: int | None = None
    field: str | None = None
    hint: str | None = None

    def render(self) -> str:
        where = self.file + (f":{self.line}" if self.line is not None else "")
        text = f"{where}: {self.severity}: " + (f"{self.field}: " if self.field else "") + self.message
        return text + (f" ({self.hint})" if self.hint else "")

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class CheckReport:
    path: str
    kind: str  # ruleset | overlay
    findings: list[Finding] = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    base: str | None = None  # an overlay's base ruleset id

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]

    def sorted(self) -> list[Finding]:
        return sorted(self.findings, key=lambda f: (f.line or 0, f.severity, f.field or "", f.message))

    def summary(self) -> str:
        counts = ", ".join(f"{v} {k}" for k, v in self.stats.items())
        if self.errors:
            return f"FAILED: {len(self.errors)} error(s), {len(self.warnings)} warning(s) in {self.path}"
        head = "OK" if not self.warnings else f"OK with {len(self.warnings)} warning(s)"
        on = f" on {self.base}" if self.base else ""
        return f"{head}: {self.kind} {self.path}{on}: {counts}"

    def to_json(self) -> str:
        doc = {"path": self.path, "kind": self.kind, "base": self.base, "ok": not self.errors, "errors": len(self.errors),
               "warnings": len(self.warnings), "stats": self.stats,
               "findings": [f.as_dict() for f in self.sorted()]}
        return json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def _from_problem(p: Problem, path: str, severity: str = ERROR) -> Finding:
    msg = p.message + (f" (expected {p.expected})" if p.expected else "")
    return Finding(severity, msg, p.file or path, p.line, p.field, p.hint)


def _at(src: Source, severity: str, loc: tuple, msg: str, hint: str | None = None) -> Finding:
    return Finding(severity, msg, src.path, src.line_of(loc), field_path(loc) or None, hint)


def resolve_path(ref: str) -> str:
    """A shipped ruleset id, a ruleset folder, or a file."""
    from ntm.criteria.loader import shipped_paths

    shipped = shipped_paths()
    if ref in shipped:
        return shipped[ref]
    if os.path.isdir(ref) and os.path.isfile(os.path.join(ref, "ruleset.yaml")):
        return os.path.join(ref, "ruleset.yaml")
    if os.path.exists(ref):
        return ref
    raise NtmInputError.single(f"no shipped ruleset '{ref}' and no such file", field="PATH",
                               expected="a ruleset id (" + ", ".join(shipped) + "), a ruleset or overlay file",
                               hint=did_you_mean(ref, shipped))


def check(ref: str, base_ruleset: str | None = None) -> CheckReport:
    """Check a ruleset (id, folder or file) or an overlay file (top-level key `overlay:`)."""
    path = resolve_path(ref)
    try:
        src = parse(read_text(path), path)
    except NtmInputError as e:  # not readable as YAML at all: nothing else can be checked
        return CheckReport(path, "ruleset", [_from_problem(p, path) for p in e.problems])
    if isinstance(src.data, dict) and "overlay" in src.data:
        return check_overlay(src, base_ruleset)
    return check_ruleset(src)


# ---- rulesets ----------------------------------------------------------------------------------------------

def check_ruleset(src: Source) -> CheckReport:
    rep = CheckReport(src.path, "ruleset")
    try:
        rs = validate(Ruleset, src)
    except NtmInputError as e:
        rep.findings += [_from_problem(p, src.path) for p in e.problems]
        return rep
    rep.findings += [_at(src, ERROR, loc, msg, _hint(rs, msg)) for loc, msg in consistency_errors(rs)]
    rep.findings += [_at(src, sev, loc, msg, hint) for sev, loc, msg, hint in ruleset_lint(rs)]
    rep.stats = ruleset_stats(rs)
    return rep


_UNKNOWN = re.compile(r"unknown (fact|region|document|unit flag|tier) '([^']*)'")


def _hint(rs: Ruleset, msg: str) -> str | None:
    """A did-you-mean for the cross-reference errors of consistency_errors (which name the unknown id)."""
    m = _UNKNOWN.search(msg)
    if not m:
        return None
    kind, word = m.groups()
    choices = {"fact": [f.id for f in rs.facts], "region": [r.id for r in rs.regions],
               "document": [d.id for d in rs.documents], "unit flag": [f.id for f in rs.unit_flags],
               "tier": [t.id for ls in rs.levels for t in ls.tiers]}[kind]
    return did_you_mean(word, choices)


def ruleset_stats(rs: Ruleset) -> dict:
    inds = list(iter_indicators(rs))
    return {"facts": len(rs.facts), "levels": len(rs.levels), "tiers": sum(len(ls.tiers) for ls in rs.levels),
            "indicators": len(inds), "conditions": sum(len(i.conditions) for *_, i in inds),
            "regions": len(rs.regions)}


def ruleset_lint(rs: Ruleset) -> list[tuple[str, tuple, str, str | None]]:
    """(severity, loc, message, hint) for what the schema allows but an author almost never means."""
    out = []
    out += _unused_facts(rs)
    out += _fact_units(rs)
    out += _region_gaps(rs)
    out += _year_gaps(rs)
    out += _ref_cycles(rs)
    return out


def used_facts(rs: Ruleset) -> set[str]:
    used = set()
    for _, _, _, _, ind in iter_indicators(rs):
        used |= {c.fact for c in ind.conditions}
        if ind.applies_if:
            used.add(ind.applies_if.fact)
    facts = rs.fact_map()
    if rs.commune_groups is not None:  # the facts that place a commune in its group
        used |= {c.fact for r in rs.commune_groups.rules for c in r.conditions}
    # a fact whose merge rule is stated is kept for merged communes (`ntm merge`), and so is its weighting base
    used |= {f.id for f in rs.facts if f.merge is not None and f.merge.how != "own_evidence"}
    used |= {f.merge.base for f in rs.facts if f.merge is not None and f.merge.base}
    for fid in list(used):  # a ratio fact may be given as its parts: those are used too
        f = facts.get(fid)
        if f is not None and f.ratio_of:
            used |= {f.ratio_of.numerator, f.ratio_of.denominator}
    return used


def _unused_facts(rs: Ruleset):
    used = used_facts(rs)
    for i, f in enumerate(rs.facts):
        if f.id not in used:
            yield (WARNING, ("facts", i, "id"), f"fact '{f.id}' is never used by any indicator",
                   "remove it, or add the indicator that tests it")


PERCENT_UNITS = {"%"}


def _fact_units(rs: Ruleset):
    """Units that disagree: a percent fact not in %, or an indicator's unit unlike its (only) fact's unit."""
    facts = rs.fact_map()
    for i, f in enumerate(rs.facts):
        if f.type == "percent" and f.unit not in PERCENT_UNITS:
            yield (ERROR, ("facts", i, "unit"), f"percent fact '{f.id}' has unit '{f.unit}'", "a percent is in '%'")
        if f.type != "percent" and f.unit in PERCENT_UNITS:
            yield (ERROR, ("facts", i, "unit"), f"{f.type} fact '{f.id}' has unit '%'",
                   "make it type: percent, or give its real unit")
    for loc, _, _, _, ind in iter_indicators(rs):
        if ind.unit is None:
            continue
        numeric = [c for c in ind.conditions if c.fact in facts and facts[c.fact].type != "boolean"]
        units = {facts[c.fact].unit for c in numeric}
        if len(ind.conditions) == 1 and numeric and ind.unit not in units:
            f = facts[numeric[0].fact]
            yield (ERROR, loc + ("unit",), f"indicator {ind.code} is in '{ind.unit}' but its fact '{f.id}' is in '{f.unit}'",
                   f"a threshold is compared in the fact's unit; write unit: \"{f.unit}\" or use a fact in '{ind.unit}'")


def _region_gaps(rs: Ruleset):
    region_ids = [r.id for r in rs.regions]
    for loc, _, _, _, ind in iter_indicators(rs):
        for k, cond in enumerate(ind.conditions):
            for tloc, th in _walk_thresholds(cond.threshold, loc + ("conditions", k, "threshold")):
                if th.by_region is None:
                    continue
                missing = [r for r in region_ids if r not in th.by_region]
                if not missing:
                    continue
                if all(c.set_by == "province" and c.value is None for c in th.by_region.values()):
                    continue  # a table the province fills: a hole is by design
                yield (ERROR, tloc + ("by_region",),
                       (f"indicator {ind.code}: no value for {rs.region_kind} {', '.join(missing)} "
                        "(a unit there would be indeterminate)"),
                       "add the value, or {value: null, status: missing, note: ...} if the text gives none")


def _year_gaps(rs: Ruleset):
    start = rs.effective.start.year
    end = rs.effective.end.year if rs.effective.end else None
    for loc, _, _, _, ind in iter_indicators(rs):
        for k, cond in enumerate(ind.conditions):
            for tloc, th in _walk_thresholds(cond.threshold, loc + ("conditions", k, "threshold")):
                if th.by_year is None:
                    continue
                years = sorted(th.by_year)
                gaps = [y for y in range(years[0], years[-1] + 1) if y not in th.by_year]
                if gaps:
                    yield (ERROR, tloc + ("by_year",),
                           f"indicator {ind.code}: by_year skips {', '.join(map(str, gaps))}",
                           "a year is never borrowed from another; give every year")
                outside = [y for y in years if y < start or (end is not None and y > end)]
                if outside:
                    yield (WARNING, tloc + ("by_year", outside[0]),
                           (f"indicator {ind.code}: year(s) {', '.join(map(str, outside))} lie outside the ruleset's "
                            f"effective period {rs.effective.start}..{rs.effective.end or '…'}"), None)


def _ref_cycles(rs: Ruleset):
    """Thresholds defined by reference must not refer back to themselves (resolution would never end)."""
    edges: dict[tuple, tuple] = {}
    where: dict[tuple, tuple] = {}
    for loc, ls, t, _, ind in iter_indicators(rs):
        for k, cond in enumerate(ind.conditions):
            for tloc, th in _walk_thresholds(cond.threshold, loc + ("conditions", k, "threshold")):
                if th.ref is not None:
                    node = (ls.level, t.id, ind.code, k)
                    edges[node] = (ls.level, th.ref.tier, th.ref.indicator, th.ref.condition)
                    where[node] = tloc + ("ref",)
    reported = set()
    for node in sorted(edges, key=str):
        seen, cur = [], node
        while cur in edges and cur not in seen:
            seen.append(cur)
            cur = edges[cur]
        if cur in seen:
            cycle = frozenset(seen[seen.index(cur):])
            if cycle in reported:
                continue
            reported.add(cycle)
            names = " → ".join(f"{n[1]} {n[2]}" for n in seen[seen.index(cur):]) + f" → {cur[1]} {cur[2]}"
            yield (ERROR, where[cur], f"threshold references form a cycle: {names}", None)


# ---- overlays ----------------------------------------------------------------------------------------------

def check_overlay(src: Source, base_ruleset: str | None = None) -> CheckReport:
    from ntm.criteria.loader import load_ruleset
    from ntm.criteria.overlay import Overlay, _load_overlay

    rep = CheckReport(src.path, "overlay")
    try:
        ov = validate(Overlay, src)
    except NtmInputError as e:
        rep.findings += [_from_problem(p, src.path) for p in e.problems]
        return rep
    ref = base_ruleset or ov.overlay.ruleset
    try:
        rs = load_ruleset(ref).ruleset
    except NtmInputError as e:
        rep.findings += [Finding(ERROR, f"base ruleset '{ref}' cannot be loaded: {p.render()}", src.path,
                                 src.line_of(("overlay", "ruleset")), "overlay.ruleset", p.hint) for p in e.problems]
        return rep
    try:
        _load_overlay(src.path, rs)
    except NtmInputError as e:
        rep.findings += [_from_problem(p, src.path) for p in e.problems]
    region_ids = [r.id for r in rs.regions]
    tiers = {(ls.level, t.id): t for ls in rs.levels for t in ls.tiers}
    for i, o in enumerate(ov.thresholds):
        loc = ("thresholds", i, "threshold")
        for tloc, th in _walk_thresholds(o.threshold, loc):
            for region in th.by_region or {}:
                if region not in region_ids:
                    rep.findings.append(_at(src, ERROR, tloc + ("by_region", region),
                                            f"unknown {rs.region_kind} '{region}' in {rs.id}",
                                            did_you_mean(region, region_ids)))
        tier = tiers.get((o.level, o.tier))
        ind = next((x for c in tier.criteria for x in c.indicators if x.code == o.indicator), None) if tier else None
        if ind is not None and o.condition < len(ind.conditions) and _same(ind.conditions[o.condition].threshold,
                                                                            o.threshold):
            rep.findings.append(_at(src, WARNING, loc, f"{o.tier} {o.indicator} keeps the national value unchanged",
                                    "drop the override, or give the provincial value"))
    used = {c.fact for a in ov.indicators for c in a.indicator.conditions}
    used |= {a.indicator.applies_if.fact for a in ov.indicators if a.indicator.applies_if}
    for i, f in enumerate(ov.facts):
        if f.id not in used:
            rep.findings.append(_at(src, WARNING, ("facts", i, "id"), f"fact '{f.id}' is never used by the overlay's indicators",
                                    "remove it, or add the indicator that tests it"))
    rep.base = rs.id
    rep.stats = {"threshold overrides": len(ov.thresholds), "facts added": len(ov.facts),
                 "indicators added": len(ov.indicators)}
    return rep


def _same(national: Threshold, local: Threshold) -> bool:
    strip = {"note", "status", "set_by", "source", "verified_by", "verified_on"}
    return (national.model_dump(exclude=strip, exclude_none=True)
            == local.model_dump(exclude=strip, exclude_none=True))
