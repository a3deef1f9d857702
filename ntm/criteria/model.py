"""The ruleset schema: what a YAML ruleset may say, validated strictly.

A ruleset encodes one period of the law. Evidence is keyed by *facts*; indicators are conditions over facts,
so a single measurement feeds every tier that tests it. Every threshold value carries its provenance.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)

SNAKE = r"^[a-z][a-z0-9_]*$"
CODE = r"^[0-9]+(\.[0-9]+)*[a-z]?$"
ID = r"^[a-z0-9][a-z0-9_.-]*$"
RESERVED_FACT_IDS = {"id", "sid", "t", "f", "lo", "hi", "b"}

Number = Union[StrictInt, StrictFloat]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Text(Strict):
    """A label in both languages; Vietnamese is the users' language and the default."""

    vi: Annotated[StrictStr, Field(min_length=1)]
    en: Annotated[StrictStr, Field(min_length=1)]

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.vi


class Document(Strict):
    id: StrictStr
    number: StrictStr
    date: dt.date
    title: Text
    note: StrictStr | None = None


class Citation(Strict):
    document: StrictStr
    appendix: StrictStr | None = None
    article: StrictStr | None = None
    item: StrictStr | None = None

    def render(self) -> str:
        parts = [self.document]
        if self.article:
            parts.append(f"Điều {self.article}")
        if self.appendix:
            parts.append(f"PL {self.appendix}")
        if self.item:
            parts.append(f"mục {self.item}")
        return ", ".join(parts)


FactType = Literal["percent", "money", "count", "area_per_person", "length", "number", "boolean"]
Level = Literal["commune", "district", "village", "province"]


class Range(Strict):
    min: Number
    max: Number

    @model_validator(mode="after")
    def _ordered(self) -> "Range":
        if self.min > self.max:
            raise ValueError(f"range min {self.min} is above max {self.max}")
        if not (-MAX_MAGNITUDE <= self.min and self.max <= MAX_MAGNITUDE):  # also refuses nan/inf
            raise ValueError(f"range {self.min}..{self.max} goes beyond ±{MAX_MAGNITUDE:.0e}: values are computed "
                             "exactly with 6 decimals, so a fact's values must stay below 10^15")
        return self


# a fact's range (hence every value and threshold, which must lie in it) is bounded: exact decimals with 6
# places stay within the 28 significant digits every output rounds with
MAX_MAGNITUDE = 10**15


class RatioOf(Strict):
    """A percent fact that may also be given as its parts (e.g. km hardened / km total)."""

    numerator: Annotated[StrictStr, Field(pattern=SNAKE)]
    denominator: Annotated[StrictStr, Field(pattern=SNAKE)]


class MergeRule(Strict):
    """How the parts of a merged commune combine into the merged commune's value (`ntm merge`).

    sum: lengths, counts, amounts add up; ratio: a share recombined from its ratio_of parts; weighted: a share or
    per-person value weighted by a base fact (households, population, area); own_evidence: never combined.
    """

    how: Literal["sum", "ratio", "weighted", "own_evidence"]
    base: Annotated[StrictStr, Field(pattern=SNAKE)] | None = None
    note: Text | None = None

    @model_validator(mode="after")
    def _base(self) -> "MergeRule":
        if (self.how == "weighted") != (self.base is not None):
            raise ValueError("a weighted merge names its base fact (and only a weighted merge has one)")
        return self


class Fact(Strict):
    id: Annotated[StrictStr, Field(pattern=SNAKE)]
    label: Text
    type: FactType
    unit: StrictStr
    unit_en: StrictStr | None = None
    level: Level
    range: Range | None = None
    ratio_of: RatioOf | None = None
    description: Text | None = None
    merge: MergeRule | None = None  # absent: a merged commune needs its own evidence for this fact

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, v: str) -> str:
        if v in RESERVED_FACT_IDS:
            raise ValueError(f"'{v}' is reserved by the engine; choose another fact id")
        return v

    @model_validator(mode="after")
    def _shape(self) -> "Fact":
        if self.type == "boolean":
            if self.range is not None:
                raise ValueError("a boolean fact has no range")
        elif self.range is None:
            raise ValueError(f"numeric fact '{self.id}' needs a valid range (min, max)")
        if self.type == "percent" and self.range and (self.range.min < 0 or self.range.max > 100):
            raise ValueError("a percent fact's range must lie within 0..100")
        if self.ratio_of is not None and self.type != "percent":
            raise ValueError("ratio_of is only allowed on percent facts")
        return self


