"""`ntm merge`: a merged commune's dossier built from the dossiers of the communes it was formed from.

How each fact combines is data in the fact catalogue (`merge:`): lengths, counts and amounts add up; a share
with `ratio_of` is recombined from its summed numerator and denominator; a share or per-person value is weighted
by a base the catalogue names (households, population, area); everything else — yes/no findings, a fact
without a merge rule, a value some part lacks — is listed as needing the merged commune's own evidence, never
invented. Each combined fact keeps every part's value and evidence reference.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

from ntm.criteria.dossier import LoadedDossier, load_dossier, observations
from ntm.criteria.loader import LoadedRuleset, load_ruleset, ruleset_for_date
from ntm.criteria.model import Fact, Ruleset
from ntm.errors import NtmInputError, Problem

Q = Decimal("0.000001")


@dataclass(frozen=True)
class Recognition:
    code: str
    status: str
    number: str
    date: dt.date


@dataclass
class MergeResult:
    dossier: dict
    ruleset: LoadedRuleset
    combined: list[str] = field(default_factory=list)
    needs_evidence: list[tuple[str, str]] = field(default_factory=list)
    rounded: list[str] = field(default_factory=list)


def parse_recognised(text: str) -> Recognition:
    """CODE=TIER:DECISION-NUMBER:YYYY-MM-DD (the part's recognised level and its recognition decision)."""
    expected = "CODE=TIER:DECISION-NUMBER:YYYY-MM-DD, e.g. X01=model:1234/QĐ-UBND:2024-12-20"
    code, sep, rest = text.partition("=")
    tier, sep2, tail = rest.partition(":")
    number, sep3, day = tail.rpartition(":")
    if not (sep and sep2 and sep3 and code and tier and number):
        raise NtmInputError.single(f"'{text}' is not a recognition", field="--recognised", expected=expected)
    try:
        date = dt.date.fromisoformat(day)
    except ValueError:
        raise NtmInputError.single(f"'{day}' is not a date", field="--recognised", expected=expected) from None
    return Recognition(code.strip(), tier.strip(), number.strip(), date)


def _num(x: Fraction) -> tuple[int | float, bool]:
    """An exact value as a YAML number with at most 6 decimals; True when it had to be rounded."""
    if x.denominator == 1:
        return int(x), False
    d = Decimal(x.numerator) / Decimal(x.denominator)
    q = d.quantize(Q, rounding=ROUND_HALF_EVEN)
    exact = Fraction(q) == x
    q = q.normalize()
    return (int(q) if q == q.to_integral_value() else float(format(q, "f"))), not exact


def _evidence(o) -> dict | None:
    if o is None or o.evidence is None:
        return None
    return o.evidence.model_dump(exclude_none=True, mode="python")


def _part_row(code: str, value, o, base=None) -> dict:
    row = {"code": code, "value": value}
    if base is not None:
        row["base"] = base
    ev = _evidence(o)
    if ev:
        row["evidence"] = ev
    return row


def _plain(v):
    if isinstance(v, bool):
        return v
    return _num(v)[0]


def _pick_ruleset(parts: list[LoadedDossier], ruleset: str | None, date: dt.date) -> LoadedRuleset:
    if ruleset:
        return load_ruleset(ruleset)
    named = {p.dossier.ruleset for p in parts}
    if len(named) == 1 and None not in named:
        return load_ruleset(named.pop())
    if len(named) > 1:
        raise NtmInputError.single("the parts name different rulesets: " + ", ".join(sorted(map(str, named))),
                                   field="PARTS", hint="give --ruleset for the merged commune's catalogue")
    return ruleset_for_date(date, "commune")


def merge_dossiers(paths: list[str], *, code: str, name: str, out_path: str, ruleset: str | None = None,
                   date: dt.date | None = None, recognised: list[Recognition] = ()) -> MergeResult:
    if len(paths) < 2:
        raise NtmInputError.single("a merged commune is formed from at least two communes", field="PARTS",
                                   expected="two or more part dossiers")
    parts = [load_dossier(p) for p in paths]
    problems = []
    seen: dict[str, str] = {}
    for p in parts:
        u = p.dossier.unit
        if u.level != "commune":
            problems.append(Problem(f"a part must be a commune, not a {u.level}", file=p.path,
                                    line=p.source.line_of(("unit", "level")), field="unit.level"))
        if u.code in seen:
            problems.append(Problem(f"commune {u.code} is given twice (also {seen[u.code]})", file=p.path,
                                    line=p.source.line_of(("unit", "code")), field="unit.code"))
        seen[u.code] = p.path
        if p.dossier.merged_from or p.dossier.communes:
            problems.append(Problem("a part must be a single commune's own dossier", file=p.path,
                                    line=p.source.line_of(("merged_from",)), field="merged_from"))
    if problems:
        raise NtmInputError(problems)
    dates = {p.dossier.assessment.effective_date for p in parts}
    if date is None:
        if len(dates) > 1:
            raise NtmInputError.single("the parts are assessed on different dates: "
                                       + ", ".join(str(d) for d in sorted(dates)), field="--date",
                                       hint="give the merged commune's assessment date with --date")
        date = dates.pop()
    lr = _pick_ruleset(parts, ruleset, date)
    rs = lr.ruleset
    obs_by_part = []
    for p in parts:
        obs_by_part.append(observations(p, rs))  # every part's facts checked against the catalogue (exit 2)
    for r in recognised:
        if r.code not in seen:
            raise NtmInputError.single(f"--recognised names {r.code}, which is not one of the parts",
                                       field="--recognised", expected="one of " + ", ".join(seen))
    res = MergeResult({}, lr)
    facts_out: dict = {}
    catalogue = rs.fact_map()
    codes = [p.dossier.unit.code for p in parts]
    given = {fid for o in obs_by_part for fid in o}
    for f in rs.facts:
        if f.id not in given:
            continue
        entry, why = _combine(f, catalogue, obs_by_part, codes)
        if entry is None:
            if why:
                res.needs_evidence.append((f.id, why))
            continue
        facts_out[f.id] = entry
        res.combined.append(f.id)
        if entry.pop("_rounded", False):
            res.rounded.append(f.id)
    rec = {r.code: r for r in recognised}
    base = os.path.dirname(os.path.abspath(out_path))
    merged_from = []
    for p in parts:
        u = p.dossier.unit
        row = {"code": u.code, "name": u.name}
        if u.code in rec:
            r = rec[u.code]
            row["status"] = r.status
            row["decision"] = {"number": r.number, "date": r.date}
        row["note"] = f"facts from {os.path.relpath(os.path.abspath(p.path), base)}"
        merged_from.append(row)
    unit = {"level": "commune", "code": code, "name": name}
    provinces = {p.dossier.unit.province for p in parts}
    if len(provinces) == 1 and None not in provinces:
        unit["province"] = provinces.pop()
    if rs.commune_groups is None:
        regions = {p.dossier.unit.region for p in parts}
        if len(regions) != 1 or None in regions:
            raise NtmInputError.single("the parts are in different regions: " + ", ".join(sorted(map(str, regions))),
                                       field="unit.region", hint="merge parts of one region, or judge by a ruleset "
                                       "with commune groups")
        unit["region"] = regions.pop()
    doc = {"unit": unit, "assessment": {"date": date}}
    if ruleset:
        doc["ruleset"] = ruleset if ruleset in _shipped() else os.path.relpath(os.path.abspath(lr.path), base)
    doc["merged_from"] = merged_from
    doc["facts"] = facts_out
    if res.needs_evidence:
        doc["needs_own_evidence"] = [{"fact": fid, "reason": why} for fid, why in res.needs_evidence]
    res.dossier = doc
    return res


def _shipped() -> set[str]:
    from ntm.criteria.loader import shipped_paths

    return set(shipped_paths())


def _combine(f: Fact, catalogue: dict[str, Fact], obs_by_part: list[dict], codes: list[str]):
    """(fact entry, None) when the parts combine, (None, reason) when the merged commune needs its own value,
    (None, None) when nothing is to be written (a share recombined from its parts at evaluation)."""
    how = f.merge.how if f.merge else "own_evidence"
    lacking = [c for c, o in zip(codes, obs_by_part) if f.id not in o]
    if how == "own_evidence":
        if f.merge and f.merge.note:
            return None, f.merge.note.en
        if f.type == "boolean":
            return None, "a yes/no finding cannot be combined from the parts; the merged commune needs its own"
        return None, "the fact catalogue gives no rule to combine it (merge:); the merged commune needs its own"
    if how == "ratio":
        n, d = f.ratio_of.numerator, f.ratio_of.denominator
        direct = [c for c, o in zip(codes, obs_by_part) if f.id in o and o[f.id].given_as == "value"]
        if direct or lacking:
            who = ", ".join(direct or lacking)
            return None, (f"part(s) {who} give the share without {n} and {d}, so it cannot be recombined"
                          if direct else f"part(s) {who} give no value")
        return None, None  # the summed numerator and denominator give the share
    if lacking:
        return None, f"part(s) {', '.join(lacking)} give no value, so it cannot be {'added' if how == 'sum' else 'weighted'}"
    if how == "sum":
        total = sum((o[f.id].value for o in obs_by_part), Fraction(0))
        value, rounded = _num(total)
        rows = [_part_row(c, _plain(o[f.id].value), o[f.id]) for c, o in zip(codes, obs_by_part)]
        return {"value": value, "note": f"sum of {len(codes)} parts (ntm merge)", "from_parts": rows,
                "_rounded": rounded}, None
    base = f.merge.base
    no_base = [c for c, o in zip(codes, obs_by_part) if base not in o]
    if no_base:
        return None, (f"part(s) {', '.join(no_base)} give no {base} (its weighting base), so it cannot be "
                      "weighted")
    weight = sum((o[base].value for o in obs_by_part), Fraction(0))
    if weight == 0:
        return None, f"the parts' {base} adds up to 0, so it cannot be weighted"
    total = sum((o[f.id].value * o[base].value for o in obs_by_part), Fraction(0)) / weight
    value, rounded = _num(total)
    rows = [_part_row(c, _plain(o[f.id].value), o[f.id], _plain(o[base].value)) for c, o in zip(codes, obs_by_part)]
    note = f"weighted by {base} over {len(codes)} parts (ntm merge)" + ("; rounded to 6 decimals" if rounded else "")
    return {"value": value, "note": note, "from_parts": rows, "_rounded": rounded}, None


def to_yaml(res: MergeResult, sources: list[str]) -> str:
    import yaml

    head = ("# Merged commune dossier written by `ntm merge` from: " + ", ".join(sources) + "\n"
            f"# Fact catalogue: {res.ruleset.ruleset.id}. Combined: {len(res.combined)} fact(s); needing the merged "
            f"commune's own evidence: {len(res.needs_evidence)} (listed under needs_own_evidence).\n")
    if any("status" not in p for p in res.dossier["merged_from"]):
        head += "# Fill in the recognised level and decision of every part under merged_from (status, decision).\n"
    return head + yaml.safe_dump(res.dossier, allow_unicode=True, sort_keys=False, width=120)
