"""The outcome of an evaluation: the typed, documented shape every report and program reads.

Built from the engine's verdict plus the resolved thresholds and the evidence; nothing here decides a status
the engine did not (undecided items are only *classified*: missing evidence vs no threshold set).
"""

from __future__ import annotations

import datetime as dt
import functools
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from ntm.criteria.dossier import Observation
from ntm.criteria.resolve import RCondition, RIndicator, Resolved

SCHEMA = "ntm-outcome/1"
Num = Union[int, float]


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Label(Out):
    vi: str
    en: str


class ProvenanceOut(Out):
    status: Literal["verified", "provisional", "missing"]
    note: str | None
    set_by: Literal["national", "province"]
    source: str


class CitationOut(Out):
    document: str
    appendix: str | None = None
    article: str | None = None
    item: str | None = None
    text: str


class EvidenceOut(Out):
    document: str | None = None
    date: dt.date | None = None
    note: str | None = None


class ConditionOut(Out):
    fact: str
    fact_label: Label
    label: Label | None
    status: Literal["pass", "fail", "missing", "indeterminate"]
    observed: Num | bool | None
    given_as: Literal["value", "ratio"] | None
    op: str
    threshold: Num | bool | None
    threshold_reason: str | None
    unit: str
    gap: Num | None
    gap_text: Label | None
    provenance: ProvenanceOut
    citation: CitationOut
    evidence: EvidenceOut | None


class IndicatorOut(Out):
    code: str
    label: Label
    status: Literal["pass", "fail", "missing", "not_applicable", "indeterminate"]
    required: int
    applies_if: str | None
    citation: CitationOut
    conditions: list[ConditionOut]


class CriterionOut(Out):
    number: str
    name: Label
    status: Literal["met", "not_met", "indeterminate"]
    indicators: list[IndicatorOut]


class MissingThreshold(Out):
    indicator: str
    condition: int
    set_by: Literal["national", "province"]
    reason: str | None
    document: str | None = None  # the legal text the value is to come from (the indicator's citation)


class ProvisionalUse(Out):
    indicator: str
    condition: int
    threshold: Num | bool
    note: str | None


class TierOut(Out):
    id: str
    label: Label
    status: Literal["met", "not_met", "indeterminate"]
    requires: str | None
    requires_status: Literal["met", "not_met", "indeterminate"] | None
    region: str
    region_reason: str | None
    criteria_met: int
    criteria_total: int
    unmet_criteria: list[str]
    undecided_criteria: list[str]
    missing_evidence: list[str]
    missing_thresholds: list[MissingThreshold]
    decided_by_provisional: bool
    provisional_thresholds: list[ProvisionalUse]
    citation: CitationOut
    criteria: list[CriterionOut]


class UnitOut(Out):
    level: str
    code: str
    name: str
    province: str | None
    district: str | None
    region: str
    flags: list[str]


class RulesetOut(Out):
    id: str
    version: str
    version_in_force: str
    as_of: dt.date | None
    sha256: str
    title: Label
    effective_from: dt.date | None = None
    effective_to: dt.date | None = None
    in_force: bool | None = None  # were these rules in force on as_of? (False: see the outcome's warnings)


class CommuneOut(Out):
    """One commune of a district, and whether it holds the district back."""

    code: str
    name: str
    source: Literal["dossier", "declared"]
    dossier: str | None
    decision_number: str | None
    decision_date: dt.date | None
    tiers: dict[str, Literal["met", "not_met", "indeterminate"]]
    highest_tier: str | None
    holding_back: bool
    satisfaction_pct: Num | None = None
    holding_back_reasons: list[Label] = []


class TownshipOut(Out):
    """A township of a district (320 App. I: 100% must meet the civilised urban area standard)."""

    code: str
    name: str
    civilised: bool
    decision_number: str | None
    decision_date: dt.date | None
    holding_back: bool


class DistrictOut(Out):
    """A district, town or provincial city of a province, and whether it holds the province back (321)."""

    code: str
    name: str
    kind: Literal["district", "town"]
    source: Literal["dossier", "declared"]
    dossier: str | None
    decision_number: str | None
    decision_date: dt.date | None
    tiers: dict[str, Literal["met", "not_met", "indeterminate"]]
    status: str  # none | standard | advanced (district), none | completed (town), or indeterminate
    holding_back: bool