Status = Literal["verified", "provisional", "missing"]
SetBy = Literal["national", "province"]


class ThresholdRef(Strict):
    """A threshold defined as a multiple of another indicator's resolved threshold (319: model income)."""

    tier: Annotated[StrictStr, Field(pattern=SNAKE)]
    indicator: Annotated[StrictStr, Field(pattern=CODE)]
    condition: Annotated[int, Field(ge=0)] = 0
    factor: Number = 1

    @field_validator("factor")
    @classmethod
    def _positive(cls, v: float) -> float:
        if not v > 0:
            raise ValueError("factor must be positive")
        return v


class ValueSource(Strict):
    """Where a person read a threshold value: the document and item, and the page or the URL."""

    document: StrictStr
    appendix: StrictStr | None = None
    article: StrictStr | None = None
    item: StrictStr | None = None
    page: StrictStr | None = None
    url: StrictStr | None = None

    def render(self) -> str:
        parts = [Citation(document=self.document, appendix=self.appendix, article=self.article,
                          item=self.item).render()]
        if self.page:
            parts.append(f"tr. {self.page}")
        if self.url:
            parts.append(self.url)
        return ", ".join(parts)


class Threshold(Strict):
    """Either a value (with provenance), or a table by region or by assessment year, or a reference.

    `value: null` means the national text gives no number (unknown, or left to the province): the indicator
    is indeterminate until an overlay supplies it. `source`, `verified_by` and `verified_on` record who checked
    a value against which text (optional: values verified before these fields existed do not have them).
    """

    value: Number | StrictBool | None = None
    status: Status | None = None
    note: StrictStr | None = None
    set_by: SetBy = "national"
    source: ValueSource | None = None
    verified_by: Annotated[StrictStr, Field(min_length=1)] | None = None
    verified_on: dt.date | None = None
    by_region: dict[StrictStr, "Threshold"] | None = None
    by_year: dict[StrictInt, "Threshold"] | None = None
    ref: ThresholdRef | None = None

    @model_validator(mode="after")
    def _one_form(self) -> "Threshold":
        forms = [f for f in ("by_region", "by_year", "ref") if getattr(self, f) is not None]
        is_value = "value" in self.model_fields_set or "status" in self.model_fields_set
        if len(forms) + int(is_value) != 1:
            raise ValueError(
                "a threshold is exactly one of: a value with status (value, status, note), "
                "by_region, by_year, or ref"
            )
        if is_value:
            if self.status is None:
                raise ValueError("a threshold value needs a status: verified, provisional or missing")
            if self.value is None and self.status != "missing":
                raise ValueError("value null must have status 'missing' (the number is not known or set by the province)")
            if self.value is not None and self.status == "missing":
                raise ValueError("status 'missing' is only for value null")
            if self.status in ("provisional", "missing") and not self.note:
                raise ValueError(f"a {self.status} threshold needs a note saying why and what to check it against")
            if isinstance(self.value, float) and self.value != self.value:
                raise ValueError("threshold must be a finite number")
        elif self.note is not None and self.status is None:
            pass
        if not is_value and any(getattr(self, f) is not None for f in ("source", "verified_by", "verified_on")):
            raise ValueError("source, verified_by and verified_on belong to a value (value, status), "
                             "not to a by_region, by_year or ref table")
        if self.by_region is not None and not self.by_region:
            raise ValueError("by_region must not be empty")
        if self.by_year is not None and not self.by_year:
            raise ValueError("by_year must not be empty")
        return self


Op = Literal[">=", "<=", ">", "<", "==", "is_true"]


class Condition(Strict):
    fact: Annotated[StrictStr, Field(pattern=SNAKE)]
    op: Op
    threshold: Threshold
    label: Text | None = None


