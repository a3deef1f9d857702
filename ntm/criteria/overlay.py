"""Provincial overlays: a province fills the values the national text leaves to it and may tighten others.

An overlay may never loosen a national threshold: that is refused when the overlay is loaded.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictStr

from ntm.criteria.model import (CODE, SNAKE, Citation, Document, Fact, GroupPrecedence, Indicator, Ruleset, Strict,
                                Text, Threshold, _walk_thresholds, consistency_errors)
from ntm.criteria.validation import field_path, validate
from ntm.criteria.yamlsrc import parse, read_text
from ntm.errors import NtmInputError, Problem, did_you_mean


class OverlayInfo(Strict):
    id: Annotated[StrictStr, Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")]
    title: Text
    province: StrictStr
    ruleset: StrictStr
    illustrative: StrictBool = False
    decision: StrictStr | None = None
    date: dt.date | None = None
    documents: list[Document] = []


class ThresholdOverride(Strict):
    level: Literal["commune", "district", "village", "province"] = "commune"
    tier: Annotated[StrictStr, Field(pattern=SNAKE)]
    indicator: Annotated[StrictStr, Field(pattern=CODE)]
    condition: Annotated[int, Field(ge=0)] = 0
    threshold: Threshold
    citation: Citation


class IndicatorAddition(Strict):
    """A provincial indicator added to a criterion (or to a new provincial criterion) of a tier."""

    level: Literal["commune", "district", "village", "province"] = "commune"
    tier: Annotated[StrictStr, Field(pattern=SNAKE)]
    criterion: Annotated[StrictStr, Field(pattern=CODE)]
    criterion_name: Text | None = None  # required when the criterion is new
    indicator: Indicator


class GroupOverride(Strict):
    """A province's own precedence between commune groups (51/2025 leaves it unstated)."""

    precedence: GroupPrecedence
    citation: Citation


class Overlay(Strict):
    overlay: OverlayInfo
    thresholds: list[ThresholdOverride] = []
    facts: list[Fact] = []
    indicators: list[IndicatorAddition] = []
    commune_groups: GroupOverride | None = None


@dataclass(frozen=True)
class LoadedOverlay:
    overlay: Overlay
    path: str
    sha256: str

    def override_for(self, level: str, tier: str, code: str, k: int) -> ThresholdOverride | None:
        for o in self.overlay.thresholds:
            if (o.level, o.tier, o.indicator, o.condition) == (level, tier, code, k):
                return o
        return None


_LOADED: dict[tuple, tuple[Ruleset, LoadedOverlay]] = {}
_MERGED: dict[tuple[int, int], tuple[Ruleset, Overlay, Ruleset]] = {}


def load_overlay(path: str, ruleset: Ruleset) -> LoadedOverlay:
    """Memoised per (file state, ruleset): a batch shares one overlay object, hence one compiled ruleset."""
    try:
        st = os.stat(path)
        key = (os.path.abspath(path), st.st_mtime_ns, st.st_size, id(ruleset))
    except OSError:
        key = None
    hit = _LOADED.get(key) if key else None
    if hit is not None and hit[0] is ruleset:
        return hit[1]
    lo = _load_overlay(path, ruleset)
    if key:
        if len(_LOADED) > 64:
            _LOADED.clear()
        _LOADED[key] = (ruleset, lo)
    return lo


def _load_overlay(path: str, ruleset: Ruleset) -> LoadedOverlay:
    from ntm.criteria.loader import sha256_text

    text = read_text(path)
    return overlay_from_source(parse(text, path), sha256_text(text), ruleset)