class WarningOut(Out):
    """Something a reader must know before trusting the result (rules not in force that day, a level that
    no longer exists). Every renderer prints these first."""

    code: Literal["ruleset_not_in_force", "level_not_in_force"]
    text: Label


class OverlayOut(Out):
    id: str
    title: Label
    province: str
    sha256: str
    illustrative: bool


class EngineOut(Out):
    name: str
    version: str
    compiled_sha256: str
    rules: int
    firings: int
    trace: list[str] | None


class Summary(Out):
    tiers_met: list[str]
    highest_tier: str | None
    decided_by_provisional: bool
    recognition: Literal["met", "not_met", "indeterminate"] | None
    communes_holding_back: list[str] | None
    districts_holding_back: list[str] | None = None


class CommuneGroupOut(Out):
    """Which commune group (51/2025) applied and why: the rule that decided, and the precedence if it mattered."""

    group: str | None
    group_label: Label | None
    decided_by: str  # a group rule id, "default" or "stated"
    rule_label: Label | None
    by_precedence: bool
    precedence: list[str]
    precedence_source: str
    precedence_status: Literal["verified", "provisional"]
    precedence_note: str | None
    matched_rules: list[str]
    not_matched_rules: list[str]
    undecided_rules: list[str]
    missing_facts: list[str]
    stated: str | None
    reason: Label
    citation: CitationOut


class TranscriptionOut(Out):
    """How much of a part of the law the ruleset holds: an incomplete set says so in every outcome."""

    part: Label
    tier: str
    indicators_in_law: int | None
    transcribed: int
    complete: bool
    text: Label
    complete_with: str | None
    citation: CitationOut


class MergedPartOut(Out):
    code: str
    name: str
    source: Literal["declared", "dossier", "missing"]
    status: str | None  # the recognised (or evaluated) level, None when not established
    status_label: Label | None = None
    decision_number: str | None
    decision_date: dt.date | None
    dossier: str | None
    missing_recognition: bool
    note: str | None


class MergedOut(Out):
    """The status the law gives a commune formed by the 2025 merger, beside the evaluation of its own evidence."""

    rule: Label
    merged_on: dt.date
    status: str | None
    status_label: Label | None
    decided: bool
    lowest_possible: str
    highest_possible: str
    provenance: Literal["verified", "provisional"]
    note: str | None
    citation: CitationOut
    parts: list[MergedPartOut]
    parts_missing_recognition: list[str]
    text: Label
    rules_fired: int


class Outcome(Out):
    schema_: str = Field(alias="schema")
    unit: UnitOut
    assessment_year: int
    assessment_date: dt.date | None
    ruleset: RulesetOut
    overlay: OverlayOut | None
    warnings: list[WarningOut] = []
    summary: Summary
    tiers: list[TierOut]
    recognition: TierOut | None
    communes: list[CommuneOut] | None
    townships: list[TownshipOut] | None = None
    districts: list[DistrictOut] | None = None
    engine: EngineOut
    commune_group: CommuneGroupOut | None = None
    transcription: list[TranscriptionOut] = []
    merged: MergedOut | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def tier(self, tid: str) -> TierOut:
        return next(t for t in self.tiers if t.id == tid)


# Output models are built from values the input models and the engine already validated: like model_construct
# they skip re-validating ~750 objects per commune; `ntm schema outcome` still documents them.

_set = object.__setattr__
_NAMES: dict[type, tuple[str, ...]] = {}


def _new(cls, **values):
    """`cls.model_construct(**values)` at a quarter of its cost (it is most of an evaluation's Python time):
    when the caller gives every field in declaration order, the values are stored as they are; otherwise they
    are put in order and missing fields get their defaults, exactly as model_construct does."""
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(cls.model_fields)
    given = set(values)
    if tuple(values) != names:
        fields = cls.model_fields
        full = {}
        for name in names:
            if name in values:
                full[name] = values.pop(name)
            elif fields[name].is_required():
                raise TypeError(f"{cls.__name__}.{name} is required")
            else:
                full[name] = fields[name].get_default(call_default_factory=True)
        if values:
            raise TypeError(f"{cls.__name__} has no field {next(iter(values))}")
        values = full
    m = cls.__new__(cls)
    _set(m, "__dict__", values)
    _set(m, "__pydantic_fields_set__", given)
    _set(m, "__pydantic_extra__", None)
    _set(m, "__pydantic_private__", None)
    return m