class Applicability(Strict):
    """'If any' (nếu có): the indicator is not applicable when this boolean fact is false."""

    fact: Annotated[StrictStr, Field(pattern=SNAKE)]
    note: Text | None = None


class Indicator(Strict):
    code: Annotated[StrictStr, Field(pattern=CODE)]
    label: Text
    unit: StrictStr | None = None
    conditions: Annotated[list[Condition], Field(min_length=1, max_length=12)]
    at_least: Annotated[int, Field(ge=1)] | None = None
    applies_if: Applicability | None = None
    citation: Citation
    note: StrictStr | None = None
    effective: "Effective | None" = None  # an amendment adds or retires an indicator on a date
    # stands for criteria each province sets (51/2025 Annex II): dropped from its tier once an overlay adds
    # indicators to that tier
    provincial_placeholder: StrictBool = False

    @model_validator(mode="after")
    def _k_of_n(self) -> "Indicator":
        if self.at_least is not None and self.at_least > len(self.conditions):
            raise ValueError(f"at_least {self.at_least} is more than the {len(self.conditions)} conditions")
        return self

    @property
    def required(self) -> int:
        return len(self.conditions) if self.at_least is None else self.at_least


class Criterion(Strict):
    number: Annotated[StrictStr, Field(pattern=CODE)]
    name: Text
    group: Text | None = None
    indicators: Annotated[list[Indicator], Field(min_length=1)]
    citation: Citation | None = None


class Tier(Strict):
    """A status a unit can reach. `kind: recognition` holds the conditions for recognition (18/2022 Art. 4)
    that sit beside the criteria and are reported separately; `when_flags`/`unless_flags` restrict a tier to
    some units (towns, special districts without communes)."""

    id: Annotated[StrictStr, Field(pattern=SNAKE)]
    label: Text
    kind: Literal["tier", "recognition"] = "tier"
    requires: Annotated[StrictStr, Field(pattern=SNAKE)] | None = None
    when_flags: list[StrictStr] = []
    unless_flags: list[StrictStr] = []
    effective: "Effective | None" = None
    citation: Citation
    criteria: list[Criterion]
    note: Text | None = None


class Band(Strict):
    """One published band of "criteria met" (e.g. 15-18 of 19): min..max inclusive, max None = no limit."""

    id: Annotated[StrictStr, Field(min_length=1, max_length=20)]
    min: Annotated[StrictInt, Field(ge=0)]
    max: Annotated[StrictInt, Field(ge=0)] | None = None


class CriteriaBands(Strict):
    """How provinces group units by the number of criteria of `tier` they meet (province reports count them).
    Without it a batch counts each number of criteria separately (no grouping the law does not state)."""

    tier: Annotated[StrictStr, Field(pattern=SNAKE)]
    bands: Annotated[list[Band], Field(min_length=1)]
    note: Text | None = None


class LevelSet(Strict):
    """The tiers of one level. `effective` dates the level itself (districts were abolished on 2025-07-01):
    outside it the level does not exist, and `end_note` says why (shown to the user, with `end_citation`)."""

    level: Level
    tiers: Annotated[list[Tier], Field(min_length=1)]
    effective: "Effective | None" = None
    end_note: Text | None = None
    end_citation: Citation | None = None
    criteria_bands: CriteriaBands | None = None


class Region(Strict):
    id: StrictStr
    label: Text


class UnitFlag(Strict):
    id: Annotated[StrictStr, Field(pattern=SNAKE)]
    label: Text


class RegionRule(Strict):
    """A rule that replaces the unit's own region for some tiers (318 Art. 1: especially difficult communes)."""

    id: Annotated[StrictStr, Field(pattern=SNAKE)]
    label: Text
    level: Level = "commune"
    use_region: StrictStr
    tiers: Annotated[list[StrictStr], Field(min_length=1)]
    when_flags_any: Annotated[list[Annotated[list[StrictStr], Field(min_length=1)]], Field(min_length=1)]
    citation: Citation


class Effective(Strict):
    start: dt.date = Field(alias="from")
    end: dt.date | None = Field(default=None, alias="to")

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