def overlay_from_source(src, sha256: str, ruleset: Ruleset) -> LoadedOverlay:
    """Validate an overlay (read from a file or given in memory) against the ruleset it adds to."""
    path = src.path
    ov = validate(Overlay, src)
    problems = []
    if ov.overlay.ruleset != ruleset.id:
        problems.append(Problem(
            f"overlay is for ruleset '{ov.overlay.ruleset}', but the dossier is judged by '{ruleset.id}'",
            file=path, line=src.line_of(("overlay", "ruleset")), field="overlay.ruleset"))
    tiers = {(ls.level, t.id): t for ls in ruleset.levels for t in ls.tiers}
    facts = ruleset.fact_map()
    doc_ids = {d.id for d in ruleset.documents} | {d.id for d in ov.overlay.documents}
    seen = set()
    for i, o in enumerate(ov.thresholds):
        loc = ("thresholds", i)
        line = src.line_of(loc)
        key = (o.level, o.tier, o.indicator, o.condition)
        if key in seen:
            problems.append(Problem(f"{o.tier} {o.indicator} condition {o.condition} is overridden twice",
                                    file=path, line=line, field=field_path(loc)))
        seen.add(key)
        tier = tiers.get((o.level, o.tier))
        if tier is None:
            known = [t for lv, t in tiers if lv == o.level]
            problems.append(Problem(f"level {o.level} has no tier '{o.tier}'", file=path,
                                    line=src.line_of(loc + ("tier",)), field=field_path(loc + ("tier",)),
                                    hint=did_you_mean(o.tier, known)))
            continue
        ind = next((x for c in tier.criteria for x in c.indicators if x.code == o.indicator), None)
        if ind is None:
            codes = [x.code for c in tier.criteria for x in c.indicators]
            problems.append(Problem(f"tier '{o.tier}' has no indicator {o.indicator}", file=path,
                                    line=src.line_of(loc + ("indicator",)), field=field_path(loc + ("indicator",)),
                                    hint=did_you_mean(o.indicator, codes)))
            continue
        if o.condition >= len(ind.conditions):
            problems.append(Problem(f"indicator {o.indicator} has {len(ind.conditions)} condition(s)", file=path,
                                    line=line, field=field_path(loc + ("condition",))))
            continue
        if o.citation.document not in doc_ids:
            problems.append(Problem(f"unknown document '{o.citation.document}'", file=path,
                                    line=src.line_of(loc + ("citation",)), field=field_path(loc + ("citation", "document")),
                                    hint="list the provincial decision under overlay.documents"))
        cond = ind.conditions[o.condition]
        for msg, sub in loosening(cond.op, cond.threshold, o.threshold, ruleset):
            problems.append(Problem(msg, file=path, line=src.line_of(loc + ("threshold",) + sub),
                                    field=field_path(loc + ("threshold",) + sub),
                                    hint="a province may only tighten national thresholds"))
        fact = facts.get(cond.fact)
        for tloc, th in _walk_thresholds(o.threshold, ()):
            bad = value_problem(fact, cond.op, th.value) if fact is not None else None
            if bad:
                problems.append(Problem(f"{o.tier} {o.indicator} ({cond.fact}): {bad[0]}", file=path,
                                        line=src.line_of(loc + ("threshold",) + tloc + ("value",)),
                                        field=field_path(loc + ("threshold",) + tloc + ("value",)), expected=bad[1]))
            if th.status == "missing" or th.ref is not None:
                problems.append(Problem("an overlay must give a value (verified or provisional), not null or a ref",
                                        file=path, line=src.line_of(loc + ("threshold",) + tloc),
                                        field=field_path(loc + ("threshold",) + tloc)))
    if ov.commune_groups is not None:
        problems += _group_override_problems(ov.commune_groups, ruleset, doc_ids, src, path)
    if problems:
        raise NtmInputError(problems)
    if ov.facts or ov.indicators:
        try:
            merged = merge(ruleset, ov)
        except ValueError as e:
            raise NtmInputError.single(str(e), file=path) from None
        errs = consistency_errors(merged)
        if errs:
            raise NtmInputError([Problem(f"after adding the overlay's facts and indicators: {msg}", file=path)
                                 for _, msg in errs])
    return LoadedOverlay(ov, path, sha256)


def value_problem(fact: Fact, op: str, value) -> tuple[str, str] | None:
    """(what is wrong, what was expected) for an overlay's threshold value, by the rules a ruleset's own values
    obey: an is_true condition requires true; a number must be finite, in the fact's range, ≤ 6 decimals."""
    import math

    from ntm.criteria.model import _too_precise

    if value is None:
        return None
    if op == "is_true" or fact.type == "boolean":
        if value is not True:
            return (f"got {str(value).lower() if isinstance(value, bool) else value}: an is_true condition "
                    "requires the fact to hold", "true")
        return None
    if isinstance(value, bool):
        return f"got {str(value).lower()}: a {fact.type} fact needs a number", f"a number in {fact.unit}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value} is not a finite number", f"a number in {fact.unit}"
    if fact.range and not (fact.range.min <= value <= fact.range.max):
        return (f"{value} is outside the fact's range", f"{fact.range.min}..{fact.range.max} ({fact.unit})")
    if _too_precise(value):
        return f"{value} has more than 6 decimal places", "at most 6 decimal places"
    return None