def number(x: Fraction | Decimal | int | None) -> Num | None:
    """Exact values → JSON numbers with at most 6 decimals, the same on every machine."""
    if x is None:
        return None
    d = Decimal(x.numerator) / Decimal(x.denominator) if isinstance(x, Fraction) else Decimal(x)
    d = d.quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN)
    if d == d.to_integral_value():
        return int(d)
    return float(format(d.normalize(), "f"))


def gap_text(gap: Num, op: str, unit: str, unit_en: str) -> Label:
    """The gap in words, formatted by the word catalogue (the same digits every renderer shows)."""
    from ntm.report.words import GAP, PP, fmt_gap

    if gap == 0 and op in (">", "<"):
        vi, en = GAP["at_strict_low" if op == ">" else "at_strict_high"]
        return _new(Label, vi=vi, en=en)
    pct = unit == "%"
    u_vi = PP[0] if pct else unit
    u_en = PP[1] if pct else unit_en
    kind = "short" if op in (">=", ">") else "over" if op in ("<=", "<") else "off"
    vi, en = GAP[kind]
    return _new(Label, vi=vi.format(n=fmt_gap(gap, "vi"), u=u_vi), en=en.format(n=fmt_gap(gap, "en"), u=u_en))


@functools.lru_cache(maxsize=4096)
def _citation(c) -> CitationOut:
    return _new(CitationOut, document=c.document, appendix=c.appendix, article=c.article, item=c.item, text=c.render())


@functools.lru_cache(maxsize=4096)
def _provenance(p) -> ProvenanceOut:
    return _new(ProvenanceOut, status=p.status, note=p.note, set_by=p.set_by, source=p.source)


@functools.lru_cache(maxsize=4096)
def _label(t) -> Label:
    return _new(Label, vi=t.vi, en=t.en)


_STATIC: dict[int, tuple] = {}


def _static(c: RCondition, fact) -> tuple:
    """A condition's fields that do not depend on the evidence, once per resolved condition (resolve() memoises
    them; keyed by identity, checked, since hashing the nested frozen models costs more than building them)."""
    hit = _STATIC.get(id(c))
    if hit is not None and hit[0] is c and hit[1] is fact:
        return hit[2]
    th = c.threshold.value
    static = (_label(fact.label), _label(c.label) if c.label else None,
              th if isinstance(th, bool) or th is None else number(th), _provenance(c.threshold.provenance),
              _citation(c.citation), None if isinstance(th, bool) or th is None else Fraction(th))
    if len(_STATIC) >= 65536:
        _STATIC.clear()
    _STATIC[id(c)] = (c, fact, static)
    return static


def _condition(T, ind: RIndicator, c: RCondition, verdict, obs, facts) -> ConditionOut:
    fact = facts[c.fact]
    fact_label, label, threshold, provenance, citation, th_frac = _static(c, fact)
    o: Observation | None = obs.get(c.fact)
    status = verdict.get(("cond", T, ind.code, c.index))
    if status is None:
        status = "missing" if o is None else "indeterminate"
    observed = None if o is None else (o.value if isinstance(o.value, bool) else number(o.value))
    gap = gtext = None
    if status == "fail":
        if th_frac is None:
            gtext = _new(Label, vi="chưa đạt", en="not met")
        else:
            diff = th_frac - o.value if c.op in (">=", ">") else o.value - th_frac
            gap = number(abs(diff))
            if c.op == ">" and diff == 0 or c.op == "<" and diff == 0:
                gap = 0
            gtext = gap_text(gap, c.op, fact.unit, fact.unit_en or fact.unit)
    return _new(ConditionOut,
        fact=c.fact, fact_label=fact_label, label=label, status=status,
        observed=observed, given_as=o.given_as if o else None, op=c.op,
        threshold=threshold, threshold_reason=c.threshold.reason, unit=fact.unit, gap=gap, gap_text=gtext,
        provenance=provenance, citation=citation,
        evidence=EvidenceOut.model_construct(**o.evidence.model_dump()) if o and o.evidence else None,
    )