class Version(Strict):
    """A dated version of the rules (an amendment): which one applied is part of every outcome."""

    id: StrictStr
    start: dt.date = Field(alias="from")
    documents: list[StrictStr] = []
    note: Text | None = None

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


class GroupCondition(Strict):
    fact: Annotated[StrictStr, Field(pattern=SNAKE)]
    op: Op
    value: Number | StrictBool = True


class GroupRule(Strict):
    """One definition of a commune group (51/2025 Art. 2): every condition must hold."""

    id: Annotated[StrictStr, Field(pattern=SNAKE)]
    group: StrictStr
    label: Text
    conditions: Annotated[list[GroupCondition], Field(min_length=1, max_length=8)]
    citation: Citation


class GroupPrecedence(Strict):
    """Which group wins when a commune fits several: the first listed. When the law is silent, say so."""

    order: Annotated[list[StrictStr], Field(min_length=1)]
    status: Literal["verified", "provisional"]
    note: StrictStr | None = None
    citation: Citation | None = None

    @model_validator(mode="after")
    def _noted(self) -> "GroupPrecedence":
        if self.status == "provisional" and not self.note:
            raise ValueError("a provisional precedence needs a note saying why")
        return self


class CommuneGroups(Strict):
    """Commune groups resolved from the unit's facts instead of a region typed by hand."""

    default: StrictStr  # the group of a commune no rule places (51/2025: group 2)
    default_label: Text
    rules: Annotated[list[GroupRule], Field(min_length=1)]
    precedence: GroupPrecedence
    citation: Citation


class Transcription(Strict):
    """How much of a part of the law is transcribed: the outcome states it, so nobody takes it as complete."""

    part: Text
    level: Level = "commune"
    tier: Annotated[StrictStr, Field(pattern=SNAKE)]
    indicators_in_law: Annotated[int, Field(ge=1)] | None = None  # None: the law's count is not known
    citation: Citation
    note: Text | None = None
    complete_with: StrictStr | None = None  # the command that completes it


class MergedLevel(Strict):
    id: Annotated[StrictStr, Field(pattern=SNAKE)]
    label: Text


class MergedCommunes(Strict):
    """The status the law gives a commune formed by a merger: the lowest recognised level among its parts."""

    rule: Literal["lowest_of_parts"]
    ladder: Annotated[list[MergedLevel], Field(min_length=2)]  # lowest (no status) first
    merged_on: dt.date
    label: Text
    status: Literal["verified", "provisional"]
    note: StrictStr | None = None
    citation: Citation


class Ruleset(Strict):
    id: Annotated[StrictStr, Field(pattern=ID)]
    version: StrictStr
    title: Text
    effective: Effective
    versions: list[Version] = []
    documents: Annotated[list[Document], Field(min_length=1)]
    region_kind: Literal["region", "commune_group"] = "region"
    regions: Annotated[list[Region], Field(min_length=1)]
    unit_flags: list[UnitFlag] = []
    region_rules: list[RegionRule] = []
    facts: Annotated[list[Fact], Field(min_length=1)]
    levels: Annotated[list[LevelSet], Field(min_length=1)]
    note: Text | None = None
    commune_groups: CommuneGroups | None = None
    transcription: list[Transcription] = []
    merged_communes: MergedCommunes | None = None

    # lookups used everywhere; cheap enough to rebuild
    def fact_map(self) -> dict[str, Fact]:
        return {f.id: f for f in self.facts}

    def level(self, level: str) -> LevelSet | None:
        return next((ls for ls in self.levels if ls.level == level), None)


def _dupes(items: list) -> list[tuple[int, object]]:
    """(index, value) of every repeat after the first."""
    seen, out = set(), []
    for i, v in enumerate(items):
        if v in seen:
            out.append((i, v))
        seen.add(v)
    return out


def _walk_thresholds(th: Threshold, loc: tuple):
    yield loc, th
    for region, sub in (th.by_region or {}).items():
        yield from _walk_thresholds(sub, loc + ("by_region", region))
    for year, sub in (th.by_year or {}).items():
        yield from _walk_thresholds(sub, loc + ("by_year", year))