def _group_override_problems(go: GroupOverride, ruleset: Ruleset, doc_ids: set, src, path) -> list[Problem]:
    loc = ("commune_groups",)
    cg = ruleset.commune_groups
    if cg is None:
        return [Problem(f"ruleset {ruleset.id} has no commune groups to rank", file=path, line=src.line_of(loc),
                        field="commune_groups")]
    out = []
    national = sorted(cg.precedence.order)
    if sorted(go.precedence.order) != national:
        out.append(Problem(f"the order must rank exactly the groups {', '.join(national)}", file=path,
                           line=src.line_of(loc + ("precedence", "order")), field="commune_groups.precedence.order",
                           expected=", ".join(cg.precedence.order) + " in the province's order"))
    if go.citation.document not in doc_ids:
        out.append(Problem(f"unknown document '{go.citation.document}'", file=path,
                           line=src.line_of(loc + ("citation",)), field="commune_groups.citation.document",
                           hint="list the provincial decision under overlay.documents"))
    return out


def merge(rs: Ruleset, ov: Overlay) -> Ruleset:
    """The ruleset with the overlay's provincial facts and indicators added (national content unchanged)."""
    if not ov.facts and not ov.indicators:
        return rs
    hit = _MERGED.get((id(rs), id(ov)))
    if hit is not None and hit[0] is rs and hit[1] is ov:
        return hit[2]
    merged = _merge(rs, ov)
    if len(_MERGED) > 64:
        _MERGED.clear()
    _MERGED[(id(rs), id(ov))] = (rs, ov, merged)
    return merged


def _merge(rs: Ruleset, ov: Overlay) -> Ruleset:
    clash = {f.id for f in rs.facts} & {f.id for f in ov.facts}
    if clash:
        raise ValueError(f"overlay redefines national fact(s) {', '.join(sorted(clash))}; use new fact ids")
    data = rs.model_dump(by_alias=True, exclude_unset=True)
    data["facts"] += [f.model_dump(by_alias=True, exclude_unset=True) for f in ov.facts]
    docs = {d["id"] for d in data["documents"]}
    data["documents"] += [d.model_dump(by_alias=True, exclude_unset=True) for d in ov.overlay.documents if d.id not in docs]
    for add in ov.indicators:
        ls = next((x for x in data["levels"] if x["level"] == add.level), None)
        tier = next((t for t in (ls or {}).get("tiers", []) if t["id"] == add.tier), None)
        if tier is None:
            raise ValueError(f"level {add.level} has no tier '{add.tier}' to add indicator {add.indicator.code} to")
        crit = next((c for c in tier["criteria"] if c["number"] == add.criterion), None)
        if crit is None:
            if add.criterion_name is None:
                raise ValueError(f"criterion {add.criterion} is new in tier '{add.tier}': give criterion_name")
            crit = {"number": add.criterion, "name": add.criterion_name.model_dump(exclude_unset=True), "indicators": []}
            tier["criteria"].append(crit)
        crit["indicators"].append(add.indicator.model_dump(by_alias=True, exclude_unset=True))
    return Ruleset.model_validate(data, strict=False)


def _cells(th: Threshold, regions: list[str], years: list[int]):
    """Every (region, year) -> value this threshold gives (None when it gives nothing there)."""
    from ntm.criteria.resolve import pick

    for r in regions:
        for y in years:
            cell, _ = pick(th, r, y)
            yield r, y, (cell.value if cell is not None else None)


def loosening(op: str, national: Threshold, local: Threshold, ruleset: Ruleset):
    """Yield (message, sub-location) for each region/year where `local` is looser than `national`."""
    regions = [r.id for r in ruleset.regions]
    years = sorted({y for _, t in _walk_thresholds(national, ()) for y in (t.by_year or {})}
                   | {y for _, t in _walk_thresholds(local, ()) for y in (t.by_year or {})}) or [0]
    nat = {(r, y): v for r, y, v in _cells(national, regions, years)}
    for r, y, v in _cells(local, regions, years):
        n = nat.get((r, y))
        if v is None or n is None or isinstance(n, bool) or isinstance(v, bool):
            if isinstance(n, bool) and v is not None and v is not n:
                yield f"region {r}: would change the required value {n} to {v}", ()
            continue
        nv, lv = Decimal(str(n)), Decimal(str(v))
        looser = {">=": lv < nv, ">": lv < nv, "<=": lv > nv, "<": lv > nv, "==": lv != nv}.get(op, False)
        if looser:
            when = f" in {y}" if y else ""
            yield (f"region {r}{when}: {op} {v} is looser than the national {op} {n}", ())