def build(res: Resolved, obs: dict[str, Observation], verdict: dict, facts: dict, *, unit, assessment, ruleset,
          overlay, engine, communes=None, warnings=(), townships=None, districts=None) -> Outcome:
    tiers: list[TierOut] = []
    status_of: dict[str, str] = {}
    for tier in res.tiers:
        T = tier.id
        crits, unmet, undecided, missing_ev, missing_th, prov = [], [], [], [], [], []
        met_count = 0
        for crit in tier.criteria:
            inds = []
            for ind in crit.indicators:
                conds = [_condition(T, ind, c, verdict, obs, facts) for c in ind.conditions]
                st = verdict.get(("ind", T, ind.code))
                if st is None:
                    app_missing = ind.applies_if is not None and ind.applies_if not in obs
                    st = "missing" if app_missing or any(c.status == "missing" for c in conds) else "indeterminate"
                    if app_missing and ind.applies_if not in missing_ev:
                        missing_ev.append(ind.applies_if)
                    for c, rc in zip(conds, ind.conditions):
                        if c.status == "missing" and c.fact not in missing_ev:
                            missing_ev.append(c.fact)
                        if rc.threshold.value is None:
                            missing_th.append(_new(MissingThreshold, indicator=ind.code, condition=rc.index,
                                                               set_by=rc.threshold.provenance.set_by,
                                                               reason=rc.threshold.reason,
                                                               document=rc.citation.render()))
                inds.append(_new(IndicatorOut, code=ind.code, label=_label(ind.label), status=st, required=ind.required,
                                         applies_if=ind.applies_if, citation=_citation(ind.citation), conditions=conds))
            cs = verdict.get(("crit", T, crit.number), "indeterminate")
            if cs == "met":
                met_count += 1
            elif cs == "not_met":
                unmet.append(crit.number)
            else:
                undecided.append(crit.number)
            crits.append(_new(CriterionOut, number=crit.number, name=_label(crit.name), status=cs, indicators=inds))
        ts = verdict.get(("tier", T), "indeterminate")
        status_of[T] = ts
        # which provisional values the decision rests on
        for cr in crits:
            for ind in cr.indicators:
                for k, c in enumerate(ind.conditions):
                    if c.provenance.status == "provisional" and (
                        (ts == "met" and c.status == "pass") or (ts == "not_met" and c.status == "fail")
                    ):
                        prov.append(_new(ProvisionalUse, indicator=ind.code, condition=k, threshold=c.threshold,
                                                   note=c.provenance.note))
        if ts == "met":
            by_prov = bool(prov)
        elif ts == "not_met":
            failing = [c for cr in crits for i in cr.indicators for c in i.conditions if c.status == "fail"]
            by_prov = bool(failing) and all(c.provenance.status == "provisional" for c in failing)
        else:
            by_prov = False
        tiers.append(_new(TierOut, 
            id=T, label=_label(tier.label), status=ts, requires=tier.requires,
            requires_status=status_of.get(tier.requires) if tier.requires else None,
            region=tier.region, region_reason=tier.region_reason, criteria_met=met_count,
            criteria_total=len(tier.criteria), unmet_criteria=unmet, undecided_criteria=undecided,
            missing_evidence=missing_ev, missing_thresholds=missing_th, decided_by_provisional=by_prov,
            provisional_thresholds=prov, citation=_citation(tier.citation), criteria=crits,
        ))
    kinds = {t.id: t.kind for t in res.tiers}
    recognition = next((t for t in tiers if kinds[t.id] == "recognition"), None)
    tiers = [t for t in tiers if kinds[t.id] != "recognition"]
    met = [t.id for t in tiers if t.status == "met"]
    return _new(Outcome, 
        schema_=SCHEMA, unit=unit, assessment_year=assessment[0], assessment_date=assessment[1], ruleset=ruleset,
        overlay=overlay, summary=_new(Summary, 
            tiers_met=met, highest_tier=met[-1] if met else None,
            decided_by_provisional=any(t.decided_by_provisional for t in tiers),
            recognition=recognition.status if recognition else None,
            communes_holding_back=None if communes is None else [c.code for c in communes if c.holding_back],
            districts_holding_back=None if districts is None else [x.code for x in districts if x.holding_back]),
        tiers=tiers, recognition=recognition, communes=communes, engine=engine, warnings=list(warnings),
        townships=townships, districts=districts,
    )