def iter_indicators(rs: "Ruleset"):
    """(loc, level, tier, criterion, indicator) for every indicator, in ruleset order."""
    for li, ls in enumerate(rs.levels):
        for ti, t in enumerate(ls.tiers):
            for ci, c in enumerate(t.criteria):
                for ii, ind in enumerate(c.indicators):
                    yield ("levels", li, "tiers", ti, "criteria", ci, "indicators", ii), ls, t, c, ind


def numeric_thresholds_by_fact(rs: "Ruleset") -> dict[str, list[Decimal]]:
    """Every numeric threshold value written anywhere in the ruleset, per fact: where boundary tests probe."""
    out: dict[str, set] = {}
    for _, _, _, _, ind in iter_indicators(rs):
        for cond in ind.conditions:
            for _, th in _walk_thresholds(cond.threshold, ()):
                if th.value is not None and not isinstance(th.value, bool):
                    out.setdefault(cond.fact, set()).add(Decimal(str(th.value)))
    return {k: sorted(v) for k, v in out.items()}


def _band_errors(ls: "LevelSet", loc: tuple) -> list[tuple[tuple, str]]:
    """Bands name a tier of the level and cover 0..(its number of criteria) once each, in descending order."""
    cb = ls.criteria_bands
    if cb is None:
        return []
    tier = next((t for t in ls.tiers if t.id == cb.tier), None)
    if tier is None:
        return [(loc + ("tier",), f"criteria_bands.tier '{cb.tier}' is not a tier of level {ls.level}")]
    n = len(tier.criteria)
    errs, covered = [], []
    for bi, b in enumerate(cb.bands):
        hi = n if b.max is None else b.max
        if hi < b.min:
            errs.append((loc + ("bands", bi), f"band '{b.id}' has max {b.max} below min {b.min}"))
        covered.extend(range(b.min, min(hi, n) + 1))
    for bi, d in _dupes([b.id for b in cb.bands]):
        errs.append((loc + ("bands", bi, "id"), f"band '{d}' is defined twice"))
    if not errs and sorted(covered) != list(range(n + 1)):
        twice = sorted({k for k in covered if covered.count(k) > 1})
        gaps = [k for k in range(n + 1) if k not in covered]
        errs.append((loc + ("bands",), f"bands must cover 0..{n} criteria of tier '{cb.tier}' exactly once"
                     + (f"; not covered: {gaps}" if gaps else "") + (f"; covered twice: {twice}" if twice else "")))
    if not errs and [b.min for b in cb.bands] != sorted((b.min for b in cb.bands), reverse=True):
        errs.append((loc + ("bands",), "list the bands from the most criteria to the fewest"))
    return errs


def consistency_errors(rs: Ruleset) -> list[tuple[tuple, str]]:
    """Cross-reference checks a schema cannot express: unknown ids, duplicates, cycles, type mismatches.

    Returns (location, message) pairs so the loader can point at the line.
    """
    errs: list[tuple[tuple, str]] = []
    facts = rs.fact_map()
    region_ids = [r.id for r in rs.regions]
    flag_ids = [f.id for f in rs.unit_flags]
    for i, d in _dupes([f.id for f in rs.facts]):
        errs.append((("facts", i, "id"), f"fact '{d}' is defined twice"))
    for i, d in _dupes(region_ids):
        errs.append((("regions", i, "id"), f"region '{d}' is defined twice"))
    for i, d in _dupes([d.id for d in rs.documents]):
        errs.append((("documents", i, "id"), f"document '{d}' is defined twice"))
    for i, d in _dupes([f.id for f in rs.unit_flags]):
        errs.append((("unit_flags", i, "id"), f"unit flag '{d}' is defined twice"))
    doc_ids = {d.id for d in rs.documents}
    for i, d in _dupes([ls.level for ls in rs.levels]):
        errs.append((("levels", i, "level"), f"level '{d}' is defined twice"))
    for fi, f in enumerate(rs.facts):
        if f.ratio_of:
            for part in (f.ratio_of.numerator, f.ratio_of.denominator):
                p = facts.get(part)
                if p is None:
                    errs.append((("facts", fi, "ratio_of"), f"ratio_of names unknown fact '{part}'"))
                elif p.type == "boolean" or p.ratio_of is not None:
                    errs.append((("facts", fi, "ratio_of"), f"ratio part '{part}' must be a plain numeric fact"))
    if rs.effective.end and rs.effective.end < rs.effective.start:
        errs.append((("effective",), "effective.to is before effective.from"))

    all_tiers: dict[str, Tier] = {}
    level_tiers: dict[tuple[str, str], Tier] = {}
    for li, ls in enumerate(rs.levels):
        errs.extend(_band_errors(ls, ("levels", li, "criteria_bands")))
        tier_ids = [t.id for t in ls.tiers]
        for ti, d in _dupes(tier_ids):
            errs.append((("levels", li, "tiers", ti, "id"), f"tier '{d}' is defined twice"))
        req = {t.id: t.requires for t in ls.tiers}
        for ti, t in enumerate(ls.tiers):
            tl = ("levels", li, "tiers", ti)
            all_tiers[t.id] = t
            level_tiers[(ls.level, t.id)] = t
            if t.requires is not None and t.requires not in tier_ids:
                errs.append((tl + ("requires",), f"requires unknown tier '{t.requires}' (known: {', '.join(tier_ids)})"))
            seen, cur = set(), t.id
            while cur is not None and cur in req:
                if cur in seen:
                    errs.append((tl + ("requires",), f"tier prerequisites form a cycle through '{t.id}'"))
                    break
                seen.add(cur)
                cur = req[cur]
            if t.citation.document not in doc_ids:
                errs.append((tl + ("citation", "document"), f"unknown document '{t.citation.document}'"))
            for ci, d in _dupes([c.number for c in t.criteria]):
                errs.append((tl + ("criteria", ci, "number"), f"criterion {d} is defined twice in tier '{t.id}'"))
            codes = [(ci, ii, i) for ci, c in enumerate(t.criteria) for ii, i in enumerate(c.indicators)]
            for k, d in _dupes([i.code for _, _, i in codes]):
                ci, ii, ind = codes[k]
                # the same code may return in a later wording, if the two never apply on the same day
                earlier = [i for _, _, i in codes[:k] if i.code == d]
                if all(_disjoint(ind.effective, e.effective) for e in earlier):
                    continue
                errs.append((tl + ("criteria", ci, "indicators", ii, "code"), f"indicator {d} is defined twice in tier '{t.id}'"))
    for loc, ls, t, c, ind in iter_indicators(rs):
        if ind.citation.document not in doc_ids:
            errs.append((loc + ("citation", "document"), f"unknown document '{ind.citation.document}'"))
        if ind.applies_if:
            af = facts.get(ind.applies_if.fact)
            if af is None:
                errs.append((loc + ("applies_if", "fact"), f"unknown fact '{ind.applies_if.fact}'"))
            elif af.type != "boolean":
                errs.append((loc + ("applies_if", "fact"), f"applies_if fact '{af.id}' must be boolean"))
        for k, cond in enumerate(ind.conditions):
            cl = loc + ("conditions", k)
            fact = facts.get(cond.fact)
            if fact is None:
                errs.append((cl + ("fact",), f"unknown fact '{cond.fact}'"))
                continue
            if fact.level != ls.level:
                errs.append((cl + ("fact",), f"fact '{fact.id}' belongs to level {fact.level}, not {ls.level}"))
            if (cond.op == "is_true") != (fact.type == "boolean"):
                errs.append((cl + ("op",), f"op '{cond.op}' does not fit {fact.type} fact '{fact.id}'"
                             + (" (use is_true)" if fact.type == "boolean" else " (use >=, <=, >, <, ==)")))
            for tloc, th in _walk_thresholds(cond.threshold, cl + ("threshold",)):
                for region in th.by_region or {}:
                    if region not in region_ids:
                        errs.append((tloc + ("by_region", region), f"unknown region '{region}' (known: {', '.join(region_ids)})"))
                if th.ref:
                    target = level_tiers.get((ls.level, th.ref.tier))
                    hit = None
                    if target:
                        hit = next((i for cr in target.criteria for i in cr.indicators if i.code == th.ref.indicator), None)
                    if hit is None or th.ref.condition >= len(hit.conditions):
                        errs.append((tloc + ("ref",), f"ref points to missing {th.ref.tier} {th.ref.indicator} condition {th.ref.condition}"))
                    elif hit.conditions[th.ref.condition].fact != cond.fact:
                        errs.append((tloc + ("ref",), f"ref target tests '{hit.conditions[th.ref.condition].fact}', not '{cond.fact}'"))
                if th.source is not None and th.source.document not in doc_ids:
                    errs.append((tloc + ("source", "document"), f"unknown document '{th.source.document}'"))
                if th.value is None:
                    continue
                if fact.type == "boolean":
                    if th.value is not True:
                        errs.append((tloc + ("value",), "an is_true condition's threshold value must be true"))
                elif isinstance(th.value, bool):
                    errs.append((tloc + ("value",), "a numeric fact needs a numeric threshold"))
                elif fact.range and not (fact.range.min <= th.value <= fact.range.max):
                    errs.append((tloc + ("value",), f"value {th.value} is outside the fact's range {fact.range.min}..{fact.range.max} ({fact.unit})"))
                elif _too_precise(th.value):
                    errs.append((tloc + ("value",), "at most 6 decimal places"))
    for li, ls in enumerate(rs.levels):
        for ti, t in enumerate(ls.tiers):
            for key in ("when_flags", "unless_flags"):
                for fl in getattr(t, key):
                    if fl not in flag_ids:
                        errs.append((("levels", li, "tiers", ti, key), f"unknown unit flag '{fl}'"))
            if t.kind == "recognition" and t.requires:
                errs.append((("levels", li, "tiers", ti, "requires"), "recognition conditions do not require a tier"))
    for vi, v in enumerate(rs.versions):
        if v.start < rs.effective.start or (rs.effective.end and v.start > rs.effective.end):
            errs.append((("versions", vi, "from"), f"version {v.id} starts outside the ruleset's effective period"))
        for d in v.documents:
            if d not in doc_ids:
                errs.append((("versions", vi, "documents"), f"unknown document '{d}'"))
    for li, ls in enumerate(rs.levels):
        if ls.effective is not None:
            e = ls.effective
            if e.end and e.end < e.start:
                errs.append((("levels", li, "effective"), "effective.to is before effective.from"))
            if e.start < rs.effective.start or (rs.effective.end and e.end and e.end > rs.effective.end):
                errs.append((("levels", li, "effective"), f"level {ls.level} is dated outside the ruleset's period"))
        if ls.end_citation is not None and ls.end_citation.document not in doc_ids:
            errs.append((("levels", li, "end_citation", "document"), f"unknown document '{ls.end_citation.document}'"))
    for i, d in _dupes([v.id for v in rs.versions]):
        errs.append((("versions", i, "id"), f"version '{d}' is defined twice"))
    errs += _group_errors(rs, facts, region_ids, doc_ids, level_tiers)
    for ri, rr in enumerate(rs.region_rules):
        rl = ("region_rules", ri)
        if rr.use_region not in region_ids:
            errs.append((rl + ("use_region",), f"unknown region '{rr.use_region}'"))
        for t in rr.tiers:
            if t not in all_tiers:
                errs.append((rl + ("tiers",), f"unknown tier '{t}'"))
        for group in rr.when_flags_any:
            for fl in group:
                if fl not in flag_ids:
                    errs.append((rl + ("when_flags_any",), f"unknown unit flag '{fl}'"))
    return errs


def _group_errors(rs: Ruleset, facts: dict, region_ids: list, doc_ids: set, level_tiers: dict) -> list:
    """Commune groups, transcription counts, merged-commune ladder and merge metadata: ids that must exist."""
    errs = []
    cg = rs.commune_groups
    if cg is not None:
        if rs.region_kind != "commune_group":
            errs.append((("commune_groups",), "commune_groups needs region_kind: commune_group"))
        if cg.default not in region_ids:
            errs.append((("commune_groups", "default"), f"unknown group '{cg.default}'"))
        with_rules = []
        for ri, r in enumerate(cg.rules):
            rl = ("commune_groups", "rules", ri)
            if r.group not in region_ids:
                errs.append((rl + ("group",), f"unknown group '{r.group}' (known: {', '.join(region_ids)})"))
            if r.group == cg.default:
                errs.append((rl + ("group",), f"the default group '{cg.default}' is the rest: it has no rule"))
            with_rules.append(r.group)
            if r.citation.document not in doc_ids:
                errs.append((rl + ("citation", "document"), f"unknown document '{r.citation.document}'"))
            for k, c in enumerate(r.conditions):
                f = facts.get(c.fact)
                cl = rl + ("conditions", k)
                if f is None:
                    errs.append((cl + ("fact",), f"unknown fact '{c.fact}'"))
                    continue
                if f.level != "commune":
                    errs.append((cl + ("fact",), f"fact '{f.id}' is not a commune fact"))
                if (c.op == "is_true") != (f.type == "boolean"):
                    errs.append((cl + ("op",), f"op '{c.op}' does not fit {f.type} fact '{f.id}'"))
                elif c.op == "is_true" and c.value is not True:
                    errs.append((cl + ("value",), "an is_true condition's value is true"))
                elif c.op != "is_true" and (isinstance(c.value, bool) or not (f.range.min <= c.value <= f.range.max)):
                    errs.append((cl + ("value",), f"value must be a number in {f.range.min}..{f.range.max}"))
        for i, d in _dupes([r.id for r in cg.rules]):
            errs.append((("commune_groups", "rules", i, "id"), f"group rule '{d}' is defined twice"))
        order = cg.precedence.order
        for i, g in enumerate(order):
            if g not in with_rules:
                errs.append((("commune_groups", "precedence", "order", i), f"group '{g}' has no rule to rank"))
        for g in dict.fromkeys(with_rules):
            if g not in order:
                errs.append((("commune_groups", "precedence", "order"), f"group '{g}' is missing from the order"))
        for i, d in _dupes(order):
            errs.append((("commune_groups", "precedence", "order", i), f"group '{d}' is listed twice"))
    for ti, t in enumerate(rs.transcription):
        if (t.level, t.tier) not in level_tiers:
            errs.append((("transcription", ti, "tier"), f"unknown {t.level} tier '{t.tier}'"))
        if t.citation.document not in doc_ids:
            errs.append((("transcription", ti, "citation", "document"), f"unknown document '{t.citation.document}'"))
    if rs.merged_communes is not None:
        mc = rs.merged_communes
        for i, d in _dupes([x.id for x in mc.ladder]):
            errs.append((("merged_communes", "ladder", i), f"level '{d}' is listed twice"))
        if mc.citation.document not in doc_ids:
            errs.append((("merged_communes", "citation", "document"), f"unknown document '{mc.citation.document}'"))
    for fi, f in enumerate(rs.facts):
        m = f.merge
        if m is None:
            continue
        ml = ("facts", fi, "merge")
        if m.how == "sum" and f.type in ("boolean", "percent", "area_per_person"):
            errs.append((ml, f"a {f.type} fact does not add up; use ratio, weighted or own_evidence"))
        if m.how == "ratio" and f.ratio_of is None:
            errs.append((ml, "a ratio merge needs ratio_of on the fact"))
        if m.how == "weighted":
            if f.type == "boolean":
                errs.append((ml, "a boolean fact cannot be weighted"))
            b = facts.get(m.base)
            if b is None:
                errs.append((ml + ("base",), f"unknown base fact '{m.base}'"))
            elif b.type == "boolean" or b.ratio_of is not None or (b.merge and b.merge.how != "sum"):
                errs.append((ml + ("base",), f"base '{b.id}' must be a plain numeric fact that adds up (merge: sum)"))
    return errs


def _disjoint(a: "Effective | None", b: "Effective | None") -> bool:
    if a is None or b is None:
        return False
    return (a.end is not None and a.end < b.start) or (b.end is not None and b.end < a.start)


def _too_precise(v: float | int) -> bool:
    d = Decimal(str(v))
    return d.as_tuple().exponent < -6 if isinstance(d.as_tuple().exponent, int) else True


CODE_RE = re.compile(CODE)


Indicator.model_rebuild()
Tier.model_rebuild()
LevelSet.model_rebuild()
